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

// The same short trace through two ports must give the same decisions,
// wake by wake, and the same report row: the in-process full read and the
// daemon's SDK clients over a real socket; and DirectPorts, which the
// backtest runs by default, and the daemon's SDK clients in memory, in the
// derived mode (the default) and the full one, under the default delays
// (publication 120 s + 0–30 s, preparation 90 s).
func TestDirectPortsMatchDaemonClients(t *testing.T) {
	tests := []struct {
		name    string
		minutes int
		burst   int
		stat    string
		a, b    func(t *testing.T, obs *metricCount) Ports
	}{
		{name: "in-process full vs SDK over HTTP, Maximum", minutes: 75, burst: 8, stat: config.StatMaximum,
			a: func(*testing.T, *metricCount) Ports { return InProcessPorts }, b: sdkPorts},
		{name: "in-process full vs SDK over HTTP, Average", minutes: 60, burst: 5, stat: config.StatAverage,
			a: func(*testing.T, *metricCount) Ports { return InProcessPorts }, b: sdkPorts},
		{name: "direct vs SDK in memory, derived", minutes: 90, burst: 8, stat: config.StatMaximum,
			a: func(*testing.T, *metricCount) Ports { return DirectPorts(config.MetricsDerived) },
			b: func(_ *testing.T, obs *metricCount) Ports {
				return DaemonPorts(config.MetricsDerived, metrics.ProtocolCBOR, obs, "")
			}},
		{name: "direct vs SDK in memory, full, Average", minutes: 60, burst: 6, stat: config.StatAverage,
			a: func(*testing.T, *metricCount) Ports { return DirectPorts(config.MetricsFull) },
			b: func(_ *testing.T, obs *metricCount) Ports {
				return DaemonPorts(config.MetricsFull, metrics.ProtocolCBOR, obs, "")
			}},
		{name: "direct vs SDK in memory, compact", minutes: 60, burst: 6, stat: config.StatMaximum,
			a: func(*testing.T, *metricCount) Ports { return DirectPorts(config.MetricsCompact) },
			b: func(_ *testing.T, obs *metricCount) Ports {
				return DaemonPorts(config.MetricsCompact, metrics.ProtocolCBOR, obs, "")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trace := writeBurstTrace(t, tc.minutes, tc.burst)
			o := Options{Trace: trace, Seed: 3, Warmup: -1}.withDefaults()
			fns, err := loadFunctions(o)
			require.NoError(t, err)
			p := config.DefaultPolicy()
			p.Statistic = tc.stat
			r := newReplay(fns[0], o, p, false)
			r.probe = config.DefaultMetricsProbe

			var aLog, bLog decisionLog
			aRes, err := r.runOursWith(context.Background(), tc.a(t, nil), &aLog, 0)
			require.NoError(t, err)
			obs := &metricCount{}
			bRes, err := r.runOursWith(context.Background(), tc.b(t, obs), &bLog, 0)
			require.NoError(t, err)

			require.GreaterOrEqual(t, len(aLog.log), tc.minutes-5, "about a tick a minute")
			require.Equal(t, aLog.log, bLog.log)
			require.Equal(t, aRes, bRes)
			require.Greater(t, aRes.PutCalls, 0, "the burst must make ours act, or the comparison says little")
			// What the backtest counts as requested matches what the metrics
			// package reports to telemetry.
			require.Equal(t, obs.requests, int(aRes.CWMetricsPerTargetHour*float64(tc.minutes)/60+0.5))
		})
	}
}
