package awsapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

func intp(n int) *int { return &n }

// testScenario: checkout (alias live on v3 with 20 PC, versions 1-3), a
// weighted alias, a function with reserved concurrency, and one with many
// PC configs for List pagination.
func testScenario() *sim.Scenario {
	many := map[string]int{}
	for v := 1; v <= 55; v++ {
		many[strconv.Itoa(v)] = 1
	}
	return &sim.Scenario{
		Seed: 1,
		Functions: []sim.FunctionSpec{
			{Name: "checkout", MemoryMB: 1024, Versions: 3,
				Aliases:     []sim.AliasSpec{{Name: "live", Version: "3"}},
				Provisioned: map[string]int{"live": 20}},
			{Name: "search", MemoryMB: 512, Versions: 2,
				Aliases: []sim.AliasSpec{{Name: "canary", Version: "2", Routing: map[string]float64{"1": 0.1}}}},
			{Name: "report", MemoryMB: 2048, Versions: 1, Reserved: intp(150),
				Aliases: []sim.AliasSpec{{Name: "prod", Version: "1"}}},
			{Name: "many", Versions: 60, Provisioned: many},
		},
	}
}

func classOf(t *testing.T, err error) string {
	t.Helper()
	var ce controller.ClassifiedError
	require.True(t, errors.As(err, &ce), "error %v is not classified", err)
	return ce.ErrorClass()
}

