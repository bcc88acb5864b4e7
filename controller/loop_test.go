package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

var checkout = TargetID{Function: "checkout-api", Qualifier: "live"}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines decodes the JSON log lines.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		out = append(out, m)
	}
	return out
}

type harness struct {
	clock   *vclock
	store   *fakeStore
	metrics *fakeMetrics
	rec     *fakeRecorder
	logs    *syncBuffer
	c       *Controller
}

// newHarness manages checkout with the default policy; demand is the peak
// concurrency in a minute; the store starts READY at initial PC.
func newHarness(t *testing.T, start time.Time, initial int, demand func(time.Time) float64, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{clock: &vclock{t: start}, rec: &fakeRecorder{}, logs: &syncBuffer{}}
	h.store = newFakeStore(h.clock.Now, 90*time.Second)
	h.store.set(checkout, initial, start.Add(-2*time.Hour))
	h.metrics = &fakeMetrics{store: h.store, now: h.clock.Now,
		demand: func(_ TargetID, m time.Time) float64 { return demand(m) }}
	o := Options{
		Targets:  []Target{{ID: checkout, Policy: rulesPolicy()}},
		Store:    h.store,
		Metrics:  h.metrics,
		Clock:    h.clock,
		Logger:   slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Recorder: h.rec,
	}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	require.NoError(t, err)
	h.c = c
	return h
}

// run ticks at every minute + 5 s in [from, to), as Run would.
func (h *harness) run(t *testing.T, from, to time.Time) {
	t.Helper()
	for now := nextTick(from.Add(-time.Nanosecond), time.Minute, 5*time.Second); now.Before(to); now = now.Add(time.Minute) {
		h.clock.Set(now)
		_ = h.c.Tick(context.Background(), now)
	}
}

func at(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC) }

func step(t0 time.Time, before, after float64) func(time.Time) float64 {
	return func(m time.Time) float64 {
		if m.Before(t0) {
			return before
		}
		return after
	}
}

func TestLoopSurgeFollowedWithinTwoTicks(t *testing.T) {
	surge := at(12, 0)
	h := newHarness(t, at(11, 0), 8, step(surge, 5, 30), nil)
	h.run(t, at(11, 0), at(13, 0))

	puts := h.store.okPuts()
	require.NotEmpty(t, puts)
	var first *call
	for i := range puts {
		if puts[i].n >= 43 {
			first = &puts[i]
			break
		}
	}
	require.NotNil(t, first, "no Put covered demand 30: %+v", puts)
	// Ticks at 12:01:05 (12:00 not complete yet) and 12:02:05 (12:00 complete).
	require.False(t, first.at.After(surge.Add(2*time.Minute+5*time.Second)), "covered at %s", first.at)
	require.Equal(t, 43, first.n, "one step to ceil(30/0.7)")
	// No staircase: datapoints from the old capacity are not counted again.
	for _, p := range puts {
		require.LessOrEqual(t, p.n, 43, "over-scaled at %s", p.at)
	}
	// One CloudWatch read per tick for all targets.
	require.Equal(t, 120, h.metrics.fetches())
}

func TestLoopQuietPeriodScalesInStepByStep(t *testing.T) {
	quiet := at(10, 0)
	h := newHarness(t, at(9, 0), 100, step(quiet, 65, 5), nil)
	h.run(t, at(9, 0), at(15, 0))

	puts := h.store.okPuts()
	require.GreaterOrEqual(t, len(puts), 5, "step by step: %+v", puts)
	prev, prevAt := 100, time.Time{}
	lim := rulesPolicy().MaxScaleInStep
	for _, p := range puts {
		require.True(t, p.at.After(quiet), "scaled in before the quiet period: %+v", p)
		require.Less(t, p.n, prev, "only scale-in expected: %+v", puts)
		require.LessOrEqual(t, prev-p.n, lim.Limit(prev), "step %d→%d larger than max_scale_in_step", prev, p.n)
		if !prevAt.IsZero() {
			// 15 complete datapoints after the change settled.
			require.GreaterOrEqual(t, p.at.Sub(prevAt), 15*time.Minute, "steps %s and %s", prevAt, p.at)
		}
		prev, prevAt = p.n, p.at
	}
	require.Equal(t, 8, prev, "settles at ceil(5/0.7)")
}

