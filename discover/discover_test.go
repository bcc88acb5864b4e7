package discover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

var start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// stepClock is virtual time: After advances Now at once (bucket waits).
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

type calls struct {
	mu sync.Mutex
	n  map[string]int // operation code → count
}

func (c *calls) ObserveCall(service, operation, code string, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[service+":"+operation+" "+code]++
}

func (c *calls) count(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

type env struct {
	world *sim.World
	url   string
	obs   *calls
}

func newEnv(t *testing.T, sc *sim.Scenario, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	w, err := sim.NewWorld(sc, sim.NewVirtualClock(start))
	require.NoError(t, err)
	var h http.Handler = sim.NewHandler(w, nil)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{world: w, url: srv.URL, obs: &calls{}}
}

func (e *env) source(d *config.Discover) *Source {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(e.url),
	}
	return NewSource(cfg, d, WithClock(&stepClock{now: start}), WithObserver(e.obs))
}

func arn(name string) string { return "arn:aws:lambda:us-east-1:123456789012:function:" + name }

func scenario(n int) *sim.Scenario {
	sc := &sim.Scenario{Seed: 1}
	for i := range n {
		tags := map[string]string{"team": "payments"}
		if i%3 == 0 {
			tags["pcautoscaler/managed"] = "true"
		}
		if i%9 == 0 {
			tags["pcautoscaler/max"] = "200"
		}
		sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: fmt.Sprintf("fn-%03d", i), Versions: 1,
			Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}, Tags: tags})
	}
	sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: "other-team", Versions: 1,
		Tags: map[string]string{"pcautoscaler/managed": "true", "team": "search"}})
	return sc
}

func discoverBlock(t *testing.T, yaml string) (*config.Config, *config.Discover) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	require.NoError(t, err)
	return cfg, cfg.Discover
}

const block = `
discover:
  tags:
    pcautoscaler/managed: "true"
    team: payments
  qualifier: live
`

// TestFunctions: GetResources filters server-side (every key, one of its
// values), pages at 100, and gives each function all its tags.
func TestFunctions(t *testing.T) {
	e := newEnv(t, scenario(450), nil)
	_, d := discoverBlock(t, block)
	fns, err := e.source(d).Functions(context.Background())
	require.NoError(t, err)
	require.Len(t, fns, 150) // every third of 450; other-team has team=search
	require.Equal(t, Function{ARN: arn("fn-000"), Name: "fn-000",
		Tags: map[string]string{"team": "payments", "pcautoscaler/managed": "true", "pcautoscaler/max": "200"}}, fns[0])
	require.Equal(t, "fn-447", fns[149].Name)
	require.Equal(t, 2, e.obs.count("tag:GetResources ok"), "150 functions at 100 a page")

	// Values are ORed within a key.
	_, d = discoverBlock(t, strings.Replace(block, "team: payments", "team: [payments, search]", 1))
	fns, err = e.source(d).Functions(context.Background())
	require.NoError(t, err)
	require.Len(t, fns, 151)
}

func TestFunctionsErrors(t *testing.T) {
	_, d := discoverBlock(t, block)
	deny := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","Message":"User is not authorized to perform: tag:GetResources"}`))
		})
	}
	e := newEnv(t, scenario(3), deny)
	_, err := e.source(d).Functions(context.Background())
	require.Error(t, err)
	require.Equal(t, awsapi.ClassAccessDenied, awsapi.Classify(err))
	require.Contains(t, err.Error(), "tag:GetResources")

	throttle := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ThrottledException","Message":"Rate exceeded"}`))
		})
	}
	e = newEnv(t, scenario(3), throttle)
	src := e.source(d)
	_, err = src.Functions(context.Background())
	require.Equal(t, awsapi.ClassThrottled, awsapi.Classify(err))
	require.Equal(t, 1, e.obs.count("tag:GetResources throttled"), "not retried blindly by the SDK")
	require.InDelta(t, 0.5, src.Bucket().Rate(), 1e-9, "the discovery bucket slows down")
}

// applied records what a Syncer applies.
type applied struct {
	mu    sync.Mutex
	calls [][]controller.TargetID
	cfgs  []config.Target
}

func (a *applied) apply(ts []controller.Target, cfgs []config.Target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]controller.TargetID, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	a.calls = append(a.calls, ids)
	a.cfgs = cfgs
	return nil
}

func (a *applied) last() []controller.TargetID {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.calls) == 0 {
		return nil
	}
	return a.calls[len(a.calls)-1]
}

