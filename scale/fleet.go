package scale

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Fleet is the simulated account and the daemon's settings for one run.
// Zero fields take the defaults of DefaultFleet.
type Fleet struct {
	Targets int // functions, one alias each
	// Surge targets (every Targets/Surge-th function) have their traffic
	// multiplied by SurgeFactor from SurgeAt after the daemon starts
	// (SurgeAt 0: no surge).
	Surge       int
	SurgeFactor float64
	SurgeAt     time.Duration
	// History: the account has run this long when the daemon starts, so
	// its first reads find data.
	History         time.Duration
	LambdaRPS       float64 // aws.lambda_rps: the daemon's bucket and Options.LambdaRPS
	ControlPlaneRPS float64 // account.control_plane_rps, enforced by the simulator
	Interval        time.Duration
	// CloudWatch and allocation delays of the simulator (the backtest's
	// realistic defaults: publication 120 s + 0..30 s jitter, preparation 90 s).
	PublishDelay, PublishJitter, PrepDelay time.Duration
	Seed                                   int64
	Start                                  time.Time // the daemon's start (world time)
}

// DefaultFleet is the account: 10,000 targets, a 4× surge on 1,000
// of them, lambda_rps 10 under control_plane_rps 15.
func DefaultFleet() Fleet {
	return Fleet{
		Targets: 10000, Surge: 1000, SurgeFactor: 4, SurgeAt: 80 * time.Minute,
		History:   30 * time.Minute,
		LambdaRPS: 10, ControlPlaneRPS: 15, Interval: config.DefaultInterval,
		PublishDelay: 120 * time.Second, PublishJitter: 30 * time.Second, PrepDelay: 90 * time.Second,
		Seed: 1, Start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
	}
}

func (f Fleet) withDefaults() Fleet {
	d := DefaultFleet()
	if f.Targets <= 0 {
		f.Targets = d.Targets
	}
	if f.SurgeFactor <= 0 {
		f.SurgeFactor = d.SurgeFactor
	}
	if f.LambdaRPS <= 0 {
		f.LambdaRPS = d.LambdaRPS
	}
	if f.ControlPlaneRPS <= 0 {
		f.ControlPlaneRPS = d.ControlPlaneRPS
	}
	if f.Interval <= 0 {
		f.Interval = d.Interval
	}
	if f.PublishDelay <= 0 {
		f.PublishDelay = d.PublishDelay
	}
	if f.PrepDelay <= 0 {
		f.PrepDelay = d.PrepDelay
	}
	if f.Start.IsZero() {
		f.Start = d.Start
	}
	return f
}

// Quiet traffic: mean concurrency levels (invocations of 1 s) and the
// utilization the initial PC is sized for. A minute's Maximum of
// ConcurrentExecutions varies by ±2–3% at these levels, so utilization
// stays between the default scale-in threshold (0.63) and target (0.70):
// the controller holds, as it would on a settled account. At a few
// concurrent executions the Maximum varies by ±30% and any policy with a
// 7-point band would move the target now and then.
var quietLevels = []int{400, 500, 600, 700, 800, 900, 1000}

const quietUtilization = 0.665

// fleet is a built Fleet: scenario, targets and what the figures need.
type fleet struct {
	f        Fleet
	sc       *sim.Scenario
	targets  []controller.Target
	ids      []controller.TargetID
	pc       map[controller.TargetID]int // initial PC
	surged   []controller.TargetID
	surgeMin time.Time // the first surged minute (world time)
}

func functionName(i int) string { return fmt.Sprintf("fn-%05d", i) }

// qualifierName is distinct per function: the simulator keys a load's
// random stream by (seed, qualifier, kind), not by function, so 10,000
// aliases all named "live" would share one stream — every function's
// noise in step, every breach at once.
func qualifierName(i int) string { return fmt.Sprintf("live-%05d", i) }

// calibrate sizes each quiet level's PC from the simulator's own traffic:
// the median over two hours of a minute's Maximum concurrency, divided by
// quietUtilization.
func calibrate(seed int64, start time.Time) map[int]int {
	pcs := map[int]int{}
	for _, c := range quietLevels {
		tr := sim.NewTraffic(sim.Load{Qualifier: fmt.Sprintf("calibrate-%d", c), Kind: sim.LoadConstant,
			Rate: float64(c * 60), DurationMS: 1000}, seed, start)
		var maxes []int
		for m := range int64(120) {
			mx := 0
			for s := m * 60; s < m*60+60; s++ {
				_, conc := tr.Second(s)
				mx = max(mx, conc)
			}
			maxes = append(maxes, mx)
		}
		slices.Sort(maxes)
		pcs[c] = int(math.Round(float64(maxes[len(maxes)/2]) / quietUtilization))
	}
	return pcs
}

func buildFleet(f Fleet) (*fleet, error) {
	f = f.withDefaults()
	if f.Surge < 0 || f.Surge > f.Targets {
		return nil, fmt.Errorf("scale: Surge %d out of 0..%d", f.Surge, f.Targets)
	}
	worldStart := f.Start.Add(-f.History)
	pcs := calibrate(f.Seed, worldStart)
	every := 0
	if f.Surge > 0 && f.SurgeAt > 0 {
		every = f.Targets / f.Surge
	}
	surgeOff := f.History + f.SurgeAt // from the world's start
	b := &fleet{f: f, pc: map[controller.TargetID]int{}}
	b.surgeMin = worldStart.Add(surgeOff).Truncate(time.Minute)
	pol := config.DefaultPolicy()
	pol.Max = 100000 // bounds never bind: the figures are about the API budget
	total := 0
	var fns []sim.FunctionSpec
	for i := range f.Targets {
		c := quietLevels[i%len(quietLevels)]
		name, q := functionName(i), qualifierName(i)
		id := controller.TargetID{Function: name, Qualifier: q}
		load := sim.Load{Qualifier: q, Kind: sim.LoadConstant, Rate: float64(c * 60), DurationMS: 1000}
		if every > 0 && i%every == 0 && len(b.surged) < f.Surge {
			load.Kind = sim.LoadStep
			load.Steps = []sim.StepAt{{At: sim.Duration{Duration: surgeOff}, Rate: load.Rate * f.SurgeFactor}}
			b.surged = append(b.surged, id)
		}
		pc := pcs[c]
		total += pc
		fns = append(fns, sim.FunctionSpec{
			Name: name, MemoryMB: 1024, Versions: 1,
			Aliases:     []sim.AliasSpec{{Name: q, Version: "1"}},
			Provisioned: map[string]int{q: pc},
			Loads:       []sim.Load{load},
		})
		b.targets = append(b.targets, controller.Target{ID: id, Policy: pol})
		b.ids = append(b.ids, id)
		b.pc[id] = pc
	}
	b.sc = &sim.Scenario{
		Seed: f.Seed,
		Account: sim.AccountSpec{
			// Room for every surge: the account's limits never bind either.
			ConcurrentExecutions: total*int(math.Ceil(f.SurgeFactor)+2) + 1000,
			UnreservedMin:        100,
			ControlPlaneRPS:      f.ControlPlaneRPS,
		},
		Allocation: sim.AllocationSpec{PrepDelay: sim.Duration{Duration: f.PrepDelay}},
		Metrics: sim.MetricsSpec{PublishDelay: sim.Duration{Duration: f.PublishDelay},
			PublishJitter: sim.Duration{Duration: f.PublishJitter}},
		Functions: fns,
	}
	return b, nil
}
