// Package schedule evaluates cron windows that raise a floor or lower a ceiling on provisioned
// concurrency. It never runs anything: the controller asks Active(now) each tick.
//
// A window {cron, timezone, duration, lead} is active at now iff the expression fires at some t
// (wall clock in the window's IANA zone) with t − lead ≤ now < t + duration. Lead opens the
// whole window early, ceiling included: one rule is easier to predict than two, and a ceiling
// that starts a few minutes early is harmless. Duration is elapsed time, not wall-clock time.
// Overlapping windows combine: the effective floor is the largest active floor, the effective
// ceiling the smallest active ceiling.
//
// Daylight saving time: a window fires at every instant whose wall clock matches.
//   - A wall time that does not exist (spring forward) fires when the clock jumps over it:
//     "30 2 * * *" in Europe/Berlin fires at 03:00 CEST on 2026-03-29, so no window is lost.
//   - A wall time that occurs twice (fall back) fires twice: "30 2 * * *" with duration 1h in
//     Europe/Berlin on 2026-10-25 is open from 02:30 CEST to 03:30 CET, one hour longer.
//     Hourly and finer expressions therefore leave no hole in the repeated hour.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"time"
	_ "time/tzdata" // IANA zones even on images without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// Schedule is a compiled, immutable set of windows; safe for concurrent use.
type Schedule struct {
	windows []window
}

type window struct {
	name       string
	spec       cronSpec
	dur, lead  time.Duration
	floor, cap *int
}

// State is the effect of the windows active at one instant.
type State struct {
	Floor      int // max of active floors (valid when HasFloor)
	HasFloor   bool
	Ceiling    int // min of active ceilings (valid when HasCeiling)
	HasCeiling bool
	Active     []string // names of active windows, sorted
}

// SpecError is one problem with one schedule entry. Field is the YAML key ("cron", "timezone",
// …) or empty for the entry as a whole; callers prefix the target's path to Error().
type SpecError struct {
	Index int
	Field string
	Msg   string
}

func (e *SpecError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("schedules[%d]: %s", e.Index, e.Msg)
	}
	return fmt.Sprintf("schedules[%d].%s: %s", e.Index, e.Field, e.Msg)
}

