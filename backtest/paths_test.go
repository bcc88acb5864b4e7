package backtest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// decisionLog records every decision the controller made, in order.
type decisionLog struct {
	controller.NopRecorder
	mu  sync.Mutex
	log []controller.Decision
}

func (d *decisionLog) Observed(_ controller.TargetID, _ controller.PCConfig, _ controller.Limits, dec controller.Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = append(d.log, dec)
}

// sdkPorts serves the world over a real socket (httptest) and reads it with
// the daemon's clients reading all four metrics, as the in-process source does.
func sdkPorts(t *testing.T, obs *metricCount) Ports {
	return func(w *sim.World, clk *sim.VirtualClock) (controller.PCStore, controller.MetricSource, func() int, error) {
		srv := httptest.NewServer(sim.NewHandler(w, nil))
		t.Cleanup(srv.Close)
		return DaemonPorts(config.MetricsFull, metrics.ProtocolCBOR, obs, srv.URL)(w, clk)
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
			sdkRes, err := r.runOursWith(context.Background(), sdkPorts(t, obs), &sdkLog)
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
