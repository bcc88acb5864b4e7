package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// Defaults for Options left zero. The ones a user can set are defined once,
// in config; these are the loop's own.
const (
	DefaultWorkers  = config.DefaultWorkers
	DefaultInterval = config.DefaultInterval
	// DefaultOffset: an aligned tick runs this long after the interval
	// boundary (when no publication delay is measured yet, or probing is off).
	DefaultOffset        = 5 * time.Second
	DefaultLimitsRefresh = 5 * time.Minute
	// metricPeriod is Lambda's metric granularity.
	metricPeriod = time.Minute
	// writeTimeout bounds a Put/Delete that is allowed to outlive shutdown.
	writeTimeout = 30 * time.Second
	// failedBackoffMax caps the exponential retry of a FAILED config.
	failedBackoffMax = time.Hour
)

// Target is one managed alias or version as the loop sees it.
type Target struct {
	ID     TargetID
	Policy config.Policy
	// Bounds gives the scheduled floor/ceiling at an instant; nil = none.
	Bounds func(now time.Time) Bounds
}

// Options configure a Controller. Store, Metrics and at least one target
// are required; the rest have defaults.
type Options struct {
	Targets  []Target
	Store    PCStore
	Metrics  MetricSource
	Clock    Clock        // default SystemClock
	Logger   *slog.Logger // default: discard
	Recorder Recorder     // may be nil
	DryRun   bool
	Workers  int           // bounded pool for Lambda calls; default config.DefaultWorkers
	Interval time.Duration // tick; default 1m
	// Offset: tick at each Interval boundary plus Offset, so the minute
	// that just ended has had a moment to land. 0 means the default 5s;
	// negative, or ≥ Interval, means none.
	Offset        time.Duration
	LimitsRefresh time.Duration // default 5m
	// ServerClock measures AWS's clock against Clock (awsapi). Nil means
	// Clock is AWS's clock (a simulator sharing it); a ServerClock that has
	// not measured yet holds every scale-in until it has.
	ServerClock ServerClock
	// MetricsMaxLag: a minute older than this counts as published even
	// with no datapoint of any target; default config.DefaultMetricsMaxLag.
	MetricsMaxLag time.Duration
	// LambdaRPS is the shared bucket's rate (aws.lambda_rps): a tick plans
	// its Lambda calls inside what it gives in one interval; default
	// config.DefaultLambdaRPS.
	LambdaRPS float64
	// Gate, when set, is asked right before every Put or Delete (leader
	// election): an error means this replica may not write now, and the
	// write is skipped (logged, Acted with ResultNotLeader).
	Gate WriteGate
	// MetricsProbe: while the next minute is late, look for it this often
	// (one single-query read); default config.DefaultMetricsProbe,
	// negative turns probing off.
	MetricsProbe time.Duration
}

// WriteGate guards every write: leader election implements it.
type WriteGate interface {
	// MayWrite returns nil when this replica may write now.
	MayWrite(ctx context.Context) error
}

// Controller runs observe → decide → act for every target.
type Controller struct {
	opts    Options
	targets []Target
	log     *slog.Logger
	rec     Recorder
	clock   Clock

	maxLag       time.Duration
	defaultProbe time.Duration
	loop         loopState

	tickMu sync.Mutex // one Tick at a time
	mu     sync.Mutex // guards states
	states map[TargetID]*targetState
	logs   map[TargetID]*slog.Logger
	// hist: every target's history of final minutes (history.go); only
	// ticks touch it, under tickMu.
	hist map[TargetID]*history
	// scratch: the buffer a target's window is joined into for Decide
	// (one target at a time, under tickMu).
	scratch []Datapoint
}

