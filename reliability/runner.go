package reliability

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Epoch is where every simulated account starts (a Monday, UTC).
var Epoch = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

const (
	// sampleEvery: how often the harness reads Lambda's state besides every
	// wake and every deadline, so a check never misses an allocation that
	// finished between two ticks by more than this.
	sampleEvery = 30 * time.Second
	// defaultDown: time from a kill or SIGTERM to the next daemon's start.
	defaultDown = 30 * time.Second
	// workers: one, so a seed replays exactly: request faults draw from a
	// stream in call order, and concurrent Lambda calls would shuffle it.
	workers = 1
)

// harness drives one run.
type harness struct {
	sc       *Scenario
	run      *Run
	world    *sim.World
	clk      *sim.VirtualClock
	store    controller.PCStore
	metrics  controller.MetricSource
	mu       sync.Mutex // guards run's slices the controller's goroutines append to
	d        *daemon    // the running daemon; nil while none runs
	n        int        // daemons started so far
	actions  []action
	fired    map[int]bool // events (by index) that have happened
	wakes    int
	maxWakes int
}

type action struct {
	at   time.Time
	name string
	do   func()
}

// daemon is one daemon process: a controller with no memory of the ones
// before it.
type daemon struct {
	h      *harness
	n      int
	c      *controller.Controller
	ctx    context.Context
	cancel context.CancelFunc
	rec    *recorder
	lastC  time.Time     // the daemon's clock at its last wake
	termed bool          // SIGTERM delivered
	down   time.Duration // after SIGTERM: until the next daemon starts
	wrote  []Write       // writes made during the current wake
	warned bool          // NextWake misbehaviour reported
}

// Execute runs one scenario with one seed to its end. The error is for
// scenarios that cannot run at all (an invalid simulated account);
// everything the controller does wrong is in the Run, for Check.
func Execute(ctx context.Context, sc *Scenario, seed int64) (*Run, error) {
	simSc := Standard()
	switch {
	case sc.Sim != nil:
		simSc = sc.Sim()
	case sc.SimYAML != "":
		var err error
		if simSc, err = sim.ParseScenario([]byte(sc.SimYAML)); err != nil {
			return nil, fmt.Errorf("%s: scenario YAML: %w", sc.Name, err)
		}
	}
	simSc.Seed = seed
	targets := sc.Targets
	if targets == nil {
		targets = StandardTargets()
	}
	dur := sc.Duration
	if dur <= 0 {
		dur = DefaultDuration
	}
	clk := sim.NewVirtualClock(Epoch)
	w, err := sim.NewWorld(simSc, clk)
	if err != nil {
		return nil, fmt.Errorf("%s: simulated account: %w", sc.Name, err)
	}
	start := Epoch.Add(Warmup)
	h := &harness{
		sc: sc, world: w, clk: clk, fired: map[int]bool{},
		run: &Run{
			Scenario: sc, Seed: seed, SimSc: simSc, Targets: targets, Start: start, End: start.Add(dur),
			Samples: map[controller.TargetID][]Sample{}, Minutes: map[controller.TargetID][]Minute{},
		},
		maxWakes: int(dur / time.Second),
	}
	h.store, h.metrics = w.InProcess()
	clk.Set(start)
	w.AdvanceTo(start)
	h.plan()
	h.startDaemon()
	h.loop(ctx)
	if h.d != nil {
		h.d.cancel()
	}
	h.finish()
	return h.run, nil
}

// plan schedules the harness's own instants: process events at fixed
// times, samples of Lambda's state, each surge's deadline.
func (h *harness) plan() {
	r := h.run
	for i, ev := range h.sc.Events {
		at := r.Start.Add(ev.At)
		switch {
		case ev.Kind == OutOfBand:
			h.schedule(at, "out-of-band write", func() { h.outOfBand(i, ev) })
		case ev.Kind == Kill && !ev.onPut():
			h.schedule(at, "kill -9", func() { h.kill(i, ev) })
		}
	}
	for t := r.Start; t.Before(r.End); t = t.Add(sampleEvery) {
		h.schedule(t, "sample", nil)
	}
	for _, s := range h.sc.Surges {
		h.schedule(surgeDeadline(r, s, nil), "surge deadline", nil)
	}
}

