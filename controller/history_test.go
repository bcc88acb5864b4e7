package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func concSeries(from, to time.Time, conc func(m time.Time) float64) Series {
	s := Series{Complete: true}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		if c := conc(m); c > 0 {
			s.Points = append(s.Points, Datapoint{Time: m, Concurrency: c, HasConcurrency: true,
				Utilization: min(1, c/20), HasUtilization: true, Invocations: c * 60, HasInvocations: true})
		}
	}
	return s
}

func concOf(pts []Datapoint) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.Concurrency
	}
	return out
}

func TestHistoryExtendKeepsTheNewestMinutes(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	conc := func(m time.Time) float64 { return float64(m.Sub(t0)/time.Minute) + 1 }
	var h *history
	require.False(t, h.covers(t0))
	h = h.extend(concSeries(t0, t0.Add(10*time.Minute), conc), t0, t0.Add(8*time.Minute), 5)
	require.Equal(t, t0.Add(8*time.Minute), h.end)
	require.Equal(t, t0.Add(3*time.Minute), h.first())
	require.Equal(t, []float64{4, 5, 6, 7, 8}, concOf(h.join(nil, t0, t0.Add(time.Hour), nil)), "the newest 5 of the 8 final minutes")
	require.True(t, h.covers(t0.Add(6*time.Minute)))
	require.False(t, h.covers(t0.Add(9*time.Minute)), "a gap")

	// The next read starts inside the history: the overlap is replaced
	// by the read; a minute without a datapoint stays without one.
	quietAt := t0.Add(7 * time.Minute)
	next := concSeries(t0.Add(6*time.Minute), t0.Add(12*time.Minute), func(m time.Time) float64 {
		if m.Equal(quietAt) {
			return 0
		}
		return conc(m) * 10
	})
	before := h.join(nil, t0, t0.Add(time.Hour), nil)
	h2 := h.extend(next, t0.Add(6*time.Minute), t0.Add(11*time.Minute), 6)
	require.Equal(t, []float64{6, 70, 90, 100, 110}, concOf(h2.join(nil, t0, t0.Add(time.Hour), nil)), "minute 5 kept, 6..10 from the read, 7 quiet")
	require.Equal(t, before, h.join(nil, t0, t0.Add(time.Hour), nil), "the old history is unchanged")
	got := h2.join(nil, t0.Add(9*time.Minute), t0.Add(10*time.Minute), nil)
	require.Equal(t, []Datapoint{{Time: t0.Add(9 * time.Minute), Concurrency: 100, HasConcurrency: true, Utilization: 1, HasUtilization: true,
		Invocations: 6000, HasInvocations: true}}, got, "a point comes back as it was read")
}

// Decide sees the same window whether the tick read it all or read the
// decision window and joined the loop's history.
func TestHistoryJoinsTheDecisionWindowToTheWholeRead(t *testing.T) {
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	long, short, final := end.Add(-185*time.Minute), end.Add(-36*time.Minute), end.Add(-7*time.Minute)
	conc := func(m time.Time) float64 {
		if int(m.Sub(long)/time.Minute)%15 == 3 {
			return 140
		}
		if m.Minute()%7 == 0 {
			return 0 // quiet minutes: no datapoint
		}
		return 3.3
	}
	whole := concSeries(long, end.Add(-2*time.Minute), conc)
	var h *history
	h = h.extend(whole, long, final, 185)
	joined := h.join(nil, long, short, concSeries(short, end.Add(-2*time.Minute), conc).Points)
	require.Len(t, joined, len(whole.Points))
	for i, w := range whole.Points {
		g := joined[i]
		require.True(t, w.Time.Equal(g.Time), "minute %d", i)
		require.Equal(t, [3]bool{w.HasUtilization, w.HasConcurrency, w.HasInvocations}, [3]bool{g.HasUtilization, g.HasConcurrency, g.HasInvocations})
		require.InDelta(t, w.Utilization, g.Utilization, 1e-6, "utilization at %s", w.Time)
		require.Equal(t, w.Concurrency, g.Concurrency)
		require.Equal(t, w.Invocations, g.Invocations)
		require.Equal(t, w.Spillover, g.Spillover)
	}
}

// A start with more targets than longReadsPerTick: one tick
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

// A history that stops short of the decision window's read (CloudWatch was
// stale, or the long reads of a tick ran out) is not joined: the minutes in
// between would read as quiet.
func TestInputDoesNotJoinAHistoryWithAGap(t *testing.T) {
	f := newFleet(t, 1, 10, 15, func(int, time.Time) float64 { return 6.5 })
	id := f.ids[0]
	end := at(12, 0)
	v := view{awsNow: end.Add(5 * time.Second), start: end.Add(-185 * time.Minute), end: end}
	v.fr.watermark = end.Add(-2 * time.Minute)
	short := end.Add(-36 * time.Minute)
	conc := func(time.Time) float64 { return 6.5 }
	var h *history
	f.c.hist[id] = h.extend(concSeries(v.start, end.Add(-60*time.Minute), conc), v.start, end.Add(-60*time.Minute), 185)
	ob := observation{t: f.c.targets[0], winStart: short, series: concSeries(short, v.fr.watermark, conc)}
	in := f.c.input(v, ob.t, f.c.stateCopy(id), ob)
	require.Equal(t, short, in.WindowStart, "the read alone")
	require.Len(t, in.Series.Points, len(ob.series.Points))

	// Reaching the read: joined, the whole window.
	f.c.hist[id] = h.extend(concSeries(v.start, end.Add(-7*time.Minute), conc), v.start, end.Add(-7*time.Minute), 185)
	in = f.c.input(v, ob.t, f.c.stateCopy(id), ob)
	require.Equal(t, v.start, in.WindowStart)
	require.Len(t, in.Series.Points, int(v.fr.watermark.Sub(v.start)/time.Minute))
}
