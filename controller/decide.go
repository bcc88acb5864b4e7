package controller

import (
	"fmt"
	"math"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

const (
	// saturatedUtilization: at or above it utilization no longer measures
	// demand (it caps at 1.0), so desired comes from concurrent executions.
	saturatedUtilization = 0.99
	// accountUnreservedKeep is what Lambda keeps unreserved for every other
	// function; PC may not take it (AWS-FACTS §3.3).
	accountUnreservedKeep = 100
	// RejectRetry is how long a value Lambda refused with 400 is not tried
	// again; limits may have been raised in the meantime.
	RejectRetry = 30 * time.Minute
	// maxSlots bounds the per-minute walk over a window (one week).
	maxSlots = 7 * 24 * 60
	// eps absorbs float noise before ceil: ceil(10×0.7/0.7) must be 10.
	eps = 1e-9
)

// Decide is the policy: one target, one instant, no I/O. One proposal goes
// through these stages, in this order, each able to change or settle it:
//
//  1. gates      throttled, allocating (IN_PROGRESS), FAILED in backoff: hold, no call
//  2. recommend  what the published minutes ask for: spillover, saturation or
//     utilization out; utilization in (rules 2–4)
//  3. overrides  idle → effective floor (rule 5); release after a predicted burst
//  4. freshness  no metric-driven scale-in or idle on data not known to be
//     complete (Input.HoldIn: first tick, clock jump, skew, stale CloudWatch)
//  5. step       max_scale_out_step / max_scale_in_step on metric-driven moves
//  6. cooldown   scale-in / scale-out cooldowns on metric-driven moves (rule 7)
//  7. bounds     effective min/max — floors, ceilings, predicted floor,
//     reserved and account limits — whatever the cooldowns (rule 6)
//  8. admit      a FAILED config never asks for more; zero only with
//     allow_zero; a value Lambda refused is not repeated (rule 8)
//
// A decision's Reason is the stage that settled it.
func Decide(in Input) Decision {
	d := decide(in)
	d.State = stateOf(in, d)
	return d
}

func decide(in Input) Decision {
	d := newDecider(in)
	if dec, done := d.gates(); done {
		return dec
	}
	p := d.recommend()
	p = d.overrides(p)
	p = d.freshness(p)
	p = d.step(p)
	p = d.cooldown(p)
	p = d.bounds(p)
	return d.admit(p)
}

// proposal is what the stages pass along.
type proposal struct {
	desired int
	reason  Reason
	detail  string
	// metric: the move comes from the metrics (steps, freshness and
	// cooldowns apply); bounds and releases are not metric-driven.
	metric   bool
	released bool // a predicted burst's PC released: cooldowns don't hold it
}

// decider holds what every stage reads.
type decider struct {
	in     Input
	period time.Duration
	cur    int
	failed bool
	pred   Prediction
	b      bounds
	d      Decision
}

func newDecider(in Input) *decider {
	period := in.Period
	if period <= 0 {
		period = time.Minute
	}
	cur := 0
	if in.PC.Exists {
		cur = in.PC.Requested
	}
	x := &decider{in: in, period: period, cur: cur, failed: in.PC.Exists && in.PC.Status == StatusFailed}
	x.pred = predictFor(in, period)
	x.b = effectiveBounds(in, x.pred.Floor)
	x.d = Decision{Current: cur, Desired: cur, Direction: DirNone, Action: ActNone,
		EffectiveMin: x.b.min, EffectiveMax: x.b.max, Constrained: x.b.minOverMax}
	return x
}

// gates: no Lambda call may be made, whatever the rules say.
func (x *decider) gates() (Decision, bool) {
	in := x.in
	switch {
	case in.Now.Before(in.State.ThrottledUntil):
		return hold(x.d, ReasonThrottled, "throttled by Lambda until "+in.State.ThrottledUntil.UTC().Format(time.RFC3339)), true
	case in.PC.Exists && in.PC.Status == StatusInProgress:
		// Rule 1: a Put now would get 409.
		return hold(x.d, ReasonAllocating, fmt.Sprintf("allocating %d of %d", in.PC.Allocated, in.PC.Requested)), true
	case !in.State.WeightedSince.IsZero():
		return hold(x.d, ReasonWeighted, "alias has routing weights (a deploy shifting traffic) since "+
			in.State.WeightedSince.UTC().Format(time.RFC3339)+": no change until they are gone"), true
	case in.Now.Before(in.State.YieldUntil):
		return hold(x.d, ReasonYielding, "another writer changed it: on_foreign_change yield until "+
			in.State.YieldUntil.UTC().Format(time.RFC3339)), true
	case x.failed && in.Now.Before(in.State.FailedUntil):
		return hold(x.d, ReasonFailedBackoff, fmt.Sprintf("allocation FAILED (%s) with %d of %d allocated: retry after %s",
			in.PC.StatusReason, in.PC.Allocated, in.PC.Requested, in.State.FailedUntil.UTC().Format(time.RFC3339))), true
	}
	return Decision{}, false
}

// recommend is rules 2–5: the metric-driven desired value.
func (x *decider) recommend() proposal {
	r := recommend(x.in, x.cur, x.period)
	x.d.Utilization = r.u
	return proposal{desired: r.desired, reason: r.reason, detail: r.detail, metric: r.desired != x.cur}
}

// overrides: idle goes to the effective floor at once (rule 5); after a
// predicted burst's window closes, PC above what the traffic between bursts
// needs goes at once: it was raised for the burst.
func (x *decider) overrides(p proposal) proposal {
	lo := min(x.b.min, x.b.max)
	if p.reason == ReasonIdle {
		p.desired = lo
		if lo > x.cur {
			// Idle, but below the effective min: the move is the floor's.
			p.reason, p.detail = ReasonFloor, fmt.Sprintf("effective min %d (idle: %s)", lo, p.detail)
		}
		return p
	}
	pred, in := x.pred, x.in
	changed := latest(in.PC.LastModified, in.State.LastChange)
	// What the release may take back: what the closed windows' bursts need
	// now, or what the loop itself raised for them before they began (the
	// floor may have come from a cycle that has left the lookback since).
	from := max(pred.ReleaseFrom, raisedBetween(ownWrites(in.State, changed), pred.OpenedAt, pred.OpenedAt.Add(in.Policy.PredictLead.Duration)))
	if pred.Release && p.desired <= x.cur && x.cur > max(pred.Base, lo) && x.cur <= from &&
		!changed.Before(pred.OpenedAt) &&
		p.reason != ReasonSpillover && p.reason != ReasonSaturated {
		p = proposal{desired: max(pred.Base, lo), reason: ReasonPredicted, detail: pred.Detail, metric: true, released: true}
	}
	return p
}

// freshness: a scale-in or idle needs published minutes known complete.
func (x *decider) freshness(p proposal) proposal {
	if x.in.HoldIn == "" || p.desired >= x.cur || !p.metric && p.reason != ReasonIdle {
		return p
	}
	return proposal{desired: x.cur, reason: ReasonUnknownData,
		detail: fmt.Sprintf("scale-in to %d (%s) held: %s", p.desired, p.reason, x.in.HoldIn)}
}

// step limits metric-driven moves in both directions; idle and releases
// go at once.
func (x *decider) step(p proposal) proposal {
	if !p.metric || p.released || p.reason == ReasonIdle {
		return p
	}
	pol, cur := x.in.Policy, x.cur
	switch {
	case p.desired > cur:
		if lim := pol.MaxScaleOutStep.Limit(cur); lim > 0 && p.desired > cur+lim {
			p.desired = cur + lim
			p.detail += fmt.Sprintf("; max_scale_out_step %d", lim)
		}
	case p.desired < cur:
		if lim := pol.MaxScaleInStep.Limit(cur); lim > 0 && p.desired < cur-lim {
			p.desired = cur - lim
			p.detail += fmt.Sprintf("; max_scale_in_step %d", lim)
		}
	}
	return p
}

// cooldown is rule 7 for metric-driven moves.
func (x *decider) cooldown(p proposal) proposal {
	if p.released {
		return p
	}
	if held, why := cooledDown(x.in, x.cur, p.desired); held {
		return proposal{desired: x.cur, reason: ReasonCooldown, detail: why}
	}
	return p
}

// bounds is rule 6: out of bounds moves in at once, whatever the cooldowns.
func (x *decider) bounds(p proposal) proposal {
	b := x.b
	lo := min(b.min, b.max)
	switch {
	case p.desired < lo:
		p = proposal{desired: lo, reason: ReasonFloor, detail: fmt.Sprintf("effective min %d", b.min)}
		if b.byPrediction {
			p.reason, p.detail = ReasonPredicted, x.pred.Detail
		}
		if b.minOverMax {
			p.detail = fmt.Sprintf("effective min %d above effective max %d (%s): using max", b.min, b.max, b.maxBy)
		}
	case p.desired > b.max && p.desired > x.cur && b.max >= x.cur:
		// A move up cut by the max keeps its cause as the reason (a
		// saturation capped at 200 is still a saturation that wanted 266).
		p.detail = fmt.Sprintf("%s: wanted %d, capped at effective max %d (%s)", p.detail, p.desired, b.max, b.maxBy)
		p.desired = b.max
		x.d.Constrained = true
	case p.desired > b.max:
		// Above the max already (a ceiling window opened, the max or a
		// limit went down): the move is the ceiling's.
		p.detail = fmt.Sprintf("%s wanted %d (%s); effective max %d (%s)", p.reason, p.desired, p.detail, b.max, b.maxBy)
		p.desired, p.reason = b.max, ReasonCeiling
		if b.byLimit {
			x.d.Constrained = true
		}
	}
	return p
}

// admit is rule 8: what may be written.
func (x *decider) admit(p proposal) Decision {
	in, cur, d := x.in, x.cur, x.d
	// A FAILED config asks for no more than it asked for: the allocation
	// is what fails, and utilization against a partial allocation
	// overstates demand.
	if x.failed && p.desired > cur {
		p.desired, p.detail = cur, fmt.Sprintf("%s wanted %d (%s); capped at the FAILED request", p.reason, p.desired, p.detail)
	}
	if p.desired == 0 && !in.Policy.AllowZero {
		p.desired = 1
	}
	// Lambda refused a value on the way up for a limit the daemon could not
	// see (other functions' PC in the account, a reservation just made):
	// the largest accepted value lies between cur and the refused one.
	// Bisect toward it — each accepted step is kept, each refusal narrows —
	// instead of staying put; the limits read that follows a refusal
	// usually names the exact bound at once (effective max above).
	if st := in.State; st.Rejected > cur && p.desired >= st.Rejected && in.Now.Before(st.RejectedAt.Add(RejectRetry)) {
		d.Constrained = true
		next := cur + (st.Rejected-cur)/2
		if next <= cur {
			return hold(d, ReasonRejected, fmt.Sprintf("Lambda refused %d: %d is the largest it accepts (wanted %d, %s)",
				st.Rejected, cur, p.desired, p.reason))
		}
		p.detail = fmt.Sprintf("Lambda refused %d: trying %d (wanted %d: %s)", st.Rejected, next, p.desired, p.detail)
		p.desired = next
	}
	d.Desired, d.Reason, d.Detail = p.desired, p.reason, p.detail
	switch {
	case p.desired > cur:
		d.Direction = DirOut
	case p.desired < cur:
		d.Direction = DirIn
	}
	switch {
	case p.desired == 0 && in.PC.Exists:
		d.Action = ActDelete
	case p.desired >= 1 && (p.desired != cur || x.failed):
		d.Action = ActPut
	}
	if x.failed && d.Action != ActNone {
		d.Detail = fmt.Sprintf("retrying FAILED allocation (%s, %d of %d allocated); %s", in.PC.StatusReason,
			in.PC.Allocated, in.PC.Requested, d.Detail)
	}
	return d
}

func hold(d Decision, r Reason, detail string) Decision {
	d.Desired, d.Reason, d.Detail, d.Direction, d.Action = d.Current, r, detail, DirNone, ActNone
	return d
}

type bounds struct {
	min, max   int
	maxBy      string // what set max: max, ceiling, reserved, account
	byLimit    bool   // max comes from reserved or account concurrency
	minOverMax bool
	// byPrediction: the predicted floor is above min and the schedule floor.
	byPrediction bool
}

// effectiveBounds is rule 6: min = max(min, floor, predicted floor); max =
// min(max, ceiling, reserved − other PC, account unreserved − 100 − other PC).
func effectiveBounds(in Input, predicted int) bounds {
	p := in.Policy
	b := bounds{min: p.Min, max: p.Max, maxBy: "max"}
	if in.Bounds.HasFloor && in.Bounds.Floor > b.min {
		b.min = in.Bounds.Floor
	}
	if predicted > b.min {
		b.min, b.byPrediction = predicted, true
	}
	if in.Bounds.HasCeiling && in.Bounds.Ceiling < b.max {
		b.max, b.maxBy = in.Bounds.Ceiling, "ceiling"
	}
	if l := in.Limits; l.Known {
		if l.Reserved != nil {
			if r := *l.Reserved - l.OtherPC; r < b.max {
				b.max, b.maxBy, b.byLimit = r, "reserved concurrency", true
			}
		} else if a := l.AccountUnreserved - accountUnreservedKeep - l.OtherPC; a < b.max {
			// Reserved concurrency is carved out of the account already;
			// without it, this function's other qualifiers draw from the
			// same unreserved pool (other functions' PC we can't see: a
			// Put over it gets 400 and is remembered as rejected).
			b.max, b.maxBy, b.byLimit = a, "account unreserved concurrency", true
		}
	}
	b.min, b.max = max(b.min, 0), max(b.max, 0)
	b.minOverMax = b.min > b.max
	return b
}

type recommendation struct {
	desired int
	reason  Reason
	u       float64
	detail  string
}

// recommend applies rules 2–5 and returns the metric-driven desired value,
// before step limits.
func recommend(in Input, cur int, period time.Duration) recommendation {
	p := in.Policy
	r := recommendation{desired: cur, reason: ReasonWithinTarget}
	if !in.Series.Complete {
		r.reason, r.detail = ReasonMetricsMissing, "metrics read failed or partial: hold"
		return r
	}
	start, end := window(in, period)

	// Rule 5 (idle): nothing ran for idle_after → effective floor at once.
	// The newest published minute doesn't count: it may still be filling.
	idle := p.MissingData == config.MissingIdle
	if idle && p.IdleAfter.Duration > 0 && !end.IsZero() {
		idleEnd := end.Add(-period)
		last := lastActivity(in, start, idleEnd, period)
		if idleEnd.Sub(last) >= p.IdleAfter.Duration {
			r.desired, r.reason = 0, ReasonIdle
			r.detail = fmt.Sprintf("no invocations published since %s (watermark %s)",
				last.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
			return r
		}
	}

	// Rule 2: only complete periods after the config last settled.
	target := p.TargetUtilization
	if target <= 0 {
		r.reason, r.detail = ReasonInsufficient, "no target utilization"
		return r
	}
	changed := latest(in.PC.LastModified, in.State.LastChange)
	settled := latest(changed, in.State.SettledAt)
	settledStart := start
	if settled.After(start) {
		settledStart = ceilTime(settled, period)
	}
	// Saturated periods before the config settled still measure demand
	// through concurrent executions, which don't depend on capacity: they
	// may ask for more than was just requested (never utilization). That
	// includes the periods just before the change, which CloudWatch may
	// not have published when it was decided (up to MaxLag late).
	// A period that ended before the loop's own change is saturated
	// against the PC of its time (State.Writes), not the one after it:
	// after a release the burst's own minutes, already answered by the PC
	// just released, must not raise it again — also when they are
	// published after the release and the tail that followed it.
	during := 0
	if !changed.IsZero() && settledStart.After(changed) {
		// Minutes that were not published yet when the change was decided:
		// up to metrics_max_lag late, or as late as CloudWatch is now
		// while it runs stale (bounded: older evidence is no evidence).
		lag := maxLagOf(in)
		if l := in.Now.Sub(in.WindowEnd); l > lag && !in.WindowEnd.IsZero() {
			lag = min(l, 2*maxLagOf(in))
		}
		from := latest(start, changed.Add(-lag).Truncate(period))
		during = ceilDiv(saturatedDemand(in, from, settledStart, end, period, changed, target), target)
	}
	slots := buildSlots(in, cur, settledStart, end, period)
	n := len(slots)
	if n == 0 {
		if during > cur {
			r.desired, r.reason = during, ReasonSaturated
			r.detail = "saturated while the last change was allocating: desired from concurrent executions"
			return r
		}
		r.reason, r.detail = ReasonInsufficient, "no published period since the last change"
		return r
	}
	last := slots[n-1]
	r.u = last.u

	// Rule 3: scale out. Spillover in one complete period is enough.
	if last.saturated && last.spill > 0 {
		r.desired, r.reason = max(jump(cur, slots[n-1:], target), during), ReasonSpillover
		r.detail = fmt.Sprintf("spillover %.0f in the last period", last.spill)
		return r
	}
	if outDP := max(p.ScaleOutDatapoints, 1); n >= outDP {
		run := slots[n-outDP:]
		above := true
		for _, s := range run {
			above = above && s.kind == slotUtil && (s.saturated || s.u > target)
		}
		if above {
			if last.saturated {
				r.desired, r.reason = max(jump(cur, run, target), during), ReasonSaturated
				r.detail = fmt.Sprintf("saturated for %s: desired from concurrent executions", periods(outDP))
			} else {
				r.desired, r.reason = max(ceilDiv(float64(cur)*last.u, target), during), ReasonUtilization
				r.detail = fmt.Sprintf("%s above target %.2f", periods(outDP), target)
			}
			return r
		}
	}
	if during > cur {
		r.desired, r.reason = during, ReasonSaturated
		r.detail = "saturated while the last change was allocating: desired from concurrent executions"
		return r
	}

	// Rule 4: scale in on the run's maximum. With missing_data: idle a quiet
	// minute neither counts nor breaks the run: it may be a gap in the data
	// as well as a minute without traffic, so only published utilization
	// sizes a scale-in, and a silent function goes down through rule 5.
	// With missing_data: hold it breaks the run, as in AAS.
	inDP := max(p.ScaleInDatapoints, 1)
	low := target * p.ScaleInRatio
	runLen, maxU, gap, broke := 0, 0.0, false, false
	for i := n - 1; i >= 0 && runLen < inDP; i-- {
		s := slots[i]
		if s.kind == slotQuiet && idle {
			continue
		}
		if s.kind != slotUtil || s.saturated || s.u >= low {
			gap, broke = s.kind != slotUtil, true
			break
		}
		runLen++
		maxU = math.Max(maxU, s.u)
	}
	switch {
	case runLen == inDP:
		// Hysteresis: the new PC puts the largest utilization of the last
		// scaleInMemory published periods (at least the run) at the low
		// threshold, not at the target, so the next minute's noise does
		// not cross the target and scale out again.
		maxU = math.Max(maxU, recentMaxU(slots, scaleInMemory))
		if want := ceilDiv(float64(cur)*maxU, low); want < cur {
			r.desired, r.reason = want, ReasonUtilization
			r.detail = fmt.Sprintf("%s below %.2f, max %.2f over the last %s", periods(inDP), low, maxU, periods(scaleInMemory))
		}
	case !broke:
		// Every period since the change is low or quiet, but not yet
		// enough of them publish utilization.
		r.reason = ReasonInsufficient
		r.detail = fmt.Sprintf("%d of %s below %.2f since the last change", runLen, periods(inDP), low)
	case gap:
		// missing_data: hold (or a minute with invocations but no
		// utilization): such minutes break the run, as in AAS.
		r.reason = ReasonInsufficient
		r.detail = fmt.Sprintf("a minute without utilization breaks the run after %s", periods(runLen))
	case n < max(p.ScaleOutDatapoints, 1) && last.kind == slotUtil && last.u > target:
		r.reason = ReasonInsufficient
		r.detail = fmt.Sprintf("%d of %s above target since the last change", n, periods(p.ScaleOutDatapoints))
	}
	return r
}

// scaleInMemory: periods of published utilization a scale-in sizes on.
const scaleInMemory = 15

// recentMaxU is the largest utilization among the newest n slots that
// published one (saturated slots count as 1).
func recentMaxU(slots []slot, n int) float64 {
	u, seen := 0.0, 0
	for i := len(slots) - 1; i >= 0 && seen < n; i-- {
		if slots[i].kind != slotUtil {
			continue
		}
		seen++
		u = math.Max(u, math.Min(slots[i].u, 1))
		if slots[i].saturated {
			u = 1
		}
	}
	return u
}

// jump is the saturation path: demand = the largest concurrent executions in
// the run; desired = ceil(demand / target). It never asks for less than the
// utilization formula would.
func jump(cur int, run []slot, target float64) int {
	demand, u := 0.0, 0.0
	for _, s := range run {
		if s.hasConc {
			demand = math.Max(demand, s.conc)
		}
		u = math.Max(u, math.Min(s.u, 1))
	}
	return max(ceilDiv(demand, target), ceilDiv(float64(cur)*u, target))
}

// cooledDown is rule 7 for metric-driven moves. The last change comes from
// Lambda's LastModified, so it survives a restart; the direction and size
// of it only from memory.
func cooledDown(in Input, cur, desired int) (bool, string) {
	p, st := in.Policy, in.State
	last := latest(in.PC.LastModified, st.LastChange)
	if last.IsZero() {
		return false, ""
	}
	since := in.Now.Sub(last)
	switch {
	case desired < cur && since < p.ScaleInCooldown.Duration:
		return true, fmt.Sprintf("scale-in to %d held: last change %s ago, scale_in_cooldown %s",
			desired, since.Round(time.Second), p.ScaleInCooldown.Duration)
	case desired > cur && st.LastDirection == DirOut && !st.LastChange.Before(last) &&
		since < p.ScaleOutCooldown.Duration && desired-cur <= st.LastTo-st.LastFrom:
		// Within the scale-out cooldown only a larger scale-out than the
		// last one goes through.
		return true, fmt.Sprintf("scale-out to %d held: not larger than the last (+%d) within scale_out_cooldown %s",
			desired, st.LastTo-st.LastFrom, p.ScaleOutCooldown.Duration)
	}
	return false, ""
}

func ceilDiv(x, target float64) int {
	if x <= 0 || target <= 0 {
		return 0
	}
	v := math.Ceil(x/target - eps)
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(v)
}

func maxLagOf(in Input) time.Duration {
	if in.MaxLag > 0 {
		return in.MaxLag
	}
	return config.DefaultMetricsMaxLag
}

// periods says "1 period" or "n periods".
func periods(n int) string {
	if n == 1 {
		return "1 period"
	}
	return fmt.Sprintf("%d periods", n)
}
