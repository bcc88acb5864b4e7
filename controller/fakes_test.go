package controller

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// apiErr is a ClassifiedError as awsapi would return it.
type apiErr struct {
	class ErrorClass
	ra    time.Duration
}

func (e apiErr) Error() string             { return "fake " + string(e.class) }
func (e apiErr) ErrorClass() string        { return string(e.class) }
func (e apiErr) RetryAfter() time.Duration { return e.ra }

// vclock is a settable clock for tests that drive Tick directly.
type vclock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *vclock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *vclock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// After never fires: Tick-driven tests don't use Run.
func (c *vclock) After(time.Duration) <-chan time.Time { return nil }

type call struct {
	op  string // get, put, delete, limits
	id  TargetID
	n   int
	at  time.Time
	err error
}

type capacity struct {
	readyAt time.Time
	n       int
}

// fakeTarget is one alias in the fake Lambda.
type fakeTarget struct {
	exists       bool
	requested    int
	lastModified time.Time
	readyAt      time.Time
	failing      bool // allocations end FAILED
	history      []capacity
}

// fakeStore simulates Lambda PC with an allocation delay: after a Put the
// config is IN_PROGRESS for delay, then READY; the old capacity serves
// until then.
type fakeStore struct {
	mu      sync.Mutex
	now     func() time.Time
	delay   time.Duration
	targets map[TargetID]*fakeTarget
	limits  Limits
	calls   []call

	// Injected faults: return an error for this call, or nil.
	getErr    func(id TargetID, at time.Time) error
	putErr    func(id TargetID, n int, at time.Time) error
	limitsErr func(id TargetID, at time.Time) error
	// putHook runs inside Put before it takes effect (blocking, recording).
	putHook func(ctx context.Context)
}

func newFakeStore(now func() time.Time, delay time.Duration) *fakeStore {
	return &fakeStore{now: now, delay: delay, targets: map[TargetID]*fakeTarget{}}
}

// set creates a READY config of n changed at t.
func (s *fakeStore) set(id TargetID, n int, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ft := &fakeTarget{exists: n > 0, requested: n, lastModified: t, readyAt: t}
	ft.history = []capacity{{readyAt: time.Time{}, n: n}}
	s.targets[id] = ft
}

func (s *fakeStore) target(id TargetID) *fakeTarget {
	ft, ok := s.targets[id]
	if !ok {
		ft = &fakeTarget{history: []capacity{{}}}
		s.targets[id] = ft
	}
	return ft
}

func (s *fakeStore) config(ft *fakeTarget, now time.Time) PCConfig {
	if !ft.exists {
		return PCConfig{}
	}
	pc := PCConfig{Exists: true, Requested: ft.requested, LastModified: ft.lastModified}
	switch {
	case now.Before(ft.readyAt):
		pc.Status, pc.Allocated = StatusInProgress, s.allocatedLocked(ft, now)
	case ft.failing:
		pc.Status, pc.StatusReason = StatusFailed, "FUNCTION_ERROR_INIT_FAILURE"
	default:
		pc.Status, pc.Allocated, pc.Available = StatusReady, ft.requested, ft.requested
	}
	return pc
}

func (s *fakeStore) allocatedLocked(ft *fakeTarget, t time.Time) int {
	n := 0
	for _, c := range ft.history {
		if !c.readyAt.After(t) {
			n = c.n
		}
	}
	if ft.failing && !t.Before(ft.readyAt) {
		return 0
	}
	return n
}

// allocated is the capacity serving at t.
func (s *fakeStore) allocated(id TargetID, t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocatedLocked(s.target(id), t)
}

func (s *fakeStore) record(c call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *fakeStore) GetPC(_ context.Context, id TargetID) (PCConfig, error) {
	now := s.now()
	if s.getErr != nil {
		if err := s.getErr(id, now); err != nil {
			s.record(call{op: "get", id: id, at: now, err: err})
			return PCConfig{}, err
		}
	}
	s.record(call{op: "get", id: id, at: now})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.config(s.target(id), now), nil
}

func (s *fakeStore) PutPC(ctx context.Context, id TargetID, n int) (PCConfig, error) {
	if s.putHook != nil {
		s.putHook(ctx)
	}
	now := s.now()
	if s.putErr != nil {
		if err := s.putErr(id, n, now); err != nil {
			s.record(call{op: "put", id: id, n: n, at: now, err: err})
			return PCConfig{}, err
		}
	}
	s.record(call{op: "put", id: id, n: n, at: now})
	s.mu.Lock()
	defer s.mu.Unlock()
	ft := s.target(id)
	if ft.exists && now.Before(ft.readyAt) {
		return PCConfig{}, apiErr{class: ClassConflict}
	}
	ft.exists, ft.requested, ft.lastModified, ft.readyAt = true, n, now, now.Add(s.delay)
	ft.history = append(ft.history, capacity{readyAt: ft.readyAt, n: n})
	return s.config(ft, now), nil
}

func (s *fakeStore) DeletePC(_ context.Context, id TargetID) error {
	now := s.now()
	s.record(call{op: "delete", id: id, at: now})
	s.mu.Lock()
	defer s.mu.Unlock()
	ft := s.target(id)
	ft.exists, ft.requested, ft.lastModified = false, 0, time.Time{}
	ft.history = append(ft.history, capacity{readyAt: now, n: 0})
	return nil
}

