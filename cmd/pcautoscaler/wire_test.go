package main

import (
	"context"
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

// TestWireMeasuresAWSClock: the daemon's clients (Lambda and CloudWatch)
// feed one ServerClock from AWS's Date headers, on the loop's clock, and its
// requests carry this replica's AppID.
func TestWireMeasuresAWSClock(t *testing.T) {
	isolateAWS(t)
	start := time.Date(2026, 11, 24, 10, 0, 0, 400_000_000, time.UTC)
	clk := &jumpClock{now: start}
	// The simulated AWS runs skew ahead of the daemon's clock; its Date
	// headers carry its own time.
	const skew = 90 * time.Second
	world, err := sim.NewWorld(sim.DefaultScenario(), sim.NewVirtualClock(start.Add(skew)))
	require.NoError(t, err)
	var mu sync.Mutex
	var agents []string
	next := sim.NewHandler(world, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.Header.Get("User-Agent"))
		mu.Unlock()
		next.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cfg, err := config.Parse([]byte("aws: {endpoint: \"" + srv.URL + "\"}\ntargets:\n  - {function: checkout-api, qualifier: live}\n"))
	require.NoError(t, err)
	awsCfg, err := awsapi.LoadAWSConfig(context.Background(), cfg.Region, cfg.AWS.Endpoint)
	require.NoError(t, err)
	d, err := wire(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: slog.New(slog.DiscardHandler), clock: clk, dryRun: true})
	require.NoError(t, err)
	_, ok := d.serverClock.ClockOffset()
	require.False(t, ok, "unknown before any response")
	_, isMeasured := d.serverClock.(*awsapi.ServerClock)
	require.True(t, isMeasured)

	require.NoError(t, d.source.Preflight(context.Background()))
	got, ok := d.serverClock.ClockOffset()
	require.True(t, ok, "CloudWatch's answer measures it")
	require.InDelta(t, skew.Seconds(), got.Seconds(), 1.5)

	require.NoError(t, d.lambda.Preflight(context.Background(), d.ids))
	got, ok = d.serverClock.ClockOffset()
	require.True(t, ok)
	require.InDelta(t, skew.Seconds(), got.Seconds(), 1.5)

	mu.Lock()
	defer mu.Unlock()
	require.Greater(t, len(agents), 1)
	for _, ua := range agents {
		require.True(t, strings.Contains(ua, " app/"+awsapi.ReplicaAppID()), ua)
	}
}

// jumpClock is virtual time that a wait moves on at once (the Lambda token
// bucket waits on the loop's clock).
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(max(d, 0))
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func TestWireGivenServerClock(t *testing.T) {
	cfg, err := config.Parse([]byte("aws: {endpoint: \"http://127.0.0.1:1\"}\ntargets:\n  - {function: checkout-api, qualifier: live}\n"))
	require.NoError(t, err)
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	d, err := wire(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: slog.New(slog.DiscardHandler),
		clock: controller.SystemClock{}, serverClock: controller.FixedOffset(0)})
	require.NoError(t, err)
	require.Equal(t, controller.ServerClock(controller.FixedOffset(0)), d.serverClock)
}

func TestMetricsProbe(t *testing.T) {
	require.Equal(t, time.Duration(-1), metricsProbe(0), "0 in the config turns probing off")
	require.Equal(t, 10*time.Second, metricsProbe(10*time.Second))
}