// Compile parses every expression and loads every zone once. It reports all problems at once
// (errors.Join of *SpecError). Empty or nil specs give a valid empty schedule.
func Compile(specs []config.ScheduleSpec) (*Schedule, error) {
	s := &Schedule{windows: make([]window, 0, len(specs))}
	var errs []error
	bad := func(i int, field, format string, args ...any) {
		errs = append(errs, &SpecError{Index: i, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i, sp := range specs {
		w := window{name: sp.Name, dur: sp.Duration.Duration, lead: sp.Lead.Duration,
			floor: clone(sp.Floor), cap: clone(sp.Ceiling)} // copies: a later edit of the config changes nothing here
		if w.name == "" {
			w.name = fmt.Sprintf("schedules[%d]", i)
		}
		if j, dup := seen[w.name]; dup {
			bad(i, "name", "%q is already used by schedules[%d]", w.name, j)
		}
		seen[w.name] = i

		loc, err := config.LoadLocation(sp.Timezone)
		if err != nil {
			bad(i, "timezone", "%v", err)
		}
		spec, err := parseCron(sp.Cron)
		if err != nil {
			bad(i, "cron", "%v", err)
		} else if !spec.firesEver() {
			bad(i, "cron", "%q never fires (no such date)", sp.Cron)
		}
		spec.loc = loc
		w.spec = spec

		// The same rules and messages as config.Validate, which runs first: Compile only
		// repeats them for callers that skip validation.
		switch {
		case w.dur == 0:
			bad(i, "duration", "is required (how long the window stays open, e.g. 10h)")
		case w.dur < 0 || w.dur > config.MaxScheduleOpen:
			bad(i, "duration", "%s is out of range (0s < value <= %s)", sp.Duration, config.Duration{Duration: config.MaxScheduleOpen})
		}
		if w.lead < 0 || w.lead >= config.MaxScheduleLead {
			bad(i, "lead", "%s is out of range (0s <= value < %s)", sp.Lead, config.Duration{Duration: config.MaxScheduleLead})
		}
		if w.floor == nil && w.cap == nil {
			bad(i, "", "needs a floor and/or a ceiling")
		}
		if w.floor != nil && *w.floor < 0 {
			bad(i, "floor", "%d is out of range (value >= 0)", *w.floor)
		}
		if w.cap != nil && *w.cap < 1 {
			bad(i, "ceiling", "%d is out of range (value >= 1)", *w.cap)
		}
		if w.floor != nil && w.cap != nil && *w.floor >= 0 && *w.cap >= 1 && *w.floor > *w.cap {
			bad(i, "floor", "%d is greater than ceiling %d", *w.floor, *w.cap)
		}
		s.windows = append(s.windows, w)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func clone(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// parseCron shares config.ParseCron with validation (so both accept the same text) and keeps
// only robfig's bit sets: fire times are computed in fires.go.
func parseCron(text string) (cronSpec, error) {
	parsed, err := config.ParseCron(text)
	if err != nil {
		return cronSpec{}, fmt.Errorf("%q does not parse: %v", text, err)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return cronSpec{}, fmt.Errorf("%q does not parse: not a wall-clock expression", text)
	}
	spec := cronSpec{minute: ss.Minute, hour: ss.Hour, dom: ss.Dom, month: ss.Month, dow: ss.Dow}
	spec.secs = spec.daySeconds() // computed once: Schedule is read-only after Compile
	return spec, nil
}

// Location is the zone of the first window (UTC when there is none): the natural zone in which
// to show a target's preview.
func (s *Schedule) Location() *time.Location {
	if s == nil || len(s.windows) == 0 {
		return time.UTC
	}
	return s.windows[0].spec.loc
}

// Len is the number of windows.
func (s *Schedule) Len() int {
	if s == nil {
		return 0
	}
	return len(s.windows)
}

// activeAt costs one search for the first fire after now − duration: if that fire exists and
// has opened (t − lead ≤ now) the window is open, since t > now − duration means now < t + duration.
func (w *window) activeAt(now time.Time) bool {
	t, ok := w.spec.next(now.Add(-w.dur))
	return ok && !t.Add(-w.lead).After(now)
}

// Active returns the effective state at now. A nil schedule has no windows.
func (s *Schedule) Active(now time.Time) State {
	var st State
	if s == nil {
		return st
	}
	for i := range s.windows {
		if w := &s.windows[i]; w.activeAt(now) {
			st.add(w)
		}
	}
	slices.Sort(st.Active)
	return st
}

func (st *State) add(w *window) {
	st.Active = append(st.Active, w.name)
	if w.floor != nil && (!st.HasFloor || *w.floor > st.Floor) {
		st.Floor, st.HasFloor = *w.floor, true
	}
	if w.cap != nil && (!st.HasCeiling || *w.cap < st.Ceiling) {
		st.Ceiling, st.HasCeiling = *w.cap, true
	}
}

// Equal reports whether two states have the same bounds and the same active windows.
func (st State) Equal(o State) bool {
	return st.HasFloor == o.HasFloor && st.HasCeiling == o.HasCeiling &&
		(!st.HasFloor || st.Floor == o.Floor) && (!st.HasCeiling || st.Ceiling == o.Ceiling) &&
		slices.Equal(st.Active, o.Active)
}

// NextChange returns the first instant after `after` at which the state changes, looking at
// most a year ahead (false: no change within that horizon, or no windows).
func (s *Schedule) NextChange(after time.Time) (time.Time, bool) {
	if s.Len() == 0 {
		return time.Time{}, false
	}
	for _, days := range []int{2, 35, maxPreviewDays} { // dense schedules answer in the first
		if ch := s.Preview(after, days); len(ch) > 1 {
			return ch[1].At, true
		}
	}
	return time.Time{}, false
}
