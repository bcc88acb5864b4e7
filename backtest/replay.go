package backtest

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/schedule"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// TickOffset is how long after each minute boundary ours and aas evaluate,
// like the daemon's ticker aligned to the period plus a small offset.
const TickOffset = 5 * time.Second

// replay is one function prepared for every policy: its load, the seeded
// arrivals' per-minute peaks (what oracle and static know), and its bounds.
type replay struct {
	fn         Function
	o          Options
	policy     config.Policy      // ours' settings
	matched    bool               // policy came from a --config target, bounds included
	cwMode     string             // aws.cloudwatch_metrics of the config
	sched      *schedule.Schedule // the matching target's floors and ceilings; nil = none
	cwProtocol string             // aws.cloudwatch_protocol of the config
	maxLag     time.Duration      // aws.metrics_max_lag of the config
	probe      time.Duration      // aws.metrics_probe as the daemon passes it (negative: off)
	name       string             // the simulated function's name
	start      time.Time
	minutes    int
	load       sim.Load
	peaks      []int   // per minute: largest per-second concurrency of the seeded arrivals
	arrivals   []int64 // per minute: the seeded arrivals (invocations)
	maxPC      int
	initial    int // PC at the start for ours and aas
	warmup     int // minutes replayed but not scored
	info       FunctionInfo
}

func newReplay(f Function, o Options, p config.Policy, matched bool) *replay {
	r := &replay{fn: f, o: o, policy: p, matched: matched, name: simName(f.ID), start: startOf(f), minutes: len(f.Counts)}
	r.load = sim.Load{Qualifier: Qualifier, Kind: sim.LoadTrace, DurationMS: f.DurationMS, PerMinute: f.Counts}
	tr := sim.NewTraffic(r.load, o.Seed, r.start)
	r.peaks, r.arrivals = make([]int, r.minutes), make([]int64, r.minutes)
	peak := 0
	for m := range r.minutes {
		for s := range int64(60) {
			a, c := tr.Second(int64(m)*60 + s)
			r.peaks[m] = max(r.peaks[m], c)
			r.arrivals[m] += int64(a)
		}
		peak = max(peak, r.peaks[m])
	}
	// Bounds for ours and aas: min 1, and a max that never binds (10× the
	// replay's peak), so the comparison is of the policies, not of limits.
	r.maxPC = max(10, 10*peak)
	// With a warm-up, ours and aas start from PC = 1 and find their own
	// steady state before scoring begins; without one they start as if they
	// had been tracking already: the first minute's peak at 70% utilization.
	r.initial = 1
	if r.warmup = o.warmupMinutes(); r.warmup == 0 && r.minutes > 0 {
		r.initial = max(1, ceilDiv(float64(r.peaks[0]), 0.70))
	}
	r.initial = min(max(r.initial, 1), r.maxPC)
	scale := 1.0
	if orig := PeakMeanConcurrency(Function{Counts: f.Counts, DurationMS: f.DurationMS}); o.ScalePeak > 0 && orig > 0 {
		scale = o.ScalePeak / orig // informational: counts were already scaled
	}
	r.info = FunctionInfo{ID: f.ID, DurationMS: f.DurationMS, Minutes: r.minutes, Invocations: f.Total(),
		PeakMeanConc: PeakMeanConcurrency(f), PeakConcurrency: peak, Burstiness: Burstiness(f.Counts), Scale: scale, Start: r.start}
	return r
}

// simName turns a function ID into a valid Lambda function name.
func simName(id string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, id)
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		s = "fn"
	}
	return s
}

func (r *replay) id() controller.TargetID {
	return controller.TargetID{Function: r.name, Qualifier: Qualifier}
}