// targetState is the loop's memory of one target.
type targetState struct {
	State
	pc       PCConfig // last PCConfig seen (from Get or Put)
	hasPC    bool
	limits   Limits
	limitsAt time.Time
	readAt   time.Time // last GetPC answered
	// queuedSince: a write for this target has waited since then for the
	// budget (zero: none waiting).
	queuedSince time.Time
	lastStatus  Status

	writeErr ErrorClass // the last write failed with this class ("" none)
	// pcReadErr, limReadErr: the class of the failures the last reads of
	// the config and of the limits had ("" they worked): a run of failures
	// is logged once, then at Debug, and its end once.
	pcReadErr, limReadErr ErrorClass
	foreignEvent          *foreignEvent // set by apply, reported (and cleared) by the tick
	stallTicks            int           // ticks in a row it could not act on its metrics
	stallReason           StallReason
	stallDetail           string
	stallReported         bool
}

// New checks the options and builds a Controller.
func New(o Options) (*Controller, error) {
	var errs []error
	if o.Store == nil {
		errs = append(errs, errors.New("controller: Store is required"))
	}
	if o.Metrics == nil {
		errs = append(errs, errors.New("controller: Metrics is required"))
	}
	// No targets is valid: discovery may find none yet, and SetTargets
	// adds them as they appear (the loop idles meanwhile).
	errs = append(errs, checkTargets(o.Targets)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Offset == 0 {
		o.Offset = DefaultOffset
	}
	if o.Offset < 0 || o.Offset >= o.Interval {
		o.Offset = 0
	}
	if o.LimitsRefresh <= 0 {
		o.LimitsRefresh = DefaultLimitsRefresh
	}
	c := &Controller{
		opts:    o,
		targets: append([]Target(nil), o.Targets...),
		log:     o.Logger,
		rec:     o.Recorder,
		clock:   o.Clock,
		states:  make(map[TargetID]*targetState, len(o.Targets)),
		hist:    map[TargetID]*history{},
		logs:    make(map[TargetID]*slog.Logger, len(o.Targets)),
	}
	c.maxLag = o.MetricsMaxLag
	if c.maxLag <= 0 {
		c.maxLag = config.DefaultMetricsMaxLag
	}
	c.defaultProbe = config.DefaultMetricsProbe
	if c.rec == nil {
		c.rec = NopRecorder{}
	}
	for _, t := range c.targets {
		c.states[t.ID] = &targetState{}
		c.logs[t.ID] = c.targetLogger(t.ID)
	}
	return c, nil
}

func checkTargets(ts []Target) []error {
	var errs []error
	seen := map[TargetID]bool{}
	for i, t := range ts {
		if t.ID.Function == "" || t.ID.Qualifier == "" {
			errs = append(errs, fmt.Errorf("controller: target %d: function and qualifier are required", i))
		}
		if seen[t.ID] {
			errs = append(errs, fmt.Errorf("controller: target %s listed twice", t.ID))
		}
		seen[t.ID] = true
	}
	return errs
}

// SetTargets replaces the managed targets between ticks (config reload,
// discovery): targets that remain keep their memory — cooldowns, backoffs,
// stall counts — with their new policy and bounds; new ones start empty;
// dropped ones are forgotten (their PC is left as it is). It waits for a
// tick in progress, so in-flight writes are never cut. An empty list is
// allowed: the loop then idles.
func (c *Controller) SetTargets(ts []Target) error {
	if err := errors.Join(checkTargets(ts)...); err != nil {
		return err
	}
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	states := make(map[TargetID]*targetState, len(ts))
	logs := make(map[TargetID]*slog.Logger, len(ts))
	for _, t := range ts {
		st, ok := c.states[t.ID]
		if !ok {
			st = &targetState{}
		}
		states[t.ID] = st
		logs[t.ID] = c.targetLogger(t.ID)
	}
	hist := make(map[TargetID]*history, len(ts))
	for _, t := range ts {
		if h := c.hist[t.ID]; h != nil {
			hist[t.ID] = h
		}
	}
	c.targets, c.states, c.logs, c.hist = append([]Target(nil), ts...), states, logs, hist
	return nil
}

func (c *Controller) targetLogger(id TargetID) *slog.Logger {
	return c.log.With(KeyTarget, id.String(), KeyFunction, id.Function, KeyQualifier, id.Qualifier)
}

// Targets returns the managed targets.
func (c *Controller) Targets() []Target {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Target(nil), c.targets...)
}