func TestGetPC(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	for _, tc := range []struct {
		name  string
		id    controller.TargetID
		want  controller.PCConfig
		class string
	}{
		{name: "ready config", id: controller.TargetID{Function: "checkout", Qualifier: "live"},
			want: controller.PCConfig{Exists: true, Requested: 20, Allocated: 20, Available: 20, Status: controller.StatusReady, LastModified: simStart}},
		{name: "full ARN", id: controller.TargetID{Function: "arn:aws:lambda:us-east-1:123456789012:function:checkout", Qualifier: "live"},
			want: controller.PCConfig{Exists: true, Requested: 20, Allocated: 20, Available: 20, Status: controller.StatusReady, LastModified: simStart}},
		{name: "no config is not an error", id: controller.TargetID{Function: "report", Qualifier: "prod"}},
		{name: "unknown function", id: controller.TargetID{Function: "nope", Qualifier: "live"}, class: ClassNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.store.GetPC(ctx, tc.id)
			if tc.class != "" {
				require.Error(t, err)
				require.Equal(t, tc.class, classOf(t, err))
				require.Equal(t, tc.class, Classify(err))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPutPCLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	id := controller.TargetID{Function: "checkout", Qualifier: "live"}
	_, known := e.store.Allocated(id)
	require.False(t, known, "nothing read yet")

	got, err := e.store.PutPC(ctx, id, 40)
	require.NoError(t, err)
	_, known = e.store.Allocated(id)
	require.False(t, known, "no settled allocation read yet: still unknown")
	require.Equal(t, 40, got.Requested)
	require.Equal(t, controller.StatusInProgress, got.Status)
	require.Equal(t, simStart, got.LastModified)

	// A second Put while the first is allocating: 409, not retried by the SDK.
	_, err = e.store.PutPC(ctx, id, 50)
	require.Equal(t, ClassConflict, classOf(t, err))
	require.Equal(t, int64(1), e.requests("PutProvisionedConcurrencyConfig")["ResourceConflictException"])

	e.clock.Advance(5 * time.Minute)
	got, err = e.store.GetPC(ctx, id)
	require.NoError(t, err)
	require.Equal(t, controller.PCConfig{Exists: true, Requested: 40, Allocated: 40, Available: 40,
		Status: controller.StatusReady, LastModified: simStart}, got)
	alloc, known := e.store.Allocated(id)
	require.True(t, known, "settled")
	require.Equal(t, 40, alloc)

	// While the next change allocates, the settled 40 is what served the
	// minutes the controller counts.
	got, err = e.store.PutPC(ctx, id, 60)
	require.NoError(t, err)
	require.Equal(t, controller.StatusInProgress, got.Status)
	alloc, known = e.store.Allocated(id)
	require.True(t, known)
	require.Equal(t, 40, alloc)
	e.clock.Advance(5 * time.Minute)
	_, err = e.store.GetPC(ctx, id)
	require.NoError(t, err)
	alloc, _ = e.store.Allocated(id)
	require.Equal(t, 60, alloc)

	require.NoError(t, e.store.DeletePC(ctx, id))
	alloc, _ = e.store.Allocated(id)
	require.Equal(t, 0, alloc)
	got, err = e.store.GetPC(ctx, id)
	require.NoError(t, err)
	require.False(t, got.Exists)
	// Deleting what is already gone is the desired state, not an error.
	require.NoError(t, e.store.DeletePC(ctx, id))
}

func TestPutPCRejected(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	for _, tc := range []struct {
		name  string
		id    controller.TargetID
		n     int
		class string
		calls int // requests that reach Lambda
	}{
		{name: "$LATEST", id: controller.TargetID{Function: "checkout", Qualifier: "$LATEST"}, n: 5, class: ClassInvalid, calls: 1},
		{name: "weighted alias", id: controller.TargetID{Function: "search", Qualifier: "canary"}, n: 5, class: ClassWeighted, calls: 1},
		{name: "over reserved", id: controller.TargetID{Function: "report", Qualifier: "prod"}, n: 151, class: ClassInvalid, calls: 1},
		{name: "into the last 100 unreserved", id: controller.TargetID{Function: "checkout", Qualifier: "1"}, n: 900, class: ClassInvalid, calls: 1},
		{name: "unknown alias", id: controller.TargetID{Function: "checkout", Qualifier: "blue"}, n: 5, class: ClassNotFound, calls: 1},
		{name: "zero is refused before calling", id: controller.TargetID{Function: "checkout", Qualifier: "live"}, n: 0, class: ClassInvalid, calls: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.obs.count("PutProvisionedConcurrencyConfig")
			_, err := e.store.PutPC(ctx, tc.id, tc.n)
			require.Error(t, err)
			require.Equal(t, tc.class, classOf(t, err))
			require.Equal(t, tc.calls, e.obs.count("PutProvisionedConcurrencyConfig")-before)
			if tc.calls > 0 {
				require.Contains(t, err.Error(), "lambda:PutProvisionedConcurrencyConfig "+tc.id.String())
			}
		})
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	// PC on checkout's version 1 counts against live's headroom.
	_, err := e.store.PutPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "1"}, 7)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		id   controller.TargetID
		want controller.Limits
		err  error
	}{
		{name: "alias, other qualifier's PC", id: controller.TargetID{Function: "checkout", Qualifier: "live"},
			want: controller.Limits{Known: true, OtherPC: 7, AccountUnreserved: 850, MemoryMB: 1024, AliasVersion: "3"}},
		{name: "reserved concurrency", id: controller.TargetID{Function: "report", Qualifier: "prod"},
			want: controller.Limits{Known: true, Reserved: intp(150), AccountUnreserved: 850, MemoryMB: 2048, AliasVersion: "1"}},
		{name: "version qualifier, List paginated over 55 configs", id: controller.TargetID{Function: "many", Qualifier: "56"},
			want: controller.Limits{Known: true, OtherPC: 55, AccountUnreserved: 850, MemoryMB: 128}},
		{name: "weighted alias: the limits, its version and weights with the error", id: controller.TargetID{Function: "search", Qualifier: "canary"},
			want: controller.Limits{Known: true, AccountUnreserved: 850, MemoryMB: 512, AliasVersion: "2", Weights: map[string]float64{"1": 0.1}},
			err:  ErrWeightedAlias},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.store.Limits(ctx, tc.id)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Equal(t, ClassWeighted, classOf(t, err))
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, got)
		})
	}
	// One account, one value: read once for all four targets.
	require.Equal(t, 1, e.obs.count("GetAccountSettings"))
	// 55 configs at 50 a page: two List calls for "many".
	require.Equal(t, int64(2+1+1+1), e.requests("ListProvisionedConcurrencyConfigs")[sim.CodeOK])
	// GetAlias only for aliases, never for the version qualifier.
	require.Equal(t, 3, e.obs.count("GetAlias"))
	// Reserved concurrency and memory: one GetFunction per read, nothing else.
	require.Equal(t, int64(4), e.requests("GetFunction")[sim.CodeOK])
	require.Empty(t, e.requests("GetFunctionConcurrency"))
	require.Empty(t, e.requests("GetFunctionConfiguration"))
}