// scenario is the simulated account for one policy: one function, one alias
// serving the trace, limits far above the replay so they never bind.
func (r *replay) scenario(initialPC int) *sim.Scenario {
	sc := sim.DefaultScenario()
	sc.Seed = r.o.Seed
	sc.Faults = nil
	sc.Metrics.PublishDelay.Duration = r.o.publishDelay()
	sc.Metrics.PublishJitter.Duration = r.o.publishJitter()
	sc.Allocation.PrepDelay.Duration = r.o.prepDelay()
	sc.Account.ConcurrentExecutions = 2*r.maxPC + 10*r.info.PeakConcurrency + 1000
	fs := sim.FunctionSpec{
		Name: r.name, MemoryMB: r.o.MemoryMB, Versions: 1,
		Aliases: []sim.AliasSpec{{Name: Qualifier, Version: "1"}},
		Loads:   []sim.Load{r.load},
	}
	if initialPC > 0 {
		fs.Provisioned = map[string]int{Qualifier: initialPC}
	}
	sc.Functions = []sim.FunctionSpec{fs}
	return sc
}

// end is the instant after the replay's last second; the world publishes a
// minute's accounting when the next second is simulated.
func (r *replay) end() time.Time {
	return r.start.Add(time.Duration(r.minutes)*time.Minute + time.Second)
}

// world builds a fresh world on a virtual clock at the replay's start.
func (r *replay) world(sc *sim.Scenario) (*sim.World, *sim.VirtualClock, error) {
	clk := sim.NewVirtualClock(r.start)
	w, err := sim.NewWorld(sc, clk)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator: %w", err)
	}
	return w, clk, nil
}

// run replays under one policy in its own world (same seed, same arrivals);
// target, when > 0, replaces ours' target_utilization or aas' target.
func (r *replay) run(ctx context.Context, policy string, target float64) (Result, error) {
	var res Result
	var err error
	switch policy {
	case PolicyStatic:
		res, err = r.runStatic()
	case PolicyOracle:
		res, err = r.runOracle()
	case PolicyAAS:
		res, err = r.runAAS(ctx, target)
	case PolicyOurs:
		res, err = r.runOurs(ctx, target)
	default:
		return Result{}, fmt.Errorf("unknown policy %q", policy)
	}
	return res, err
}

// scoreStart is the first scored instant: the end of the warm-up.
func (r *replay) scoreStart() time.Time { return r.start.Add(time.Duration(r.warmup) * time.Minute) }

// scoredHours is the length of the scored part in hours.
func (r *replay) scoredHours() float64 { return float64(r.minutes-r.warmup) / 60 }

// finish flushes the world to the end of the replay and measures the
// minutes after the warm-up; the charts get every minute.
func (r *replay) finish(w *sim.World, clk *sim.VirtualClock, policy string, puts int, cwPerTargetHour float64) (Result, error) {
	clk.Set(r.end())
	w.AdvanceTo(r.end())
	ms := w.Minutes(r.name, Qualifier)
	if len(ms) < r.minutes {
		return Result{}, fmt.Errorf("simulator accounted %d of %d minutes", len(ms), r.minutes)
	}
	mins := make([]Minute, r.minutes)
	for i := range mins {
		s := ms[i]
		mins[i] = Minute{Invocations: s.Invocations, Spillover: s.Spillover, PeakConcurrency: s.PeakConcurrency, PCAllocated: s.PCAllocated}
	}
	return r.measure(policy, mins, puts, cwPerTargetHour), nil
}

// measure scores the minutes after the warm-up; the charts get every minute.
func (r *replay) measure(policy string, mins []Minute, puts int, cwPerTargetHour float64) Result {
	res := Measure(r.fn.ID, policy, mins[r.warmup:], r.fn.DurationMS/1000, puts, cwPerTargetHour)
	res.Warmup = r.warmup
	res.PC, res.Demand, res.Spill = make([]float64, len(mins)), make([]int, len(mins)), make([]int64, len(mins))
	for i, m := range mins {
		res.PC[i], res.Demand[i], res.Spill[i] = m.PCAllocated, m.PeakConcurrency, m.Spillover
	}
	return res
}

// runStatic keeps PC at the replay's per-second peak from the start. It
// needs no world: with PC at least every second's concurrency nothing
// spills, every minute holds the peak, and the invocations are the
// arrivals (TestStaticWithoutWorld holds it to runStaticWorld).
func (r *replay) runStatic() (Result, error) {
	peak := max(1, r.info.PeakConcurrency)
	mins := make([]Minute, r.minutes)
	for i := range mins {
		mins[i] = Minute{Invocations: r.arrivals[i], PeakConcurrency: r.peaks[i], PCAllocated: float64(peak)}
	}
	return r.measure(PolicyStatic, mins, 0, 0), nil
}