func TestLoopFloorWindowOpensAndClosesOnTime(t *testing.T) {
	open, closeAt := at(8, 0), at(10, 0)
	bounds := func(now time.Time) Bounds {
		if !now.Before(open) && now.Before(closeAt) {
			return Bounds{Floor: 50, HasFloor: true}
		}
		return Bounds{}
	}
	h := newHarness(t, at(7, 0), 5, func(time.Time) float64 { return 3 }, func(o *Options) {
		o.Targets[0].Bounds = bounds
	})
	h.run(t, at(7, 0), at(14, 0))

	puts := h.store.okPuts()
	require.GreaterOrEqual(t, len(puts), 2)
	require.Equal(t, open.Add(5*time.Second), puts[0].at, "floor applied at the first tick of the window")
	require.Equal(t, 50, puts[0].n)
	require.Equal(t, closeAt.Add(5*time.Second), puts[1].at, "scale-in starts at the first tick after the window")
	require.Equal(t, 38, puts[1].n, "50 minus 25%")
	require.Equal(t, 5, puts[len(puts)-1].n, "back to ceil(3/0.7)")
	for _, p := range puts[1:] {
		require.Less(t, p.n, 50)
	}
}

func TestLoopDryRunWritesNothing(t *testing.T) {
	h := newHarness(t, at(11, 0), 8, step(at(12, 0), 5, 30), func(o *Options) { o.DryRun = true })
	h.run(t, at(11, 30), at(12, 30))
	require.Empty(t, h.store.callsOf("put"))
	require.Empty(t, h.store.callsOf("delete"))
	require.NotEmpty(t, h.store.callsOf("get"), "dry-run still observes")
	require.Contains(t, h.rec.results(), ResultDryRun)
	require.NotContains(t, h.rec.results(), ResultOK)
	var wouldScale int
	for _, l := range h.logs.lines(t) {
		if l["msg"] == "would scale" {
			require.Equal(t, true, l[KeyDryRun])
			wouldScale++
		}
	}
	require.Positive(t, wouldScale)
}

func TestLoopErrorClasses(t *testing.T) {
	surge := at(12, 0)
	firstPut := surge.Add(2*time.Minute + 5*time.Second)
	tests := []struct {
		name   string
		putErr func(id TargetID, n int, at time.Time) error
		getErr func(id TargetID, at time.Time) error
		check  func(t *testing.T, h *harness)
	}{
		{
			name: "429 throttled: backs the target off for Retry-After, then retries",
			putErr: func(_ TargetID, _ int, at time.Time) error {
				if at.Equal(firstPut) {
					return apiErr{class: ClassThrottled, ra: 3 * time.Minute}
				}
				return nil
			},
			check: func(t *testing.T, h *harness) {
				for _, c := range h.store.callsOf("") {
					if c.at.After(firstPut) && c.at.Before(firstPut.Add(3*time.Minute)) {
						t.Fatalf("call during the backoff: %+v", c)
					}
				}
				puts := h.store.okPuts()
				require.NotEmpty(t, puts)
				require.Equal(t, firstPut.Add(3*time.Minute), puts[0].at)
				require.Equal(t, 43, puts[0].n)
				require.Contains(t, h.rec.results(), string(ClassThrottled))
				require.Positive(t, h.rec.reasons()[ReasonThrottled])
			},
		},
		{
			name: "409 conflict: not ready, retried next tick",
			putErr: func(_ TargetID, _ int, at time.Time) error {
				if at.Equal(firstPut) {
					return apiErr{class: ClassConflict}
				}
				return nil
			},
			check: func(t *testing.T, h *harness) {
				puts := h.store.okPuts()
				require.NotEmpty(t, puts)
				require.Equal(t, firstPut.Add(time.Minute), puts[0].at)
				require.Contains(t, h.rec.results(), string(ClassConflict))
			},
		},
		{
			name: "400 invalid: bisects to the largest accepted value, never repeats a refused one",
			putErr: func(_ TargetID, n int, _ time.Time) error {
				if n >= 40 {
					return apiErr{class: ClassInvalid}
				}
				return nil
			},
			check: func(t *testing.T, h *harness) {
				var tried43 int
				for _, c := range h.store.callsOf("put") {
					if c.n == 43 {
						tried43++
					}
				}
				// Once at the surge, once more after RejectRetry (30 min) in the hour.
				require.LessOrEqual(t, tried43, 2)
				puts := h.store.okPuts()
				require.NotEmpty(t, puts)
				require.Equal(t, 39, puts[len(puts)-1].n, "settled on the largest accepted value: %+v", puts)
				refused := len(h.store.callsOf("put")) - len(puts)
				require.LessOrEqual(t, refused, 8, "a bounded number of refused Puts")
				st, ok := h.c.StateOf(checkout)
				require.True(t, ok)
				require.Equal(t, 40, st.Rejected, "the bound is the smallest refused value")
				require.Positive(t, h.rec.reasons()[ReasonRejected])
				require.Contains(t, h.rec.results(), string(ClassInvalid))
			},
		},
		{
			name: "404 not found: logged, retried slowly, the loop goes on",
			getErr: func(_ TargetID, at time.Time) error {
				if at.Before(surge) {
					return apiErr{class: ClassNotFound}
				}
				return nil
			},
			check: func(t *testing.T, h *harness) {
				var gets []time.Time
				for _, c := range h.store.callsOf("get") {
					if c.at.Before(surge) {
						gets = append(gets, c.at)
					}
				}
				require.Greater(t, len(gets), 1)
				for i := 1; i < len(gets); i++ {
					require.Equal(t, 5*time.Minute, gets[i].Sub(gets[i-1]), "slow retry")
				}
				require.NotEmpty(t, h.store.okPuts(), "scaled once the alias came back")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, at(11, 0), 8, step(surge, 5, 30), nil)
			h.store.putErr, h.store.getErr = tc.putErr, tc.getErr
			h.run(t, at(11, 30), at(13, 0))
			tc.check(t, h)
		})
	}
}