func TestSyncer(t *testing.T) {
	ctx := context.Background()
	sc := &sim.Scenario{Seed: 1, Functions: []sim.FunctionSpec{
		{Name: "orders", Versions: 2, Aliases: []sim.AliasSpec{{Name: "live", Version: "2"}},
			Tags: map[string]string{"pcautoscaler/managed": "true", "pcautoscaler/max": "200"}},
		{Name: "checkout", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}},
			Tags: map[string]string{"pcautoscaler/managed": "true", "pcautoscaler/max": "7"}},
		{Name: "search", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}},
	}}
	e := newEnv(t, sc, nil)
	cfg, d := discoverBlock(t, `
targets:
  - {function: checkout, qualifier: live, max: 300}
discover:
  tags: {pcautoscaler/managed: "true"}
  qualifier: live
  schedules:
    - {name: biz, cron: "0 8 * * *", duration: 10h, floor: 20}
`)
	var logs bytes.Buffer
	got := &applied{}
	s, err := NewSyncer(SyncerOptions{Config: cfg, Discover: d, Explicit: cfg.Targets, Lister: e.source(d),
		Apply: got.apply, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)

	// The explicit checkout:live wins over the tagged one.
	res, err := s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Found)
	require.Equal(t, []controller.TargetID{{Function: "checkout", Qualifier: "live"}, {Function: "orders", Qualifier: "live"}}, got.last())
	require.Equal(t, 300, got.cfgs[0].Max, "the explicit settings")
	require.Equal(t, 200, got.cfgs[1].Max, "the tag's")

	// Nothing changed: nothing applied again.
	_, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Len(t, got.calls, 1)

	// A function tagged later is added; a changed tag changes its policy.
	require.NoError(t, e.world.TagResource(arn("search"), map[string]string{"pcautoscaler/managed": "true", "pcautoscaler/schedules": "biz"}))
	require.NoError(t, e.world.TagResource(arn("orders"), map[string]string{"pcautoscaler/max": "250"}))
	res, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, []controller.TargetID{{Function: "search", Qualifier: "live"}}, res.Added)
	require.Len(t, got.calls, 2)
	require.Equal(t, 250, got.cfgs[1].Max)
	require.Equal(t, "biz", got.cfgs[2].Schedules[0].Name)
	require.Contains(t, logs.String(), `msg="discovered targets changed"`)

	// A bad tag: reported with the ARN and the key; the function keeps its
	// last good settings. Reported once, not every discovery.
	require.NoError(t, e.world.TagResource(arn("orders"), map[string]string{"pcautoscaler/max": "lots", "pcautoscaler/mni": "2"}))
	res, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, []Problem{
		{ARN: arn("orders"), Tag: "pcautoscaler/mni", Reason: `unknown tag key under pcautoscaler/ (did you mean "min"?)`},
		{ARN: arn("orders"), Tag: "pcautoscaler/max", Reason: `want a whole number, got "lots"`},
	}, res.Problems)
	require.Equal(t, arn("orders")+`: tag pcautoscaler/max: want a whole number, got "lots"`, res.Problems[1].String())
	require.Equal(t, 250, got.cfgs[1].Max, "last good settings")
	_, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(logs.String(), "keeps its last good settings"), logs.String())
	require.Contains(t, logs.String(), "function_arn="+arn("orders"))

	// Untagged: dropped. A discovery that fails changes nothing.
	require.NoError(t, e.world.UntagResource(arn("search"), []string{"pcautoscaler/managed"}))
	res, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, []controller.TargetID{{Function: "search", Qualifier: "live"}}, res.Dropped)
	n := len(got.calls)
	s.lister = failing{}
	_, err = s.Sync(ctx)
	require.Error(t, err)
	require.Len(t, got.calls, n)
	require.Len(t, s.Targets(), 2)

	// A new function with bad tags is not managed at all.
	s.lister = e.source(d)
	require.NoError(t, e.world.TagResource(arn("search"), map[string]string{"pcautoscaler/managed": "true", "pcautoscaler/qualifier": "$LATEST"}))
	res, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Empty(t, res.Added)
	require.Contains(t, logs.String(), "it is not managed from them")
}

type failing struct{}

func (failing) Functions(context.Context) ([]Function, error) { return nil, errors.New("boom") }