func (h *harness) schedule(at time.Time, name string, do func()) {
	i := sort.Search(len(h.actions), func(i int) bool { return h.actions[i].at.After(at) })
	h.actions = append(h.actions, action{})
	copy(h.actions[i+1:], h.actions[i:])
	h.actions[i] = action{at: at, name: name, do: do}
}

// loop is the virtual-clock driver: the earlier of the daemon's next wake
// and the next harness instant, until the end of the run.
func (h *harness) loop(ctx context.Context) {
	r := h.run
	for ctx.Err() == nil {
		var wakeAt, wakeC time.Time
		if d := h.d; d != nil {
			wakeC = d.nextWake()
			wakeAt = wakeC.Add(-h.sc.Skew)
		}
		if len(h.actions) > 0 && (h.d == nil || !h.actions[0].at.After(wakeAt)) {
			a := h.actions[0]
			h.actions = h.actions[1:]
			if a.at.After(r.End) {
				return
			}
			h.clk.Set(a.at)
			if a.do != nil {
				a.do()
			}
			h.sample()
			continue
		}
		if h.d == nil || wakeAt.After(r.End) {
			return
		}
		h.clk.Set(wakeAt)
		h.wakes++
		if h.wakes > h.maxWakes {
			h.harnessViolation(controller.TargetID{}, "wakes", fmt.Sprintf("more than %d wakes in %s of run: the loop wakes more than once a second", h.maxWakes, r.End.Sub(r.Start)), "at most one wake a second")
			return
		}
		h.d.wake(wakeC)
		h.sample()
		h.afterWake()
	}
}

// nextWake asks the controller when it wants to run, guarding against a
// loop that would not advance.
func (d *daemon) nextWake() time.Time {
	next := d.c.NextWake(d.lastC)
	if !next.After(d.lastC) {
		if !d.warned {
			d.warned = true
			d.h.harnessViolation(controller.TargetID{}, "next_wake",
				fmt.Sprintf("daemon#%d: NextWake(%s) = %s does not advance", d.n, d.lastC.Format(time.TimeOnly), next.Format(time.TimeOnly)),
				"a time after now")
		}
		next = d.lastC.Add(time.Second)
	}
	return next
}

// wake runs the controller once; a panic is a violation, and kills the
// daemon as it would the process.
func (d *daemon) wake(at time.Time) {
	d.lastC = at
	d.wrote = d.wrote[:0]
	defer d.rec.endWake()
	defer func() {
		if p := recover(); p != nil {
			d.h.harnessViolation(controller.TargetID{}, "panic",
				fmt.Sprintf("daemon#%d panicked in Wake: %v\n%s", d.n, p, debug.Stack()), "no panic")
			d.h.stopDaemon("panic")
		}
	}()
	_ = d.c.Wake(d.ctx, at) // errors are the loop's to log; the daemon keeps going
}

// afterWake delivers the events that depend on what the wake did.
func (h *harness) afterWake() {
	d := h.d
	if d == nil {
		return
	}
	now := h.clk.Now()
	if d.termed {
		h.stopDaemon(Term.String())
		h.schedule(now.Add(d.down), "restart", h.startDaemon)
		return
	}
	for i, ev := range h.sc.Events {
		if ev.Kind != Kill || !ev.onPut() || h.fired[i] || now.Before(h.run.Start.Add(ev.At)) {
			continue
		}
		for _, wr := range d.wrote {
			if wr.Target == ev.Target && wr.ok() && writeDirection(wr) == ev.OnPut {
				h.kill(i, ev)
				return
			}
		}
	}
}

