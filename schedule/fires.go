package schedule

import (
	"math"
	"slices"
	"time"
)

// cronSpec is a parsed cron expression in one IANA zone. robfig/cron/v3 parses the text; its
// SpecSchedule.Next is not used to find fire times because, measured against v3.0.1, it drops a
// fire whose wall time falls in a spring-forward gap (Europe/Berlin "30 2 * * *" has no fire on
// 2026-03-29) and misses existing times after 30-minute shifts (Australia/Lord_Howe "0 3 * * *"
// on 2026-10-04). Fire times here are derived from the parsed bit sets instead.
//
// The DST rules are in the package documentation.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
	loc                           *time.Location
	secs                          []int64 // matching wall times as seconds after midnight, ascending
}

// daySeconds lists the wall times of a matching day, as seconds after midnight.
func (c *cronSpec) daySeconds() []int64 {
	if c.secs != nil {
		return c.secs
	}
	var out []int64
	for h := range 24 {
		for m := range 60 {
			if 1<<uint(h)&c.hour != 0 && 1<<uint(m)&c.minute != 0 {
				out = append(out, int64(h)*3600+int64(m)*60)
			}
		}
	}
	return out
}

// starBit is robfig's marker for a field written as "*" or "?"; it decides how day-of-month and
// day-of-week combine, exactly as in robfig's dayMatches.
const starBit = 1 << 63

// scanDays bounds every search for a fire time: long enough to reach a 29 February from any date
// (8 years, 2100 is not a leap year), short enough to stay cheap for schedules that fire rarely.
const scanDays = 9*366 + 2

// zoneMargin covers every UTC offset in use (−12h … +14h) when mapping a civil day to instants.
const zoneMargin = 15 * time.Hour

func (c *cronSpec) dayMatches(day time.Time) bool {
	if 1<<uint(day.Month())&c.month == 0 {
		return false
	}
	domMatch := 1<<uint(day.Day())&c.dom != 0
	dowMatch := 1<<uint(day.Weekday())&c.dow != 0
	if c.dom&starBit != 0 || c.dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}

// period is one stretch of constant UTC offset in a zone, in Unix seconds; start and end are
// math.MinInt64/MaxInt64 when unbounded. Fire times are computed as Unix seconds because the
// inner loop runs up to 1440 times a day ("* * * * *").
type period struct {
	start, end, off int64
}

// periods lists the zone's offset periods covering the instants [from, to].
func (c *cronSpec) periods(from, to time.Time) []period {
	var out []period
	p := from.In(c.loc)
	for range 64 { // a handful of transitions a day at most; the cap only guards odd zone data
		_, off := p.Zone()
		start, end := p.ZoneBounds()
		pd := period{start: math.MinInt64, end: math.MaxInt64, off: int64(off)}
		if !start.IsZero() {
			pd.start = start.Unix()
		}
		if !end.IsZero() {
			pd.end = end.Unix()
		}
		out = append(out, pd)
		if end.IsZero() || end.After(to) || !end.After(p) {
			break
		}
		p = end.In(c.loc)
	}
	return out
}

// dayFires appends to buf, sorted and without duplicates, the fire instants (Unix seconds) of
// the civil day `day` (given as midnight UTC, i.e. the wall clock written as if it were UTC).
func (c *cronSpec) dayFires(day time.Time, buf []int64) []int64 {
	buf = buf[:0]
	if !c.dayMatches(day) {
		return buf
	}
	ps := c.periods(day.Add(-zoneMargin), day.Add(24*time.Hour+zoneMargin))
	midnight := day.Unix()
	if len(ps) == 1 { // no transition near this day: one offset for every wall time
		for _, sec := range c.daySeconds() {
			buf = append(buf, midnight+sec-ps[0].off)
		}
		return buf
	}
	for _, sec := range c.daySeconds() {
		wall := midnight + sec
		n := len(buf)
		for _, p := range ps {
			if t := wall - p.off; p.start <= t && t < p.end {
				buf = append(buf, t)
			}
		}
		if len(buf) > n {
			continue
		}
		// The wall time does not exist: fire when the clock jumps over it.
		for i := 0; i+1 < len(ps); i++ {
			a, b := ps[i], ps[i+1]
			if wall-a.off >= a.end && wall-b.off < b.start {
				buf = append(buf, b.start)
				break
			}
		}
	}
	slices.Sort(buf) // already sorted except around a fall-back transition
	return slices.Compact(buf)
}

