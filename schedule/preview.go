package schedule

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// maxPreviewDays caps Preview: the work grows with the number of fire times in the range.
const maxPreviewDays = 366

// Change is a point where the effective state changes; State holds from At on.
type Change struct {
	At    time.Time
	State State
}

// interval is an open stretch [start, end) as offsets from the preview's start: plain integers
// keep the per-fire work small when an expression fires every minute for a year.
type interval struct{ start, end time.Duration }

// Preview lists every change of the effective state in [from, from+days×24h); the first entry is
// the state at from. days is capped at 366; days ≤ 0 gives nil.
func (s *Schedule) Preview(from time.Time, days int) []Change {
	if days <= 0 {
		return nil
	}
	span := time.Duration(min(days, maxPreviewDays)) * 24 * time.Hour
	ivs := make([][]interval, s.Len())
	var points []time.Duration
	for i := range ivs {
		ivs[i] = s.windows[i].intervals(from, span)
		for _, iv := range ivs[i] {
			for _, d := range [2]time.Duration{iv.start, iv.end} {
				if d > 0 && d < span {
					points = append(points, d)
				}
			}
		}
	}
	slices.Sort(points)
	points = slices.Compact(points)

	// Sweep: offsets only grow, so each window keeps an index into its sorted intervals.
	idx := make([]int, len(ivs))
	stateAt := func(d time.Duration) State {
		var st State
		for i, list := range ivs {
			for idx[i] < len(list) && list[idx[i]].end <= d {
				idx[i]++
			}
			if idx[i] < len(list) && list[idx[i]].start <= d {
				st.add(&s.windows[i])
			}
		}
		slices.Sort(st.Active)
		return st
	}
	changes := []Change{{At: from, State: stateAt(0)}}
	for _, d := range points {
		if st := stateAt(d); !st.Equal(changes[len(changes)-1].State) {
			changes = append(changes, Change{At: from.Add(d), State: st})
		}
	}
	return changes
}

// intervals returns the window's open stretches that meet [from, from+span), merged and sorted,
// the first one clipped to start at from. Only the latest fire up to from+lead matters before
// from (every stretch has the same length), so the cost follows the fires within the range, not
// the window's duration: "* * * * *" open for 7 days costs 10080 fires per week of preview.
func (w *window) intervals(from time.Time, span time.Duration) []interval {
	var out []interval
	if t, ok := w.spec.prev(from.Add(w.lead)); ok && t.Add(w.dur).After(from) {
		out = append(out, interval{0, t.Add(w.dur).Sub(from)})
	}
	// Fire s (Unix seconds) lies (s − from.Unix())·1s − from.Nanosecond() after from.
	fromSec, base := from.Unix(), time.Duration(from.Nanosecond())
	w.spec.firesIn(from.Add(w.lead), from.Add(span+w.lead), func(s int64) {
		d := time.Duration(s-fromSec)*time.Second - base
		out = mergeIn(out, interval{d - w.lead, d + w.dur})
	})
	return out
}

// mergeIn adds iv to sorted, disjoint, non-touching intervals. Fires arrive almost in order;
// only a DST transition at midnight can deliver one out of order, which takes the slow path.
func mergeIn(out []interval, iv interval) []interval {
	n := len(out)
	if n == 0 {
		return append(out, iv)
	}
	if last := &out[n-1]; iv.start >= last.start {
		if iv.start > last.end {
			return append(out, iv)
		}
		last.end = max(last.end, iv.end)
		return out
	}
	out = append(out, iv)
	slices.SortFunc(out, func(a, b interval) int { return cmp.Compare(a.start, b.start) })
	merged := out[:1]
	for _, x := range out[1:] {
		last := &merged[len(merged)-1]
		if x.start > last.end {
			merged = append(merged, x)
		} else {
			last.end = max(last.end, x.end)
		}
	}
	return merged
}

// WritePreview prints one aligned line per change: local time in loc (UTC if nil), the same
// instant in UTC, the effective floor and ceiling and the windows that set them.
//
//	checkout-api:live  Mon 2026-11-23 07:55 CET  (06:55 UTC)  floor 50    ceiling none  business-hours
func WritePreview(w io.Writer, target string, changes []Change, loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(changes) == 0 {
		fmt.Fprintf(tw, "%s\tno scheduled windows\n", target)
	}
	for _, c := range changes {
		local, utc := c.At.In(loc), c.At.UTC()
		clock := "15:04"
		if local.Second() != 0 {
			clock = "15:04:05"
		}
		utcLayout := clock + " UTC"
		if local.Day() != utc.Day() {
			utcLayout = "Mon " + utcLayout
		}
		floor, ceiling, active := "floor none", "ceiling none", "-"
		if c.State.HasFloor {
			floor = fmt.Sprintf("floor %d", c.State.Floor)
		}
		if c.State.HasCeiling {
			ceiling = fmt.Sprintf("ceiling %d", c.State.Ceiling)
		}
		if len(c.State.Active) > 0 {
			active = strings.Join(c.State.Active, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t(%s)\t%s\t%s\t%s\n", target,
			local.Format("Mon 2006-01-02 "+clock+" MST"), utc.Format(utcLayout), floor, ceiling, active)
	}
	_ = tw.Flush() // a failing writer (closed stdout) leaves nothing to recover
}
