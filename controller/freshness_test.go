package controller

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

func TestFreshnessOf(t *testing.T) {
	e := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // end of the newest minute with data
	pts := func(end time.Time) Series {
		return Series{Complete: true, Points: []Datapoint{{Time: end.Add(-2 * time.Minute)}, {Time: end.Add(-time.Minute)}}}
	}
	lag := 5 * time.Minute
	tests := []struct {
		name      string
		series    map[TargetID]Series
		awsNow    time.Time
		clockOK   bool
		watermark time.Time
		stale     bool
	}{
		{name: "data one delay old: watermark is the evidence",
			series: map[TargetID]Series{checkout: pts(e)}, awsNow: e.Add(65 * time.Second), clockOK: true, watermark: e},
		{name: "data 300 s late is still evidence, not stale",
			series: map[TargetID]Series{checkout: pts(e)}, awsNow: e.Add(310 * time.Second), clockOK: true, watermark: e},
		{name: "one busy target's evidence covers a silent one",
			series: map[TargetID]Series{checkout: pts(e), {Function: "quiet", Qualifier: "live"}: {Complete: true}},
			awsNow: e.Add(65 * time.Second), clockOK: true, watermark: e},
		{name: "nothing published, clock verified: the max-lag bound",
			series: map[TargetID]Series{checkout: {Complete: true}}, awsNow: e.Add(65 * time.Second), clockOK: true,
			watermark: e.Add(65 * time.Second).Add(-lag).Truncate(time.Minute)},
		{name: "nothing published, clock unverified: nothing known",
			series: map[TargetID]Series{checkout: {Complete: true}}, awsNow: e.Add(65 * time.Second)},
		{name: "evidence beyond the bound: stale, the watermark stays at the evidence",
			series: map[TargetID]Series{checkout: pts(e)}, awsNow: e.Add(7 * time.Minute), clockOK: true, watermark: e, stale: true},
		{name: "evidence far older than the bound is no evidence: the function stopped",
			series: map[TargetID]Series{checkout: pts(e)}, awsNow: e.Add(15 * time.Minute), clockOK: true,
			watermark: e.Add(10 * time.Minute)},
		{name: "an incomplete read is no evidence",
			series: map[TargetID]Series{checkout: {Points: pts(e).Points}}, awsNow: e.Add(65 * time.Second)},
		{name: "a point at or after the read's end is ignored",
			series: map[TargetID]Series{checkout: {Complete: true, Points: []Datapoint{{Time: e.Add(time.Minute)}}}},
			awsNow: e.Add(65 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := freshnessOf(tc.series, tc.awsNow, tc.awsNow.Truncate(time.Minute), lag, tc.clockOK)
			require.Equal(t, tc.watermark, r.watermark)
			require.Equal(t, tc.stale, r.stale)
			require.Equal(t, tc.stale, r.holdIn != "", "holdIn %q", r.holdIn)
		})
	}
}

func TestClockCheck(t *testing.T) {
	for _, tc := range []struct {
		off        time.Duration
		known      bool
		ok, skewed bool
	}{
		{0, true, true, false},
		{-60 * time.Second, true, true, false},
		{61 * time.Second, true, true, false}, // within the measurement's tolerance
		{63 * time.Second, true, false, true},
		{-45 * time.Minute, true, false, true},
		{0, false, false, false},
	} {
		ok, skewed := clockCheck(tc.off, tc.known)
		require.Equal(t, tc.ok, ok, "%v %v", tc.off, tc.known)
		require.Equal(t, tc.skewed, skewed, "%v %v", tc.off, tc.known)
	}
}

// offsetClock is a ServerClock whose offset a test sets.
type offsetClock struct {
	off   time.Duration
	known func(now time.Time) bool
	now   func() time.Time
}

func (o offsetClock) ClockOffset() (time.Duration, bool) {
	if o.known != nil && !o.known(o.now()) {
		return 0, false
	}
	return o.off, true
}

var quietFn = TargetID{Function: "reports-api", Qualifier: "live"}

// account is two targets on fakes whose clock is AWS's: ours is off by
// −skew (skew = AWS minus ours), and the loop is told the offset.
type account struct {
	local   *vclock
	skew    time.Duration
	store   *fakeStore
	metrics *fakeMetrics
	rec     *fakeRecorder
	logs    *syncBuffer
	c       *Controller
}

