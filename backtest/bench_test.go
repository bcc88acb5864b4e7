package backtest

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// BenchmarkTick10kTargets measures one controller tick over 10,000 targets
// against the in-process simulator: ns/op is the tick's wall time, allocs
// and B/op come from b.ReportAllocs, gmd-calls/tick is GetMetricData calls
// (from the simulator's API accounting), heap-MB the live heap right after
// a tick (simulator and the tick's garbage included), live-MB the heap after
// a GC at the end, sim-MB the world's own live heap before the controller
// existed (so live-MB − sim-MB is roughly the daemon's share).
// Every target starts saturated (PC = its mean concurrency), so the ticks
// measured put on many targets: the busy case.
// Between ticks the virtual clock moves a minute and the world simulates it
// with the timer stopped. Goals (issue 5): ≤ 20 calls, < 2 s, < 200 MB.
func BenchmarkTick10kTargets(b *testing.B) {
	for _, bc := range []struct {
		name     string
		ports    Ports
		reserved bool
	}{
		// The daemon's wiring: awsapi + metrics (derived, one metric a target)
		// over the simulator's HTTP handler in memory.
		{name: "daemon-clients-derived", ports: DaemonPorts(config.MetricsDerived, "cbor", nil, ""), reserved: true},
		// The simulator's own in-process ports (four metrics a target).
		{name: "inprocess-full", ports: InProcessPorts, reserved: true},
		// As above, functions without reserved concurrency: every Put checks
		// the account's unreserved pool.
		{name: "inprocess-full-unreserved", ports: InProcessPorts},
	} {
		b.Run(bc.name, func(b *testing.B) { benchTick(b, bc.ports, bc.reserved) })
	}
}

func benchTick(b *testing.B, ports Ports, reserved bool) {
	const targets = 10000
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	sc := sim.DefaultScenario()
	sc.Seed = 1
	sc.Faults = nil
	res := 400 // reserved concurrency per function, above any PC the run reaches
	sc.Account.ConcurrentExecutions = targets*res + 10*targets*4
	sc.Functions = make([]sim.FunctionSpec, targets)
	tgts := make([]controller.Target, targets)
	p := config.DefaultPolicy()
	p.Max = 1000
	for i := range targets {
		name := fmt.Sprintf("fn-%05d", i)
		rate := float64(60 * (1 + i%50)) // 1..50 invocations a second of 1 s: concurrency 1..50
		sc.Functions[i] = sim.FunctionSpec{
			Name: name, MemoryMB: 1024, Versions: 1,
			Aliases:     []sim.AliasSpec{{Name: Qualifier, Version: "1"}},
			Provisioned: map[string]int{Qualifier: 1 + i%50},
			Loads:       []sim.Load{{Qualifier: Qualifier, Kind: sim.LoadConstant, Rate: rate, DurationMS: 1000}},
		}
		if reserved {
			sc.Functions[i].Reserved = &res
		}
		tgts[i] = controller.Target{ID: controller.TargetID{Function: name, Qualifier: Qualifier}, Policy: p}
	}
	clk := sim.NewVirtualClock(start)
	w, err := sim.NewWorld(sc, clk)
	require.NoError(b, err)
	// The world alone, simulated up to the first tick: the part of every heap
	// figure below that is the simulator's, not the daemon's.
	now := start.Add(20*time.Minute + TickOffset)
	clk.Set(now)
	w.AdvanceTo(now)
	var mem runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mem)
	simMB := float64(mem.HeapAlloc) / (1 << 20)

	store, ms, _, err := ports(w, clk)
	require.NoError(b, err)
	c, err := controller.New(controller.Options{Targets: tgts, Store: store, Metrics: ms, Clock: clk, Offset: TickOffset})
	require.NoError(b, err)
	ctx := context.Background()

	// Enough history for every lookback; one tick fills the limits cache.
	_ = c.Tick(ctx, now)

	gmd := func() int64 {
		var n int64
		for _, v := range w.Stats().APICalls["GetMetricData"] {
			n += v
		}
		return n
	}
	var calls int64
	var heapMax uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		now = now.Add(time.Minute)
		clk.Set(now)
		w.AdvanceTo(now)
		before := gmd()
		b.StartTimer()
		err := c.Tick(ctx, now)
		b.StopTimer()
		require.NoError(b, err)
		calls += gmd() - before
		runtime.ReadMemStats(&mem)
		heapMax = max(heapMax, mem.HeapAlloc)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(calls)/float64(b.N), "gmd-calls/tick")
	b.ReportMetric(float64(heapMax)/(1<<20), "heap-MB")
	runtime.GC()
	runtime.ReadMemStats(&mem)
	b.ReportMetric(float64(mem.HeapAlloc)/(1<<20), "live-MB")
	b.ReportMetric(simMB, "sim-MB")
	runtime.KeepAlive(c)
}
