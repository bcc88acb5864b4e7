package scale

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// The benchmarks (bench_test.go) take minutes at 10,000 targets; these run
// the same harness on a miniature account so CI exercises every part of
// it. A miniature keeps the big run's ratio of targets to lambda_rps
// (1,000 s of calls to read every target once), so its budget per tick is
// 50 times smaller, not its shape.

// The bucket on spendClock spends virtual time: 30 calls at 10 rps take
// 2.9 simulated seconds (the first is the bucket's burst of one).
func TestSpendClockAdvancesVirtualTime(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	clk := sim.NewVirtualClock(start)
	b := awsapi.NewBucket(10, spendClock{clk})
	for range 30 {
		require.NoError(t, b.Wait(context.Background()))
	}
	require.Equal(t, 2900*time.Millisecond, clk.Now().Sub(start))
}

func miniature() (Fleet, Plan) {
	f := DefaultFleet()
	f.Targets, f.Surge, f.LambdaRPS = 60, 6, 0.2
	f.History, f.SurgeAt = 10*time.Minute, 25*time.Minute
	p := DefaultPlan()
	p.Settle, p.SurgeRun, p.MaxStartup = time.Minute, 6*time.Minute, 30*time.Minute
	return f, p
}

func TestMiniatureFleet(t *testing.T) {
	f, p := miniature()
	rep, err := Measure(context.Background(), f, p)
	require.NoError(t, err)
	t.Log(rep)
	budget := int(f.LambdaRPS * f.Interval.Seconds() * 0.9)

	st := rep.Startup
	// The daemon's preflight checks each permission once, on one target.
	require.Positive(t, st.PreflightCalls)
	require.LessOrEqual(t, st.PreflightCalls, int64(awsapi.PreflightCalls))
	require.LessOrEqual(t, st.FirstDecisionSeconds, 120.0, "first decision within 2 simulated minutes")
	require.True(t, st.AllRead, "every target read")
	// Reading 60 configs at 0.2 rps takes 300 s at least.
	require.GreaterOrEqual(t, st.AllReadSeconds, 300.0)

	sd := rep.Steady
	require.NotNil(t, sd)
	require.Positive(t, sd.Ticks)
	require.Equal(t, 1.0, sd.GMDPerTick, "derived metrics: 60 targets in one GetMetricData call")
	require.LessOrEqual(t, sd.CallsPerSecond, f.LambdaRPS)
	require.Zero(t, sd.Lambda.Throttled, "the bucket stays under control_plane_rps")

	s := rep.Surge
	require.NotNil(t, s)
	require.Equal(t, 6, s.Targets)
	require.Equal(t, 6, s.Breached)
	require.Equal(t, 6, s.Scaled, "every surged target has its scale-out Put")
	require.Positive(t, s.FromPublished.Max)
	require.LessOrEqual(t, s.FromPublished.P50, s.FromPublished.Max)

	// The harness's own invariants: the bucket paces every tick, no tick
	// runs past its interval, and the simulator never throttled the daemon.
	r := rep.run
	for _, tk := range r.Ticks() {
		require.LessOrEqual(t, tk.Lambda, int64(budget)+4, "tick at %s", tk.Start) // + one Limits read
		want := time.Duration(float64(max(tk.Lambda-1, 0)) / f.LambdaRPS * float64(time.Second))
		require.InDelta(t, want.Seconds(), tk.Took.Seconds(), 1/f.LambdaRPS+1e-9, "tick at %s: %d calls", tk.Start, tk.Lambda)
		require.LessOrEqual(t, tk.Took, f.Interval)
	}
	require.Zero(t, r.SimThrottles())
}

func TestMiniatureHeap(t *testing.T) {
	h, err := MeasureHeap(context.Background(), HeapOptions{Targets: 200, Extra: 2})
	require.NoError(t, err)
	t.Logf("%+v", h)
	require.Positive(t, h.AllRead)
	require.Zero(t, h.Failed, "every call answered")
	require.Equal(t, h.AllRead+2, h.Ticks)
	require.Positive(t, h.LiveMB)
	require.GreaterOrEqual(t, h.PeakMB, h.LiveMB)
	require.False(t, math.IsNaN(h.AllocMBPerTick))
}
