package controller

import (
	"math"
	"time"
)

// slotKind classifies one period of the metric series as Decide sees it:
// one slot per period, so a minute Lambda published nothing for is visible.
type slotKind int

const (
	slotUtil    slotKind = iota // utilization known
	slotQuiet                   // no invocations that minute
	slotUnknown                 // invocations but no utilization
	slotMissing                 // no datapoint (only while building slots)
)

type slot struct {
	kind      slotKind
	u         float64
	saturated bool
	spill     float64
	conc      float64
	hasConc   bool
}

// saturatedDemand is the largest concurrency of a saturated complete period
// in [from, to). A period that ended by changed is saturated when its
// concurrency reached the PC it ran against, when the loop's own writes say
// what that was (its spillover and utilization may be derived from the
// allocation after the change), and counts only while no write since asked
// for its demand: one that did answered it, and a release after that (a
// predicted burst's) is deliberate.
func saturatedDemand(in Input, from, to, end time.Time, period time.Duration, changed time.Time, target float64) float64 {
	to = earliest(to, end)
	demand := 0.0
	own := ownWrites(in.State, changed)
	for _, pt := range in.Series.Points {
		t := pt.Time.Truncate(period)
		sat := pt.Spillover > 0 || (pt.HasUtilization && pt.Utilization >= saturatedUtilization)
		if !t.Add(period).After(changed) {
			if pc, ok := pcDuring(own, t, t.Add(period)); ok {
				sat = pt.HasConcurrency && pt.Concurrency >= saturatedUtilization*float64(pc) &&
					!answered(own, t.Add(period), ceilDiv(pt.Concurrency, target))
			}
		}
		if sat && pt.HasConcurrency && !t.Before(from) && t.Before(to) {
			demand = math.Max(demand, pt.Concurrency)
		}
	}
	return demand
}

// remember keeps w as the newest of the State's writes.
func (st *State) remember(w Write) {
	if st.NWrites == writeMemory {
		copy(st.Writes[:], st.Writes[1:])
		st.NWrites--
	}
	st.Writes[st.NWrites] = w
	st.NWrites++
}

// ownWrites are the loop's writes, oldest first, when the newest change
// (changed: Lambda's LastModified or the loop's write) was the loop's; nil
// when another writer changed the PC since, or nothing is known.
func ownWrites(st State, changed time.Time) []Write {
	if st.LastChange.IsZero() || st.LastChange.Before(changed) {
		return nil
	}
	return st.Writes[:st.NWrites]
}

// pcDuring is the smallest PC requested during [a, b) by the writes (a
// raise allocates later, so the smaller side is what served); false when
// no write follows a, or older writes that may follow a were dropped.
func pcDuring(ws []Write, a, b time.Time) (int, bool) {
	for i, w := range ws {
		if !w.At.After(a) {
			continue
		}
		if i == 0 && len(ws) == writeMemory {
			return 0, false
		}
		pc := w.From
		for _, x := range ws[i:] {
			if x.At.Before(b) {
				pc = min(pc, x.To)
			}
		}
		return pc, true
	}
	return 0, false
}

// answered: a write at or after t asked for want or more.
func answered(ws []Write, t time.Time, want int) bool {
	for _, w := range ws {
		if !w.At.Before(t) && w.To >= want {
			return true
		}
	}
	return false
}

// raisedBetween is the largest PC a write in [a, b) asked for (0: none).
func raisedBetween(ws []Write, a, b time.Time) int {
	pc := 0
	for _, w := range ws {
		if !w.At.Before(a) && w.At.Before(b) {
			pc = max(pc, w.To)
		}
	}
	return pc
}