// Run ticks at every interval boundary plus the offset until ctx ends. A
// tick in progress when ctx ends finishes its in-flight writes and starts
// no new ones; Run then returns nil.
func (c *Controller) Run(ctx context.Context) error {
	c.log.Info("controller started", KeyTargets, len(c.targets), KeyInterval, c.opts.Interval.String(),
		KeyDryRun, c.opts.DryRun)
	for {
		now := c.clock.Now()
		next := c.NextWake(now)
		select {
		case <-ctx.Done():
			c.log.Info("controller stopped")
			return nil
		case <-c.clock.After(next.Sub(now)):
		}
		if ctx.Err() != nil {
			c.log.Info("controller stopped")
			return nil
		}
		if err := c.Wake(ctx, c.clock.Now()); err != nil && ctx.Err() == nil {
			c.log.Warn("tick incomplete", KeyError, err.Error())
		}
	}
}

// nextTick is the first interval boundary plus offset strictly after now.
func nextTick(now time.Time, interval, offset time.Duration) time.Time {
	t := now.Truncate(interval).Add(offset)
	for !t.After(now) {
		t = t.Add(interval)
	}
	return t
}

// stateCopy returns a copy of a target's memory.
func (c *Controller) stateCopy(id TargetID) targetState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.states[id]
}

// update mutates a target's memory under the lock.
func (c *Controller) update(id TargetID, f func(st *targetState)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c.states[id])
}

// StateOf returns the loop's memory of a target (for tests and debugging).
func (c *Controller) StateOf(id TargetID) (State, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.states[id]
	if !ok {
		return State{}, false
	}
	return st.State, true
}

// foreignEvent is one change made by someone else.
type foreignEvent struct {
	from, to int
	at       time.Time // Lambda's LastModified
	rewrite  bool      // the same value, written by someone else
}

// NopRecorder records nothing; embed it in a Recorder that wants only some
// of the calls.
type NopRecorder struct{}

func (NopRecorder) Observed(TargetID, PCConfig, Limits, Decision) {}
func (NopRecorder) Acted(TargetID, Decision, string)              {}
func (NopRecorder) Ticked(time.Time, time.Duration, error)        {}
func (NopRecorder) ObserveDemand(TargetID, float64, float64)      {}
func (NopRecorder) ObserveFreshness(Freshness)                    {}
func (NopRecorder) ObserveStall(TargetID, StallReason)            {}
func (NopRecorder) ObserveQueue(int, time.Duration)               {}
func (NopRecorder) ForeignChange(TargetID, int, int)              {}

// Tee feeds every call to each recorder in turn.
func Tee(recs ...Recorder) Recorder { return tee(recs) }

type tee []Recorder

func (t tee) Observed(id TargetID, pc PCConfig, lim Limits, d Decision) {
	for _, r := range t {
		r.Observed(id, pc, lim, d)
	}
}
func (t tee) Acted(id TargetID, d Decision, result string) {
	for _, r := range t {
		r.Acted(id, d, result)
	}
}
func (t tee) Ticked(start time.Time, took time.Duration, err error) {
	for _, r := range t {
		r.Ticked(start, took, err)
	}
}
func (t tee) ObserveDemand(id TargetID, concurrency, spillover float64) {
	for _, r := range t {
		r.ObserveDemand(id, concurrency, spillover)
	}
}
func (t tee) ObserveFreshness(f Freshness) {
	for _, r := range t {
		r.ObserveFreshness(f)
	}
}
func (t tee) ForeignChange(id TargetID, from, to int) {
	for _, r := range t {
		r.ForeignChange(id, from, to)
	}
}
func (t tee) ObserveQueue(depth int, oldestWait time.Duration) {
	for _, r := range t {
		r.ObserveQueue(depth, oldestWait)
	}
}
func (t tee) ObserveStall(id TargetID, reason StallReason) {
	for _, r := range t {
		r.ObserveStall(id, reason)
	}
}