func (s *fakeStore) Limits(_ context.Context, id TargetID) (Limits, error) {
	now := s.now()
	s.record(call{op: "limits", id: id, at: now})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limitsErr != nil {
		if err := s.limitsErr(id, now); err != nil {
			return s.limits, err
		}
	}
	return s.limits, nil
}

// callsOf returns the calls of one op (all ops when op is "").
func (s *fakeStore) callsOf(op string) []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []call
	for _, c := range s.calls {
		if op == "" || c.op == op {
			out = append(out, c)
		}
	}
	return out
}

// okPuts are the successful Puts.
func (s *fakeStore) okPuts() []call {
	var out []call
	for _, c := range s.callsOf("put") {
		if c.err == nil {
			out = append(out, c)
		}
	}
	return out
}

// fakeMetrics turns a demand function (peak concurrency per minute) and the
// store's capacity into Lambda's per-minute datapoints. A minute without
// demand has no datapoint, as in CloudWatch.
type fakeMetrics struct {
	mu     sync.Mutex
	store  *fakeStore
	demand func(id TargetID, minute time.Time) float64
	err    func(at time.Time) error
	now    func() time.Time
	calls  int
	// delay: a minute is published this long after it ends (0: 60 s, as
	// the simulator's default; negative: at once). delayFor, when set,
	// adds per target and minute; hidden drops a target's minute (a gap).
	delay    time.Duration
	delayFor func(id TargetID, minute time.Time) time.Duration
	hidden   func(id TargetID, minute time.Time) bool
	// concOnly: concurrency alone, as the derived mode reads a target
	// whose allocation it does not know yet.
	concOnly func(id TargetID) bool
	windows  []time.Duration // end − start of every Fetch
	sizes    []int           // its number of queries
}

func (m *fakeMetrics) Fetch(_ context.Context, qs []MetricQuery, start, end time.Time) (map[TargetID]Series, error) {
	m.mu.Lock()
	m.calls++
	m.windows = append(m.windows, end.Sub(start))
	m.sizes = append(m.sizes, len(qs))
	m.mu.Unlock()
	if m.err != nil {
		if err := m.err(m.now()); err != nil {
			return nil, err
		}
	}
	if start.After(end) {
		return nil, fmt.Errorf("start %s after end %s", start, end)
	}
	delay := m.delay
	if delay == 0 {
		delay = time.Minute
	}
	if delay < 0 {
		delay = 0
	}
	now := m.now()
	out := make(map[TargetID]Series, len(qs))
	for _, q := range qs {
		s := Series{Complete: true}
		for t := start; t.Before(end) && !t.Add(time.Minute+delay).After(now); t = t.Add(time.Minute) {
			if m.delayFor != nil && t.Add(time.Minute+delay+m.delayFor(q.ID, t)).After(now) {
				continue
			}
			if m.hidden != nil && m.hidden(q.ID, t) {
				continue
			}
			d := m.demand(q.ID, t)
			if d <= 0 {
				continue
			}
			a := float64(m.store.allocated(q.ID, t))
			pt := Datapoint{Time: t, Concurrency: d, HasConcurrency: true, Invocations: d * 60, HasInvocations: true}
			if a > 0 && (m.concOnly == nil || !m.concOnly(q.ID)) {
				pt.Utilization, pt.HasUtilization = math.Min(d, a)/a, true
				pt.Spillover = math.Max(0, d-a) * 60
			}
			s.Points = append(s.Points, pt)
		}
		out[q.ID] = s
	}
	return out, nil
}

func (m *fakeMetrics) fetches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// fakeRecorder keeps what the loop reported.
type fakeRecorder struct {
	NopRecorder
	mu        sync.Mutex
	observed  []Decision
	acted     []string
	ticks     []time.Time
	tickErrs  []error
	demandObs int
	stalls    map[TargetID][]StallReason
	fresh     []Freshness
	foreign   int
}

func (r *fakeRecorder) ForeignChange(TargetID, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.foreign++
}

func (r *fakeRecorder) ObserveStall(id TargetID, reason StallReason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stalls == nil {
		r.stalls = map[TargetID][]StallReason{}
	}
	r.stalls[id] = append(r.stalls[id], reason)
}

func (r *fakeRecorder) ObserveFreshness(f Freshness) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fresh = append(r.fresh, f)
}

func (r *fakeRecorder) Observed(_ TargetID, _ PCConfig, _ Limits, d Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, d)
}

func (r *fakeRecorder) Acted(_ TargetID, _ Decision, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acted = append(r.acted, result)
}

func (r *fakeRecorder) Ticked(start time.Time, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticks = append(r.ticks, start)
	r.tickErrs = append(r.tickErrs, err)
}

func (r *fakeRecorder) ObserveDemand(TargetID, float64, float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.demandObs++
}

func (r *fakeRecorder) results() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.acted...)
	sort.Strings(out)
	return out
}

func (r *fakeRecorder) reasons() map[Reason]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[Reason]int{}
	for _, d := range r.observed {
		m[d.Reason]++
	}
	return m
}
