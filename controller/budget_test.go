package controller

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// fleet is n targets on the fakes, on AWS's clock.
type fleet struct {
	clock   *vclock
	store   *fakeStore
	metrics *fakeMetrics
	rec     *queueRecorder
	c       *Controller
	ids     []TargetID
}

type queueRecorder struct {
	fakeRecorder
	depths []int
}

func (q *queueRecorder) ObserveQueue(depth int, _ time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.depths = append(q.depths, depth)
}

func newFleet(t *testing.T, n, pc int, rps float64, demand func(i int, m time.Time) float64) *fleet {
	t.Helper()
	f := &fleet{clock: &vclock{t: at(9, 0)}, rec: &queueRecorder{}}
	f.store = newFakeStore(f.clock.Now, 90*time.Second)
	idx := map[TargetID]int{}
	var targets []Target
	for i := range n {
		id := TargetID{Function: fmt.Sprintf("fn-%04d", i), Qualifier: "live"}
		f.ids = append(f.ids, id)
		idx[id] = i
		f.store.set(id, pc, at(7, 0))
		targets = append(targets, Target{ID: id, Policy: config.DefaultPolicy()})
	}
	f.metrics = &fakeMetrics{store: f.store, now: f.clock.Now,
		demand: func(id TargetID, m time.Time) float64 { return demand(idx[id], m) }}
	c, err := New(Options{Targets: targets, Store: f.store, Metrics: f.metrics, Clock: f.clock, Recorder: f.rec,
		Logger: slog.New(slog.DiscardHandler), LambdaRPS: rps, MetricsProbe: -1})
	require.NoError(t, err)
	f.c = c
	return f
}

// tick runs one aligned tick and returns the Lambda calls it made.
func (f *fleet) tick(t *testing.T, now time.Time) []call {
	t.Helper()
	n := len(f.store.callsOf(""))
	f.clock.Set(now)
	_ = f.c.Tick(context.Background(), now)
	return f.store.callsOf("")[n:]
}

// Quiet targets cost a bounded number of reads a tick, and the round robin
// still re-reads every one of them.
func TestReadPlanQuietFleetIsReadRoundRobinInsideTheBudget(t *testing.T) {
	f := newFleet(t, 300, 10, 3, func(int, time.Time) float64 { return 6.5 }) // u 0.65: inside the deadband
	b := f.c.budget(tickLoad{})
	seen := map[TargetID]int{}
	for m := range 25 {
		calls := f.tick(t, at(9, 1+m).Add(5*time.Second))
		require.LessOrEqual(t, len(calls), b.total, "tick %d", m)
		if m >= 5 { // start-up reads done
			require.LessOrEqual(t, len(calls), b.drift+b.limits, "steady state, tick %d", m)
		}
		for _, c := range calls {
			if c.op == "get" {
				seen[c.id]++
			}
		}
	}
	require.Len(t, seen, 300, "every target read")
	for id, n := range seen {
		require.GreaterOrEqual(t, n, 2, "%s read once at start, never again by the round robin", id)
	}
	require.Empty(t, f.store.callsOf("put"), "quiet: nothing to write")
}

// More writes than the budget: spillover first, the rest in later ticks,
// and scale-ins are not starved.
func TestWriteQueueSpilloverFirstNothingStarves(t *testing.T) {
	surge := at(9, 30)
	// Until 9:30 all 120 sit inside the deadband (13 on 20 PC); then 60
	// spill (60 concurrent) and 60 go quiet (2).
	f := newFleet(t, 120, 20, 0.5, func(i int, m time.Time) float64 {
		switch {
		case m.Before(surge):
			return 13
		case i < 60:
			return 60
		}
		return 2
	})
	b := f.c.budget(tickLoad{backlog: 1})
	firstOut := map[TargetID]time.Time{}
	firstIn := map[TargetID]time.Time{}
	for m := range 90 {
		calls := f.tick(t, at(9, 1+m).Add(5*time.Second))
		require.LessOrEqual(t, len(calls), b.total+limitsCalls, "tick %d made %d calls", m, len(calls))
		for _, c := range calls {
			if c.op != "put" || c.err != nil {
				continue
			}
			if c.n > 20 && firstOut[c.id].IsZero() {
				firstOut[c.id] = c.at
			}
			if c.n < 20 && firstIn[c.id].IsZero() {
				firstIn[c.id] = c.at
			}
		}
	}
	require.Len(t, firstOut, 60, "every surging target scaled out")
	require.Len(t, firstIn, 60, "every quiet target scaled in: none starved")
	var lastOut time.Time
	for _, t0 := range firstOut {
		lastOut = latest(lastOut, t0)
	}
	var inDuringSurge int
	for _, t0 := range firstIn {
		if t0.After(surge) && t0.Before(lastOut) {
			inDuringSurge++
		}
	}
	require.Less(t, inDuringSurge, 60, "scale-outs go before scale-ins while both wait")
	require.NotEmpty(t, f.rec.depths)
	var queued bool
	for _, d := range f.rec.depths {
		queued = queued || d > 0
	}
	require.True(t, queued, "the queue was used and reported")
}

