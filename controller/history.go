package controller

import (
	"math"
	"slices"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// The predictor reads three hours (predict_lookback); the decision rules
// mostly the last half hour; a tick's window is the longest any target
// needs, for every target. Reading and holding every target's whole
// lookback each tick is most of a tick's memory at 10,000 targets (185
// minutes × 64 bytes a point), so the loop keeps each target's final
// minutes itself, compactly, and reads only the decision window once the
// history reaches it; Decide still gets the whole window (history + read),
// one target at a time. A target without usable history (new, after a
// gap, after a restart) reads the whole lookback once; followers keep
// theirs warm, so a new leader predicts at once.

// histPoint is one final minute, compact (20 bytes instead of 64).
type histPoint struct {
	u, spill, conc, inv float32
	flags               uint8
}

const (
	hasPoint uint8 = 1 << iota // a datapoint exists for the minute
	hasUtil
	hasConc
	hasInv
)

// history is one target's final minutes [end − len(pts), end), oldest
// first, one entry a minute (no datapoint: flags 0).
type history struct {
	end time.Time
	pts []histPoint
	// partial: begun from a decision-window read (the tick's long reads
	// were used up): the whole lookback is read again when there is room.
	partial bool
}

// longReadsPerTick bounds the targets whose whole lookback one tick reads:
// a daemon starting with 10,000 targets would otherwise hold every one's
// 185 minutes at once (118 MB); the others read the decision window and
// get their long read in the next ticks (10 ticks for 10,000).
const longReadsPerTick = 1000

// covers reports whether h reaches from without a gap, so a read from
// there on joins it.
func (h *history) covers(from time.Time) bool {
	return h != nil && len(h.pts) > 0 && !h.end.Before(from)
}

// before returns h's minutes before from, at most n (shares h's array:
// extend never writes into one it handed out).
func (h *history) before(from time.Time, n int) []histPoint {
	if h == nil {
		return nil
	}
	k := len(h.pts) - int(h.end.Sub(from)/metricPeriod)
	k = min(max(k, 0), len(h.pts))
	return h.pts[max(0, k-n):k:k]
}

// extend keeps h's minutes before from, then the series' minutes of
// [from, final), the newest keep minutes in all. Minutes from final on may
// still be late: they are read again next tick.
func (h *history) extend(s Series, from, final time.Time, keep int) *history {
	if !final.After(from) {
		return h
	}
	old := h.before(from, keep)
	n := int(final.Sub(from) / metricPeriod)
	total := min(len(old)+n, keep)
	pts := make([]histPoint, total)
	if skip := len(old) + n - total; skip < len(old) {
		copy(pts, old[skip:])
	}
	base := final.Add(-time.Duration(total) * metricPeriod)
	for _, p := range s.Points {
		t := p.Time.Truncate(metricPeriod)
		if t.Before(from) || !t.Before(final) || t.Before(base) {
			continue
		}
		pts[int(t.Sub(base)/metricPeriod)] = compact(p)
	}
	return &history{end: final, pts: pts, partial: h != nil && h.partial}
}

// first is the first minute h holds.
func (h *history) first() time.Time { return h.end.Add(-time.Duration(len(h.pts)) * metricPeriod) }

// join appends to buf the minutes of [from, to) as Datapoints, oldest
// first, then fresh (the read that starts at to). The loop passes one
// scratch buffer for every target of a tick: Decide keeps nothing of it.
func (h *history) join(buf []Datapoint, from, to time.Time, fresh []Datapoint) []Datapoint {
	if h == nil || len(h.pts) == 0 {
		return fresh
	}
	first := h.first()
	lo := max(0, int(from.Sub(first)/metricPeriod))
	hi := min(len(h.pts), int(to.Sub(first)/metricPeriod))
	if lo >= hi {
		return fresh
	}
	n := 0
	for _, p := range h.pts[lo:hi] {
		if p.flags&hasPoint != 0 {
			n++
		}
	}
	out := slices.Grow(buf[:0], n+len(fresh))
	for i, p := range h.pts[lo:hi] {
		if p.flags&hasPoint != 0 {
			out = append(out, expand(p, first.Add(time.Duration(lo+i)*metricPeriod)))
		}
	}
	return append(out, fresh...)
}

func compact(p Datapoint) histPoint {
	hp := histPoint{u: float32(p.Utilization), spill: float32(p.Spillover), conc: float32(p.Concurrency),
		inv: float32(p.Invocations), flags: hasPoint}
	for _, f := range []struct {
		on  bool
		bit uint8
	}{{p.HasUtilization, hasUtil}, {p.HasConcurrency, hasConc}, {p.HasInvocations, hasInv}} {
		if f.on {
			hp.flags |= f.bit
		}
	}
	return hp
}

// expand undoes compact. float32 keeps 7 digits: concurrency and
// invocation counts exactly, utilization to 1e-7 (rounded so a stored
// 0.7 does not read 0.69999999).
func expand(p histPoint, t time.Time) Datapoint {
	r := func(v float32) float64 { return math.Round(float64(v)*1e6) / 1e6 }
	return Datapoint{Time: t, Utilization: r(p.u), Spillover: r(p.spill), Concurrency: r(p.conc), Invocations: r(p.inv),
		HasUtilization: p.flags&hasUtil != 0, HasConcurrency: p.flags&hasConc != 0, HasInvocations: p.flags&hasInv != 0}
}

// decideLookback is what the decision rules read of a target's window, in
// periods (lookback without the predictor).
func decideLookback(p config.Policy) int {
	q := p
	q.Predict = config.PredictOff
	return lookback(q)
}