// runStaticWorld is runStatic simulated in a world.
func (r *replay) runStaticWorld() (Result, error) {
	w, clk, err := r.world(r.scenario(max(1, r.info.PeakConcurrency)))
	if err != nil {
		return Result{}, err
	}
	return r.finish(w, clk, PolicyStatic, 0, 0)
}

// runOracle is oracle computed from the arrivals: PC each minute at that
// minute's per-second peak, known in advance, allocated at once (the
// simulator accounts a decrease made half a second into a minute from the
// minute's start). Nothing spills. TestOracleWithoutWorld holds it to
// runOracleWorld.
func (r *replay) runOracle() (Result, error) {
	want := func(m int) int { return max(1, r.peaks[m]) }
	mins := make([]Minute, r.minutes)
	puts := 0
	for m := range mins {
		if m > 0 && m >= r.warmup && want(m) != want(m-1) {
			puts++
		}
		mins[m] = Minute{Invocations: r.arrivals[m], PeakConcurrency: r.peaks[m], PCAllocated: float64(want(m))}
	}
	return r.measure(PolicyOracle, mins, puts, 0), nil
}

// runOracleWorld sets PC each minute to that minute's per-second peak, known in
// advance, with allocation made instant (1 ns preparation, no rate limit):
// increases are put half a second before the minute so they are available
// from its first second; decreases half a second after it starts, so the
// previous minute keeps its PC to the end.
func (r *replay) runOracleWorld() (Result, error) {
	want := func(m int) int { return max(1, r.peaks[m]) }
	sc := r.scenario(want(0))
	sc.Allocation.PrepDelay.Duration = time.Nanosecond
	sc.Allocation.DecreaseDelay.Duration = time.Nanosecond
	sc.Allocation.RatePerMinute = math.MaxInt32
	w, clk, err := r.world(sc)
	if err != nil {
		return Result{}, err
	}
	cur, puts := want(0), 0
	for m := 1; m < r.minutes; m++ {
		n := want(m)
		if n == cur {
			continue
		}
		at := r.start.Add(time.Duration(m)*time.Minute - 500*time.Millisecond)
		if n < cur {
			at = at.Add(time.Second)
		}
		clk.Set(at)
		if _, err := w.PutProvisionedConcurrency(r.name, Qualifier, n); err != nil {
			return Result{}, fmt.Errorf("oracle minute %d: %w", m, err)
		}
		cur = n
		if m >= r.warmup {
			puts++
		}
	}
	return r.finish(w, clk, PolicyOracle, puts, 0)
}

// runAAS drives the AAS emulation once a minute at target (0: --aas-target).
func (r *replay) runAAS(ctx context.Context, target float64) (Result, error) {
	sc := r.scenario(r.initial)
	w, clk, err := r.world(sc)
	if err != nil {
		return Result{}, err
	}
	store, ms := w.InProcess()
	cs := &countingStore{PCStore: store, clock: clk, from: r.scoreStart()}
	a := NewAAS(r.id(), cs, ms, 1, r.maxPC)
	a.Target = r.o.aasTarget()
	if target > 0 {
		a.Target = target
	}
	a.ScaleInStep = r.o.aasScaleInStep()
	a.Read = utilizationReader(w, r.name)
	for m := range r.minutes {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		t := r.start.Add(time.Duration(m)*time.Minute + TickOffset)
		clk.Set(t)
		a.Tick(ctx, t)
	}
	// Two alarms, each evaluating one metric every minute.
	res, err := r.finish(w, clk, PolicyAAS, cs.Puts(), 2*60)
	res.Target = a.Target
	return res, err
}