// At start-up nothing is known: the first reads go to the targets whose
// metrics look most urgent, and a target is never written before its
// config has been read.
func TestStartupReadsMostUrgentFirst(t *testing.T) {
	f := newFleet(t, 600, 10, 1, func(i int, _ time.Time) float64 {
		if i%100 == 7 {
			return 50 // spilling
		}
		return 5
	})
	calls := f.tick(t, at(9, 0).Add(5*time.Second))
	b := f.c.budget(tickLoad{unread: 600})
	var gets []TargetID
	for _, c := range calls {
		if c.op == "get" {
			gets = append(gets, c.id)
		}
	}
	require.LessOrEqual(t, len(gets), b.reads)
	got := map[TargetID]bool{}
	for _, id := range gets {
		got[id] = true
	}
	for i := 7; i < 600; i += 100 {
		require.True(t, got[f.ids[i]], "spilling target %d read first", i)
	}
	for _, c := range f.store.callsOf("put") {
		require.True(t, got[c.id], "written before read: %+v", c)
	}
}

// Refused for a limit it could not see (a reservation made by someone
// else), the target settles on the largest value Lambda accepts within
// three ticks: the refusal is followed by a limits read that names the
// bound, and bisection keeps what is accepted meanwhile.
func TestRefusedForALimitSettlesOnTheLargestAccepted(t *testing.T) {
	T := at(10, 0)
	reserved := 30
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 15}, surgeAndQuiet(T), func(o *Options, a *account) {
		o.LimitsRefresh = 2 * time.Hour
		a.store.limits = Limits{Known: true, AccountUnreserved: 10000}
		a.store.putErr = func(_ TargetID, n int, at time.Time) error {
			if !at.Before(T.Add(-30*time.Second)) && n > reserved {
				return apiErr{class: ClassInvalid}
			}
			return nil
		}
	})
	a.run(t, T.Add(-30*time.Second))
	a.store.mu.Lock()
	a.store.limits = Limits{Known: true, AccountUnreserved: 10000, Reserved: &reserved}
	a.store.mu.Unlock()
	a.run(t, at(10, 30))

	var firstRefusal time.Time
	for _, c := range a.store.callsOf("put") {
		if c.err != nil && firstRefusal.IsZero() {
			firstRefusal = c.at
		}
	}
	require.False(t, firstRefusal.IsZero(), "the surge hit the hidden limit")
	puts := a.putsOf(checkout)
	var settled time.Time
	for _, p := range puts {
		require.LessOrEqual(t, p.n, reserved)
		if p.n == reserved && settled.IsZero() {
			settled = p.at
		}
	}
	require.False(t, settled.IsZero(), "never settled on %d: %+v", reserved, puts)
	require.LessOrEqual(t, settled.Sub(firstRefusal), 3*time.Minute, "within three ticks")
	require.Equal(t, reserved, puts[len(puts)-1].n, "and stays there")
	var constrained bool
	for _, d := range a.rec.observed {
		constrained = constrained || d.Constrained
	}
	require.True(t, constrained)
}

