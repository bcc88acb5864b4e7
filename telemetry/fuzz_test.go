package telemetry

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// FuzzRecorder feeds arbitrary strings and numbers through every recording
// method: no panic, and the registry still gathers and exposes.
func FuzzRecorder(f *testing.F) {
	f.Add("checkout-api", "live", "out", "utilization", "ok", "lambda", "GetMetricData", "ok", 0.7, int64(10), int64(2048))
	f.Add("arn:aws:lambda:us-east-1:123456789012:function:x", "7", "in", "idle", "dry_run", "cloudwatch", "Op", "throttled",
		math.NaN(), int64(-1), int64(0))
	f.Add("\xff\xfe", "\x00", "", "", "", "\xc3", "\xc3\x28", "TooManyRequestsException", math.Inf(1), int64(math.MaxInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, fn, q, dir, reason, result, service, op, code string, u float64, n, mem int64) {
		reg := prometheus.NewRegistry()
		id := controller.TargetID{Function: fn, Qualifier: q}
		m := NewMetrics(reg, []controller.TargetID{id}, BuildInfo{Version: fn, Revision: q})
		m.SetPricing(u, map[controller.TargetID]int{id: int(mem)})
		m.AttachReadiness(NewReadiness(time.Minute, time.Now, service))
		d := controller.Decision{Current: int(n), Desired: int(n), Direction: controller.Direction(dir),
			Reason: controller.Reason(reason), Utilization: u, EffectiveMin: int(n), EffectiveMax: int(mem)}
		m.Observed(id, controller.PCConfig{Exists: true, Requested: int(n), Allocated: int(n), Status: controller.Status(code)},
			controller.Limits{MemoryMB: int(mem)}, d)
		m.Acted(id, d, result)
		m.ObserveDemand(id, u, u)
		m.ObserveCall(service, op, code, time.Duration(n))
		m.MetricsRequested(int(n))
		m.Ticked(time.Unix(0, n), time.Duration(mem), errors.New(fn))
		_, err := reg.Gather()
		require.NoError(t, err)
	})
}
