package backtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// aasWorld runs the AAS emulation for minutes against a world serving
// perMinute invocations of 1 s, starting at initial PC, and returns every
// evaluation and the requested PC at the end.
func aasWorld(t *testing.T, perMinute []float64, initial int) ([]AASStep, int) {
	t.Helper()
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	sc := sim.DefaultScenario()
	sc.Seed = 5
	sc.Account.ConcurrentExecutions = 100000
	sc.Functions = []sim.FunctionSpec{{
		Name: "f", MemoryMB: 1024, Versions: 1,
		Aliases:     []sim.AliasSpec{{Name: Qualifier, Version: "1"}},
		Provisioned: map[string]int{Qualifier: initial},
		Loads:       []sim.Load{{Qualifier: Qualifier, Kind: sim.LoadTrace, DurationMS: 1000, PerMinute: perMinute}},
	}}
	clk := sim.NewVirtualClock(start)
	w, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	store, ms := w.InProcess()
	id := controller.TargetID{Function: "f", Qualifier: Qualifier}
	a := NewAAS(id, store, ms, 1, 10000, sc.Metrics.PublishDelay.Duration)
	var steps []AASStep
	for m := range perMinute {
		now := start.Add(time.Duration(m)*time.Minute + TickOffset)
		clk.Set(now)
		steps = append(steps, a.Tick(context.Background(), now))
	}
	pc, err := store.GetPC(context.Background(), id)
	require.NoError(t, err)
	return steps, pc.Requested
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestAAS(t *testing.T) {
	tests := []struct {
		name    string
		load    []float64
		initial int
		check   func(t *testing.T, steps []AASStep, final int)
	}{
		{
			// 3000/min of 1 s is concurrency ~50; at PC 50 utilization ~1.0.
			name: "saturated: grows at most ×1/0.7 a step, after 3 datapoints",
			load: constant(12, 3000), initial: 50,
			check: func(t *testing.T, steps []AASStep, final int) {
				first := -1
				for i, s := range steps {
					if s.Put {
						first = i
						require.LessOrEqual(t, s.Desired, int(float64(s.Current)/0.7)+1, "utilization caps at 1")
						break
					}
				}
				// minutes 0..2 must be published (+1 min delay) before the alarm fires at minute 4.
				require.Equal(t, 4, first)
				require.Greater(t, final, 50)
			},
		},
		{
			name: "idle: no datapoints, INSUFFICIENT_DATA, never scales in",
			load: constant(30, 0), initial: 40,
			check: func(t *testing.T, steps []AASStep, final int) {
				require.Equal(t, 40, final)
				for _, s := range steps {
					require.Equal(t, AlarmInsufficient, s.Low)
					require.False(t, s.Put)
				}
			},
		},
		{
			name: "low: 15 of 15 below 0.63 then scale in",
			load: constant(25, 600), initial: 100, // concurrency ~10 on 100
			check: func(t *testing.T, steps []AASStep, final int) {
				first := -1
				for i, s := range steps {
					if s.Put {
						first = i
						break
					}
				}
				require.Equal(t, 16, first, "15 datapoints, published a minute late")
				require.Less(t, final, 100)
				require.Equal(t, AlarmAlarm, steps[first].Low)
			},
		},
		{
			name: "in the deadband nothing happens",
			load: constant(25, 1950), initial: 50, // concurrency ~32.5 on 50: u ~0.65
			check: func(t *testing.T, steps []AASStep, final int) {
				require.Equal(t, 50, final)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, final := aasWorld(t, tc.load, tc.initial)
			tc.check(t, steps, final)
		})
	}
}
