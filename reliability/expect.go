package reliability

import (
	"fmt"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// The expectations a scenario states about itself (issue 9 "Done when"),
// checked against Lambda's sampled state.

// ScalesIn: by run time By the target's requested PC is at most Value
// ("a quiet target still scales in").
type ScalesIn struct {
	Target controller.TargetID
	By     time.Duration
	Value  int
}

func (e ScalesIn) check(r *Run) []Violation {
	t := r.Start.Add(e.By)
	s, ok := r.sampleAt(e.Target, t)
	if ok && s.Exists && s.Requested <= e.Value {
		return nil
	}
	return []Violation{{Invariant: "expect_scales_in", Time: t, Target: e.Target,
		Msg:      fmt.Sprintf("requested PC %d (%s) at %s; writes: %s", s.Requested, s.Status, r.offset(t), summarize(r, writesOf(r, e.Target, r.Start, t), 8)),
		Expected: fmt.Sprintf("at most %d by %s", e.Value, r.offset(t))}}
}

// Keeps: from From to Until the target's requested PC never drops below
// Value ("a busy function with a gap or delay shorter than idle_after
// keeps its PC").
type Keeps struct {
	Target      controller.TargetID
	From, Until time.Duration
	Value       int
	Why         string
}

func (e Keeps) check(r *Run) []Violation {
	from, until := r.Start.Add(e.From), r.Start.Add(e.Until)
	for _, s := range r.Samples[e.Target] {
		if s.Time.Before(from) || !s.Time.Before(until) {
			continue
		}
		if !s.Exists || s.Requested < e.Value {
			return []Violation{{Invariant: "expect_keeps", Time: s.Time, Target: e.Target,
				Msg: fmt.Sprintf("requested PC %d (%s) during %s; writes: %s", s.Requested, s.Status, e.Why,
					summarize(r, writesOf(r, e.Target, from.Add(-5*time.Minute), until), 8)),
				Expected: fmt.Sprintf("at least %d from %s to %s", e.Value, r.offset(from), r.offset(until))}}
		}
	}
	return nil
}

// BackWithin: after run time At, the target's requested PC is back within
// [Min, Max] no later than Within ("out of bounds moves in at once").
type BackWithin struct {
	Target   controller.TargetID
	At       time.Duration
	Within   time.Duration
	Min, Max int
	Why      string
}

func (e BackWithin) check(r *Run) []Violation {
	at, dl := r.Start.Add(e.At), r.Start.Add(e.At+e.Within)
	for _, s := range r.Samples[e.Target] {
		if s.Time.Before(at) || s.Time.After(dl) {
			continue
		}
		if s.Exists && s.Requested >= e.Min && s.Requested <= e.Max {
			return nil
		}
	}
	s, _ := r.sampleAt(e.Target, dl)
	return []Violation{{Invariant: "expect_back_in_bounds", Time: dl, Target: e.Target,
		Msg:      fmt.Sprintf("%s: requested PC %d (%s) at %s; writes: %s", e.Why, s.Requested, s.Status, r.offset(dl), summarize(r, writesOf(r, e.Target, at, dl), 8)),
		Expected: fmt.Sprintf("requested within [%d, %d] by %s", e.Min, e.Max, r.offset(dl))}}
}

// HoldsScaleIn: the daemon writes no scale-in at all, other than moving
// in to a ceiling ("a larger skew holds every scale-in").
type HoldsScaleIn struct{ Why string }

func (e HoldsScaleIn) check(r *Run) []Violation {
	var out []Violation
	for _, tk := range r.Ticks {
		for id, o := range tk.Obs {
			d := o.Decision
			if o.Observed && d.Action != controller.ActNone && d.Direction == controller.DirIn && d.Reason != controller.ReasonCeiling {
				out = append(out, Violation{Invariant: "expect_holds_scale_in", Time: tk.Time, Target: id,
					Msg:      fmt.Sprintf("scale-in %d → %d (%s: %s) with %s", d.Current, d.Desired, d.Reason, d.Detail, e.Why),
					Expected: "every scale-in held"})
			}
		}
	}
	return out
}
