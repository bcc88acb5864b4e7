package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// TestLoopAgainstSimulator runs the loop against the simulator's world (its
// allocation state machine, Poisson arrivals, metric publication delay)
// through its in-process ports: a step from ~5 to ~30 concurrency.
func TestLoopAgainstSimulator(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	sc := sim.DefaultScenario()
	sc.Faults = nil
	sc.Functions = []sim.FunctionSpec{{
		Name: "checkout-api", MemoryMB: 1024, Versions: 1,
		Aliases:     []sim.AliasSpec{{Name: "live", Version: "1"}},
		Provisioned: map[string]int{"live": 10},
		Loads: []sim.Load{{
			Qualifier: "live", Kind: "step", DurationMS: 250, Rate: 1200,
			Steps: []sim.StepAt{{At: sim.Duration{Duration: time.Hour}, Rate: 7200}},
		}},
	}}
	clk := sim.NewVirtualClock(start)
	w, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	store, ms := w.InProcess()
	id := controller.TargetID{Function: "checkout-api", Qualifier: "live"}
	c, err := controller.New(controller.Options{
		Targets: []controller.Target{{ID: id, Policy: config.Policy{
			Statistic: config.StatMaximum, TargetUtilization: 0.7, ScaleInRatio: 0.9,
			ScaleOutDatapoints: 2, ScaleInDatapoints: 15,
			ScaleInCooldown: config.Duration{Duration: 5 * time.Minute},
			MaxScaleInStep:  config.Step{Percent: 25}, MissingData: config.MissingIdle,
			IdleAfter: config.Duration{Duration: 30 * time.Minute}, Min: 1, Max: 400,
		}}},
		Store: store, Metrics: ms, Clock: clk,
	})
	require.NoError(t, err)

	var requestedAt []int // requested PC after each tick, one per minute
	for m := 0; m < 180; m++ {
		now := start.Add(time.Duration(m)*time.Minute + 5*time.Second)
		clk.Set(now)
		_ = c.Tick(context.Background(), now)
		pc, err := store.GetPC(context.Background(), id)
		require.NoError(t, err)
		requestedAt = append(requestedAt, pc.Requested)
	}
	clk.Set(start.Add(180*time.Minute + time.Second))
	w.AdvanceTo(start.Add(180*time.Minute + time.Second))
	mins := w.Minutes("checkout-api", "live")
	require.GreaterOrEqual(t, len(mins), 180)

	peakAfter := 0
	for _, s := range mins[60:] {
		peakAfter = max(peakAfter, s.PeakConcurrency)
	}
	// Covered within two ticks of the surge minute becoming visible
	// (12:02:05 relative: the surge minute completes, then is published).
	covered := -1
	for m := 60; m < len(requestedAt); m++ {
		if requestedAt[m] >= 30 {
			covered = m
			break
		}
	}
	require.NotEqual(t, -1, covered, "never scaled for the surge: %v", requestedAt[55:75])
	require.LessOrEqual(t, covered, 62, "requested after each tick: %v", requestedAt[55:75])

	// Once allocated, spillover is rare; PC is not wildly above the peak.
	var inv, spill int64
	for _, s := range mins[75:180] {
		inv += s.Invocations
		spill += s.Spillover
	}
	t.Logf("requested %v; peak after surge %d; spillover %d of %d", requestedAt[55:75], peakAfter, spill, inv)
	require.Less(t, float64(spill), 0.01*float64(inv))
	require.LessOrEqual(t, requestedAt[179], 2*peakAfter)
}
