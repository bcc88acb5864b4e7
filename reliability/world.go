package reliability

import (
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// The standard account: four functions, one alias each, one-second
// invocations so that mean concurrency = invocations per minute / 60.
//
//	api:live    10 concurrent, ×4 to 40 at SurgeAt (the surge target)
//	busy:live   40 concurrent all along (the one gaps and delays must not cut)
//	quiet:live  a trickle, ~0.5 concurrent, starting over-provisioned at 40
//	            (must still scale in); a floor of 15 from +48m to +62m
//	idle:live   no traffic at all, 10 PC (goes to its floor by idle_after)
var (
	API   = controller.TargetID{Function: "api", Qualifier: "live"}
	Busy  = controller.TargetID{Function: "busy", Qualifier: "live"}
	Quiet = controller.TargetID{Function: "quiet", Qualifier: "live"}
	Idle  = controller.TargetID{Function: "idle", Qualifier: "live"}
)

const (
	// SurgeAt is when api's traffic rises 4× (run time, a minute boundary).
	SurgeAt = 20 * time.Minute
	// FaultAt is when the gap and delay scenarios' faults start on busy and
	// quiet: after the quiet target has begun to scale in, away from the
	// surge.
	FaultAt = 30 * time.Minute

	apiBase, apiSurge = 10, 40 // mean concurrency
	busyMean          = 40
	quietRate         = 30 // invocations a minute: ~0.5 concurrent
	quietFloor        = 15
)

// quietFloorWindow is the scheduled floor on quiet:live.
var quietFloorWindow = Floor{From: 48 * time.Minute, Until: 62 * time.Minute, Value: quietFloor}

// Standard is the standard account with no faults, default allocation
// (60 s preparation, 6000 a minute) and 60 s publication delay.
func Standard() *sim.Scenario {
	fn := func(name string, pc int, load sim.Load) sim.FunctionSpec {
		load.Qualifier, load.DurationMS = "live", 1000
		return sim.FunctionSpec{
			Name: name, MemoryMB: 512, Versions: 1,
			Aliases:     []sim.AliasSpec{{Name: "live", Version: "1"}},
			Provisioned: map[string]int{"live": pc},
			Loads:       []sim.Load{load},
		}
	}
	return &sim.Scenario{
		Account: sim.AccountSpec{ConcurrentExecutions: 1000, UnreservedMin: 100},
		Metrics: sim.MetricsSpec{PublishDelay: sim.Duration{Duration: 60 * time.Second}},
		Functions: []sim.FunctionSpec{
			fn("api", 29, sim.Load{Kind: sim.LoadStep, Rate: apiBase * 60,
				Steps: []sim.StepAt{{At: simAt(SurgeAt), Rate: apiSurge * 60}}}),
			fn("busy", 80, sim.Load{Kind: sim.LoadConstant, Rate: busyMean * 60}),
			fn("quiet", 40, sim.Load{Kind: sim.LoadConstant, Rate: quietRate}),
			fn("idle", 10, sim.Load{Kind: sim.LoadConstant, Rate: 0}),
		},
	}
}

// StandardTargets manages the four aliases with the shipped defaults
// (config.DefaultPolicy(): max 100, which the surge fits: ~56 peak / 0.7).
func StandardTargets() []Target {
	p := config.DefaultPolicy()
	return []Target{
		{ID: API, Policy: p},
		{ID: Busy, Policy: p},
		{ID: Quiet, Policy: p, Floors: []Floor{quietFloorWindow}},
		{ID: Idle, Policy: p},
	}
}

// simAt turns run time into the simulator's offset from its start.
func simAt(d time.Duration) sim.Duration { return sim.Duration{Duration: Warmup + d} }

// with returns Standard() changed by f.
func with(f func(sc *sim.Scenario)) func() *sim.Scenario {
	return func() *sim.Scenario {
		sc := Standard()
		f(sc)
		return sc
	}
}

// fault appends a fault whose window is given in run time.
func fault(sc *sim.Scenario, fs sim.FaultSpec, from, until time.Duration) {
	fs.From = simAt(from)
	if until > 0 {
		fs.Until = simAt(until)
	}
	sc.Faults = append(sc.Faults, fs)
}

func prob(p float64) *float64 { return &p }

func secs(n int) sim.Duration { return sim.Duration{Duration: time.Duration(n) * time.Second} }
