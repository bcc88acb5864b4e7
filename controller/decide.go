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

// Decide is the policy: one target, one instant, no I/O. The rules and their
// order are DESIGN.md §4 "Decide"; each is marked below.
func Decide(in Input) Decision {
	period := in.Period
	if period <= 0 {
		period = time.Minute
	}
	p := in.Policy
	cur := 0
	if in.PC.Exists {
		cur = in.PC.Requested
	}
	d := Decision{Current: cur, Desired: cur, Direction: DirNone, Action: ActNone}
	pred := predictFor(in, period)
	b := effectiveBounds(in, pred.Floor)
	d.EffectiveMin, d.EffectiveMax, d.Constrained = b.min, b.max, b.minOverMax

	// Backoffs first: no Lambda call may be made, whatever the rules say.
	if in.Now.Before(in.State.ThrottledUntil) {
		return hold(d, ReasonThrottled, "throttled by Lambda until "+in.State.ThrottledUntil.UTC().Format(time.RFC3339))
	}
	// Rule 1: IN_PROGRESS holds; a Put now would get 409.
	if in.PC.Exists && in.PC.Status == StatusInProgress {
		return hold(d, ReasonAllocating, fmt.Sprintf("allocating %d of %d", in.PC.Allocated, in.PC.Requested))
	}
	// Rule 8 (FAILED): wait out the backoff, surfacing Lambda's reason.
	failed := in.PC.Exists && in.PC.Status == StatusFailed
	if failed && in.Now.Before(in.State.FailedUntil) {
		return hold(d, ReasonFailedBackoff, "allocation FAILED: "+in.PC.StatusReason)
	}

	// Rules 2–5: what the metrics ask for.
	r := recommend(in, cur, period)
	d.Utilization = r.u
	desired, reason, detail := r.desired, r.reason, r.detail
	lo := min(b.min, b.max)
	if reason == ReasonIdle {
		desired = lo // rule 5: idle goes to the effective floor at once
		if lo > cur {
			reason = ReasonFloor
		}
	}

	// After a predicted burst's window closes, PC above what the traffic
	// between bursts needs goes at once: it was raised for the burst.
	released := false
	if pred.Release && desired <= cur && cur > max(pred.Base, lo) && cur <= pred.ReleaseFrom &&
		!latest(in.PC.LastModified, in.State.LastChange).Before(pred.OpenedAt) && reason != ReasonSpillover && reason != ReasonSaturated {
		desired, reason, detail, released = max(pred.Base, lo), ReasonPredicted, pred.Detail, true
	}

	// Rule 3/4: step limits apply to metric-driven moves only.
	if desired > cur {
		if lim := p.MaxScaleOutStep.Limit(cur); lim > 0 && desired > cur+lim {
			desired = cur + lim
			detail += fmt.Sprintf("; max_scale_out_step %d", lim)
		}
	}

	// Rule 7: cooldowns hold metric-driven moves; bounds below ignore them.
	if held, why := cooledDown(in, cur, desired); held && !released {
		desired, reason, detail = cur, ReasonCooldown, why
	}

	// Rule 6: bounds. Out of bounds moves in at once, whatever the cooldowns.
	switch {
	case desired < lo:
		desired, reason = lo, ReasonFloor
		detail = fmt.Sprintf("effective min %d", b.min)
		if b.byPrediction {
			reason, detail = ReasonPredicted, pred.Detail
		}
		if b.minOverMax {
			detail = fmt.Sprintf("effective min %d above effective max %d (%s): using max", b.min, b.max, b.maxBy)
		}
	case desired > b.max:
		desired, reason = b.max, ReasonCeiling
		detail = fmt.Sprintf("effective max %d (%s)", b.max, b.maxBy)
		if b.byLimit {
			d.Constrained = true
		}
	}

	// Rule 8: zero means Delete only when allowed; Put needs at least 1.
	if desired == 0 && !p.AllowZero {
		desired = 1
	}

	// A value Lambda refused is not sent again (nor a larger one on the way
	// up) until RejectRetry has passed.
	if st := in.State; st.Rejected > 0 && in.Now.Before(st.RejectedAt.Add(RejectRetry)) && desired != cur {
		if desired == st.Rejected || (desired > cur && st.Rejected > cur && desired > st.Rejected) {
			d.Constrained = true
			return hold(d, ReasonRejected, fmt.Sprintf("Lambda rejected %d; wanted %d (%s)", st.Rejected, desired, reason))
		}
	}

	d.Desired, d.Reason, d.Detail = desired, reason, detail
	switch {
	case desired > cur:
		d.Direction = DirOut
	case desired < cur:
		d.Direction = DirIn
	}
	switch {
	case desired == 0 && in.PC.Exists:
		d.Action = ActDelete
	case desired >= 1 && (desired != cur || failed):
		d.Action = ActPut
	}
	if failed && d.Action != ActNone {
		d.Detail = "retrying FAILED allocation (" + in.PC.StatusReason + "); " + d.Detail
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

// recommend applies rules 2–5 and returns the metric-driven desired value.
func recommend(in Input, cur int, period time.Duration) recommendation {
	p := in.Policy
	r := recommendation{desired: cur, reason: ReasonWithinTarget}
	if !in.Series.Complete {
		r.reason, r.detail = ReasonMetricsMissing, "metrics read failed or partial: hold"
		return r
	}
	start, end := window(in, period)

	// Rule 5 (idle): nothing ran for idle_after → effective floor at once.
	idle := p.MissingData == config.MissingIdle
	if idle && p.IdleAfter.Duration > 0 && !end.IsZero() {
		last := lastActivity(in, start, end, period)
		if end.Sub(last) >= p.IdleAfter.Duration {
			r.desired, r.reason = 0, ReasonIdle
			r.detail = fmt.Sprintf("no invocations since %s", last.UTC().Format(time.RFC3339))
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
	// Saturated periods between the change and its settling still measure
	// demand through concurrent executions, which don't depend on capacity:
	// they may ask for more than was just requested (never utilization).
	during := 0
	if !changed.IsZero() && settledStart.After(changed) {
		during = ceilDiv(saturatedDemand(in, latest(start, ceilTime(changed, period)), settledStart, end, period), target)
	}
	slots := buildSlots(in, cur, settledStart, end, period)
	n := len(slots)
	if n == 0 {
		if during > cur {
			r.desired, r.reason = during, ReasonSaturated
			r.detail = "saturated while the last change was allocating: desired from concurrent executions"
			return r
		}
		r.reason, r.detail = ReasonInsufficient, "no complete period since the last change"
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
				r.detail = fmt.Sprintf("saturated for %d periods: desired from concurrent executions", outDP)
			} else {
				r.desired, r.reason = max(ceilDiv(float64(cur)*last.u, target), during), ReasonUtilization
				r.detail = fmt.Sprintf("%d periods above target %.2f", outDP, target)
			}
			return r
		}
	}
	if during > cur {
		r.desired, r.reason = during, ReasonSaturated
		r.detail = "saturated while the last change was allocating: desired from concurrent executions"
		return r
	}

	// Rule 4 (and 5): scale in on the window's maximum, step-limited.
	inDP := max(p.ScaleInDatapoints, 1)
	low := target * p.ScaleInRatio
	runLen, maxU, gap := 0, 0.0, false
	for i := n - 1; i >= 0 && runLen < inDP; i-- {
		s := slots[i]
		ok := (s.kind == slotUtil && !s.saturated && s.u < low) || (s.kind == slotQuiet && idle)
		if !ok {
			gap = s.kind != slotUtil
			break
		}
		runLen++
		maxU = math.Max(maxU, s.u)
	}
	switch {
	case runLen == inDP:
		want := ceilDiv(float64(cur)*maxU, target)
		if lim := p.MaxScaleInStep.Limit(cur); lim > 0 && want < cur-lim {
			want = cur - lim
		}
		if want < cur {
			r.desired, r.reason = want, ReasonUtilization
			r.detail = fmt.Sprintf("%d periods below %.2f, window max %.2f", inDP, low, maxU)
		}
	case runLen == n:
		// Every period since the change is low, but not yet enough of them.
		r.reason = ReasonInsufficient
		r.detail = fmt.Sprintf("%d of %d periods below %.2f since the last change", n, inDP, low)
	case gap:
		// missing_data: hold (or a minute with invocations but no
		// utilization): such minutes break the run, as in AAS.
		r.reason = ReasonInsufficient
		r.detail = fmt.Sprintf("a minute without utilization breaks the run after %d periods", runLen)
	case n < max(p.ScaleOutDatapoints, 1) && last.kind == slotUtil && last.u > target:
		r.reason = ReasonInsufficient
		r.detail = fmt.Sprintf("%d of %d periods above target since the last change", n, p.ScaleOutDatapoints)
	}
	return r
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