// civilDay returns the wall-clock date of t in the zone, as midnight UTC, shifted by delta days.
func (c *cronSpec) civilDay(t time.Time, delta int) time.Time {
	l := t.In(c.loc)
	return time.Date(l.Year(), l.Month(), l.Day()+delta, 0, 0, 0, 0, time.UTC)
}

// next returns the first fire strictly after x.
func (c *cronSpec) next(x time.Time) (time.Time, bool) {
	var buf []int64
	day := c.civilDay(x, -1)
	for i := range scanDays {
		buf = c.dayFires(day.AddDate(0, 0, i), buf)
		if t, ok := firstAfter(buf, x); ok {
			// The following civil day's fires can precede these around a transition at midnight.
			buf = c.dayFires(day.AddDate(0, 0, i+1), buf)
			if u, ok := firstAfter(buf, x); ok && u.Before(t) {
				t = u
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// prev returns the last fire at or before x.
func (c *cronSpec) prev(x time.Time) (time.Time, bool) {
	var buf []int64
	day := c.civilDay(x, 1)
	for i := range scanDays {
		buf = c.dayFires(day.AddDate(0, 0, -i), buf)
		if t, ok := lastAtOrBefore(buf, x); ok {
			buf = c.dayFires(day.AddDate(0, 0, -i-1), buf)
			if u, ok := lastAtOrBefore(buf, x); ok && u.After(t) {
				t = u
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// firstAfter returns the first fire strictly after x. Fires are whole seconds, so "after x" is
// "at or after the first whole second above x".
func firstAfter(sorted []int64, x time.Time) (time.Time, bool) {
	bound := x.Unix() // floor for instants before 1970 too: Unix() rounds towards −∞
	i, _ := slices.BinarySearch(sorted, bound+1)
	if i < len(sorted) {
		return time.Unix(sorted[i], 0).UTC(), true
	}
	return time.Time{}, false
}

// lastAtOrBefore returns the last fire at or before x.
func lastAtOrBefore(sorted []int64, x time.Time) (time.Time, bool) {
	i, _ := slices.BinarySearch(sorted, x.Unix()+1) // first fire > floor(x)
	if i > 0 {
		return time.Unix(sorted[i-1], 0).UTC(), true
	}
	return time.Time{}, false
}

// firesIn calls fn with every fire (Unix seconds) in the open interval (lo, hi), day by day;
// within a day in order (across a transition at midnight two days may interleave).
func (c *cronSpec) firesIn(lo, hi time.Time, fn func(int64)) {
	var buf []int64
	// Fires are whole seconds: t > lo ⇔ t ≥ floor(lo)+1; t < hi ⇔ t < ceil(hi).
	first, stop := lo.Unix()+1, hi.Unix()
	if hi.Nanosecond() > 0 {
		stop++
	}
	last := c.civilDay(hi, 1)
	for day := c.civilDay(lo, -1); !day.After(last); day = day.AddDate(0, 0, 1) {
		buf = c.dayFires(day, buf)
		for _, s := range buf {
			if first <= s && s < stop {
				fn(s)
			}
		}
	}
}

// firesEver reports whether the expression matches any day: scanning two leap cycles covers
// every combination of month, day of month and weekday ("0 0 30 2 *" never fires).
func (c *cronSpec) firesEver() bool {
	day := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 8*366; i++ {
		if c.dayMatches(day.AddDate(0, 0, i)) {
			return true
		}
	}
	return false
}
