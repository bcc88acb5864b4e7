package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const faultsBase = `
seed: 11
functions:
  - name: api
    aliases: [{name: live, version: "1"}]
    loads: [{qualifier: live, kind: constant, rate: 600, duration_ms: 100}]
`

func TestRequestFaults(t *testing.T) {
	tests := []struct {
		name        string
		faults      string
		op          string
		at          time.Duration
		wantErr     *APIError
		wantLatency time.Duration
	}{
		{name: "lambda throttle", faults: "{op: PutProvisionedConcurrencyConfig, kind: throttle, retry_after: 2500ms}", op: "PutProvisionedConcurrencyConfig",
			wantErr: &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 3}},
		{name: "default retry after", faults: "{op: GetAccountSettings, kind: throttle}", op: "GetAccountSettings",
			wantErr: &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 1}},
		{name: "cloudwatch throttle", faults: "{op: GetMetricData, kind: throttle}", op: "GetMetricData",
			wantErr: &APIError{Status: 400, Code: CodeCWThrottling, Message: "Rate exceeded", Type: TypeSender, RetryAfterSeconds: 1}},
		{name: "lambda server error", faults: "{op: '*', kind: server_error}", op: "GetProvisionedConcurrencyConfig",
			wantErr: &APIError{Status: 500, Code: CodeServiceException, Message: "The service encountered an internal error (injected)", Type: TypeService}},
		{name: "cloudwatch server error", faults: "{op: '*', kind: server_error}", op: "GetMetricData",
			wantErr: &APIError{Status: 500, Code: CodeCWInternalService, Message: "Internal service error (injected)", Type: TypeReceiver}},
		{name: "conflict", faults: "{op: PutProvisionedConcurrencyConfig, kind: conflict}", op: "PutProvisionedConcurrencyConfig",
			wantErr: &APIError{Status: 409, Code: CodeResourceConflict, Message: "The resource already exists, or another operation is in progress.", Type: TypeUser}},
		{name: "other operation unaffected", faults: "{op: PutProvisionedConcurrencyConfig, kind: throttle}", op: "GetProvisionedConcurrencyConfig"},
		{name: "latencies add up", faults: "{kind: latency, latency: 100ms}\n  - {kind: latency, op: ListMetrics, latency: 50ms}", op: "ListMetrics", wantLatency: 150 * time.Millisecond},
		{name: "latency then error", faults: "{kind: latency, latency: 100ms}\n  - {kind: throttle}", op: "ListFunctions", wantLatency: 100 * time.Millisecond,
			wantErr: &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 1}},
		{name: "before the window", faults: "{kind: throttle, from: 10m, until: 20m}", op: "GetAlias", at: 9 * time.Minute},
		{name: "inside the window", faults: "{kind: throttle, from: 10m, until: 20m}", op: "GetAlias", at: 10 * time.Minute,
			wantErr: &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 1}},
		{name: "after the window", faults: "{kind: throttle, from: 10m, until: 20m}", op: "GetAlias", at: 20 * time.Minute},
		{name: "zero probability", faults: "{kind: throttle, probability: 0}", op: "GetAlias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := newTestWorld(t, faultsBase+"faults:\n  - "+tt.faults+"\n")
			clk.Advance(tt.at)
			lat, err := w.Fault(tt.op)
			require.Equal(t, tt.wantLatency, lat)
			if tt.wantErr == nil {
				require.Nil(t, err)
				return
			}
			require.Equal(t, tt.wantErr, err)
			require.Equal(t, time.Duration(tt.wantErr.RetryAfterSeconds)*time.Second, err.RetryAfter())
		})
	}
}

func TestFaultsDeterministicForSeed(t *testing.T) {
	draw := func(seed int) []bool {
		yml := strings.Replace(faultsBase, "seed: 11", fmt.Sprintf("seed: %d", seed), 1)
		w, _ := newTestWorld(t, yml+"faults:\n  - {kind: throttle, probability: 0.3}\n")
		var hits []bool
		for range 200 {
			_, err := w.Fault("GetProvisionedConcurrencyConfig")
			hits = append(hits, err != nil)
		}
		return hits
	}
	a, b, c := draw(11), draw(11), draw(12)
	require.Equal(t, a, b)
	require.NotEqual(t, a, c)
	n := 0
	for _, h := range a {
		if h {
			n++
		}
	}
	require.InDelta(t, 60, n, 25) // 30% of 200, fixed seed
}

func TestMetricGapAndDelay(t *testing.T) {
	tests := []struct {
		name  string
		fault string
		at    time.Duration
		want  []int // visible minutes
	}{
		{name: "no fault", at: 6 * time.Minute, want: []int{0, 1, 2, 3, 4}},
		{name: "gap in a window", fault: "{kind: metric_gap, function: api, from: 2m, until: 4m}", at: 6 * time.Minute, want: []int{0, 1, 4}},
		{name: "gap on another function", fault: "{kind: metric_gap, function: other}", at: 6 * time.Minute, want: []int{0, 1, 2, 3, 4}},
		{name: "gap on another qualifier", fault: "{kind: metric_gap, qualifier: prod}", at: 6 * time.Minute, want: []int{0, 1, 2, 3, 4}},
		{name: "delay hides the latest minutes", fault: "{kind: metric_delay, latency: 3m}", at: 6 * time.Minute, want: []int{0, 1}},
		{name: "delayed minutes arrive later", fault: "{kind: metric_delay, latency: 3m}", at: 9 * time.Minute, want: []int{0, 1, 2, 3, 4}},
	}
	base := faultsBase + "  - name: other\n    loads: [{qualifier: \"1\", kind: constant, rate: 60, duration_ms: 100}]\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := base
			if tt.fault != "" {
				yml += "faults:\n  - " + tt.fault + "\n"
			}
			w, clk := newTestWorld(t, yml)
			clk.Advance(tt.at)
			r := getOne(t, w, statQuery("i", MetricInvocations, resourceDims("api", "live"), "Sum", 60), t0, t0.Add(5*time.Minute))
			var want []time.Time
			for _, m := range tt.want {
				want = append(want, t0.Add(time.Duration(m)*time.Minute))
			}
			require.Equal(t, want, r.Timestamps)
		})
	}
}

func TestFailedAllocationProbabilityIsDeterministic(t *testing.T) {
	outcomes := func() []string {
		w, clk := newTestWorld(t, faultsBase+"faults:\n  - {kind: failed_allocation, probability: 0.5}\n")
		var out []string
		for i := range 20 {
			_, err := w.PutProvisionedConcurrency("api", "live", 10+i)
			require.NoError(t, err)
			clk.Advance(2 * time.Minute)
			v, err := w.GetProvisionedConcurrency("api", "live")
			require.NoError(t, err)
			out = append(out, v.Status)
		}
		return out
	}
	a := outcomes()
	require.Equal(t, a, outcomes())
	require.Contains(t, a, "FAILED")
	require.Contains(t, a, "READY")
}