func TestLoopFailedAllocationBacksOffExponentially(t *testing.T) {
	h := newHarness(t, at(11, 0), 8, func(time.Time) float64 { return 5 }, func(o *Options) {
		o.Targets[0].Bounds = func(time.Time) Bounds { return Bounds{Floor: 20, HasFloor: true} }
	})
	h.store.mu.Lock()
	h.store.targets[checkout].failing = true
	h.store.mu.Unlock()
	h.run(t, at(11, 0), at(13, 0))

	puts := h.store.okPuts()
	require.GreaterOrEqual(t, len(puts), 4, "%+v", puts)
	// After the first Put fails, each retry waits twice as long as the last.
	var gaps []time.Duration
	for i := 1; i < len(puts); i++ {
		gaps = append(gaps, puts[i].at.Sub(puts[i-1].at))
	}
	for i := 2; i < len(gaps); i++ {
		require.Equal(t, 2*gaps[i-1], gaps[i], "gaps %v", gaps)
	}
	require.Positive(t, h.rec.reasons()[ReasonFailedBackoff])
	var surfaced bool
	for _, d := range h.rec.observed {
		surfaced = surfaced || strings.Contains(d.Detail, "FUNCTION_ERROR_INIT_FAILURE")
	}
	require.True(t, surfaced, "StatusReason surfaced")
}

func TestLoopMetricsFailureNeverScalesIn(t *testing.T) {
	h := newHarness(t, at(9, 0), 100, func(time.Time) float64 { return 5 }, nil)
	h.metrics.err = func(time.Time) error { return apiErr{class: "server"} }
	h.run(t, at(9, 0), at(11, 0))
	require.Empty(t, h.store.callsOf("put"))
	require.Positive(t, h.rec.reasons()[ReasonMetricsMissing])
	for _, err := range h.rec.tickErrs {
		require.Error(t, err, "a tick without metrics is not a success")
	}
}

func TestLoopLogsOneInfoLinePerChange(t *testing.T) {
	h := newHarness(t, at(11, 0), 8, step(at(12, 0), 5, 30), nil)
	h.run(t, at(11, 30), at(12, 30))
	var infos, holds int
	for _, l := range h.logs.lines(t) {
		switch {
		case l["level"] == "INFO" && l["msg"] == "scaled":
			infos++
			for _, k := range []string{KeyTarget, KeyFunction, KeyQualifier, KeyFrom, KeyTo, KeyReason} {
				require.Contains(t, l, k)
			}
			require.Equal(t, "checkout-api:live", l[KeyTarget])
		case l["msg"] == "hold":
			require.Equal(t, "DEBUG", l["level"])
			holds++
		}
	}
	require.Equal(t, len(h.store.okPuts()), infos)
	require.Positive(t, holds)
}

