package reliability

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Violation is one broken invariant or expectation. String names the
// scenario, seed, time (AWS's, and as run time), target and what was
// expected, so a failing line is enough to reproduce and judge it.
type Violation struct {
	Scenario  string
	Seed      int64
	Invariant string // short name: bounds, floor, unknown_minute, …
	Time      time.Time
	Offset    string // run time of Time
	Target    controller.TargetID
	Msg       string
	Expected  string
}

func (v Violation) String() string {
	tgt := v.Target.String()
	if v.Target == (controller.TargetID{}) {
		tgt = "-"
	}
	return fmt.Sprintf("%s seed=%d t=%s (%s) target=%s [%s] %s; expected %s",
		v.Scenario, v.Seed, v.Offset, v.Time.UTC().Format("15:04:05"), tgt, v.Invariant, v.Msg, v.Expected)
}

// Invariant names, in the order RELIABILITY.md defines them.
const (
	InvBounds      = "bounds"
	InvFloor       = "floor"
	InvUnknown     = "unknown_minute"
	InvPutsPerHour = "puts_per_hour"
	InvSurge       = "surge_covered"
	InvStall       = "stall_visible"
	InvFirstTick   = "first_tick"
	InvCooldown    = "cooldown"
	InvFailed      = "failed_no_climb"
	InvTerm        = "sigterm"
	InvWriteLog    = "write_log"
)

// check is one invariant over a whole run.
type check struct {
	name string
	f    func(r *Run) []Violation
}

var checks = []check{
	{InvBounds, checkBounds},
	{InvFloor, checkFloors},
	{InvUnknown, checkUnknownMinutes},
	{InvPutsPerHour, checkPutsPerHour},
	{InvSurge, checkSurges},
	{InvStall, checkStalls},
	{InvFirstTick, checkFirstTick},
	{InvCooldown, checkCooldown},
	{InvFailed, checkFailedNoClimb},
	{InvTerm, checkTerm},
	{InvWriteLog, checkWriteLog},
}

