package backtest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// decisionLog records every decision the controller made, in order.
type decisionLog struct {
	mu  sync.Mutex
	log []controller.Decision
}

func (d *decisionLog) Observed(_ controller.TargetID, _ controller.PCConfig, _ controller.Limits, dec controller.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = append(d.log, dec)
}
func (d *decisionLog) Acted(controller.TargetID, controller.Decision, string) {}
func (d *decisionLog) Ticked(time.Time, time.Duration, error)                 {}

// noWait is the virtual clock with waits that end at once: the SDK path's
// token bucket must not hold virtual time still (nothing would advance it),
// and the in-process path has no bucket to wait on.
type noWait struct{ *sim.VirtualClock }

func (n noWait) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- n.Now()
	return ch
}

// metricCount is a metrics.Observer counting what CloudWatch would bill.
type metricCount struct {
	mu       sync.Mutex
	requests int
	calls    int
}

func (m *metricCount) ObserveCall(_, op, _ string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
}

func (m *metricCount) MetricsRequested(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests += n
}

// sdkPorts serves the world over HTTP and reads it with the daemon's real
// clients: awsapi.NewLambda and metrics.New on aws-sdk-go-v2 with
// BaseEndpoint.
func sdkPorts(obs *metricCount) Ports {
	return func(w *sim.World, clk *sim.VirtualClock) (controller.PCStore, controller.MetricSource, func(), error) {
		srv := httptest.NewServer(sim.NewHandler(w, nil))
		cfg := aws.Config{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
			BaseEndpoint: aws.String(srv.URL),
		}
		store := awsapi.NewLambda(cfg, 10, awsapi.WithClock(noWait{clk}))
		ms, err := metrics.New(cfg, metrics.ProtocolCBOR, metrics.WithClock(noWait{clk}), metrics.WithObserver(obs))
		if err != nil {
			srv.Close()
			return nil, nil, nil, err
		}
		return store, ms, srv.Close, nil
	}
}

// The same short trace through the in-process ports and through the real
// SDK over HTTP must give the same decisions, tick by tick, and the same
// report row.
func TestOursSameDecisionsInProcessAndOverHTTP(t *testing.T) {
	tests := []struct {
		name    string
		minutes int
		burst   int
		stat    string
	}{
		{name: "burst then calm, Maximum", minutes: 75, burst: 8, stat: config.StatMaximum},
		{name: "burst then calm, Average", minutes: 60, burst: 5, stat: config.StatAverage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trace := writeBurstTrace(t, tc.minutes, tc.burst)
			o := Options{Trace: trace, Seed: 3}.withDefaults()
			fns, err := loadFunctions(o)
			require.NoError(t, err)
			p := config.DefaultPolicy()
			p.Statistic = tc.stat
			r := newReplay(fns[0], o, p, false)

			var inLog, sdkLog decisionLog
			inRes, err := r.runOursWith(context.Background(), InProcessPorts, &inLog)
			require.NoError(t, err)
			obs := &metricCount{}
			sdkRes, err := r.runOursWith(context.Background(), sdkPorts(obs), &sdkLog)
			require.NoError(t, err)

			require.Len(t, inLog.log, tc.minutes)
			require.Equal(t, inLog.log, sdkLog.log)
			require.Equal(t, inRes, sdkRes)
			require.Greater(t, inRes.PutCalls, 0, "the burst must make ours act, or the comparison says little")
			// What the backtest counts as requested matches what the metrics
			// package reports to telemetry.
			require.Equal(t, obs.requests, int(inRes.CWMetricsPerTargetHour*float64(tc.minutes)/60+0.5))
		})
	}
}