// utilizationReader is AAS's alarms' view: the Average utilization per
// minute that CloudWatch has published, straight from the world.
func utilizationReader(w *sim.World, fn string) func(context.Context, time.Time, time.Time) (map[int64]float64, error) {
	q := []sim.MetricDataQuery{{Id: "u", MetricStat: &sim.MetricStat{
		Metric: sim.Metric{Namespace: sim.NamespaceLambda, MetricName: sim.MetricUtilization,
			Dimensions: []sim.Dimension{{Name: sim.DimFunctionName, Value: fn}, {Name: sim.DimResource, Value: fn + ":" + Qualifier}}},
		Period: 60, Stat: "Average",
	}}}
	return func(_ context.Context, start, end time.Time) (map[int64]float64, error) {
		out, err := w.GetMetricData(sim.MetricDataInput{MetricDataQueries: q, StartTime: start, EndTime: end})
		if err != nil {
			return nil, err
		}
		vals := map[int64]float64{}
		for _, res := range out.MetricDataResults {
			for i, t := range res.Timestamps {
				vals[t.Unix()] = res.Values[i]
			}
		}
		return vals, nil
	}
}

// countingStore counts successful writes from `from` on (the scored part),
// the put_calls of the report.
type countingStore struct {
	controller.PCStore
	clock controller.Clock // nil: count every write
	from  time.Time
	mu    sync.Mutex
	puts  int
}

// LimitsCalls forwards the wrapped store's cost (controller.LimitsCoster).
func (c *countingStore) LimitsCalls(id controller.TargetID) int {
	return controller.LimitsCallsOf(c.PCStore, id)
}

func (c *countingStore) count() {
	if c.clock != nil && c.clock.Now().Before(c.from) {
		return
	}
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
}

func (c *countingStore) PutPC(ctx context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	pc, err := c.PCStore.PutPC(ctx, id, n)
	if err == nil {
		c.count()
	}
	return pc, err
}

func (c *countingStore) DeletePC(ctx context.Context, id controller.TargetID) error {
	err := c.PCStore.DeletePC(ctx, id)
	if err == nil {
		c.count()
	}
	return err
}

// Allocated passes awsapi.Lambda's (or DirectPorts') memory through, for
// derived utilization.
func (c *countingStore) Allocated(id controller.TargetID) (int, bool) {
	if a, ok := c.PCStore.(interface {
		Allocated(controller.TargetID) (int, bool)
	}); ok {
		return a.Allocated(id)
	}
	return 0, false
}

func (c *countingStore) Puts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.puts
}

// countingMetrics counts the CloudWatch metrics ours requests: every
// distinct target of a Fetch costs MetricsPerTarget metrics.
type countingMetrics struct {
	controller.MetricSource
	mu      sync.Mutex
	metrics int
}

func (c *countingMetrics) Fetch(ctx context.Context, qs []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	seen := map[controller.TargetID]bool{}
	for _, q := range qs {
		seen[q.ID] = true
	}
	c.mu.Lock()
	c.metrics += len(seen) * MetricsPerTarget
	c.mu.Unlock()
	return c.MetricSource.Fetch(ctx, qs, start, end)
}

func (c *countingMetrics) Requested() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metrics
}

// oursPolicy is the policy ours runs with: the config's (matching target or
// defaults), with bounds that never bind unless a matching target set them.
func (r *replay) oursPolicy(target float64) config.Policy {
	p := r.policy
	if !r.matched {
		p.Min, p.Max = 1, r.maxPC
	}
	if target > 0 {
		p.TargetUtilization = target
	}
	p.MemoryMB = r.o.MemoryMB
	return p
}

// Ports builds the controller's two ports onto a world: the world's
// in-process ports, or the daemon's SDK clients over HTTP. requested
// reports the CloudWatch metrics asked for so far.
type Ports func(w *sim.World, clk *sim.VirtualClock) (store controller.PCStore, ms controller.MetricSource, requested func() int, err error)

// InProcessPorts are the world's own in-process ports (four metrics per
// target, read from the metric store directly).
func InProcessPorts(w *sim.World, _ *sim.VirtualClock) (controller.PCStore, controller.MetricSource, func() int, error) {
	store, ms := w.InProcess()
	cm := &countingMetrics{MetricSource: ms}
	return store, cm, cm.Requested, nil
}

// bounds evaluates the target's schedules as cmd/pcautoscaler does; nil
// without schedules.
func (r *replay) bounds() func(time.Time) controller.Bounds {
	if r.sched == nil {
		return nil
	}
	s := r.sched
	return func(now time.Time) controller.Bounds {
		st := s.Active(now)
		return controller.Bounds{Floor: st.Floor, HasFloor: st.HasFloor, Ceiling: st.Ceiling, HasCeiling: st.HasCeiling}
	}
}