// TestLimitsCalls: what a Limits read costs of the shared budget is what it
// then spends there — GetFunction, on its own bucket, is not in it.
func TestLimitsCalls(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	for _, tc := range []struct {
		name string
		id   controller.TargetID
		want int
	}{
		{name: "alias, account settings due", id: controller.TargetID{Function: "checkout", Qualifier: "live"}, want: 3},
		{name: "alias, account settings cached", id: controller.TargetID{Function: "report", Qualifier: "prod"}, want: 2},
		{name: "version, 55 configs: first read guesses one page", id: controller.TargetID{Function: "many", Qualifier: "56"}, want: 1},
		{name: "version, 55 configs: two pages since", id: controller.TargetID{Function: "many", Qualifier: "56"}, want: 2},
		{name: "version", id: controller.TargetID{Function: "checkout", Qualifier: "3"}, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, e.store.LimitsCalls(tc.id))
			shared := func() int {
				n := 0
				for _, op := range []string{"ListProvisionedConcurrencyConfigs", "GetAlias", "GetAccountSettings"} {
					n += e.obs.count(op)
				}
				return n
			}
			before, beforeGF := shared(), e.obs.count("GetFunction")
			_, err := e.store.Limits(ctx, tc.id)
			require.NoError(t, err)
			if tc.name != "version, 55 configs: first read guesses one page" {
				require.Equal(t, tc.want, shared()-before, "calls on the shared bucket")
			}
			require.Equal(t, 1, e.obs.count("GetFunction")-beforeGF)
		})
	}
	var lc controller.LimitsCoster = e.store
	require.NotNil(t, lc)
}

// TestGetFunctionOwnBucket: GetFunction waits on its own bucket
// (GetFunctionRPS), never on the shared one, and the shared one's waits do
// not slow it.
func TestGetFunctionOwnBucket(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	id := controller.TargetID{Function: "checkout", Qualifier: "3"}
	for range 10 {
		_, err := e.store.Limits(ctx, id)
		require.NoError(t, err)
	}
	// 10 Limits of a version: 11 shared calls (10 List, 1 account) at
	// 10 rps and 10 GetFunction at 20 rps, on the same virtual clock. Each
	// bucket's first token is free; the shared bucket's 100 ms spacing
	// covers GetFunction's 50 ms, so it never waits itself.
	n, total := e.bucket.slept()
	require.Equal(t, 10, n)
	require.Equal(t, time.Second, total)
	require.Equal(t, int64(10), e.requests("GetFunction")[sim.CodeOK])
	require.InDelta(t, 10, e.store.Bucket().Rate(), 1e-9, "the shared bucket is untouched by GetFunction")
}

func TestErrorsFromFaults(t *testing.T) {
	ctx := context.Background()
	id := controller.TargetID{Function: "checkout", Qualifier: "live"}
	for _, tc := range []struct {
		name     string
		kind     string
		class    string
		retry    time.Duration
		requests int64 // how many reached the simulator: the SDK retries 5xx only
		waits    int   // bucket waits: each retry takes its own token
	}{
		{name: "throttle with Retry-After", kind: sim.FaultThrottle, class: ClassThrottled, retry: 3 * time.Second, requests: 1},
		{name: "server error retried by the SDK", kind: sim.FaultServerError, class: ClassServer, requests: 3, waits: 2},
		{name: "conflict", kind: sim.FaultConflict, class: ClassConflict, requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := testScenario()
			sc.Faults = []sim.FaultSpec{{Op: "GetProvisionedConcurrencyConfig", Kind: tc.kind, RetryAfter: sim.Duration{Duration: tc.retry}}}
			e := newSimEnv(t, sc, nil)
			_, err := e.store.GetPC(ctx, id)
			require.Error(t, err)
			require.Equal(t, tc.class, classOf(t, err))
			var ce controller.ClassifiedError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.retry, ce.RetryAfter())
			var total int64
			for _, n := range e.requests("GetProvisionedConcurrencyConfig") {
				total += n
			}
			require.Equal(t, tc.requests, total)
			waits, _ := e.bucket.slept()
			require.Equal(t, tc.waits, waits)
			require.Equal(t, []string{"lambda GetProvisionedConcurrencyConfig " + tc.class}, e.obs.calls)
		})
	}
}

