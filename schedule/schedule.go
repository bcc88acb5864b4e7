// Package schedule evaluates cron windows that raise a floor or lower a ceiling on provisioned
// concurrency. It never runs anything: the controller asks Active(now) each tick.
//
// A window {cron, timezone, duration, lead} is active at now iff the expression fires at some t
// (wall clock in the window's IANA zone) with t − lead ≤ now < t + duration. Lead opens the
// whole window early, ceiling included: one rule is easier to predict than two, and a ceiling
// that starts a few minutes early is harmless. Overlapping windows combine: the effective floor
// is the largest active floor, the effective ceiling the smallest active ceiling. See fires.go
// for what happens when DST skips or repeats a wall time.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones even on images without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// Limits that keep every evaluation cheap; generous for planned peaks.
const (
	MaxDuration = 366 * 24 * time.Hour
	MaxLead     = 24 * time.Hour
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
// …) or empty for the entry as a whole; config prefixes the target's path to Error().
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
		w := window{name: sp.Name, dur: sp.Duration.Duration, lead: sp.Lead.Duration, floor: sp.Floor, cap: sp.Ceiling}
		if w.name == "" {
			w.name = fmt.Sprintf("schedules[%d]", i)
		}
		if j, dup := seen[w.name]; dup {
			bad(i, "name", "duplicate name %q (also schedules[%d])", w.name, j)
		}
		seen[w.name] = i

		loc, err := loadZone(sp.Timezone)
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

		switch {
		case w.dur <= 0:
			bad(i, "duration", "must be > 0, got %s", w.dur)
		case w.dur > MaxDuration:
			bad(i, "duration", "must be at most %s, got %s", MaxDuration, w.dur)
		}
		if w.lead < 0 || w.lead > MaxLead {
			bad(i, "lead", "must be between 0s and %s, got %s", MaxLead, w.lead)
		}
		if w.floor == nil && w.cap == nil {
			bad(i, "", "needs a floor and/or a ceiling")
		}
		if w.floor != nil && *w.floor < 0 {
			bad(i, "floor", "must be >= 0, got %d", *w.floor)
		}
		if w.cap != nil && *w.cap < 0 {
			bad(i, "ceiling", "must be >= 0, got %d", *w.cap)
		}
		if w.floor != nil && w.cap != nil && *w.cap >= 0 && *w.floor > *w.cap {
			bad(i, "floor", "%d is above this window's ceiling %d", *w.floor, *w.cap)
		}
		s.windows = append(s.windows, w)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func loadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		// The daemon's host zone is an accident of deployment (UTC in most containers).
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Berlin", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Berlin", name)
	}
	return loc, nil
}

const cronHelp = `5 fields "minute hour day-of-month month day-of-week" or @yearly, @monthly, @weekly, @daily, @hourly`

func parseCron(text string) (spec cronSpec, err error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return spec, fmt.Errorf("empty; want %s", cronHelp)
	case strings.HasPrefix(text, "TZ=") || strings.HasPrefix(text, "CRON_TZ="):
		// robfig v3.0.1 panics on "TZ=X" without a space; the zone has its own key anyway.
		return spec, fmt.Errorf("%q: set the zone with the timezone key, not a TZ= prefix", text)
	case strings.HasPrefix(text, "@every"):
		return spec, fmt.Errorf("%q: @every has no wall-clock start; want %s", text, cronHelp)
	}
	defer func() {
		// robfig/cron is unmaintained; a parser panic on odd input must stay a config error.
		if r := recover(); r != nil {
			err = fmt.Errorf("%q: cannot parse: %v", text, r)
		}
	}()
	p := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	parsed, err := p.Parse(text)
	if err != nil {
		return spec, fmt.Errorf("%q: %v; want %s", text, err, cronHelp)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return spec, fmt.Errorf("%q: unsupported; want %s", text, cronHelp)
	}
	spec = cronSpec{minute: ss.Minute, hour: ss.Hour, dom: ss.Dom, month: ss.Month, dow: ss.Dow}
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