func (h *harness) kill(i int, ev Event) {
	h.fired[i] = true
	if h.d == nil {
		return
	}
	h.stopDaemon(Kill.String())
	h.schedule(h.clk.Now().Add(downOf(ev)), "restart", h.startDaemon)
}

func downOf(ev Event) time.Duration {
	if ev.Down > 0 {
		return ev.Down
	}
	return defaultDown
}

func (h *harness) stopDaemon(how string) {
	d := h.d
	if d == nil {
		return
	}
	d.cancel()
	h.mu.Lock()
	inst := &h.run.Instances[len(h.run.Instances)-1]
	inst.Stopped, inst.How = h.clk.Now(), how
	h.mu.Unlock()
	h.d = nil
}

// startDaemon starts a daemon with no memory, as a new process would.
func (h *harness) startDaemon() {
	h.n++
	now := h.clk.Now()
	skew := h.sc.Skew
	d := &daemon{h: h, n: h.n, lastC: now.Add(skew)}
	d.ctx, d.cancel = context.WithCancel(sim.WithCaller(context.Background(), callerName(d.n)))
	d.rec = &recorder{run: h.run, mu: &h.mu, instance: d.n, clock: h.clk.Now, mute: h.sc.muteStalls}
	var server controller.ServerClock = controller.FixedOffset(-skew)
	if h.sc.ClockKnownAfter > 0 {
		server = lateOffset{world: h.clk, knownAt: h.run.Start.Add(h.sc.ClockKnownAfter), offset: -skew}
	}
	c, err := controller.New(controller.Options{
		Targets:     h.controllerTargets(),
		Store:       daemonStore{PCStore: h.store, d: d},
		Metrics:     partialMetrics{MetricSource: h.metrics, d: d},
		Clock:       skewClock{world: h.clk, skew: skew},
		Logger:      slog.New(&logSink{mu: &h.mu, lines: &h.run.Logs, instance: d.n, clock: h.clk.Now}),
		Recorder:    d.rec,
		Workers:     workers,
		ServerClock: server,
	})
	if err != nil {
		h.harnessViolation(controller.TargetID{}, "start", fmt.Sprintf("daemon#%d: controller.New: %v", d.n, err), "a controller")
		return
	}
	d.c = c
	h.mu.Lock()
	h.run.Instances = append(h.run.Instances, Instance{N: d.n, Started: now})
	h.mu.Unlock()
	h.d = d
}

// controllerTargets gives each target its floors as the daemon sees them:
// evaluated on the daemon's own clock, as the schedule package would.
func (h *harness) controllerTargets() []controller.Target {
	var out []controller.Target
	for _, t := range h.run.Targets {
		ct := controller.Target{ID: t.ID, Policy: t.Policy}
		if len(t.Floors) > 0 {
			floors, start := t.Floors, h.run.Start
			ct.Bounds = func(now time.Time) controller.Bounds {
				var b controller.Bounds
				for _, f := range floors {
					if off := now.Sub(start); off >= f.From && off < f.Until && (!b.HasFloor || f.Value > b.Floor) {
						b.Floor, b.HasFloor = f.Value, true
					}
				}
				return b
			}
		}
		out = append(out, ct)
	}
	return out
}

// write is every daemon write: Lambda's state before it, SIGTERM delivery,
// then the write, logged.
func (d *daemon) write(id controller.TargetID, op string, n int, f func() error) error {
	h := d.h
	before, had := h.pcView(id)
	h.mu.Lock()
	wr := Write{Time: h.clk.Now(), Op: op, Target: id, Value: n, Caller: callerName(d.n),
		Before: before, HadBefore: had, AfterTerm: d.termed}
	if !d.termed {
		for i, ev := range h.sc.Events {
			if ev.Kind == Term && !h.fired[i] && !wr.Time.Before(h.run.Start.Add(ev.At)) && (ev.Target == (controller.TargetID{}) || ev.Target == id) {
				h.fired[i], d.termed, d.down, wr.InFlightTerm = true, true, downOf(ev), true
				d.cancel() // SIGTERM arrives while this write is in flight
				break
			}
		}
	}
	h.mu.Unlock()
	err := f()
	wr.Result = resultOf(err)
	h.mu.Lock()
	h.run.Writes = append(h.run.Writes, wr)
	d.wrote = append(d.wrote, wr)
	h.mu.Unlock()
	return err
}

