package awsapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/sim"
)

var simStart = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// stepClock is virtual time for the bucket: After advances Now by d at once
// and records the sleep, so tests count waits instead of timing them.
type stepClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *stepClock) slept() (n int, total time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.sleeps {
		total += d
	}
	return len(c.sleeps), total
}

// recorder is a CallObserver that keeps every call.
type recorder struct {
	mu    sync.Mutex
	calls []string // "service operation code"
}

func (r *recorder) ObserveCall(service, operation, code string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, service+" "+operation+" "+code)
}

func (r *recorder) count(operation string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.Split(c, " ")[1] == operation {
			n++
		}
	}
	return n
}

// simEnv is the simulator over HTTP with a Lambda store pointed at it.
type simEnv struct {
	world  *sim.World
	clock  *sim.VirtualClock // the world's time
	bucket *stepClock        // the store's time (rate limiter, caches)
	obs    *recorder
	store  *Lambda
	url    string
}

// requests counts what reached the simulator for an operation, by code.
func (e *simEnv) requests(op string) map[string]int64 {
	out := map[string]int64{}
	for code, n := range e.world.Stats().APICalls[op] {
		out[code] = n
	}
	return out
}

// newSimEnv starts the simulator for sc; wrap, when set, sits in front of
// it (an IAM deny, a header capture).
func newSimEnv(t *testing.T, sc *sim.Scenario, wrap func(http.Handler) http.Handler) *simEnv {
	t.Helper()
	clk := sim.NewVirtualClock(simStart)
	w, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	var h http.Handler = sim.NewHandler(w, nil)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &simEnv{world: w, clock: clk, bucket: &stepClock{now: simStart}, obs: &recorder{}, url: srv.URL}
	e.store = newTestLambda(testAWSConfig(srv.URL), 10, e.bucket, e.obs)
	return e
}

func testAWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// noBackoff keeps the SDK's 5xx retries but without sleeping between them.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func newTestLambda(cfg aws.Config, rps float64, clk *stepClock, obs *recorder) *Lambda {
	return NewLambda(cfg, rps, WithClock(clk), WithObserver(obs), withBackoff(noBackoff{}))
}

// iamDeny answers AccessDeniedException, as IAM does, for requests whose
// path or query contains one of the fragments — a policy in front of the
// simulator.
func iamDeny(fragments ...string) func(http.Handler) http.Handler {
	return iamDenyIf(func(r *http.Request) bool {
		for _, f := range fragments {
			if strings.Contains(r.URL.Path, f) || strings.Contains(r.URL.RawQuery, f) {
				return true
			}
		}
		return false
	})
}

// iamDenyIf answers AccessDeniedException for the requests deny selects.
func iamDenyIf(deny func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if deny(r) {
				w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"Message":"User: arn:aws:sts::123456789012:assumed-role/pcautoscaler/x is not authorized to perform this action"}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