func newAccount(t *testing.T, awsStart time.Time, skew time.Duration, pcs map[TargetID]int,
	demand func(TargetID, time.Time) float64, mod func(*Options, *account)) *account {
	t.Helper()
	a := &account{local: &vclock{t: awsStart.Add(-skew)}, skew: skew, rec: &fakeRecorder{}, logs: &syncBuffer{}}
	awsNow := func() time.Time { return a.local.Now().Add(a.skew) }
	a.store = newFakeStore(awsNow, 90*time.Second)
	var targets []Target
	for _, id := range []TargetID{checkout, quietFn} {
		if n, ok := pcs[id]; ok {
			a.store.set(id, n, awsStart.Add(-2*time.Hour))
			targets = append(targets, Target{ID: id, Policy: config.DefaultPolicy()})
		}
	}
	a.metrics = &fakeMetrics{store: a.store, now: awsNow, demand: demand}
	o := Options{
		Targets: targets, Store: a.store, Metrics: a.metrics, Clock: a.local, Recorder: a.rec,
		Logger:      slog.New(slog.NewJSONHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ServerClock: FixedOffset(skew),
	}
	if mod != nil {
		mod(&o, a)
	}
	c, err := New(o)
	require.NoError(t, err)
	a.c = c
	return a
}

// run wakes the loop as Run would, on our clock, until AWS's clock reaches
// to; it returns how many wakes there were.
func (a *account) run(t *testing.T, to time.Time) int {
	t.Helper()
	n := 0
	for now := a.local.Now(); now.Add(a.skew).Before(to); n++ {
		now = a.c.NextWake(now)
		require.True(t, now.After(a.local.Now()) || n == 0, "wake at %s does not advance from %s", now, a.local.Now())
		a.local.Set(now)
		_ = a.c.Wake(context.Background(), now)
		require.Less(t, n, 100000, "runaway wakes")
	}
	return n
}

func (a *account) putsOf(id TargetID) []call {
	var out []call
	for _, c := range a.store.okPuts() {
		if c.id == id {
			out = append(out, c)
		}
	}
	return out
}

func (a *account) logged(t *testing.T, msg string) int {
	n := 0
	for _, l := range a.logs.lines(t) {
		if l["msg"] == msg {
			n++
		}
	}
	return n
}

// surgeAndQuiet: at T the busy target's demand quadruples (10 → 40 on 15
// PC) and the quiet one's drops (40 → 5 on 60 PC).
func surgeAndQuiet(at time.Time) func(TargetID, time.Time) float64 {
	return func(id TargetID, m time.Time) float64 {
		switch {
		case id == checkout && m.Before(at):
			return 10
		case id == checkout:
			return 40
		case m.Before(at):
			return 40
		}
		return 5
	}
}

// With publication anywhere from 60 s to 300 s late, jittered or not, and
// our clock off by up to ±60 s, a 4× surge is covered within the delay
// plus two ticks and a quiet target still scales in.
func TestLoopLateDataAndSkewStillScale(t *testing.T) {
	T := at(10, 0)
	type late struct {
		name   string
		delay  time.Duration
		jitter time.Duration
	}
	lates := []late{{"60s", 60 * time.Second, 0}, {"67s", 67 * time.Second, 0}, {"120s", 120 * time.Second, 0},
		{"180s", 180 * time.Second, 0}, {"300s", 300 * time.Second, 0}, {"120s+jitter30s", 120 * time.Second, 30 * time.Second}}
	skews := []time.Duration{-60 * time.Second, 0, 15 * time.Second, 60 * time.Second}
	for _, l := range lates {
		for _, skew := range skews {
			t.Run(fmt.Sprintf("delay %s skew %s", l.name, skew), func(t *testing.T) {
				a := newAccount(t, at(9, 0), skew, map[TargetID]int{checkout: 15, quietFn: 60}, surgeAndQuiet(T),
					func(_ *Options, a *account) {
						a.metrics.delay = l.delay
						if l.jitter > 0 {
							a.metrics.delayFor = func(id TargetID, m time.Time) time.Duration {
								// deterministic per target and minute
								return time.Duration(int64(math.Abs(math.Sin(float64(m.Unix()/60)+float64(len(id.Function))))*float64(l.jitter/time.Second))) * time.Second
							}
						}
					})
				a.run(t, at(11, 0))

				need := int(math.Ceil(40 / 0.7))
				var covered time.Time
				for _, p := range a.putsOf(checkout) {
					if p.n >= need && covered.IsZero() {
						covered = p.at
					}
					require.False(t, p.n < 15, "the busy target was scaled in: %+v", p)
				}
				deadline := T.Add(time.Minute + l.delay + l.jitter + 2*time.Minute)
				require.False(t, covered.IsZero(), "surge never covered: %+v", a.putsOf(checkout))
				require.False(t, covered.After(deadline), "surge covered at %s, after %s", covered, deadline)

				quiet := a.putsOf(quietFn)
				require.NotEmpty(t, quiet, "the quiet target never scaled in")
				require.True(t, quiet[0].at.After(T), "scaled in before traffic dropped: %+v", quiet[0])
				require.LessOrEqual(t, quiet[len(quiet)-1].n, 8, "settles near ceil(5/0.7): %+v", quiet)
				for _, s := range a.rec.stalls[checkout] {
					require.Equal(t, StallNone, s)
				}
			})
		}
	}
}

// Ticks meet the data: with publication 67 s after a minute ends, the loop
// learns it and acts on each minute within a probe interval of its
// publication, instead of waiting for the next aligned tick.
func TestLoopTicksMeetTheData(t *testing.T) {
	for _, tc := range []struct {
		name   string
		probe  time.Duration
		maxLag time.Duration // worst data age at a tick after the first 10 minutes
	}{
		{"probing", 0, 67*time.Second + 10*time.Second + time.Second},
		{"probing off", -1, 67*time.Second + time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 15}, surgeAndQuiet(at(12, 0)),
				func(o *Options, a *account) { a.metrics.delay = 67 * time.Second; o.MetricsProbe = tc.probe })
			a.run(t, at(10, 0))
			require.GreaterOrEqual(t, len(a.rec.ticks), 58)
			require.LessOrEqual(t, len(a.rec.ticks), 62, "one full read per published minute")
			worst := time.Duration(0)
			for _, f := range a.rec.fresh[10:] {
				worst = max(worst, f.Lag)
			}
			require.LessOrEqual(t, worst, tc.maxLag)
			if tc.probe == 0 {
				require.Less(t, worst, 67*time.Second+time.Minute, "probing must beat aligned ticks")
				probes := a.metrics.fetches() - len(a.rec.ticks)
				require.LessOrEqual(t, probes, 3*60, "at most three single-query probes a minute")
			}
		})
	}
}