// Check runs every invariant and the scenario's expectations over a run.
func Check(r *Run) []Violation {
	var out []Violation
	out = append(out, r.Harness...)
	for _, c := range checks {
		for _, v := range c.f(r) {
			v.Invariant = c.name
			out = append(out, v)
		}
	}
	for _, e := range r.Scenario.Expect {
		out = append(out, e.check(r)...)
	}
	for i := range out {
		out[i].Scenario, out[i].Seed, out[i].Offset = r.Scenario.Name, r.Seed, r.offset(out[i].Time)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Bounds (B): no daemon write asks for more than the target may have: its
// max and the limits the daemon can read (limitCap).
func checkBounds(r *Run) []Violation {
	var out []Violation
	for _, w := range r.Writes {
		if !isDaemon(w) || w.Op != "Put" {
			continue
		}
		if c, by := r.limitCap(w.Target); w.Value > c {
			out = append(out, Violation{Time: w.Time, Target: w.Target,
				Msg:      fmt.Sprintf("%s wrote %d (result %s)", w.Caller, w.Value, w.Result),
				Expected: fmt.Sprintf("at most %d (%s)", c, by)})
		}
	}
	return out
}

// floorWindow is a floor in AWS time with its effective value.
type floorWindow struct {
	from, until time.Time
	value       int
	what        string
}

func (r *Run) floors(t Target) []floorWindow {
	c, _ := r.limitCap(t.ID)
	out := []floorWindow{{from: r.Start, until: r.End, value: min(t.Policy.Min, c), what: "min"}}
	for _, f := range t.Floors {
		out = append(out, floorWindow{from: r.Start.Add(f.From), until: r.Start.Add(f.Until), value: min(f.Value, c),
			what: fmt.Sprintf("scheduled floor %d", f.Value)})
	}
	return out
}

// Floors (F): (1) no daemon write goes below an active floor (the window
// shrunk by the skew at both ends: the daemon evaluates it on its own
// clock); (2) once a floor is active, Lambda's requested PC reaches it
// within a grace and stays there: two ticks, the skew, and two allocations
// (one that may be in flight when the window opens, and the floor's own),
// restarted by every out-of-band write, every daemon start, and the end of
// every impairment (a daemon that cannot call Lambda cannot raise it).
func checkFloors(r *Run) []Violation {
	var out []Violation
	skew := absDur(r.Scenario.Skew)
	for _, t := range r.Targets {
		for _, fw := range r.floors(t) {
			for _, w := range r.Writes {
				if !isDaemon(w) || w.Target != t.ID || w.Time.Before(fw.from.Add(skew)) || !w.Time.Before(fw.until.Add(-skew)) {
					continue
				}
				if w.Value < fw.value {
					out = append(out, Violation{Time: w.Time, Target: t.ID,
						Msg:      fmt.Sprintf("%s wrote %d while the %s was active", w.Caller, w.Value, fw.what),
						Expected: fmt.Sprintf("at least %d", fw.value)})
				}
			}
			grace := 2*interval + skew + 2*r.allocation(fw.value)
			restarts := []time.Time{fw.from}
			for _, w := range r.Writes {
				if !isDaemon(w) && w.Target == t.ID {
					restarts = append(restarts, w.Time)
				}
			}
			for _, inst := range r.Instances {
				restarts = append(restarts, inst.Started)
			}
			ims := r.impairments(t.ID)
			for _, im := range ims {
				restarts = append(restarts, im.until)
			}
			var below *Sample
			for _, s := range r.Samples[t.ID] {
				if s.Time.Before(fw.from) || !s.Time.Before(fw.until) || withinAfter(s.Time, restarts, grace) || inImpairment(s.Time, ims) {
					continue
				}
				if !s.Exists || s.Requested < fw.value {
					if below == nil {
						below = &s
					}
					continue
				}
				if below != nil {
					out = append(out, floorShort(t.ID, fw, *below, s.Time, grace))
					below = nil
				}
			}
			if below != nil {
				out = append(out, floorShort(t.ID, fw, *below, time.Time{}, grace))
			}
		}
	}
	return out
}

func floorShort(id controller.TargetID, fw floorWindow, s Sample, until time.Time, grace time.Duration) Violation {
	how := "to the end of the window"
	if !until.IsZero() {
		how = fmt.Sprintf("for %s", until.Sub(s.Time).Round(time.Second))
	}
	return Violation{Time: s.Time, Target: id,
		Msg: fmt.Sprintf("requested PC %d (%s, exists=%v) below the active %s %s", s.Requested, s.Status, s.Exists, fw.what, how),
		Expected: fmt.Sprintf("requested ≥ %d within %s of the window opening (or of the last out-of-band write, daemon start or fault end)",
			fw.value, grace)}
}

func withinAfter(t time.Time, starts []time.Time, grace time.Duration) bool {
	for _, s := range starts {
		if !t.Before(s) && t.Before(s.Add(grace)) {
			return true
		}
	}
	return false
}

func inImpairment(t time.Time, ims []impairment) bool {
	for _, im := range ims {
		if !t.Before(im.from) && t.Before(im.until) {
			return true
		}
	}
	return false
}

// Unknown minutes (U). For every scale-in the daemon decides (a Put or
// Delete, direction in, any reason but ceiling) of target x to n at AWS
// time t, with k = scale_in_datapoints and reach R = idle_after +
// metrics_max_lag:
//
//   - H = x's complete minutes in [t−R, t) that truly had invocations but
//     whose datapoints CloudWatch did not return at t (not yet published,
//     delayed by a fault, or dropped by a gap);
//   - w = the end of x's newest minute CloudWatch did return at t;
//     P_V = the true peak concurrency over [w−k min, w): what the minutes
//     the decision could rely on really needed;
//   - P_H = the true peak concurrency over H.
//
// It is a violation when H is not empty and n < min(P_H, P_V): the cut is
// below what the hidden minutes really ran and below what the newest known
// minutes show, so it can only come from counting unknown minutes as quiet.
// (A legitimate scale-in is at least ceil(peak of its known minutes /
// target) > P_V; a burst hidden in the newest minutes, which no one could
// know, is not a violation because P_V stays low.)
//
// Excepted: when CloudWatch returned no datapoint of x for any minute of
// [t − idle_after, t), the decision is what missing_data: idle promises
// (a gap or delay at least idle_after long looks exactly like idleness).
func checkUnknownMinutes(r *Run) []Violation {
	var out []Violation
	for _, tk := range r.Ticks {
		for id, o := range tk.Obs {
			d := o.Decision
			if !o.Observed || d.Action == controller.ActNone || d.Direction != controller.DirIn || d.Reason == controller.ReasonCeiling {
				continue
			}
			if v, ok := unknownMinuteCut(r, id, tk.Time, d); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func unknownMinuteCut(r *Run, id controller.TargetID, t time.Time, d controller.Decision) (Violation, bool) {
	p := r.target(id).Policy
	idleAfter := p.IdleAfter.Duration
	reach := idleAfter + maxLag
	var hidden []Minute
	var newest time.Time
	silent := true
	for _, m := range r.minutes(id, t.Add(-reach), t) {
		end := m.Start.Add(minute)
		if end.After(t) {
			continue // not complete at t
		}
		if m.visibleAt(t) {
			newest = end
			if !m.Start.Before(t.Add(-idleAfter)) {
				silent = false
			}
			continue
		}
		if m.Invocations > 0 {
			hidden = append(hidden, m)
		}
	}
	if len(hidden) == 0 || silent || newest.IsZero() {
		return Violation{}, false
	}
	k := time.Duration(max(p.ScaleInDatapoints, 1)) * minute
	pv := 0
	for _, m := range r.minutes(id, newest.Add(-k), newest) {
		pv = max(pv, m.Peak)
	}
	ph := 0
	var desc []string
	for _, m := range hidden {
		ph = max(ph, m.Peak)
		why := "not yet published"
		switch {
		case m.Dropped:
			why = "dropped by a gap"
		case m.Published:
			why = "visible at " + r.offset(m.Visible)
		}
		if len(desc) < 4 {
			desc = append(desc, fmt.Sprintf("%s peak %d (%s)", m.Start.Format("15:04"), m.Peak, why))
		}
	}
	if len(hidden) > len(desc) {
		desc = append(desc, fmt.Sprintf("… %d in all", len(hidden)))
	}
	need := min(ph, pv)
	if d.Desired >= need {
		return Violation{}, false
	}
	return Violation{Time: t, Target: id,
		Msg: fmt.Sprintf("scale-in %d → %d (%s: %s) while %d minutes with invocations were not in CloudWatch [%s]; newest known minute ends %s, true peak of the %d before it %d",
			d.Current, d.Desired, d.Reason, d.Detail, len(hidden), strings.Join(desc, "; "), newest.Format("15:04"), max(p.ScaleInDatapoints, 1), pv),
		Expected: fmt.Sprintf("no cut below %d (min of the hidden minutes' peak %d and the known minutes' peak %d)", need, ph, pv)}, true
}

// Puts per target and hour (P): in any 60-minute window a target gets at
// most maxWritesPerHour daemon writes attempted and maxOKWritesPerHour
// successful ones. Why these numbers: the default policy's own clocks
// allow at most 12 scale-ins an hour (scale_in_cooldown 5m), and the calm
// traffic of the suite needs a handful of changes an hour; retries of a
// short storm (409 or 5xx for a few ticks) fit in 20. More is a loop that
// retries without backing off or flaps, spending the account's 15 rps of
// Lambda control plane that every other target shares.
const (
	maxWritesPerHour   = 20
	maxOKWritesPerHour = 12
)

func checkPutsPerHour(r *Run) []Violation {
	var out []Violation
	by := map[controller.TargetID][]Write{}
	for _, w := range r.Writes {
		if isDaemon(w) {
			by[w.Target] = append(by[w.Target], w)
		}
	}
	for _, t := range r.Targets {
		ws := by[t.ID]
		reported := map[bool]bool{}
		for i := range ws {
			n, ok := 0, 0
			for _, w := range ws[i:] {
				if !w.Time.Before(ws[i].Time.Add(time.Hour)) {
					break
				}
				n++
				if w.ok() {
					ok++
				}
			}
			for _, c := range []struct {
				okOnly bool
				got    int
				limit  int
			}{{false, n, maxWritesPerHour}, {true, ok, maxOKWritesPerHour}} {
				if c.got > c.limit && !reported[c.okOnly] {
					reported[c.okOnly] = true
					kind := "writes attempted"
					if c.okOnly {
						kind = "successful writes"
					}
					out = append(out, Violation{Time: ws[i].Time, Target: t.ID,
						Msg:      fmt.Sprintf("%d %s in the hour from here (%s)", c.got, kind, summarize(r, ws[i:], 8)),
						Expected: fmt.Sprintf("at most %d an hour", c.limit)})
				}
			}
		}
	}
	return out
}

func summarize(r *Run, ws []Write, n int) string {
	var parts []string
	for i, w := range ws {
		if i == n {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d %s", r.offset(w.Time), w.Value, w.Result))
	}
	return strings.Join(parts, ", ")
}

// Surge coverage (S): a surge of Target at At to a mean concurrency D
// (capped by the limits: D' = min(D, limitCap)) is covered when Lambda
// reports Available ≥ D' no later than
//
//	At + 1 min (the first surge minute completes)
//	   + the publication delay (plus every metric_delay fault that can hit it)
//	   + 2 ticks
//	   + allocation (prep_delay + the increase to ceil(D'/target) at rate_per_minute).
//
// Impairments (request faults on the daemon's calls, FAILED allocations,
// PartialData, the daemon down, the clock offset unknown) overlapping that
// span push the deadline to their end + 2 ticks + allocation (+ the length
// of the impairment again for FAILED, which the daemon retries with a
// doubling backoff).
func checkSurges(r *Run) []Violation {
	var out []Violation
	for _, s := range r.Scenario.Surges {
		dl := surgeDeadline(r, s, r.impairments(s.Target))
		want := surgeDemand(r, s)
		at := r.Start.Add(s.At)
		covered := time.Time{}
		var last Sample
		for _, smp := range r.Samples[s.Target] {
			if smp.Time.Before(at) {
				continue
			}
			if !smp.Time.After(dl) {
				last = smp
			}
			if smp.Exists && smp.Available >= want {
				covered = smp.Time
				break
			}
		}
		if !covered.IsZero() && !covered.After(dl) {
			continue
		}
		first := "never in the run"
		if !covered.IsZero() {
			first = "first at " + r.offset(covered)
		}
		why := s.Why
		if why == "" {
			why = "surge"
		}
		out = append(out, Violation{Time: dl, Target: s.Target,
			Msg: fmt.Sprintf("%s at %s to %d concurrent not covered: at the deadline requested %d available %d %s (%s); writes: %s",
				why, r.offset(at), want, last.Requested, last.Available, last.Status, first, summarize(r, writesOf(r, s.Target, at, dl.Add(30*time.Minute)), 6)),
			Expected: fmt.Sprintf("available ≥ %d by %s (%s)", want, r.offset(dl), surgeBudget(r, s))})
	}
	return out
}

func writesOf(r *Run, id controller.TargetID, from, to time.Time) []Write {
	var out []Write
	for _, w := range r.Writes {
		if w.Target == id && !w.Time.Before(from) && w.Time.Before(to) {
			out = append(out, w)
		}
	}
	return out
}

func surgeDemand(r *Run, s Surge) int {
	c, _ := r.limitCap(s.Target)
	return min(s.Demand, c)
}

// surgeBase is the deadline without impairments, and the allocation time
// it assumes.
func surgeBase(r *Run, s Surge) (time.Time, time.Duration) {
	at := r.Start.Add(s.At)
	p := r.target(s.Target).Policy
	want := surgeDemand(r, s)
	need := ceilDiv(float64(want), p.TargetUtilization)
	prev := 0
	if smp, ok := r.sampleAt(s.Target, at); ok {
		prev = smp.Requested
	} else if f := r.function(s.Target.Function); f != nil {
		prev = f.Provisioned[s.Target.Qualifier]
	}
	alloc := r.allocation(need - prev)
	return at.Add(minute + r.publication(s.Target, at, at.Add(minute)) + 2*interval + alloc), alloc
}

func surgeBudget(r *Run, s Surge) string {
	_, alloc := surgeBase(r, s)
	return fmt.Sprintf("1m + publication %s + 2 ticks + allocation %s, pushed by impairments",
		r.publication(s.Target, r.Start.Add(s.At), r.Start.Add(s.At+minute)), alloc)
}

// surgeDeadline is invariant S's deadline; ims nil means none known yet
// (the runner plans a sample at the unpushed deadline). Pushes, in order:
//
//   - a change of the target still IN_PROGRESS when the first surge minute
//     becomes visible: until it is not (Lambda answers 409 meanwhile);
//   - impairments overlapping the span: to their end + 2 ticks +
//     allocation (+ their whole length again when the retry backoff
//     doubles: it started at the first failure, which may precede the
//     surge);
//   - each daemon write to the target refused inside the span (a rarer
//     request fault, under the impairment threshold): one tick.
func surgeDeadline(r *Run, s Surge, ims []impairment) time.Time {
	dl, alloc := surgeBase(r, s)
	at := r.Start.Add(s.At)
	vis := at.Add(minute + r.publication(s.Target, at, at.Add(minute)))
	if smp, ok := r.sampleAt(s.Target, vis); ok && smp.Exists && smp.Status == "IN_PROGRESS" {
		for _, later := range r.Samples[s.Target] {
			if later.Time.After(vis) && later.Status != "IN_PROGRESS" {
				dl = dl.Add(later.Time.Sub(vis))
				break
			}
		}
	}
	sort.Slice(ims, func(i, j int) bool { return ims[i].from.Before(ims[j].from) })
	for changed := true; changed; {
		changed = false
		for _, im := range ims {
			if !im.from.Before(dl) || !im.until.After(at) {
				continue
			}
			end := im.until.Add(2*interval + alloc)
			if im.doubling {
				// The backoff doubles from the first failure, which may come
				// before the surge: the retry pending when the fault ends is
				// at most the fault's length away.
				end = end.Add(im.until.Sub(im.from))
			}
			if end.After(dl) {
				dl, changed = end, true
			}
		}
	}
	for _, w := range r.Writes {
		if isDaemon(w) && w.Target == s.Target && !w.ok() && !w.Time.Before(at) && !w.Time.After(dl) {
			dl = dl.Add(interval)
		}
	}
	return dl
}

// policyReasons are the reasons of a target that can act and chose not to
// (or acted): anything else is a hold forced on it.
var policyReasons = map[controller.Reason]bool{
	controller.ReasonWithinTarget: true, controller.ReasonUtilization: true, controller.ReasonSaturated: true,
	controller.ReasonSpillover: true, controller.ReasonIdle: true, controller.ReasonFloor: true,
	controller.ReasonCeiling: true, controller.ReasonCooldown: true, controller.ReasonPredicted: true,
}

// stuck: the target could not act in this tick: not observed at all, held
// for a reason that is not the policy's own, or its write failed.
func stuck(o Obs) (bool, string) {
	switch {
	case !o.Observed && !o.Acted:
		return true, "not observed"
	case o.Acted && o.Result != controller.ResultOK:
		return true, "write " + o.Result
	case o.Decision.Action == controller.ActNone && !policyReasons[o.Decision.Reason]:
		return true, string(o.Decision.Reason)
	}
	return false, ""
}

// impairedAt lists what keeps the target from acting in tick o at t, by
// ground truth: a fault on the reads every tick needs (GetMetricData,
// GetProvisionedConcurrencyConfig, or every call) or injected PartialData,
// the clock offset unknown or beyond ±60 s, CloudWatch more than
// metrics_max_lag + 1 minute behind, the config FAILED, or — for faults on
// the writes only — this tick's write refused while one is active.
func (r *Run) impairedAt(id controller.TargetID, t time.Time, o Obs) []string {
	var why []string
	for _, f := range r.SimSc.Faults {
		if !requestFault(f) {
			continue
		}
		a, b := r.faultWindow(f)
		if t.Before(a) || !t.Before(b) {
			continue
		}
		switch f.Op {
		case "PutProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig":
			if o.Acted && o.Result != controller.ResultOK {
				why = append(why, f.Kind+" on "+f.Op)
			}
		default:
			if f.Probability == nil || *f.Probability >= 0.5 {
				why = append(why, f.Kind+" on "+f.Op)
			}
		}
	}
	for _, w := range r.Scenario.PartialData {
		if w.contains(t.Sub(r.Start)) {
			why = append(why, "PartialData")
		}
	}
	if k := r.Scenario.ClockKnownAfter; k > 0 && t.Before(r.Start.Add(k)) {
		why = append(why, "clock offset unknown")
	}
	if s, ok := r.sampleAt(id, t); ok && s.Exists && s.Status == "FAILED" {
		why = append(why, "allocation FAILED")
	}
	if absDur(r.Scenario.Skew) > skewTolerance {
		why = append(why, fmt.Sprintf("clock skew %s", r.Scenario.Skew))
	}
	if w := r.newestVisible(t); !w.IsZero() && t.Sub(w) > maxLag+minute {
		why = append(why, fmt.Sprintf("CloudWatch %s behind", t.Sub(w).Round(time.Second)))
	}
	return why
}

// Stalls are visible (V): when a target has been stuck (see stuck) in
// more than 3 consecutive ticks of one daemon while impaired by ground
// truth (see impairedAt), ObserveStall must report a reason from the 4th
// such tick on. One violation per streak.
func checkStalls(r *Run) []Violation {
	var out []Violation
	type streak struct {
		n        int
		inst     int
		reported bool
		why      []string
	}
	st := map[controller.TargetID]*streak{}
	for _, tk := range r.Ticks {
		for _, t := range r.Targets {
			s := st[t.ID]
			if s == nil || s.inst != tk.Instance {
				s = &streak{inst: tk.Instance}
				st[t.ID] = s
			}
			o := tk.Obs[t.ID]
			isStuck, how := stuck(o)
			why := r.impairedAt(t.ID, tk.Time, o)
			if !isStuck || len(why) == 0 {
				*s = streak{inst: tk.Instance}
				continue
			}
			s.n++
			s.why = why
			if s.n > 3 && o.Stall == controller.StallNone && !s.reported {
				s.reported = true
				out = append(out, Violation{Time: tk.Time, Target: t.ID,
					Msg: fmt.Sprintf("stuck for %d ticks (now: %s) while impaired by %s; ObserveStall reported nothing (called=%v)",
						s.n, how, strings.Join(why, ", "), o.HasStall),
					Expected: "a stall reason from the 4th tick on"})
			}
		}
	}
	return out
}

// First tick (R): a daemon decides no scale-in on its first tick after a
// (re)start (issue 9 item 4), other than moving in to a ceiling.
func checkFirstTick(r *Run) []Violation {
	var out []Violation
	seen := map[int]map[controller.TargetID]bool{}
	for _, tk := range r.Ticks {
		if seen[tk.Instance] == nil {
			seen[tk.Instance] = map[controller.TargetID]bool{}
		}
		for id, o := range tk.Obs {
			if !o.Observed || seen[tk.Instance][id] {
				continue
			}
			seen[tk.Instance][id] = true
			d := o.Decision
			if d.Action != controller.ActNone && d.Direction == controller.DirIn && d.Reason != controller.ReasonCeiling {
				out = append(out, Violation{Time: tk.Time, Target: id,
					Msg:      fmt.Sprintf("daemon#%d's first tick scaled in %d → %d (%s: %s)", tk.Instance, d.Current, d.Desired, d.Reason, d.Detail),
					Expected: "no scale-in on the first tick after a start"})
			}
		}
	}
	return out
}

// Cooldown (C): no metric-driven scale-in (utilization, idle) within
// scale_in_cooldown of the target's previous successful write by anyone,
// as Lambda's LastModified records it — across restarts, out-of-band
// writes and skew.
func checkCooldown(r *Run) []Violation {
	var out []Violation
	for _, tk := range r.Ticks {
		for id, o := range tk.Obs {
			d := o.Decision
			if !o.Observed || d.Action == controller.ActNone || d.Direction != controller.DirIn ||
				(d.Reason != controller.ReasonUtilization && d.Reason != controller.ReasonIdle) {
				continue
			}
			cd := r.target(id).Policy.ScaleInCooldown.Duration
			var last *Write
			for i := range r.Writes {
				w := &r.Writes[i]
				if w.Target == id && w.ok() && w.Time.Before(tk.Time) {
					last = w
				}
			}
			if last != nil && tk.Time.Sub(last.Time) < cd {
				out = append(out, Violation{Time: tk.Time, Target: id,
					Msg: fmt.Sprintf("scale-in %d → %d (%s) %s after %s's write of %d",
						d.Current, d.Desired, d.Reason, tk.Time.Sub(last.Time).Round(time.Second), last.Caller, last.Value),
					Expected: fmt.Sprintf("no metric-driven scale-in within scale_in_cooldown %s", cd)})
			}
		}
	}
	return out
}

// FAILED no climb (FL): while a target's config is FAILED, the daemon never
// requests more than the value that failed (issue 9: "nothing requests
// more while an allocation is FAILED").
func checkFailedNoClimb(r *Run) []Violation {
	var out []Violation
	for _, w := range r.Writes {
		if isDaemon(w) && w.HadBefore && w.Before.Status == "FAILED" && w.Value > w.Before.Requested {
			out = append(out, Violation{Time: w.Time, Target: w.Target,
				Msg:      fmt.Sprintf("%s wrote %d while %d was FAILED (%s, allocated %d)", w.Caller, w.Value, w.Before.Requested, w.Before.StatusReason, w.Before.Allocated),
				Expected: fmt.Sprintf("at most %d until the allocation recovers", w.Before.Requested)})
		}
	}
	return out
}

// SIGTERM (T): the write in flight when SIGTERM arrives completes (its
// result is Lambda's, not a cancelled context), and its daemon starts no
// other write afterwards. (A Term event that met no write is reported by
// the runner, as every event that never happened.)
func checkTerm(r *Run) []Violation {
	var out []Violation
	for _, w := range r.Writes {
		switch {
		case w.InFlightTerm:
			if strings.HasPrefix(w.Result, "context") {
				out = append(out, Violation{Time: w.Time, Target: w.Target,
					Msg:      fmt.Sprintf("%s's write of %d in flight at SIGTERM ended %q", w.Caller, w.Value, w.Result),
					Expected: "the in-flight write completes (controller writes on a context detached from shutdown)"})
			}
		case w.AfterTerm:
			out = append(out, Violation{Time: w.Time, Target: w.Target,
				Msg:      fmt.Sprintf("%s started a write of %d after SIGTERM (result %s)", w.Caller, w.Value, w.Result),
				Expected: "no new write after SIGTERM"})
		}
	}
	return out
}

// Write log (W): the simulator's write log and the harness's agree write
// for write (time, caller, target, value, success), and name only the
// callers the scenario has (daemon#N, operator). A write the simulator
// logged that the harness did not see went around the daemon's store; one
// the harness saw that the simulator did not log never reached Lambda
// (only a write on an already cancelled context may do that, and invariant
// T reports it).
func checkWriteLog(r *Run) []Violation {
	type key struct {
		t      time.Time
		caller string
		id     controller.TargetID
		value  int
	}
	want := map[key][]Write{}
	for _, w := range r.Writes {
		if strings.HasPrefix(w.Result, "context") {
			continue
		}
		k := key{w.Time.UTC(), w.Caller, w.Target, w.Value}
		want[k] = append(want[k], w)
	}
	var out []Violation
	for _, sw := range r.SimWrites {
		id := controller.TargetID{Function: sw.Function, Qualifier: sw.Qualifier}
		k := key{sw.Time.UTC(), sw.Caller, id, sw.Value}
		ws := want[k]
		if len(ws) == 0 {
			out = append(out, Violation{Time: sw.Time, Target: id,
				Msg:      fmt.Sprintf("the simulator logged %s %d by %q (%s) that no daemon store or operator made", sw.Op, sw.Value, sw.Caller, sw.Result),
				Expected: "every write by a daemon instance or the scenario's operator"})
			continue
		}
		w := ws[0]
		want[k] = ws[1:]
		if (sw.Result == sim.WriteOK) != w.ok() {
			out = append(out, Violation{Time: sw.Time, Target: id,
				Msg:      fmt.Sprintf("%s %d by %s: the simulator logged %s, the caller saw %s", sw.Op, sw.Value, sw.Caller, sw.Result, w.Result),
				Expected: "the same outcome in both logs"})
		}
	}
	for _, ws := range want {
		for _, w := range ws {
			out = append(out, Violation{Time: w.Time, Target: w.Target,
				Msg:      fmt.Sprintf("%s's %s %d (%s) is missing from the simulator's write log", w.Caller, w.Op, w.Value, w.Result),
				Expected: "every write answered by the simulator in its log"})
		}
	}
	return out
}
