package controller

import (
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// The predictor reads three hours of concurrency (predict_lookback); the
// decision rules need half an hour (idle_after). Reading and holding every
// target's whole lookback each tick is most of a tick's memory at 10,000
// targets (185 minutes × 64 bytes a point), so the loop keeps the final
// minutes of concurrency itself, one float32 a minute, and reads only the
// decision window once a target's history reaches it. A target without
// usable history (new, after a gap, after a restart) reads the long window
// once; followers keep theirs warm, so a new leader predicts at once.

// history is one target's concurrency per minute for [end − len(vals), end),
// oldest first; a minute without a datapoint is 0 (no invocations).
type history struct {
	end  time.Time
	vals []float32
	// partial: begun from a decision-window read (the long reads of the
	// tick were used up), so the predictor's lookback is not all there:
	// the target is read long again when there is room.
	partial bool
}

// longReadsPerTick bounds the targets whose whole lookback one tick reads:
// a daemon starting with 10,000 targets would otherwise hold every one's
// 185 minutes at once (118 MB); the others read the decision window and
// get their long read in the next ticks (10 ticks for 10,000).
const longReadsPerTick = 1000

// covers reports whether h reaches back to from without a gap, so a read
// from there on joins it.
func (h *history) covers(from time.Time) bool {
	return h != nil && len(h.vals) > 0 && !h.end.Before(from)
}

// before returns the minutes of h before from, oldest first, at most n. It
// shares h's array: extend never writes into an array it handed out.
func (h *history) before(from time.Time, n int) []float32 {
	if h == nil {
		return nil
	}
	k := len(h.vals) - int(h.end.Sub(from)/metricPeriod) // minutes of vals before from
	k = min(max(k, 0), len(h.vals))
	return h.vals[max(0, k-n):k:k]
}

// extend keeps h's minutes before from, then the series' minutes of
// [from, final) (missing: 0), the newest keep minutes in all. Minutes from
// final on may still be late, so they are read again next tick.
func (h *history) extend(s Series, from, final time.Time, keep int) *history {
	if !final.After(from) {
		return h
	}
	old := h.before(from, keep)
	n := int(final.Sub(from) / metricPeriod)
	total := min(len(old)+n, keep)
	vals := make([]float32, total)
	// vals[i] is minute final − total + i: the old ones first, then the read.
	skip := len(old) + n - total
	if skip < len(old) {
		copy(vals, old[skip:])
	}
	base := final.Add(-time.Duration(total) * metricPeriod)
	for _, pt := range s.Points {
		t := pt.Time.Truncate(metricPeriod)
		if !pt.HasConcurrency || t.Before(from) || !t.Before(final) || t.Before(base) {
			continue
		}
		vals[int(t.Sub(base)/metricPeriod)] = float32(pt.Concurrency)
	}
	return &history{end: final, vals: vals, partial: h != nil && h.partial}
}

// decideLookback is what the decision rules read of a target's window, in
// periods (lookback without the predictor).
func decideLookback(p config.Policy) int {
	q := p
	q.Predict = config.PredictOff
	return lookback(q)
}

// predicts: the target's policy runs the periodic predictor.
func predicts(p config.Policy) bool { return p.Predict == config.PredictPeriodic }
