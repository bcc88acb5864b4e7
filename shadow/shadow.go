// Package shadow runs the controller without letting it write: its Puts land
// on a virtual config per target (ours), every real read of Lambda is
// passed through and remembered as what the current controller set
// (theirs: AAS, a person, another tool), and each complete minute of real
// concurrency is accounted against both: PC-hours and estimated spillover.
//
// The controller sees only ours, so it plans against its own PC, never
// sees a foreign change, and its utilization is recomputed from the real
// concurrency over our allocation (Metrics). This is how a user of another
// controller decides whether to switch (README "Migrating from AAS").
package shadow

import (
	"context"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Defaults of the virtual allocation: what the simulator assumes of Lambda
// (prep_delay 60s, then 6000 environments a minute: at once for any sane
// step) and AWS-FACTS describes as a minute or two. A decrease frees at once.
const (
	DefaultPrepare = 60 * time.Second
	// Retention of the hourly ledger.
	Retention = 14 * 24 * time.Hour
	// historyKeep: allocation steps older than this are dropped (a minute
	// is accounted a few minutes after it ends; the lookback is hours).
	historyKeep = 6 * time.Hour
)

// step: from At on, Allocated was Value.
type step struct {
	At    time.Time
	Value int
}

// history is a step function of allocated PC, oldest first.
type history []step

// at is the value at t (the first value before the first step).
func (h history) at(t time.Time) int {
	v := 0
	for i, s := range h {
		if i == 0 || !s.At.After(t) {
			v = s.Value
		} else {
			break
		}
	}
	return v
}

// mean is the time-weighted mean over [from, to).
func (h history) mean(from, to time.Time) float64 {
	if len(h) == 0 || !to.After(from) {
		return 0
	}
	total := 0.0
	cur := from
	v := h.at(from)
	for _, s := range h {
		if !s.At.After(from) {
			continue
		}
		if !s.At.Before(to) {
			break
		}
		total += float64(v) * s.At.Sub(cur).Seconds()
		cur, v = s.At, s.Value
	}
	total += float64(v) * to.Sub(cur).Seconds()
	return total / to.Sub(from).Seconds()
}

// set records value from at on, replacing any step at or after at (a later
// Put supersedes a pending allocation).
func (h history) set(at time.Time, value int) history {
	i := len(h)
	for i > 0 && !h[i-1].At.Before(at) {
		i--
	}
	h = h[:i]
	if len(h) > 0 && h[len(h)-1].Value == value {
		return h
	}
	return append(h, step{At: at, Value: value})
}

// prune drops steps wholly before cut (keeping the one in force at cut).
func (h history) prune(cut time.Time) history {
	i := 0
	for i+1 < len(h) && !h[i+1].At.After(cut) {
		i++
	}
	return h[i:]
}

// Side is one controller's account over a span.
type Side struct {
	// PCSeconds: allocated PC integrated over time (ours: the virtual
	// allocation; theirs: each real read held until the next).
	PCSeconds float64 `json:"pc_seconds"`
	// Spillover of theirs is Lambda's own count
	// (ProvisionedConcurrencySpilloverInvocations) when the metrics read
	// it (aws.cloudwatch_metrics: full). Ours is estimated per minute from
	// the invocations I and a concurrency level C against our mean
	// allocation A: I·(C−A)/C when C > A, where C is the minute's peak or,
	// when theirs spilled, the level their real spillover implies
	// (effective). Without invocations (derived or compact) both sides are
	// C−A with C the peak: concurrency above PC, summed over minutes.
	Spillover float64 `json:"spillover"`
}

// Bucket is one hour of one target.
type Bucket struct {
	Start       time.Time `json:"start"`
	Minutes     int       `json:"minutes"`
	Invocations float64   `json:"invocations"`
	Peak        float64   `json:"peak_concurrency"`
	Ours        Side      `json:"ours"`
	Theirs      Side      `json:"theirs"`
	// TheirsMeasured is Lambda's own ProvisionedConcurrencySpilloverInvocations
	// (full metrics only; HasMeasured says whether any minute had it).
	TheirsMeasured float64 `json:"theirs_spillover_measured"`
	HasMeasured    bool    `json:"has_measured"`
}

func (b *Bucket) add(o Bucket) {
	b.Minutes += o.Minutes
	b.Invocations += o.Invocations
	b.Peak = math.Max(b.Peak, o.Peak)
	b.Ours.PCSeconds += o.Ours.PCSeconds
	b.Ours.Spillover += o.Ours.Spillover
	b.Theirs.PCSeconds += o.Theirs.PCSeconds
	b.Theirs.Spillover += o.Theirs.Spillover
	b.TheirsMeasured += o.TheirsMeasured
	b.HasMeasured = b.HasMeasured || o.HasMeasured
}

// Options configure a Store.
type Options struct {
	Clock   controller.Clock
	Prepare time.Duration // 0: DefaultPrepare
}

// Store is a controller.PCStore that writes nothing: see the package doc.
type Store struct {
	inner   controller.PCStore
	clock   controller.Clock
	prepare time.Duration

	mu sync.Mutex
	t  map[controller.TargetID]*target
}

type target struct {
	ours     controller.PCConfig
	pending  time.Time // an increase allocates then (zero: none)
	moving   bool      // theirs is being reallocated by an alias move: ours is too
	movingH  history   // 1 while moving, 0 otherwise (the share of a minute spent moving)
	oursH    history
	theirsH  history
	theirs   controller.PCConfig
	started  time.Time // first real read: minutes from then on are accounted
	last     time.Time // start of the last minute accounted
	pcTo     time.Time // PC-seconds are booked up to here
	memoryMB int
	hours    map[time.Time]*Bucket
	total    Bucket // since start, never pruned (the Prometheus counters)
}

// New wraps the real store.
func New(inner controller.PCStore, o Options) *Store {
	if o.Prepare <= 0 {
		o.Prepare = DefaultPrepare
	}
	return &Store{inner: inner, clock: o.Clock, prepare: o.Prepare, t: map[controller.TargetID]*target{}}
}

func (s *Store) get(id controller.TargetID) *target {
	t := s.t[id]
	if t == nil {
		t = &target{hours: map[time.Time]*Bucket{}}
		s.t[id] = t
	}
	return t
}

// settle advances ours to now. Caller holds mu.
func (s *Store) settle(t *target, now time.Time) {
	if !t.pending.IsZero() && !now.Before(t.pending) {
		t.ours.Allocated, t.ours.Available, t.ours.Status = t.ours.Requested, t.ours.Requested, controller.StatusReady
		t.pending = time.Time{}
	}
}

// GetPC reads the real config (theirs, recorded) and answers ours. Until
// the controller first writes, ours starts as theirs was at the first read.
func (s *Store) GetPC(ctx context.Context, id controller.TargetID) (controller.PCConfig, error) {
	real, err := s.inner.GetPC(ctx, id)
	if err != nil {
		return controller.PCConfig{}, err
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.get(id)
	s.bookPC(t, now) // up to this read, at what was in force before it
	prev := t.theirs
	t.theirs = real
	t.theirsH = t.theirsH.set(now, real.Allocated).prune(now.Add(-historyKeep))
	if t.started.IsZero() {
		t.started = now
		t.ours = controller.PCConfig{Exists: real.Exists, Requested: real.Requested, Allocated: real.Allocated,
			Available: real.Allocated, LastModified: real.LastModified}
		if real.Exists {
			t.ours.Status = controller.StatusReady
			if real.Allocated < real.Requested { // theirs is allocating: ours will have it after the same delay
				t.ours.Status, t.pending = controller.StatusInProgress, now.Add(s.prepare)
			}
		}
		t.oursH = history{{At: now, Value: real.Allocated}}
		t.movingH = history{{At: now, Value: 0}} // (at() extends the first step backwards)
		if !t.pending.IsZero() {
			t.oursH = t.oursH.set(t.pending, real.Requested)
		}
	}
	t.theirs = prev
	s.mirrorMove(t, real, now)
	t.theirs = real
	s.settle(t, now)
	t.oursH = t.oursH.prune(now.Add(-historyKeep))
	return t.ours, nil
}

// mirrorMove: an alias moved to a new version reallocates whatever PC it
// has (Requested and LastModified unchanged, IN_PROGRESS, Allocated from
// 0), so ours would have been reallocated too. While theirs reads so,
// ours is IN_PROGRESS with at most theirs' allocation (the same ramp in
// instances); when theirs is READY again, ours is whole again. Caller
// holds mu; t.theirs is still the previous read.
func (s *Store) mirrorMove(t *target, real controller.PCConfig, now time.Time) {
	prev := t.theirs
	if !t.moving {
		// A move keeps Requested and LastModified; a write of theirs
		// changes one of them.
		t.moving = real.Exists && real.Status == controller.StatusInProgress && prev.Exists &&
			real.Requested == prev.Requested && real.LastModified.Equal(prev.LastModified) &&
			real.Allocated < prev.Allocated && t.ours.Exists
	}
	if !t.moving {
		return
	}
	t.movingH = t.movingH.set(now, 1).prune(now.Add(-historyKeep))
	if real.Status == controller.StatusInProgress {
		a := min(t.ours.Requested, real.Allocated)
		t.ours.Allocated, t.ours.Available, t.ours.Status = a, a, controller.StatusInProgress
		t.pending = time.Time{}
		t.oursH = t.oursH.set(now, a)
		return
	}
	t.moving = false
	t.movingH = t.movingH.set(now, 0)
	t.ours.Allocated, t.ours.Available, t.ours.Status = t.ours.Requested, t.ours.Requested, controller.StatusReady
	t.oursH = t.oursH.set(now, t.ours.Requested)
}

// PutPC sets ours: an increase is IN_PROGRESS for the preparation delay,
// then allocated; a decrease is READY at once. Nothing reaches Lambda.
func (s *Store) PutPC(_ context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.get(id)
	if t.started.IsZero() {
		t.started = now
	}
	s.settle(t, now)
	cur := t.ours.Allocated
	t.ours.Exists, t.ours.Requested, t.ours.LastModified = true, n, now
	if n > cur {
		t.ours.Status, t.pending = controller.StatusInProgress, now.Add(s.prepare)
		t.oursH = t.oursH.set(now, cur).set(t.pending, n)
	} else {
		t.ours.Allocated, t.ours.Available, t.ours.Status, t.pending = n, n, controller.StatusReady, time.Time{}
		t.oursH = t.oursH.set(now, n)
	}
	return t.ours, nil
}

// DeletePC removes ours.
func (s *Store) DeletePC(_ context.Context, id controller.TargetID) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.get(id)
	t.ours = controller.PCConfig{}
	t.pending = time.Time{}
	t.oursH = t.oursH.set(now, 0)
	return nil
}

// Limits is the real one (memory is kept for the cost).
func (s *Store) Limits(ctx context.Context, id controller.TargetID) (controller.Limits, error) {
	l, err := s.inner.Limits(ctx, id)
	if err == nil && l.MemoryMB > 0 {
		s.mu.Lock()
		s.get(id).memoryMB = l.MemoryMB
		s.mu.Unlock()
	}
	return l, err
}

// LimitsCalls forwards the real store's cost (controller.LimitsCoster).
func (s *Store) LimitsCalls(id controller.TargetID) int {
	return controller.LimitsCallsOf(s.inner, id)
}

// effective is the concurrency a minute's spillover is estimated from: its
// peak, or, when the real PC (theirs, mean allocation a) spilled and
// Lambda's spillover count S of I invocations was read, the level c at
// which I·(c−a)/c = S. The peak alone overstates a minute whose peak is
// brief (+14% on a simulated diurnal day); the real spillover says how far
// above theirs the minute really was.
func effective(p controller.Datapoint, theirs float64) float64 {
	c := p.Concurrency
	if p.HasInvocations && p.Spillover > 0 && p.Invocations > p.Spillover && theirs > 0 {
		c = math.Min(c, theirs*p.Invocations/(p.Invocations-p.Spillover))
	}
	return c
}

// oursSpill is ours' estimated spillover in a minute: the estimate at our
// mean allocation, and, for the share f of the minute ours mirrored an
// alias move, at least that share of theirs' real spillover (while both
// reallocate, ours has at most theirs' allocation, so it spills at least
// as much; the reads that show the move come a few seconds after it).
func oursSpill(p controller.Datapoint, theirs, ours, f float64) float64 {
	est := estimate(p, effective(p, theirs), ours)
	if f > 0 && p.HasInvocations {
		est = math.Max(est, f*p.Spillover)
	}
	return est
}

// estimate is the spillover of a minute at mean allocation a for a
// concurrency level c (see Side).
func estimate(p controller.Datapoint, c, a float64) float64 {
	if !p.HasConcurrency || c <= a {
		return 0
	}
	if p.HasInvocations {
		return p.Invocations * (c - a) / c
	}
	return c - a
}

// account books the series' complete minutes not booked yet, and rewrites
// each point's utilization and spillover against ours. It returns the
// rewritten series.
func (s *Store) account(id controller.TargetID, se controller.Series) controller.Series {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.t[id]
	if t == nil || t.started.IsZero() {
		return se
	}
	out := controller.Series{Complete: se.Complete, Points: make([]controller.Datapoint, len(se.Points))}
	first := t.started.Truncate(time.Minute).Add(time.Minute) // the first minute wholly after our first read
	for i, p := range se.Points {
		from, to := p.Time, p.Time.Add(time.Minute)
		ours, theirs := t.oursH.mean(from, to), t.theirsH.mean(from, to)
		if se.Complete && !from.Before(first) && from.After(t.last) {
			t.last = from
			h := from.Truncate(time.Hour)
			b := t.hours[h]
			if b == nil {
				b = &Bucket{Start: h}
				t.hours[h] = b
			}
			m := Bucket{Minutes: 1, Peak: p.Concurrency}
			if p.HasInvocations {
				m.Invocations, m.TheirsMeasured, m.HasMeasured = p.Invocations, p.Spillover, true
			}
			m.Ours.Spillover = oursSpill(p, theirs, ours, t.movingH.mean(from, to))
			if p.HasInvocations { // Lambda's own count, exact
				m.Theirs.Spillover = p.Spillover
			} else {
				m.Theirs.Spillover = estimate(p, p.Concurrency, theirs)
			}
			b.add(m)
			t.total.add(m)
			for k := range t.hours {
				if k.Before(h.Add(-Retention)) {
					delete(t.hours, k)
				}
			}
		}
		// What the controller would have seen with our PC: utilization of
		// our allocation (Maximum: the peak's share, at most 1) and the
		// spillover estimate.
		q := p
		q.Spillover = oursSpill(p, theirs, ours, t.movingH.mean(from, to))
		q.Utilization, q.HasUtilization = 0, false
		if p.HasConcurrency && ours > 0 {
			q.Utilization, q.HasUtilization = math.Min(1, p.Concurrency/ours), true
		}
		out.Points[i] = q
	}
	return out
}

// bookPC adds both sides' PC-seconds from pcTo to now, hour by hour: by
// time, not by datapoints, since a minute without invocations has no
// datapoint and still holds (and costs) its PC. Caller holds mu.
func (s *Store) bookPC(t *target, now time.Time) {
	if t.started.IsZero() {
		return
	}
	from := t.pcTo
	if from.IsZero() {
		from = t.started
	}
	for from.Before(now) {
		h := from.Truncate(time.Hour)
		to := h.Add(time.Hour)
		if to.After(now) {
			to = now
		}
		b := t.hours[h]
		if b == nil {
			b = &Bucket{Start: h}
			t.hours[h] = b
		}
		secs := to.Sub(from).Seconds()
		ours, theirs := t.oursH.mean(from, to)*secs, t.theirsH.mean(from, to)*secs
		b.Ours.PCSeconds += ours
		b.Theirs.PCSeconds += theirs
		t.total.Ours.PCSeconds += ours
		t.total.Theirs.PCSeconds += theirs
		from = to
	}
	t.pcTo = now
}

// Metrics wraps the real metric source: every series is booked and
// rewritten against ours (Store.account).
type Metrics struct {
	inner controller.MetricSource
	store *Store
}

// NewMetrics wraps src for store.
func NewMetrics(src controller.MetricSource, store *Store) *Metrics {
	return &Metrics{inner: src, store: store}
}

// Fetch is the real read, booked and rewritten.
func (m *Metrics) Fetch(ctx context.Context, qs []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	res, err := m.inner.Fetch(ctx, qs, start, end)
	for id, se := range res {
		res[id] = m.store.account(id, se)
	}
	return res, err
}

// Row is one target's comparison over a span.
type Row struct {
	Target   string `json:"target"`
	Account  string `json:"account,omitempty"`
	MemoryMB int    `json:"memory_mb,omitempty"`
	Bucket
	OursNow   int `json:"ours_requested_now"`
	TheirsNow int `json:"theirs_requested_now"`
	// PCFrom, PCTo: the span PC-seconds are booked over (by time, from the
	// first read to the last), within the report's hours.
	PCFrom time.Time `json:"pc_from"`
	PCTo   time.Time `json:"pc_to"`
}

// Report is the answer of /shadow.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// SpilloverUnit: invocations when the metrics read invocations (full),
	// else concurrency above PC summed over minutes.
	Rows  []Row `json:"targets"`
	Total Row   `json:"total"`
}

// Report sums the hours starting at or after since's hour.
func (s *Store) Report(since time.Time) Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	rep := Report{Since: since.Truncate(time.Hour), Until: now}
	for id, t := range s.t {
		if t.started.IsZero() {
			continue
		}
		r := Row{Target: id.String(), MemoryMB: t.memoryMB, OursNow: t.ours.Requested, TheirsNow: t.theirs.Requested,
			PCFrom: t.started, PCTo: t.pcTo}
		if r.PCFrom.Before(rep.Since) {
			r.PCFrom = rep.Since
		}
		for h, b := range t.hours {
			if !h.Before(rep.Since) {
				r.Bucket.add(*b)
			}
		}
		r.Start = rep.Since
		rep.Rows = append(rep.Rows, r)
	}
	sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Target < rep.Rows[j].Target })
	rep.Total = Row{Target: "total"}
	for _, r := range rep.Rows {
		rep.Total.Bucket.add(r.Bucket)
		rep.Total.OursNow += r.OursNow
		rep.Total.TheirsNow += r.TheirsNow
	}
	rep.Total.Start = rep.Since
	return rep
}