func (h *harness) outOfBand(i int, ev Event) {
	h.fired[i] = true
	before, had := h.pcView(ev.Target)
	_, err := h.world.PutProvisionedConcurrencyAs(operator, ev.Target.Function, ev.Target.Qualifier, ev.Value)
	h.mu.Lock()
	h.run.Writes = append(h.run.Writes, Write{Time: h.clk.Now(), Op: "Put", Target: ev.Target, Value: ev.Value,
		Result: resultOf(err), Caller: operator, Before: before, HadBefore: had})
	h.mu.Unlock()
}

func (h *harness) partialNow() bool {
	off := h.clk.Now().Sub(h.run.Start)
	for _, w := range h.sc.PartialData {
		if w.contains(off) {
			return true
		}
	}
	return false
}

// pcView reads Lambda's state directly (no faults, not counted).
func (h *harness) pcView(id controller.TargetID) (sim.PCView, bool) {
	v, err := h.world.GetProvisionedConcurrency(id.Function, id.Qualifier)
	return v, err == nil
}

func (h *harness) sample() {
	now := h.clk.Now()
	for _, t := range h.run.Targets {
		v, ok := h.pcView(t.ID)
		ss := h.run.Samples[t.ID]
		if n := len(ss); n > 0 && ss[n-1].Time.Equal(now) {
			ss[n-1] = Sample{Time: now, Exists: ok, PCView: v}
			continue
		}
		h.run.Samples[t.ID] = append(ss, Sample{Time: now, Exists: ok, PCView: v})
	}
}

func (h *harness) harnessViolation(id controller.TargetID, what, msg, expected string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.run.Harness = append(h.run.Harness, Violation{Invariant: "harness:" + what, Time: h.clk.Now(), Target: id, Msg: msg, Expected: expected})
}

// finish flushes the simulator to the end of the run and reads the truth
// of every minute of every target, warm-up included.
func (h *harness) finish() {
	r := h.run
	h.clk.Set(r.End)
	h.world.AdvanceTo(r.End)
	r.SimWrites = h.world.WriteLog()
	// An event that never happened makes its scenario test nothing.
	for i, ev := range h.sc.Events {
		if !h.fired[i] {
			h.harnessViolation(ev.Target, "event", fmt.Sprintf("%s at %s never happened", ev.Kind, r.offset(r.Start.Add(ev.At))),
				"every scenario event to take place")
		}
	}
	for _, t := range r.Targets {
		stats := h.world.Minutes(t.ID.Function, t.ID.Qualifier)
		ms := make([]Minute, 0, len(stats))
		for _, s := range stats {
			vis, pub, dropped := h.world.MinuteVisibility(t.ID.Function, t.ID.Qualifier, s.Start)
			ms = append(ms, Minute{Start: s.Start, Invocations: s.Invocations, Spillover: s.Spillover, Peak: s.PeakConcurrency,
				Published: pub, Visible: vis, Dropped: dropped})
		}
		r.Minutes[t.ID] = ms
	}
}

// operator is the write log's caller of out-of-band writes.
const operator = "operator"

// callerName is daemon instance n's name in both write logs.
func callerName(n int) string { return fmt.Sprintf("daemon#%d", n) }

// writeDirection is whether a write raised or lowered the requested PC.
func writeDirection(w Write) controller.Direction {
	prev := 0
	if w.HadBefore {
		prev = w.Before.Requested
	}
	switch {
	case w.Value > prev:
		return controller.DirOut
	case w.Value < prev:
		return controller.DirIn
	}
	return controller.DirNone
}