// runOurs drives the real controller as the daemon's Run loop does, on the
// virtual clock: sleep until NextWake, then Wake (a tick, or a probe for a
// late minute that becomes a tick once it has landed), until the end. Ours
// reads through the daemon's clients' semantics in the config's
// aws.cloudwatch_metrics mode: DirectPorts, or with --wire sdk the clients
// themselves on the SDK, served by the world in memory.
func (r *replay) runOurs(ctx context.Context, target float64) (Result, error) {
	ports := DirectPorts(r.cwMode)
	if r.o.Wire == WireSDK {
		ports = DaemonPorts(r.cwMode, r.cwProtocol, nil, "")
	}
	return r.runOursWith(ctx, ports, nil, target)
}

func (r *replay) runOursWith(ctx context.Context, ports Ports, rec controller.Recorder, target float64) (Result, error) {
	sc := r.scenario(r.initial)
	w, clk, err := r.world(sc)
	if err != nil {
		return Result{}, err
	}
	store, ms, requested, err := ports(w, clk)
	if err != nil {
		return Result{}, err
	}
	cs := &countingStore{PCStore: store, clock: clk, from: r.scoreStart()}
	pm := &probeMeter{MetricSource: ms, requested: requested}
	tc := &tickCounter{}
	recs := controller.Recorder(tc)
	if rec != nil {
		recs = controller.Tee(rec, tc)
	}
	pol := r.oursPolicy(target)
	c, err := controller.New(controller.Options{
		Targets: []controller.Target{{ID: r.id(), Policy: pol, Bounds: r.bounds()}},
		Store:   cs, Metrics: pm, Clock: clk, Logger: r.o.Logger, Recorder: recs, Workers: 1,
		Offset: TickOffset, MetricsMaxLag: r.maxLag, MetricsProbe: r.probe,
	})
	if err != nil {
		return Result{}, err
	}
	end, from := r.end(), r.scoreStart()
	base, based, ticks := 0, r.warmup == 0, 0
	for t := r.start; ; {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		next := c.NextWake(t)
		if !next.After(t) {
			next = t.Add(time.Second) // never spin on one instant
		}
		if t = next; !t.Before(end) {
			break
		}
		if !based && !t.Before(from) {
			base, based = requested(), true
		}
		clk.Set(t)
		pm.fetches, ticks = pm.fetches[:0], tc.ticks
		_ = c.Wake(ctx, t) // errors are the loop's to log; it keeps going, as the daemon does
		if !t.Before(from) {
			pm.settle(tc.ticks > ticks)
		}
	}
	res, err := r.finish(w, clk, PolicyOurs, cs.Puts(), float64(requested()-base)/r.scoredHours())
	res.Target = pol.TargetUtilization
	res.CWProbeMetricsPerHour = float64(pm.probes) / r.scoredHours()
	return res, err
}

// probeMeter tells the metrics a Wake's probes request from its tick's: a
// tick reads once (every target), so in a Wake that ticked the last read is
// the tick's and any before it probes; a Wake that did not tick only
// probed. A fleet shares each probe (one query, whoever the pilot is), so a
// one-target replay charges that target for all of them.
type probeMeter struct {
	controller.MetricSource
	requested func() int
	fetches   []int // metrics requested by each read of the current Wake
	probes    int   // metrics requested by probes, settled Wakes
}

func (p *probeMeter) Fetch(ctx context.Context, qs []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	before := p.requested()
	out, err := p.MetricSource.Fetch(ctx, qs, start, end)
	p.fetches = append(p.fetches, p.requested()-before)
	return out, err
}

// settle counts the current Wake's probes.
func (p *probeMeter) settle(ticked bool) {
	n := len(p.fetches)
	if ticked && n > 0 {
		n--
	}
	for _, m := range p.fetches[:n] {
		p.probes += m
	}
}

// tickCounter counts finished ticks.
type tickCounter struct {
	controller.NopRecorder
	ticks int
}

func (t *tickCounter) Ticked(time.Time, time.Duration, error) { t.ticks++ }