func TestLoopLimitsRefreshedOnSlowCadence(t *testing.T) {
	h := newHarness(t, at(11, 0), 8, func(time.Time) float64 { return 5 }, func(o *Options) {
		o.LimitsRefresh = 10 * time.Minute
	})
	h.run(t, at(11, 0), at(12, 0))
	require.Len(t, h.store.callsOf("limits"), 6)
	require.Len(t, h.store.callsOf("get"), 60)
}

func TestLoopPlanWritesNothing(t *testing.T) {
	h := newHarness(t, at(11, 0), 8, step(at(12, 0), 5, 30), nil)
	now := at(12, 2).Add(5 * time.Second)
	h.clock.Set(now)
	rows, err := h.c.Plan(context.Background(), now)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.NoError(t, rows[0].Err)
	require.Equal(t, 43, rows[0].Decision.Desired)
	require.Equal(t, ActPut, rows[0].Decision.Action)
	require.Empty(t, h.store.callsOf("put"))
	st, _ := h.c.StateOf(checkout)
	require.Equal(t, State{}, st, "plan leaves the loop's memory alone")
}

// An empty target list is valid (discovery may find nothing yet): ticks
// idle, and SetTargets adds targets later.
func TestNewWithoutTargetsIdlesUntilSetTargets(t *testing.T) {
	clock := &vclock{t: at(9, 0)}
	store := newFakeStore(clock.Now, 0)
	store.set(checkout, 5, at(7, 0))
	c, err := New(Options{Store: store, Metrics: &fakeMetrics{store: store, now: clock.Now,
		demand: func(TargetID, time.Time) float64 { return 3 }}, Clock: clock,
		Logger: slog.New(slog.DiscardHandler), MetricsProbe: -1})
	require.NoError(t, err)
	require.NoError(t, c.Tick(context.Background(), at(9, 1)))
	require.Empty(t, store.callsOf(""), "nothing to read")
	require.NoError(t, c.SetTargets([]Target{{ID: checkout, Policy: config.DefaultPolicy()}}))
	clock.Set(at(9, 2))
	require.NoError(t, c.Tick(context.Background(), at(9, 2)))
	require.NotEmpty(t, store.callsOf("get"), "the added target is read")
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "nothing", opts: Options{}, want: "Store is required"},
		{name: "duplicate", opts: Options{Store: newFakeStore(time.Now, 0), Metrics: &fakeMetrics{},
			Targets: []Target{{ID: checkout}, {ID: checkout}}}, want: "checkout-api:live listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNextTick(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{name: "before the offset", now: at(12, 0).Add(2 * time.Second), want: at(12, 0).Add(5 * time.Second)},
		{name: "exactly on a tick", now: at(12, 0).Add(5 * time.Second), want: at(12, 1).Add(5 * time.Second)},
		{name: "after the offset", now: at(12, 0).Add(30 * time.Second), want: at(12, 1).Add(5 * time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, nextTick(tc.now, time.Minute, 5*time.Second))
		})
	}
}

// A ramp from 5 to 100 over 30 minutes: the loop follows it in jumps
// sized from demand and never overshoots what the peak needs (no
// staircase from datapoints of the old capacity).
func TestLoopFollowsRampWithoutStaircase(t *testing.T) {
	rampStart := at(12, 0)
	demand := func(m time.Time) float64 {
		x := m.Sub(rampStart).Minutes()
		switch {
		case x < 0:
			return 5
		case x < 30:
			return 5 + 95*x/30
		}
		return 100
	}
	h := newHarness(t, at(11, 0), 8, demand, func(o *Options) { o.Targets[0].Policy.Max = 400 })
	h.run(t, at(11, 0), at(14, 0))
	puts := h.store.okPuts()
	require.NotEmpty(t, puts)
	need := ceilDiv(100, 0.7) // 143
	for _, p := range puts {
		require.LessOrEqual(t, p.n, need, "overshoot at %s: %+v", p.at, puts)
	}
	require.Equal(t, need, puts[len(puts)-1].n, "settles where the peak needs")
	// The last Put lands within a few minutes of the ramp's end.
	require.Less(t, puts[len(puts)-1].at.Sub(rampStart.Add(30*time.Minute)), 6*time.Minute, "%+v", puts)
}