func TestThrottleSlowsAndPausesTheBucket(t *testing.T) {
	ctx := context.Background()
	sc := testScenario()
	// GetAccountSettings is throttled; the other calls are not.
	sc.Faults = []sim.FaultSpec{{Op: "GetAccountSettings", Kind: sim.FaultThrottle, RetryAfter: sim.Duration{Duration: 4 * time.Second}}}
	e := newSimEnv(t, sc, nil)
	b := e.store.Bucket()
	require.InDelta(t, 10, b.Rate(), 1e-9)

	_, err := e.store.Limits(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"})
	require.Equal(t, ClassThrottled, classOf(t, err))
	require.InDelta(t, 5, b.Rate(), 1e-9)

	// The next call waits out Retry-After first: a 4 s pause in virtual time.
	_, before := e.bucket.slept()
	_, err = e.store.GetPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"})
	require.NoError(t, err)
	_, after := e.bucket.slept()
	require.GreaterOrEqual(t, after-before, 4*time.Second-300*time.Millisecond)
	require.GreaterOrEqual(t, e.bucket.Now().Sub(simStart), 4*time.Second)

	// Successes give the rate back gradually.
	require.InDelta(t, 5.5, b.Rate(), 1e-9)
	for range 20 {
		_, err = e.store.GetPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"})
		require.NoError(t, err)
	}
	require.InDelta(t, 10, b.Rate(), 1e-9)
}

func TestBucketSpacesCalls(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	for range 30 {
		_, err := e.store.GetPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"})
		require.NoError(t, err)
	}
	// 30 calls at 10 per second: the first is free, each other waits its
	// 100 ms turn, so 2.9 s of virtual time pass.
	n, total := e.bucket.slept()
	require.Equal(t, 29, n)
	require.Equal(t, 2900*time.Millisecond, total)
	require.Equal(t, int64(30), e.requests("GetProvisionedConcurrencyConfig")[sim.CodeOK])
}

func TestBucketWaitHonoursContext(t *testing.T) {
	e := newSimEnv(t, testScenario(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.store.GetPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, ClassError, Classify(err))
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	targets := []controller.TargetID{{Function: "checkout", Qualifier: "live"}, {Function: "report", Qualifier: "prod"}}
	for _, tc := range []struct {
		name   string
		deny   []string
		denyIf func(*http.Request) bool
		want   []string // substrings of the error; nil = no error
	}{
		{name: "all permitted"},
		{name: "no GetProvisionedConcurrencyConfig", denyIf: func(r *http.Request) bool {
			return strings.HasSuffix(r.URL.Path, "/provisioned-concurrency") && !strings.Contains(r.URL.RawQuery, "List=ALL")
		},
			want: []string{
				"missing IAM permission lambda:GetProvisionedConcurrencyConfig on checkout:live: AccessDeniedException",
			}},
		{name: "no GetAccountSettings", deny: []string{"/account-settings"},
			want: []string{"missing IAM permission lambda:GetAccountSettings: AccessDeniedException"}},
		{name: "no GetFunction", denyIf: func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") && strings.Count(r.URL.Path, "/") == 3
		},
			want: []string{"missing IAM permission lambda:GetFunction on checkout:live: AccessDeniedException"}},
		{name: "no ListProvisionedConcurrencyConfigs", deny: []string{"List=ALL"},
			want: []string{"missing IAM permission lambda:ListProvisionedConcurrencyConfigs on checkout: AccessDeniedException"}},
		{name: "no GetAlias", deny: []string{"/aliases/"},
			want: []string{"missing IAM permission lambda:GetAlias on checkout:live: AccessDeniedException"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wrap func(http.Handler) http.Handler
			switch {
			case tc.deny != nil:
				wrap = iamDeny(tc.deny...)
			case tc.denyIf != nil:
				wrap = iamDenyIf(tc.denyIf)
			}
			e := newSimEnv(t, testScenario(), wrap)
			err := e.store.Preflight(ctx, targets)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			// Each permission once, on one target: never one per target.
			require.NotContains(t, err.Error(), "report:prod")
			require.Len(t, strings.Split(err.Error(), "\n"), len(tc.want), err.Error())
			require.Equal(t, ClassAccessDenied, Classify(err))
		})
	}
	t.Run("unknown function", func(t *testing.T) {
		e := newSimEnv(t, testScenario(), nil)
		err := e.store.Preflight(ctx, []controller.TargetID{{Function: "gone", Qualifier: "live"}})
		require.Error(t, err)
		require.True(t, strings.Contains(err.Error(), "lambda:GetProvisionedConcurrencyConfig on gone:live: not found"), err.Error())
	})
}

// TestPreflightIsBounded: start-up checks each permission once, so 1,000
// targets cost what one does — not a call per target (issue 10: at 10 rps,
// 1,000 targets used to take ~100 s before the first decision).
func TestPreflightIsBounded(t *testing.T) {
	ctx := context.Background()
	sc := testScenario()
	var targets []controller.TargetID
	for i := range 1000 {
		name := "fn" + strconv.Itoa(i)
		sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: name, Versions: 1,
			Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}})
		targets = append(targets, controller.TargetID{Function: name, Qualifier: "live"})
	}
	// A version first: GetAlias is checked on the first alias instead.
	targets = append([]controller.TargetID{{Function: "checkout", Qualifier: "3"}}, targets...)
	e := newSimEnv(t, sc, nil)
	require.NoError(t, e.store.Preflight(ctx, targets))
	require.Len(t, e.obs.calls, PreflightCalls, "%v", e.obs.calls)
	require.LessOrEqual(t, len(e.obs.calls), PreflightCalls)
	var reached int64
	for _, op := range []string{"GetAccountSettings", "GetProvisionedConcurrencyConfig", "GetFunction",
		"ListProvisionedConcurrencyConfigs", "GetAlias"} {
		require.Equal(t, 1, e.obs.count(op), op)
		for _, n := range e.requests(op) {
			reached += n
		}
	}
	require.Equal(t, int64(PreflightCalls), reached, "requests that reached Lambda")
	// A token each on the shared bucket (the first is free): 0.3 s at
	// 10 rps, where one call per target took ~100 s. GetFunction's first
	// token on its own bucket is free.
	waits, total := e.bucket.slept()
	require.Equal(t, PreflightCalls-2, waits)
	require.Equal(t, time.Duration(PreflightCalls-2)*100*time.Millisecond, total)
}