// window returns [start, end) of the metric read, falling back to the
// points themselves when the caller left it zero.
func window(in Input, period time.Duration) (time.Time, time.Time) {
	start, end := in.WindowStart, in.WindowEnd
	pts := in.Series.Points
	if end.IsZero() && len(pts) == 0 {
		return time.Time{}, time.Time{}
	}
	if end.IsZero() && len(pts) > 0 {
		end = pts[len(pts)-1].Time.Truncate(period).Add(period)
	}
	if start.IsZero() && len(pts) > 0 {
		start = pts[0].Time.Truncate(period)
	}
	if !end.IsZero() && !in.Now.IsZero() && end.After(in.Now) {
		end = in.Now.Truncate(period) // never count a period still running
	}
	if start.IsZero() || end.Sub(start) > maxSlots*period {
		start = end.Add(-maxSlots * period)
	}
	return start, end
}

// lastActivity is the end of the newest period that showed invocations, from
// memory or from the window; with neither, the window's start (we know
// nothing earlier, so assume activity just before it).
func lastActivity(in Input, start, end time.Time, period time.Duration) time.Time {
	last := in.State.LastInvocation
	for _, pt := range in.Series.Points {
		t := pt.Time.Truncate(period)
		if active(pt) && !t.Before(start) && t.Add(period).Compare(end) <= 0 {
			last = latest(last, t.Add(period))
		}
	}
	return latest(last, start)
}

func active(pt Datapoint) bool {
	return (pt.HasInvocations && pt.Invocations > 0) || pt.HasUtilization || pt.Spillover > 0 ||
		(pt.HasConcurrency && pt.Concurrency > 0)
}

// buildSlots turns the points into one slot per period of [start, end), so
// a minute Lambda published nothing for is visible as quiet (Lambda
// publishes nothing for a minute without invocations).
func buildSlots(in Input, cur int, start, end time.Time, period time.Duration) []slot {
	if !end.After(start) {
		return nil
	}
	// One slot per period, filled by offset: points come oldest first and
	// a later point for the same period wins (no map: this runs for every
	// target every tick over the whole lookback).
	n := int((end.Sub(start) + period - 1) / period)
	out := make([]slot, n)
	for i := range out {
		out[i].kind = slotMissing
	}
	for _, pt := range in.Series.Points {
		t := pt.Time.Truncate(period)
		if t.Before(start) || !t.Before(end) {
			continue
		}
		i := int(t.Sub(start) / period)
		if !start.Add(time.Duration(i) * period).Equal(t) {
			continue // not on the window's grid (a window not aligned to the period)
		}
		s := slot{kind: slotQuiet, spill: pt.Spillover, conc: pt.Concurrency, hasConc: pt.HasConcurrency}
		switch {
		case pt.HasUtilization:
			s.kind, s.u = slotUtil, pt.Utilization
			s.saturated = s.u >= saturatedUtilization || s.spill > 0
		case s.spill > 0 || (cur == 0 && s.hasConc && s.conc > 0):
			// Traffic with nothing (or no PC) to measure it against:
			// all of it ran on standard concurrency.
			s.kind, s.u, s.saturated = slotUtil, 1, true
		case active(pt):
			s.kind = slotUnknown
		}
		out[i] = s
	}
	// A missing minute before the target's newest datapoint had no
	// invocations (Lambda publishes nothing then). After it, a missing
	// minute may only be late for this function (publication is not in
	// step across functions): within MaxLag of the watermark it is
	// pending and judges nothing, so it is cut off; older, it is quiet.
	pendingFrom := end.Add(-maxLagOf(in))
	inside := false
	cut := len(out)
	for i := len(out) - 1; i >= 0; i-- {
		switch {
		case out[i].kind != slotMissing:
			inside = true
		case inside:
			out[i].kind = slotQuiet
		case !start.Add(time.Duration(i) * period).Before(pendingFrom):
			cut = i
		default:
			out[i].kind = slotQuiet
		}
	}
	return out[:cut]
}

func ceilTime(t time.Time, period time.Duration) time.Time {
	if tt := t.Truncate(period); !tt.Equal(t) {
		return tt.Add(period)
	}
	return t
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