// Two targets: one CloudWatch read per tick for both, one Observed per
// target per tick, and a throttled target doesn't hold the other back.
func TestLoopManyTargetsOneFetchPerTick(t *testing.T) {
	orders := TargetID{Function: "orders", Qualifier: "live"}
	h := newHarness(t, at(11, 0), 8, step(at(12, 0), 5, 30), func(o *Options) {
		o.Targets = append(o.Targets, Target{ID: orders, Policy: rulesPolicy()})
	})
	h.store.set(orders, 8, at(9, 0))
	h.store.putErr = func(id TargetID, _ int, _ time.Time) error {
		if id == checkout {
			return apiErr{class: ClassThrottled, ra: time.Hour}
		}
		return nil
	}
	h.run(t, at(11, 30), at(12, 30))
	require.Equal(t, 60, h.metrics.fetches())
	h.rec.mu.Lock()
	require.Len(t, h.rec.observed, 120)
	require.Len(t, h.rec.ticks, 60)
	h.rec.mu.Unlock()
	puts := h.store.okPuts()
	require.NotEmpty(t, puts)
	for _, p := range puts {
		require.Equal(t, orders, p.id)
	}
	require.Equal(t, 43, puts[0].n)
}

// TestLoopLogsAReadOutageOnce: reads failing tick after tick (an endpoint
// down) are one Error line when they begin and one Info line when they
// end, not a line per target and tick; Debug keeps the rest.
func TestLoopLogsAReadOutageOnce(t *testing.T) {
	down, change, up := at(11, 40), at(11, 45), at(11, 50)
	h := newHarness(t, at(11, 0), 8, step(at(11, 0), 5, 5), nil)
	h.store.getErr = func(_ TargetID, at time.Time) error {
		switch {
		case !at.Before(down) && at.Before(change):
			return apiErr{class: ClassServer}
		case !at.Before(change) && at.Before(up):
			return apiErr{class: ClassThrottled} // a new class: its own first line
		}
		return nil
	}
	h.run(t, at(11, 30), at(12, 0))
	failedGets, levels, ended := outageLines(t, h, "get", down, up, "reading provisioned concurrency")
	require.Equal(t, map[string]int{"ERROR": 1, "WARN": 1, "DEBUG": failedGets - 2, "again": 1}, levels)
	require.Equal(t, "after failing with throttled", ended)
}

// outageLines counts op's calls in [down, up) (more than 2: the loop kept
// trying) and, by level, the lines of what ("<what> failed…"), with
// "again" for "<what> works again", whose detail it returns.
func outageLines(t *testing.T, h *harness, op string, down, up time.Time, what string) (int, map[string]int, string) {
	t.Helper()
	failed := 0
	for _, c := range h.store.callsOf(op) {
		if !c.at.Before(down) && c.at.Before(up) {
			failed++
		}
	}
	require.Greater(t, failed, 2, "the loop kept calling %s during the outage", op)
	levels, ended := map[string]int{}, ""
	for _, l := range h.logs.lines(t) {
		switch msg, _ := l["msg"].(string); {
		case strings.HasPrefix(msg, what+" failed"):
			levels[l["level"].(string)]++
		case msg == what+" works again":
			levels["again"]++
			ended, _ = l["detail"].(string)
		}
	}
	return failed, levels, ended
}

// hangingStore's reads never answer (an endpoint that accepts connections
// and stays silent) until the tick gives up on them, or, with timeout,
// fail at once as awsapi's own per-call timeout does; each takes slow of
// the loop's clock first.
type hangingStore struct {
	*fakeStore
	clock   *vclock
	slow    time.Duration
	timeout bool
}

func (s hangingStore) GetPC(ctx context.Context, _ TargetID) (PCConfig, error) {
	s.clock.Set(s.clock.Now().Add(s.slow))
	if s.timeout {
		return PCConfig{}, fmt.Errorf("GetProvisionedConcurrencyConfig: %w", context.DeadlineExceeded)
	}
	<-ctx.Done()
	return PCConfig{}, ctx.Err()
}

// TestTickEndsWhenReadsHang: reads that hang end within the tick's share
// of the interval and count as deferred (their targets keep the cached
// state); a read that fails by its own timeout before that is an error;
// a tick that took longer than its interval says so at Warn.
func TestTickEndsWhenReadsHang(t *testing.T) {
	const interval = 200 * time.Millisecond // real time: the reads' deadline
	for _, tc := range []struct {
		name      string
		timeout   bool
		wantError bool
	}{
		{name: "hangs past the tick's read time: deferred"},
		{name: "its own timeout first: an error", timeout: true, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, at(11, 0), 8, step(at(11, 0), 5, 5), func(o *Options) {
				o.Interval, o.Offset = interval, 0
			})
			h.c.opts.Store = hangingStore{fakeStore: h.store, clock: h.clock, slow: 2 * interval, timeout: tc.timeout}
			done := make(chan error, 1)
			go func() { done <- h.c.Tick(context.Background(), at(11, 30)) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the tick did not end while its reads hung")
			}
			if tc.wantError {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			} else {
				require.NoError(t, err)
			}
			require.Empty(t, h.store.okPuts())
			warned, readFailed := 0, 0
			for _, l := range h.logs.lines(t) {
				switch l["msg"] {
				case "tick took longer than its interval: calls are slow or hang, or the Lambda budget is too small for the targets":
					warned++
					require.Equal(t, "WARN", l["level"])
				case "reading provisioned concurrency failed":
					readFailed++
				}
			}
			require.Equal(t, 1, warned)
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.wantError], readFailed)
		})
	}
}