// Beyond ±60 s of skew, or before AWS's clock is measured, every scale-in
// and idle holds, visibly; scale-out still works.
func TestLoopClockSkewBeyondLimitHoldsScaleIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration
		mod  func(*Options, *account)
	}{
		{name: "our clock 45 min ahead", skew: -45 * time.Minute},
		{name: "our clock 3 min behind", skew: 3 * time.Minute},
		{name: "offset never measured", mod: func(o *Options, a *account) {
			o.ServerClock = offsetClock{known: func(time.Time) bool { return false }, now: a.local.Now}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			T := at(10, 0)
			a := newAccount(t, at(9, 0), tc.skew, map[TargetID]int{checkout: 15, quietFn: 60}, surgeAndQuiet(T), tc.mod)
			a.run(t, at(11, 0))
			require.Empty(t, a.putsOf(quietFn), "no scale-in on an unverified clock")
			var covered bool
			for _, p := range a.putsOf(checkout) {
				covered = covered || p.n >= 58
			}
			require.True(t, covered, "scale-out still works: %+v", a.putsOf(checkout))
			st := a.rec.stalls[quietFn]
			require.Greater(t, len(st), StallTicks+1)
			for i, r := range st {
				if i < StallTicks {
					require.Equal(t, StallNone, r, "tick %d", i)
				} else {
					require.Equal(t, StallClockSkew, r, "tick %d", i)
				}
			}
			require.Equal(t, 1, a.logged(t, "holding every scale-in and idle"), "said once, not every tick")
			require.Equal(t, 2, a.logged(t, "target stalled: not acting on its metrics"), "once per target")
		})
	}
}