// manualClock fires an After only when the test moves time past it, so a
// test can act while a call sleeps on its turn.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []manualTimer
	waiting chan struct{} // one send per After
}

type manualTimer struct {
	at time.Time
	ch chan time.Time
}

// waited receives from ch, failing the test rather than hanging when
// nothing comes (real time).
func waited[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came: a call neither went nor waited")
		panic("unreachable")
	}
}

func newManualClock() *manualClock {
	return &manualClock{now: simStart, waiting: make(chan struct{}, 16)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.timers = append(c.timers, manualTimer{at: c.now.Add(d), ch: ch})
	c.waiting <- struct{}{}
	return ch
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.ch <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// TestBucketPauseHoldsCallsAlreadyWaiting: a call waiting for its turn when
// another call's 429 pauses the bucket does not go inside the pause.
func TestBucketPauseHoldsCallsAlreadyWaiting(t *testing.T) {
	clock := newManualClock()
	b := NewBucket(10, clock)
	require.NoError(t, b.Wait(context.Background())) // the call that will be throttled
	done := make(chan time.Time, 1)
	go func() {
		if err := b.Wait(context.Background()); err == nil {
			done <- clock.Now()
		}
	}()
	waited(t, clock.waiting) // it waits its 100 ms turn
	b.Throttled(3 * time.Second)
	clock.advance(100 * time.Millisecond)
	select {
	case <-clock.waiting: // woken, it sees the pause and waits again
	case at := <-done:
		t.Fatalf("a waiting call went at +%s, inside the 3 s pause", at.Sub(simStart))
	case <-time.After(10 * time.Second): // real time: only a hang gets here
		t.Fatal("the waiting call neither went nor waited again")
	}
	clock.advance(3 * time.Second)
	require.False(t, (<-done).Before(simStart.Add(3*time.Second)))
}

// TestReadGivesUpOnASilentEndpoint: an endpoint that accepts connections
// and never answers costs a read readTimeout, the SDK's retries included,
// not 3 × the response-header timeout; a write keeps its own limit.
func TestReadGivesUpOnASilentEndpoint(t *testing.T) {
	old := readTimeout
	readTimeout = 300 * time.Millisecond
	t.Cleanup(func() { readTimeout = old })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	l := newTestLambda(testAWSConfig("http://"+ln.Addr().String()), 1000, &stepClock{now: simStart}, &recorder{})
	_, err = l.GetPC(context.Background(), controller.TargetID{Function: "checkout", Qualifier: "live"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, ClassError, Classify(err))
	require.LessOrEqual(t, accepted.Load(), int64(3))
}

// TestReadRetryMayWaitForAPausedBucket: the read timeout bounds each
// attempt after its wait for the bucket, not the wait: a retry of a 5xx that
// finds the bucket paused by another call's 429 waits the pause out and
// succeeds (real time: a 1 s pause against a 300 ms read timeout).
func TestReadRetryMayWaitForAPausedBucket(t *testing.T) {
	old := readTimeout
	readTimeout = 300 * time.Millisecond
	t.Cleanup(func() { readTimeout = old })
	var l *Lambda
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			l.Bucket().Throttled(time.Second) // another call's Retry-After
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"boom"}`))
			return
		}
		_, _ = w.Write([]byte(`{"RequestedProvisionedConcurrentExecutions":5,"AllocatedProvisionedConcurrentExecutions":5,"AvailableProvisionedConcurrentExecutions":5,"Status":"READY"}`))
	}))
	t.Cleanup(srv.Close)
	l = NewLambda(testAWSConfig(srv.URL), 1000, WithClock(WallClock{}), withBackoff(noBackoff{}))
	pc, err := l.GetPC(context.Background(), controller.TargetID{Function: "f", Qualifier: "live"})
	require.NoError(t, err)
	require.Equal(t, 5, pc.Requested)
	require.Equal(t, int64(2), n.Load())
}

// TestBucketPauseGivesQueuedTurnsBack: calls woken by a pause give their
// reserved turns back, so one goes when the pause ends, at the halved rate,
// instead of all of them waiting behind the turns they held (five turns at
// 5 rps: a second of dead time after every 429).
func TestBucketPauseGivesQueuedTurnsBack(t *testing.T) {
	const queued = 5
	clock := newManualClock()
	b := NewBucket(10, clock)
	require.NoError(t, b.Wait(context.Background())) // the call that will be throttled
	went := make(chan time.Duration, queued)
	for range queued {
		go func() {
			if err := b.Wait(context.Background()); err == nil {
				went <- clock.Now().Sub(simStart)
			}
		}()
	}
	for range queued {
		waited(t, clock.waiting) // each waits its turn (+100 ms … +500 ms)
	}
	b.Throttled(200 * time.Millisecond) // halves the rate to 5 rps
	for range queued {
		waited(t, clock.waiting) // each woke and waits out the pause
	}
	clock.advance(200 * time.Millisecond)
	var goneAtEnd []time.Duration
	for range queued { // each either goes or waits its turn again
		select {
		case d := <-went:
			goneAtEnd = append(goneAtEnd, d)
		case <-clock.waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("a call neither went nor waited")
		}
	}
	require.Equal(t, []time.Duration{200 * time.Millisecond}, goneAtEnd, "one call goes as the pause ends")
}

// TestBucketThrottleWithoutPauseFreesNoCall: a 429 without Retry-After
// (Throttled(0), every throttle code but Lambda's own) halves the rate and
// frees no call: the queued calls go at the halved rate, not at once.
func TestBucketThrottleWithoutPauseFreesNoCall(t *testing.T) {
	clock := newManualClock()
	b := NewBucket(10, clock)
	require.NoError(t, b.Wait(context.Background()))
	went := make(chan time.Duration, 4)
	for range 4 {
		go func() {
			if err := b.Wait(context.Background()); err == nil {
				went <- clock.Now().Sub(simStart)
			}
		}()
	}
	for range 4 {
		waited(t, clock.waiting)
	}
	b.Throttled(0)
	for range 4 {
		select { // woken, each queues again at 5 rps; none goes now
		case d := <-went:
			t.Fatalf("a call went at +%s without its turn", d)
		case <-clock.waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("a call neither went nor waited")
		}
	}
	clock.advance(200 * time.Millisecond) // one turn at 5 rps
	require.Equal(t, 200*time.Millisecond, waited(t, went))
}

// TestWriteIsNotCutByTheReadTimeout: only reads get readTimeout; a Put
// answered after it still succeeds (real time: 300 ms against 50 ms).
func TestWriteIsNotCutByTheReadTimeout(t *testing.T) {
	old := readTimeout
	readTimeout = 50 * time.Millisecond
	t.Cleanup(func() { readTimeout = old })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"RequestedProvisionedConcurrentExecutions":5,"Status":"IN_PROGRESS"}`))
	}))
	t.Cleanup(srv.Close)
	l := NewLambda(testAWSConfig(srv.URL), 1000, WithClock(WallClock{}), withBackoff(noBackoff{}))
	_, err := l.PutPC(context.Background(), controller.TargetID{Function: "f", Qualifier: "live"}, 5)
	require.NoError(t, err)
}