// cutStore: GetPC of fail fails at once by its own timeout (as awsapi's
// per-call timeout does), of hang waits for the tick to give up; Limits
// of every other target hangs likewise.
type cutStore struct {
	*fakeStore
	fail, hang TargetID
}

func (s cutStore) GetPC(ctx context.Context, id TargetID) (PCConfig, error) {
	switch id {
	case s.fail:
		return PCConfig{}, fmt.Errorf("GetProvisionedConcurrencyConfig: %w", context.DeadlineExceeded)
	case s.hang:
		<-ctx.Done()
		return PCConfig{}, ctx.Err()
	}
	return s.fakeStore.GetPC(ctx, id)
}

func (s cutStore) Limits(ctx context.Context, _ TargetID) (Limits, error) {
	<-ctx.Done()
	return Limits{}, ctx.Err()
}

// TestTickDeadlineDefersOnlyWhatItCut: when the tick's read time runs out,
// the reads it cut are deferred, a read that failed by its own timeout
// before stays a failure (an Error line, the tick's error), and limits it
// cut are neither an error nor counted as refreshed.
func TestTickDeadlineDefersOnlyWhatItCut(t *testing.T) {
	fail := TargetID{Function: "fails", Qualifier: "live"}
	hang := TargetID{Function: "hangs", Qualifier: "live"}
	h := newHarness(t, at(11, 0), 8, step(at(11, 0), 5, 5), func(o *Options) {
		o.Interval, o.Offset, o.LambdaRPS = 200*time.Millisecond, 0, 1000 // real time: the reads' deadline
		o.Targets = append(o.Targets, Target{ID: fail, Policy: rulesPolicy()}, Target{ID: hang, Policy: rulesPolicy()})
	})
	h.store.set(fail, 8, at(9, 0))
	h.store.set(hang, 8, at(9, 0))
	h.c.opts.Store = cutStore{fakeStore: h.store, fail: fail, hang: hang}
	done := make(chan error, 1)
	go func() { done <- h.c.Tick(context.Background(), at(11, 30)) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the tick did not end")
	}
	require.ErrorContains(t, err, "fails:live")
	require.NotContains(t, err.Error(), "hangs:live")
	failed := map[string]int{}
	for _, l := range h.logs.lines(t) {
		if msg, _ := l["msg"].(string); strings.HasPrefix(msg, "reading ") && strings.Contains(msg, "failed") {
			failed[l["target"].(string)+" "+msg]++
		}
	}
	require.Equal(t, map[string]int{"fails:live reading provisioned concurrency failed": 1}, failed)
	st := h.c.stateCopy(checkout)
	require.True(t, st.hasPC, "checkout's config was read")
	require.True(t, st.limitsAt.IsZero(), "its limits read was cut: due again, not refreshed")
}

// TestLoopLogsALimitsOutageOnce: the same for the limits' reads (every
// LimitsRefresh): one Error line, Debug while it lasts, one Info at the end.
func TestLoopLogsALimitsOutageOnce(t *testing.T) {
	down, up := at(11, 40), at(12, 20)
	h := newHarness(t, at(11, 0), 8, step(at(11, 0), 5, 5), nil)
	h.store.limitsErr = func(_ TargetID, at time.Time) error {
		if !at.Before(down) && at.Before(up) {
			return apiErr{class: ClassServer}
		}
		return nil
	}
	h.run(t, at(11, 30), at(12, 40))
	failed, levels, ended := outageLines(t, h, "limits", down, up, "reading limits")
	require.Equal(t, map[string]int{"ERROR": 1, "DEBUG": failed - 1, "again": 1}, levels)
	require.Equal(t, "after failing with server", ended)
}
