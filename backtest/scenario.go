package backtest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/schedule"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// ScenarioResult is one policy replayed on a simulator scenario: per config
// target, its minutes and the changes the policy made.
type ScenarioResult struct {
	Minutes map[controller.TargetID][]Minute
	Changes map[controller.TargetID][]Change
}

// Change is one successful Put or Delete.
type Change struct {
	At       time.Time
	From, To int
}

// ReplayScenario runs sc's world from start for d on a virtual clock
// under policy (PolicyOurs: the controller on the daemon's NextWake/Wake
// loop with cfg's targets, through DirectPorts; PolicyAAS: AAS target
// tracking per target at its target_utilization clamped to AAS's 0.1–0.9,
// with the target's min and max and its schedules as scheduled actions on
// MinCapacity and MaxCapacity). The same scenario and seed give the same
// arrivals under either policy. rec (may be nil) sees ours' decisions. The
// demo uses it for its aas column and its tests for ours on a virtual clock.
func ReplayScenario(ctx context.Context, sc *sim.Scenario, cfg *config.Config, start time.Time, d time.Duration, policy string, rec controller.Recorder) (ScenarioResult, error) {
	clk := sim.NewVirtualClock(start)
	w, err := sim.NewWorld(sc, clk)
	if err != nil {
		return ScenarioResult{}, fmt.Errorf("simulator: %w", err)
	}
	start = w.Start()
	end := start.Add(d)
	res := ScenarioResult{Minutes: map[controller.TargetID][]Minute{}, Changes: map[controller.TargetID][]Change{}}
	type tgt struct {
		id    controller.TargetID
		pol   config.Policy
		sched *schedule.Schedule
	}
	var ts []tgt
	for _, t := range cfg.Targets {
		s, err := schedule.Compile(t.Schedules)
		if err != nil {
			return res, fmt.Errorf("%s:%s schedules: %w", t.Function, t.Qualifier, err)
		}
		ts = append(ts, tgt{id: controller.TargetID{Function: t.Function, Qualifier: t.Qualifier}, pol: t.Policy, sched: s})
	}
	store, ms := w.InProcess()
	log := &changeLog{PCStore: store, clock: clk, changes: res.Changes}
	switch policy {
	case PolicyOurs:
		ds, dm, _, err := DirectPorts(cfg.AWS.CloudWatchMetrics)(w, clk)
		if err != nil {
			return res, err
		}
		log.PCStore = ds
		var targets []controller.Target
		for _, t := range ts {
			targets = append(targets, controller.Target{ID: t.id, Policy: t.pol, Bounds: boundsOf(t.sched)})
		}
		probe := cfg.AWS.MetricsProbe.Duration
		if probe <= 0 {
			probe = -1
		}
		c, err := controller.New(controller.Options{Targets: targets, Store: log, Metrics: dm, Clock: clk, Recorder: rec,
			Interval: cfg.Interval.Duration, MetricsMaxLag: cfg.AWS.MetricsMaxLag.Duration, MetricsProbe: probe})
		if err != nil {
			return res, err
		}
		for t := start; ; {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			next := c.NextWake(t)
			if !next.After(t) {
				next = t.Add(time.Second)
			}
			if t = next; !t.Before(end) {
				break
			}
			clk.Set(t)
			_ = c.Wake(ctx, t)
		}
	case PolicyAAS:
		aas := make([]*AAS, len(ts))
		for i, t := range ts {
			a := NewAAS(t.id, log, ms, t.pol.Min, t.pol.Max)
			a.Target = math.Min(math.Max(t.pol.TargetUtilization, 0.1), 0.9)
			aas[i] = a
		}
		for t := start.Truncate(time.Minute).Add(TickOffset); t.Before(end); t = t.Add(time.Minute) {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			clk.Set(t)
			for i, tg := range ts {
				a := aas[i]
				// Scheduled actions set MinCapacity and MaxCapacity; below the
				// new minimum AAS scales out to it, above the maximum in to it.
				st := tg.sched.Active(t)
				a.Min, a.Max = tg.pol.Min, tg.pol.Max
				if st.HasFloor && st.Floor > a.Min {
					a.Min = st.Floor
				}
				if st.HasCeiling && st.Ceiling < a.Max {
					a.Max = st.Ceiling
				}
				if pc, err := log.GetPC(ctx, tg.id); err == nil && pc.Status != controller.StatusInProgress {
					switch cur := pc.Requested; {
					case cur < a.Min:
						_, _ = log.PutPC(ctx, tg.id, a.Min)
						continue
					case cur > a.Max && a.Max >= 1:
						_, _ = log.PutPC(ctx, tg.id, a.Max)
						continue
					}
				}
				a.Tick(ctx, t)
			}
		}
	default:
		return res, fmt.Errorf("ReplayScenario: policy %q: ours or aas", policy)
	}
	clk.Set(end)
	w.AdvanceTo(end)
	for _, t := range ts {
		var mins []Minute
		for _, m := range w.Minutes(t.id.Function, t.id.Qualifier) {
			if m.Start.Add(time.Minute).After(end) {
				continue
			}
			mins = append(mins, Minute{Invocations: m.Invocations, Spillover: m.Spillover, PeakConcurrency: m.PeakConcurrency, PCAllocated: m.PCAllocated})
		}
		res.Minutes[t.id] = mins
	}
	return res, nil
}

func boundsOf(s *schedule.Schedule) func(time.Time) controller.Bounds {
	return func(now time.Time) controller.Bounds {
		st := s.Active(now)
		return controller.Bounds{Floor: st.Floor, HasFloor: st.HasFloor, Ceiling: st.Ceiling, HasCeiling: st.HasCeiling}
	}
}

// changeLog records every successful write with the value it replaced.
type changeLog struct {
	controller.PCStore
	clock controller.Clock

	mu      sync.Mutex // the loop writes through a worker pool
	changes map[controller.TargetID][]Change
}

// LimitsCalls forwards the wrapped store's cost (controller.LimitsCoster).
func (l *changeLog) LimitsCalls(id controller.TargetID) int {
	return controller.LimitsCallsOf(l.PCStore, id)
}

func (l *changeLog) record(id controller.TargetID, c Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes[id] = append(l.changes[id], c)
}

func (l *changeLog) PutPC(ctx context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	before, _ := l.PCStore.GetPC(ctx, id)
	pc, err := l.PCStore.PutPC(ctx, id, n)
	if err == nil {
		l.record(id, Change{At: l.clock.Now(), From: before.Requested, To: n})
	}
	return pc, err
}

func (l *changeLog) DeletePC(ctx context.Context, id controller.TargetID) error {
	before, _ := l.PCStore.GetPC(ctx, id)
	err := l.PCStore.DeletePC(ctx, id)
	if err == nil {
		l.record(id, Change{At: l.clock.Now(), From: before.Requested, To: 0})
	}
	return err
}

// Allocated passes DirectPorts' memory through (derived utilization).
func (l *changeLog) Allocated(id controller.TargetID) (int, bool) {
	if a, ok := l.PCStore.(interface {
		Allocated(controller.TargetID) (int, bool)
	}); ok {
		return a.Allocated(id)
	}
	return 0, false
}

// Flaps counts scale-ins followed by a scale-out within window: the
// flapping issue 13 bounds (at most one per simulated hour per target).
func Flaps(changes []Change, window time.Duration) int {
	n := 0
	for i, c := range changes {
		if c.To >= c.From {
			continue
		}
		for _, o := range changes[i+1:] {
			if o.At.Sub(c.At) > window {
				break
			}
			if o.To > o.From {
				n++
				break
			}
		}
	}
	return n
}