// Start-up of a fleet larger than a tick's budget: first reads take all the
// budget the writes leave (drift waits), so every target is read in about
// n / (total − write reserve − limits) ticks, and a target waiting for its
// first read while first reads go on is not reported as stalled.
func TestStartUpFirstReadsTakeTheBudgetAndAreNoStall(t *testing.T) {
	const n = 600
	f := newFleet(t, n, 10, 1, func(int, time.Time) float64 { return 6.5 })
	b := f.c.budget(tickLoad{unread: n})
	require.Zero(t, b.drift, "no drift while targets were never read")
	perTick := b.reads
	require.GreaterOrEqual(t, perTick, int(float64(b.total)*(1-writeReserveMin))-b.limits)
	read := map[TargetID]bool{}
	ticks := 0
	for m := 0; len(read) < n && m < 60; m++ {
		for _, c := range f.tick(t, at(9, 0+m).Add(5*time.Second)) {
			if c.op == "get" {
				read[c.id] = true
			}
		}
		ticks++
	}
	require.Len(t, read, n)
	require.LessOrEqual(t, ticks, (n+perTick-1)/perTick+1, "%d first reads a tick", perTick)
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	for id, ss := range f.rec.stalls {
		for _, s := range ss {
			require.NotEqual(t, StallBudget, s, "%s reported stalled while waiting its turn", id)
		}
	}
}

// The tick that first sees many targets spill spends its budget on their
// writes: drift is cut and limits refreshes wait at once, not only once a
// backlog was left by an earlier tick.
func TestSurgeTickCutsDriftAndLimitsForWrites(t *testing.T) {
	surge := at(9, 30)
	f := newFleet(t, 300, 10, 3, func(i int, m time.Time) float64 {
		if !m.Before(surge) && i < 200 {
			return 40
		}
		return 6.5
	})
	quiet := f.c.budget(tickLoad{})
	busy := f.c.budget(tickLoad{urgent: 200})
	require.Less(t, busy.drift, quiet.drift)
	require.False(t, busy.limitsDue)
	for m := range 60 {
		now := at(9, m).Add(5 * time.Second)
		calls := f.tick(t, now)
		puts, other := 0, 0
		for _, c := range calls {
			if c.op == "put" {
				puts++
			} else {
				other++
			}
		}
		if puts > 0 {
			// The first tick with writes is the one that sees the surge.
			require.LessOrEqual(t, other, busy.drift, "reads in the surge's first tick at %s", now.Format("15:04"))
			require.GreaterOrEqual(t, puts, quiet.total-busy.drift, "writes in the surge's first tick")
			return
		}
	}
	t.Fatal("the surge was never written")
}

// Before its first config read a target's metrics hold concurrency alone
// (the derived mode knows no allocation yet): the config read in the same
// tick supplies it, so a spilling target is scaled out in the first tick.
func TestFirstReadDerivesUtilizationFromTheConfigJustRead(t *testing.T) {
	f := newFleet(t, 3, 10, 10, func(i int, _ time.Time) float64 {
		if i == 0 {
			return 40 // four times its PC
		}
		return 6.5
	})
	f.metrics.concOnly = func(TargetID) bool { return true }
	calls := f.tick(t, at(9, 0).Add(5*time.Second))
	var puts []call
	for _, c := range calls {
		if c.op == "put" {
			puts = append(puts, c)
		}
	}
	require.Len(t, puts, 1, "the spilling target, in the first tick")
	require.Equal(t, f.ids[0], puts[0].id)
	require.GreaterOrEqual(t, puts[0].n, 58)
}

// TestReadsMadeCountsCutCalls: a read the tick's read time cut is deferred
// but was begun, so it still counts against the tick's write budget; a
// read deferred by the plan was never begun.
func TestReadsMadeCountsCutCalls(t *testing.T) {
	c := &Controller{opts: Options{}}
	id := TargetID{Function: "f", Qualifier: "live"}
	for _, tc := range []struct {
		name string
		ob   observation
		want int
	}{
		{"deferred by the plan", observation{t: Target{ID: id}, read: readDeferred}, 0},
		{"cut by the tick", observation{t: Target{ID: id}, read: readDeferred, sent: true}, 1},
		{"read, its limits cut", observation{t: Target{ID: id}, read: readUrgent, sent: true, limSent: true}, 1 + limitsCalls},
		{"read with its limits", observation{t: Target{ID: id}, read: readUrgent, sent: true, limFetched: true, limSent: true}, 1 + limitsCalls},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.readsMade([]observation{tc.ob}))
		})
	}
}
