package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

func concSeries(from, to time.Time, conc func(m time.Time) float64) Series {
	s := Series{Complete: true}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		if c := conc(m); c > 0 {
			s.Points = append(s.Points, Datapoint{Time: m, Concurrency: c, HasConcurrency: true})
		}
	}
	return s
}

func TestHistoryExtendKeepsTheNewestMinutes(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	conc := func(m time.Time) float64 { return float64(m.Sub(t0)/time.Minute) + 1 }
	var h *history
	require.False(t, h.covers(t0))
	h = h.extend(concSeries(t0, t0.Add(10*time.Minute), conc), t0, t0.Add(8*time.Minute), 5)
	require.Equal(t, t0.Add(8*time.Minute), h.end)
	require.Equal(t, []float32{4, 5, 6, 7, 8}, h.vals, "the newest 5 of the 8 final minutes")
	require.True(t, h.covers(t0.Add(6*time.Minute)))
	require.False(t, h.covers(t0.Add(9*time.Minute)), "a gap")

	// The next read starts inside the history: the overlap is replaced
	// by the read, a quiet minute is 0.
	quietAt := t0.Add(7 * time.Minute)
	next := concSeries(t0.Add(6*time.Minute), t0.Add(12*time.Minute), func(m time.Time) float64 {
		if m.Equal(quietAt) {
			return 0
		}
		return conc(m) * 10
	})
	old := h.vals
	h2 := h.extend(next, t0.Add(6*time.Minute), t0.Add(11*time.Minute), 6)
	require.Equal(t, []float32{6, 70, 0, 90, 100, 110}, h2.vals, "minute 5 kept, 6..10 from the read")
	require.Equal(t, []float32{4, 5, 6, 7, 8}, old, "an array handed out is never written")
	require.Equal(t, []float32{6, 70}, h2.before(t0.Add(7*time.Minute), 10))
	require.Equal(t, []float32{70}, h2.before(t0.Add(7*time.Minute), 1))
}

// The predictor sees the same three hours whether the tick read them all
// or read the decision window and joined the loop's history.
func TestPredictFromHistoryEqualsTheWholeRead(t *testing.T) {
	p := config.DefaultPolicy()
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	now := end.Add(5 * time.Second)
	long := end.Add(-185 * time.Minute)
	short := end.Add(-36 * time.Minute)
	final := end.Add(-7 * time.Minute)
	// A burst of 140 every 15 minutes on a base of 3; the next is due soon.
	conc := func(m time.Time) float64 {
		if int(m.Sub(long)/time.Minute)%15 == 3 {
			return 140
		}
		return 3
	}
	whole := concSeries(long, end.Add(-2*time.Minute), conc)
	in := Input{Now: now, Period: time.Minute, WindowStart: long, WindowEnd: end.Add(-2 * time.Minute), Policy: p, Series: whole}
	want := predictFor(in, time.Minute)
	require.NotZero(t, want.Period, "the test's bursts are periodic")

	var h *history
	h = h.extend(concSeries(long, final, conc), long, final, 185)
	in.WindowStart = short
	in.Series = concSeries(short, end.Add(-2*time.Minute), conc)
	in.History = h.before(short, 185)
	got := predictFor(in, time.Minute)
	require.Equal(t, want, got)
}

// A start with more predicting targets than longReadsPerTick: one tick
// reads at most that many whole lookbacks; the others read the decision
// window and get theirs in the next tick.
func TestLongReadsPerTickAreBounded(t *testing.T) {
	n := longReadsPerTick + 100
	f := newFleet(t, n, 10, 15, func(int, time.Time) float64 { return 6.5 })
	longIn := func(from int) (long, short int) {
		f.metrics.mu.Lock()
		defer f.metrics.mu.Unlock()
		for i := from; i < len(f.metrics.windows); i++ {
			if f.metrics.windows[i] > time.Hour {
				long += f.metrics.sizes[i]
			} else if f.metrics.sizes[i] > 1 {
				short += f.metrics.sizes[i]
			}
		}
		return long, short
	}
	f.tick(t, at(9, 0).Add(5*time.Second))
	long, short := longIn(0)
	require.Equal(t, longReadsPerTick, long)
	require.Equal(t, 100, short)
	mark := len(f.metrics.windows)
	f.tick(t, at(9, 1).Add(5*time.Second))
	long, short = longIn(mark)
	require.Equal(t, 100, long, "the rest get their whole lookback next tick")
	require.Equal(t, longReadsPerTick, short)
	mark = len(f.metrics.windows)
	f.tick(t, at(9, 2).Add(5*time.Second))
	long, _ = longIn(mark)
	require.Zero(t, long)
}
