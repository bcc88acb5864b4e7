package scale

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Counts are the daemon's AWS calls as its clients report them
// (awsapi.CallObserver, metrics.Observer): every call, whatever its answer.
type Counts struct {
	Lambda    int64            // Lambda control-plane calls on the shared 15 rps quota (the bucket)
	OwnQuota  int64            // Lambda calls with a quota of their own (GetFunction: 100 rps, its own bucket)
	GMD       int64            // GetMetricData calls
	Metrics   int64            // metrics requested from CloudWatch
	Throttled int64            // Lambda calls answered 429
	ByOp      map[string]int64 // "Operation" or "Operation/class" for answers other than ok
}

// Sub is c − o.
func (c Counts) Sub(o Counts) Counts {
	d := Counts{Lambda: c.Lambda - o.Lambda, OwnQuota: c.OwnQuota - o.OwnQuota, GMD: c.GMD - o.GMD, Metrics: c.Metrics - o.Metrics,
		Throttled: c.Throttled - o.Throttled, ByOp: map[string]int64{}}
	for k, v := range c.ByOp {
		if n := v - o.ByOp[k]; n != 0 {
			d.ByOp[k] = n
		}
	}
	return d
}

type callCounter struct {
	mu sync.Mutex
	c  Counts
}

func newCallCounter() *callCounter { return &callCounter{c: Counts{ByOp: map[string]int64{}}} }

func (k *callCounter) ObserveCall(service, operation, code string, _ time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := operation
	if code != "ok" {
		key += "/" + code
	}
	k.c.ByOp[key]++
	switch {
	case service == "lambda" && operation == "GetFunction":
		k.c.OwnQuota++
	case service == "lambda":
		k.c.Lambda++
		if code == "throttled" {
			k.c.Throttled++
		}
	case operation == "GetMetricData":
		k.c.GMD++
	}
}

func (k *callCounter) MetricsRequested(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.c.Metrics += int64(n)
}

func (k *callCounter) snapshot() Counts {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.c
	c.ByOp = maps.Clone(k.c.ByOp)
	return c
}

func (k *callCounter) lambda() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.c.Lambda
}

func (k *callCounter) gmd() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.c.GMD
}

// recorder is the controller's Recorder for the figures: when targets are
// first decided on, ticks, the write queue.
type recorder struct {
	controller.NopRecorder
	clk   *sim.VirtualClock
	calls *callCounter
	n     int

	mu            sync.Mutex
	decided       map[controller.TargetID]struct{}
	firstDecision time.Time
	firstCalls    int64
	allDecided    time.Time
	allCalls      int64
	ticked        bool // a tick ended since the flag was cleared
	tickStart     time.Time
	tickTook      time.Duration
	depth         int
	oldest        time.Duration
	acted         map[string]int
}

func newRecorder(clk *sim.VirtualClock, calls *callCounter, n int) *recorder {
	return &recorder{clk: clk, calls: calls, n: n, decided: make(map[controller.TargetID]struct{}, n), acted: map[string]int{}}
}

func (r *recorder) Observed(id controller.TargetID, _ controller.PCConfig, _ controller.Limits, _ controller.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.decided[id]; ok {
		return
	}
	r.decided[id] = struct{}{}
	if r.firstDecision.IsZero() {
		r.firstDecision, r.firstCalls = r.clk.Now(), r.calls.lambda()
	}
	if len(r.decided) == r.n {
		r.allDecided, r.allCalls = r.clk.Now(), r.calls.lambda()
	}
}

func (r *recorder) Acted(_ controller.TargetID, d controller.Decision, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acted[string(d.Direction)+"/"+result]++
}

func (r *recorder) Ticked(start time.Time, took time.Duration, _ error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticked, r.tickStart, r.tickTook = true, start, took
}

func (r *recorder) ObserveQueue(depth int, oldest time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.depth, r.oldest = depth, oldest
}

func (r *recorder) decidedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.decided)
}

// countingSource records, per Fetch, the GetMetricData calls it made, so a
// wake's calls split into the tick's read and probes.
type countingSource struct {
	controller.MetricSource
	calls *callCounter

	mu      sync.Mutex
	fetches []int64 // GetMetricData calls of each Fetch since the last take
}

func (s *countingSource) Fetch(ctx context.Context, qs []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	before := s.calls.gmd()
	out, err := s.MetricSource.Fetch(ctx, qs, start, end)
	s.mu.Lock()
	s.fetches = append(s.fetches, s.calls.gmd()-before)
	s.mu.Unlock()
	return out, err
}

func (s *countingSource) take() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fetches
	s.fetches = nil
	return f
}

// logCounter counts the controller's log lines at Info and above by
// message (Warn lines such as "more writes due than the Lambda API budget
// allows" are part of the figures).
type logCounter struct {
	mu     *sync.Mutex
	counts map[string]int
}

func newLogCounter() logCounter { return logCounter{mu: &sync.Mutex{}, counts: map[string]int{}} }

func (l logCounter) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[r.Level.String()+" "+r.Message]++
	return nil
}
func (l logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logCounter) WithGroup(string) slog.Handler      { return l }

func (l logCounter) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.counts)
}