// A gap or a delay in one busy function's metrics, shorter than idle_after,
// changes nothing: its missing minutes are not idle and not zero
// utilization. A gap longer than idle_after is, by every evidence there is,
// a function without invocations: it goes to its floor.
func TestLoopGapOnBusyFunctionKeepsPC(t *testing.T) {
	gapFrom := at(10, 0)
	for _, tc := range []struct {
		name  string
		gap   time.Duration
		delay time.Duration
		idles bool
	}{
		{name: "gap 1 min", gap: time.Minute},
		{name: "gap 5 min", gap: 5 * time.Minute},
		{name: "gap 25 min", gap: 25 * time.Minute},
		{name: "delay 5 min", delay: 5 * time.Minute},
		{name: "delay 25 min", delay: 25 * time.Minute},
		{name: "gap 40 min: idle by evidence", gap: 40 * time.Minute, idles: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			demand := func(id TargetID, _ time.Time) float64 {
				if id == checkout {
					return 40 // 60 PC: u = 0.67, inside the deadband
				}
				return 3
			}
			a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 60, quietFn: 5}, demand, func(_ *Options, a *account) {
				a.metrics.hidden = func(id TargetID, m time.Time) bool {
					return id == checkout && tc.gap > 0 && !m.Before(gapFrom) && m.Before(gapFrom.Add(tc.gap))
				}
				a.metrics.delayFor = func(id TargetID, m time.Time) time.Duration {
					if id == checkout && !m.Before(gapFrom) && m.Before(gapFrom.Add(10*time.Minute)) {
						return tc.delay
					}
					return 0
				}
			})
			a.run(t, at(11, 30))
			puts := a.putsOf(checkout)
			if tc.idles {
				require.NotEmpty(t, puts)
				require.Equal(t, 1, puts[0].n, "to the floor")
				require.True(t, puts[0].at.After(gapFrom.Add(30*time.Minute)), "not before idle_after: %+v", puts[0])
				return
			}
			require.Empty(t, puts, "the busy target's PC changed")
		})
	}
}

func TestLoopFirstTickNeverScalesIn(t *testing.T) {
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 50}, func(TargetID, time.Time) float64 { return 0 }, nil)
	a.run(t, at(9, 5))
	puts := a.putsOf(checkout)
	require.NotEmpty(t, puts, "idle after the first tick")
	require.Greater(t, puts[0].at, a.rec.ticks[0].Add(a.skew), "nothing written on the first tick")
	require.Equal(t, ReasonUnknownData, a.rec.observed[0].Reason)
	require.Contains(t, a.rec.observed[0].Detail, "first tick after start")
}

func TestLoopStallIsReportedOnceAfterThreeTicks(t *testing.T) {
	from, to := at(10, 0), at(10, 10)
	a := newAccount(t, at(9, 30), 0, map[TargetID]int{checkout: 20}, func(TargetID, time.Time) float64 { return 10 },
		func(_ *Options, a *account) {
			a.metrics.err = func(now time.Time) error {
				if !now.Before(from) && now.Before(to) {
					return apiErr{class: "server"}
				}
				return nil
			}
		})
	a.run(t, at(10, 30))
	var stalled []time.Time
	for i, r := range a.rec.stalls[checkout] {
		if r != StallNone {
			require.Equal(t, StallMetricsError, r)
			stalled = append(stalled, a.rec.ticks[i])
		}
	}
	require.NotEmpty(t, stalled)
	require.GreaterOrEqual(t, stalled[0].Sub(from), 3*time.Minute, "not before three ticks")
	require.Less(t, stalled[len(stalled)-1], to.Add(time.Minute))
	require.Equal(t, 1, a.logged(t, "target stalled: not acting on its metrics"))
	require.Equal(t, 1, a.logged(t, "target acting on its metrics again"))
	require.Empty(t, a.store.callsOf("delete"))
}

// A FAILED allocation is logged at Warn with Lambda's reason, and nothing
// asks for more while it is FAILED, even when the traffic saturates it.
func TestLoopFailedAllocationNeverAsksForMore(t *testing.T) {
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 20}, func(TargetID, time.Time) float64 { return 60 }, nil)
	a.store.mu.Lock()
	a.store.targets[checkout].failing = true
	a.store.mu.Unlock()
	a.run(t, at(11, 0))
	for _, p := range a.putsOf(checkout) {
		require.LessOrEqual(t, p.n, 20, "asked for more while FAILED: %+v", p)
	}
	var warned int
	for _, l := range a.logs.lines(t) {
		if l["msg"] == "allocation FAILED" {
			warned++
			require.Equal(t, "WARN", l["level"])
			require.Equal(t, "FUNCTION_ERROR_INIT_FAILURE", l[KeyStatusReason])
		}
	}
	// Once each time it turns FAILED: at start, and after each retry.
	require.Positive(t, warned)
	require.LessOrEqual(t, warned, 1+len(a.putsOf(checkout)), "not every tick")
	require.Contains(t, a.rec.stalls[checkout], StallFailed)
}