// TestSyncerRunFollowsTheCadence: Run looks again every interval, so a
// function tagged while it runs is applied by the next discovery.
func TestSyncerRunFollowsTheCadence(t *testing.T) {
	sc := &sim.Scenario{Seed: 1, Functions: []sim.FunctionSpec{
		{Name: "a", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}, Tags: map[string]string{"m": "1"}},
		{Name: "b", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}},
	}}
	e := newEnv(t, sc, nil)
	cfg, d := discoverBlock(t, "discover:\n  tags: {m: \"1\"}\n  qualifier: live\n  interval: 1m\n")
	clk := newManualClock(start)
	got := &applied{}
	s, err := NewSyncer(SyncerOptions{Config: cfg, Discover: d, Lister: e.source(d), Apply: got.apply, Clock: clk})
	require.NoError(t, err)
	_, err = s.Sync(context.Background())
	require.NoError(t, err)
	require.Equal(t, []controller.TargetID{{Function: "a", Qualifier: "live"}}, got.last())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	clk.waitFor(t, 1) // Run waits for its interval
	require.NoError(t, e.world.TagResource(arn("b"), map[string]string{"m": "1"}))
	clk.fire(time.Minute)
	clk.waitFor(t, 1) // the discovery ran and Run waits again
	require.Equal(t, []controller.TargetID{{Function: "a", Qualifier: "live"}, {Function: "b", Qualifier: "live"}}, got.last())
	cancel()
	require.NoError(t, <-done)
}

// manualClock fires After only when the test says so.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []chan time.Time
	changed chan struct{}
}

func newManualClock(t time.Time) *manualClock {
	return &manualClock{now: t, changed: make(chan struct{}, 100)}
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
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, ch)
	c.changed <- struct{}{}
	return ch
}

// waitFor blocks until n Afters are pending (no timing: a channel).
func (c *manualClock) waitFor(t *testing.T, n int) {
	t.Helper()
	for {
		c.mu.Lock()
		k := len(c.waiters)
		c.mu.Unlock()
		if k >= n {
			return
		}
		<-c.changed
	}
}

func (c *manualClock) fire(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, w := range c.waiters {
		w <- c.now
	}
	c.waiters = nil
}

// TestSyncerReconfigure: a reload replaces the defaults, the filters and
// the explicit targets and applies at once from the last listing, keeping
// the discovered targets; without a discover block only the file's remain.
func TestSyncerReconfigure(t *testing.T) {
	ctx := context.Background()
	sc := &sim.Scenario{Seed: 1, Functions: []sim.FunctionSpec{
		{Name: "a", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}, Tags: map[string]string{"m": "1"}},
		{Name: "b", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}, Tags: map[string]string{"n": "1"}},
	}}
	e := newEnv(t, sc, nil)
	cfg, d := discoverBlock(t, "defaults: {max: 50}\ndiscover:\n  tags: {m: \"1\"}\n  qualifier: live\n")
	got := &applied{}
	src := e.source(d)
	s, err := NewSyncer(SyncerOptions{Config: cfg, Discover: d, Lister: src, Apply: got.apply})
	require.NoError(t, err)
	_, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, 50, got.cfgs[0].Max)
	calls := e.obs.count("tag:GetResources ok")

	cfg2, d2 := discoverBlock(t, "defaults: {max: 70}\ntargets: [{function: x, qualifier: live}]\ndiscover:\n  tags: {n: \"1\"}\n  qualifier: live\n")
	res, err := s.Reconfigure(cfg2, d2, cfg2.Targets)
	require.NoError(t, err)
	require.Equal(t, calls, e.obs.count("tag:GetResources ok"), "no call: the last listing")
	require.Equal(t, []controller.TargetID{{Function: "x", Qualifier: "live"}, {Function: "a", Qualifier: "live"}}, got.last())
	require.Equal(t, 70, got.cfgs[1].Max, "the new defaults")
	require.Empty(t, res.Dropped)

	// The next discovery lists with the new filters.
	_, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, []controller.TargetID{{Function: "x", Qualifier: "live"}, {Function: "b", Qualifier: "live"}}, got.last())

	// Discovery removed: the file's targets only, and no more listing.
	_, err = s.Reconfigure(cfg2, nil, cfg2.Targets)
	require.NoError(t, err)
	require.Equal(t, []controller.TargetID{{Function: "x", Qualifier: "live"}}, got.last())
	calls = e.obs.count("tag:GetResources ok")
	_, err = s.Sync(ctx)
	require.NoError(t, err)
	require.Equal(t, calls, e.obs.count("tag:GetResources ok"))
}
