package telemetry

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

var (
	checkout = controller.TargetID{Function: "checkout-api", Qualifier: "live"}
	search   = controller.TargetID{Function: "search", Qualifier: "7"}
)

func newTestMetrics(t *testing.T, targets ...controller.TargetID) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return NewMetrics(reg, targets, BuildInfo{Version: "1.2.3", Revision: "abc123", GoVersion: "go1.26.8"}), reg
}

func TestNewMetricsPrecreatesSeries(t *testing.T) {
	decisionsPerTarget := 0
	for _, r := range controller.Reasons() {
		if dirs, ok := decisionSeries[r]; ok {
			decisionsPerTarget += len(dirs)
		} else {
			decisionsPerTarget++
		}
	}
	tests := []struct {
		name    string
		targets []controller.TargetID
	}{
		{name: "no targets", targets: nil},
		{name: "one target", targets: []controller.TargetID{checkout}},
		{name: "two targets", targets: []controller.TargetID{checkout, search}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, reg := newTestMetrics(t, tc.targets...)
			n := len(tc.targets)
			for _, c := range []struct {
				name string
				col  prometheus.Collector
				want int
			}{
				{"pc_requested", m.pcRequested, n},
				{"pc_allocated", m.pcAllocated, n},
				{"pc_desired", m.pcDesired, n},
				{"utilization_ratio", m.utilization, n},
				{"pc_effective_min", m.effectiveMin, n},
				{"pc_effective_max", m.effectiveMax, n},
				{"constrained", m.constrained, n},
				{"spillover_invocations", m.spillover, n},
				{"demand_concurrency", m.demand, n},
				{"pc_cost_dollars_per_hour", m.costPerHour, n},
				{"pc_config_status", m.configStatus, 4 * n},
				{"scaling_decisions_total", m.decisions, decisionsPerTarget * n},
				{"scaling_actions_total", m.actions, 2 * len(actionResults) * n},
				{"target_stalled", m.stalled, len(controller.StallReasons()) * n},
				{"ticks_total", m.ticks, 2},
				{"build_info", m.buildInfo, 1},
			} {
				require.Equal(t, c.want, testutil.CollectAndCount(c.col), c.name)
			}
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pcautoscaler_build_info Always 1; labels carry the version, VCS revision and Go version of the binary.
# TYPE pcautoscaler_build_info gauge
pcautoscaler_build_info{goversion="go1.26.8",revision="abc123",version="1.2.3"} 1
# HELP pcautoscaler_targets Targets (function aliases or versions) under management.
# TYPE pcautoscaler_targets gauge
pcautoscaler_targets `+fmt.Sprint(n)+`
`), "pcautoscaler_build_info", "pcautoscaler_targets"))
		})
	}
}

func TestNewMetricsRegistersRuntimeCollectors(t *testing.T) {
	_, reg := newTestMetrics(t, checkout)
	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	require.True(t, names["go_goroutines"], "Go collector registered")
	require.True(t, names["process_start_time_seconds"] || !processMetricsSupported(), "process collector registered")
}

func TestNewMetricsTwiceOnOneRegistryShares(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := NewMetrics(reg, []controller.TargetID{checkout}, BuildInfo{Version: "v"})
	b := NewMetrics(reg, []controller.TargetID{checkout}, BuildInfo{Version: "v"})
	a.MetricsRequested(3)
	b.MetricsRequested(4)
	require.Equal(t, 7.0, testutil.ToFloat64(a.cwMetricsReq))
}

func TestNewMetricsNilRegistry(t *testing.T) {
	m := NewMetrics(nil, []controller.TargetID{checkout}, BuildInfo{})
	m.Observed(checkout, controller.PCConfig{Exists: true, Requested: 3}, controller.Limits{}, controller.Decision{Desired: 3})
	require.Equal(t, 3.0, testutil.ToFloat64(m.pcRequested.WithLabelValues("checkout-api", "live")))
}

func TestObserved(t *testing.T) {
	tests := []struct {
		name   string
		pc     controller.PCConfig
		lim    controller.Limits
		d      controller.Decision
		memCfg int // memory_mb from the config; 0 none
		want   string
	}{
		{
			name: "ready, scale out on utilization, memory from Lambda",
			pc:   controller.PCConfig{Exists: true, Requested: 10, Allocated: 10, Status: controller.StatusReady},
			lim:  controller.Limits{Known: true, MemoryMB: 2048},
			d: controller.Decision{Current: 10, Desired: 15, Direction: controller.DirOut, Reason: controller.ReasonUtilization,
				Action: controller.ActPut, EffectiveMin: 5, EffectiveMax: 400, Utilization: 0.95},
			// 10 × 2 GB × 3600 s × 0.0000041667 $/GB-s
			want: `
pcautoscaler_pc_requested{function="checkout-api",qualifier="live"} 10
pcautoscaler_pc_allocated{function="checkout-api",qualifier="live"} 10
pcautoscaler_pc_desired{function="checkout-api",qualifier="live"} 15
pcautoscaler_utilization_ratio{function="checkout-api",qualifier="live"} 0.95
pcautoscaler_pc_effective_min{function="checkout-api",qualifier="live"} 5
pcautoscaler_pc_effective_max{function="checkout-api",qualifier="live"} 400
pcautoscaler_constrained{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_cost_dollars_per_hour{function="checkout-api",qualifier="live"} 0.30000240000000003
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="FAILED"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="IN_PROGRESS"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="NONE"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="READY"} 1
pcautoscaler_scaling_decisions_total{direction="out",function="checkout-api",qualifier="live",reason="utilization"} 1
`,
		},
		{
			name:   "no config yet, constrained, config memory wins over Lambda's",
			pc:     controller.PCConfig{},
			lim:    controller.Limits{Known: true, MemoryMB: 4096},
			memCfg: 1024,
			d: controller.Decision{Current: 0, Desired: 20, Direction: controller.DirOut, Reason: controller.ReasonFloor,
				Action: controller.ActPut, EffectiveMin: 20, EffectiveMax: 20, Constrained: true},
			want: `
pcautoscaler_pc_requested{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_allocated{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_desired{function="checkout-api",qualifier="live"} 20
pcautoscaler_utilization_ratio{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_effective_min{function="checkout-api",qualifier="live"} 20
pcautoscaler_pc_effective_max{function="checkout-api",qualifier="live"} 20
pcautoscaler_constrained{function="checkout-api",qualifier="live"} 1
pcautoscaler_pc_cost_dollars_per_hour{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="FAILED"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="IN_PROGRESS"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="NONE"} 1
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="READY"} 0
pcautoscaler_scaling_decisions_total{direction="out",function="checkout-api",qualifier="live",reason="floor"} 1
`,
		},
		{
			name: "failed config, hold, memory unknown",
			pc: controller.PCConfig{Exists: true, Requested: 50, Allocated: 0, Status: controller.StatusFailed,
				StatusReason: "FUNCTION_ERROR_INIT_FAILURE"},
			d: controller.Decision{Current: 50, Desired: 50, Direction: controller.DirNone, Reason: controller.ReasonFailedBackoff,
				EffectiveMin: 1, EffectiveMax: 100},
			want: `
pcautoscaler_pc_requested{function="checkout-api",qualifier="live"} 50
pcautoscaler_pc_allocated{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_desired{function="checkout-api",qualifier="live"} 50
pcautoscaler_utilization_ratio{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_effective_min{function="checkout-api",qualifier="live"} 1
pcautoscaler_pc_effective_max{function="checkout-api",qualifier="live"} 100
pcautoscaler_constrained{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_cost_dollars_per_hour{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="FAILED"} 1
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="IN_PROGRESS"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="NONE"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="READY"} 0
pcautoscaler_scaling_decisions_total{direction="none",function="checkout-api",qualifier="live",reason="failed_backoff"} 1
`,
		},
		{
			name: "unknown direction and reason stay bounded",
			pc:   controller.PCConfig{Exists: true, Requested: 1, Allocated: 1, Status: controller.StatusInProgress},
			lim:  controller.Limits{MemoryMB: 512},
			d:    controller.Decision{Current: 1, Desired: 1, Direction: "sideways", Reason: "made-up"},
			want: `
pcautoscaler_pc_requested{function="checkout-api",qualifier="live"} 1
pcautoscaler_pc_allocated{function="checkout-api",qualifier="live"} 1
pcautoscaler_pc_desired{function="checkout-api",qualifier="live"} 1
pcautoscaler_utilization_ratio{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_effective_min{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_effective_max{function="checkout-api",qualifier="live"} 0
pcautoscaler_constrained{function="checkout-api",qualifier="live"} 0
pcautoscaler_pc_cost_dollars_per_hour{function="checkout-api",qualifier="live"} 0.00750006
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="FAILED"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="IN_PROGRESS"} 1
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="NONE"} 0
pcautoscaler_pc_config_status{function="checkout-api",qualifier="live",status="READY"} 0
pcautoscaler_scaling_decisions_total{direction="none",function="checkout-api",qualifier="live",reason="other"} 1
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No pre-created series here, so the expected text lists only what Observed set.
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg, nil, BuildInfo{})
			mem := map[controller.TargetID]int{}
			if tc.memCfg > 0 {
				mem[checkout] = tc.memCfg
			}
			m.SetPricing(0.0000041667, mem)
			m.Observed(checkout, tc.pc, tc.lim, tc.d)
			names := []string{"pcautoscaler_pc_requested", "pcautoscaler_pc_allocated", "pcautoscaler_pc_desired",
				"pcautoscaler_utilization_ratio", "pcautoscaler_pc_effective_min", "pcautoscaler_pc_effective_max",
				"pcautoscaler_constrained", "pcautoscaler_pc_cost_dollars_per_hour", "pcautoscaler_pc_config_status",
				"pcautoscaler_scaling_decisions_total"}
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(withHelp(t, reg, names, tc.want)), names...))
		})
	}
}

// withHelp prefixes expected samples with the HELP and TYPE lines the
// registry reports, so tests compare values without repeating help texts.
func withHelp(t *testing.T, reg *prometheus.Registry, names []string, samples string) string {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var b strings.Builder
	for _, f := range families {
		for _, n := range names {
			if f.GetName() != n {
				continue
			}
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, f.GetHelp(), n, strings.ToLower(f.GetType().String()))
			for _, line := range strings.Split(samples, "\n") {
				if strings.HasPrefix(line, n+"{") || strings.HasPrefix(line, n+" ") {
					b.WriteString(line + "\n")
				}
			}
		}
	}
	return b.String()
}

func TestCostKeepsLambdaMemoryWhenLimitsUnknown(t *testing.T) {
	m, _ := newTestMetrics(t, checkout)
	m.SetPricing(0.0000041667, nil)
	pc := controller.PCConfig{Exists: true, Requested: 10, Allocated: 10, Status: controller.StatusReady}
	m.Observed(checkout, pc, controller.Limits{Known: true, MemoryMB: 1024}, controller.Decision{Desired: 10})
	m.Observed(checkout, pc, controller.Limits{}, controller.Decision{Desired: 10})
	require.InDelta(t, 10*1*3600*0.0000041667, testutil.ToFloat64(m.costPerHour.WithLabelValues("checkout-api", "live")), 1e-12)
	require.Equal(t, 0.0000041667, testutil.ToFloat64(m.pricePerGBSecond))
}

func TestActed(t *testing.T) {
	tests := []struct {
		name      string
		direction controller.Direction
		result    string
		wantDir   string
		wantRes   string
	}{
		{name: "ok out", direction: controller.DirOut, result: "ok", wantDir: "out", wantRes: "ok"},
		{name: "dry run in", direction: controller.DirIn, result: "dry_run", wantDir: "in", wantRes: "dry_run"},
		{name: "throttled", direction: controller.DirOut, result: "throttled", wantDir: "out", wantRes: "throttled"},
		{name: "unknown result is error", direction: controller.DirIn, result: "kaboom: 12345", wantDir: "in", wantRes: "error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMetrics(t, checkout)
			before := testutil.CollectAndCount(m.actions)
			m.Acted(checkout, controller.Decision{Direction: tc.direction}, tc.result)
			require.Equal(t, before, testutil.CollectAndCount(m.actions), "no new series")
			require.Equal(t, 1.0, testutil.ToFloat64(m.actions.WithLabelValues("checkout-api", "live", tc.wantDir, tc.wantRes)))
		})
	}
}

func TestTicked(t *testing.T) {
	start := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		errs     []error
		wantOK   float64
		wantErr  float64
		wantLast float64
	}{
		{name: "one success", errs: []error{nil}, wantOK: 1, wantLast: float64(start.Add(2 * time.Second).Unix())},
		{name: "one failure", errs: []error{errors.New("metrics: throttled")}, wantErr: 1},
		{name: "success then failure keeps the success time", errs: []error{nil, errors.New("x")}, wantOK: 1, wantErr: 1,
			wantLast: float64(start.Add(2 * time.Second).Unix())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMetrics(t, checkout)
			for i, err := range tc.errs {
				m.Ticked(start.Add(time.Duration(i)*time.Minute), 2*time.Second, err)
			}
			require.Equal(t, tc.wantOK, testutil.ToFloat64(m.ticks.WithLabelValues(TickOK)))
			require.Equal(t, tc.wantErr, testutil.ToFloat64(m.ticks.WithLabelValues(TickError)))
			require.Equal(t, tc.wantLast, testutil.ToFloat64(m.lastTickSuccess))
			require.Equal(t, 1, testutil.CollectAndCount(m.tickDuration))
		})
	}
}

func TestObserveDemand(t *testing.T) {
	m, _ := newTestMetrics(t, checkout)
	m.ObserveDemand(checkout, 42, 7)
	require.Equal(t, 42.0, testutil.ToFloat64(m.demand.WithLabelValues("checkout-api", "live")))
	require.Equal(t, 7.0, testutil.ToFloat64(m.spillover.WithLabelValues("checkout-api", "live")))
}

func TestObserveCall(t *testing.T) {
	type call struct{ service, operation, code string }
	tests := []struct {
		name      string
		calls     []call
		want      map[call]float64 // series (code as exported) → count
		newSeries int              // series created beyond the pre-created ones
		wantOK    []string         // services readiness saw answer
		wantFail  []string         // services readiness saw fail
	}{
		{
			name:   "success, empty code counts as ok",
			calls:  []call{{"lambda", "GetProvisionedConcurrencyConfig", ""}, {"cloudwatch", "GetMetricData", "ok"}},
			want:   map[call]float64{{"lambda", "GetProvisionedConcurrencyConfig", "ok"}: 1, {"cloudwatch", "GetMetricData", "ok"}: 1},
			wantOK: []string{"cloudwatch", "lambda"},
		},
		{
			name: "throttled answered, access denied did not",
			calls: []call{{"lambda", "PutProvisionedConcurrencyConfig", "throttled"},
				{"cloudwatch", "GetMetricData", "access_denied"}},
			want: map[call]float64{{"lambda", "PutProvisionedConcurrencyConfig", "throttled"}: 1,
				{"cloudwatch", "GetMetricData", "access_denied"}: 1},
			wantOK:   []string{"lambda"},
			wantFail: []string{"cloudwatch"},
		},
		{
			name:     "server error then ok: last call wins",
			calls:    []call{{"lambda", "GetAccountSettings", "server"}, {"lambda", "GetAccountSettings", "ok"}},
			want:     map[call]float64{{"lambda", "GetAccountSettings", "server"}: 1, {"lambda", "GetAccountSettings", "ok"}: 1},
			wantOK:   []string{"lambda"},
			wantFail: []string{"lambda"},
		},
		{
			name:     "a raw AWS code is not a class: counted as error",
			calls:    []call{{"lambda", "GetAlias", "TooManyRequestsException"}, {"lambda", "GetAlias", "Weird 12345"}},
			want:     map[call]float64{{"lambda", "GetAlias", "error"}: 2},
			wantFail: []string{"lambda"},
		},
		{
			name:      "an operation not in awsapi's registry still counts",
			calls:     []call{{"lambda", "InvokeSomething", "ok"}},
			want:      map[call]float64{{"lambda", "InvokeSomething", "ok"}: 1},
			newSeries: 1,
			wantOK:    []string{"lambda"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMetrics(t)
			r := NewReadiness(time.Minute, time.Now)
			m.AttachReadiness(r)
			before := testutil.CollectAndCount(m.apiCalls)
			for _, c := range tc.calls {
				m.ObserveCall(c.service, c.operation, c.code, 150*time.Millisecond)
			}
			require.Equal(t, before+tc.newSeries, testutil.CollectAndCount(m.apiCalls))
			for c, n := range tc.want {
				require.Equal(t, n, testutil.ToFloat64(m.apiCalls.WithLabelValues(c.service, c.operation, c.code)), c)
			}
			r.mu.Lock()
			require.ElementsMatch(t, tc.wantOK, slices.Collect(maps.Keys(r.answered)))
			require.ElementsMatch(t, tc.wantFail, slices.Collect(maps.Keys(r.failed)))
			r.mu.Unlock()
		})
	}
}

func TestCallSeriesPrecreated(t *testing.T) {
	m, _ := newTestMetrics(t)
	require.Equal(t, len(awsapi.Actions())*len(awsapi.Classes()), testutil.CollectAndCount(m.apiCalls))
	require.Zero(t, testutil.ToFloat64(m.apiCalls.WithLabelValues("lambda", "PutProvisionedConcurrencyConfig", "throttled")))
	require.Zero(t, testutil.ToFloat64(m.apiCalls.WithLabelValues("cloudwatch", "GetMetricData", "ok")))
}

func TestMetricsRequested(t *testing.T) {
	m, _ := newTestMetrics(t)
	for _, n := range []int{5, 0, -3, 12} {
		m.MetricsRequested(n)
	}
	require.Equal(t, 17.0, testutil.ToFloat64(m.cwMetricsReq))
}

func TestDefaultBuildInfo(t *testing.T) {
	b := DefaultBuildInfo("v0.1.0")
	require.Equal(t, "v0.1.0", b.Version)
	require.True(t, strings.HasPrefix(b.GoVersion, "go"), b.GoVersion)
}

// TestSetTargets: a discovered target gets its series at once; a dropped
// one loses them (no stale last value on a dashboard).
func TestSetTargets(t *testing.T) {
	m, reg := newTestMetrics(t, checkout)
	perTarget := func() int { return testutil.CollectAndCount(m.pcRequested) }
	m.Observed(checkout, controller.PCConfig{Exists: true, Requested: 7}, controller.Limits{}, controller.Decision{})
	m.Acted(checkout, controller.Decision{Direction: controller.DirOut}, controller.ResultOK)

	m.SetTargets([]controller.TargetID{checkout, search})
	require.Equal(t, 2, perTarget())
	require.Equal(t, 2*len(controller.StallReasons()), testutil.CollectAndCount(m.stalled))
	require.InDelta(t, 7, testutil.ToFloat64(m.pcRequested.WithLabelValues(checkout.Function, checkout.Qualifier)), 0,
		"a target that remains keeps its series")

	m.SetTargets([]controller.TargetID{search})
	require.Equal(t, 1, perTarget())
	for _, c := range []prometheus.Collector{m.configStatus, m.decisions, m.actions, m.stalled} {
		require.NotZero(t, testutil.CollectAndCount(c))
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				require.False(t, l.GetName() == LabelFunction && l.GetValue() == checkout.Function,
					"%s still has a series of the dropped target", f.GetName())
			}
		}
	}
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pcautoscaler_targets Targets (function aliases or versions) under management.
# TYPE pcautoscaler_targets gauge
pcautoscaler_targets 1
`), "pcautoscaler_targets"))
}

func TestDiscovered(t *testing.T) {
	m, reg := newTestMetrics(t)
	at := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	m.Discovered(at, 12, 10, 1, nil)
	m.Discovered(at.Add(5*time.Minute), -1, 10, -1, errors.New("throttled"))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pcautoscaler_discovered_functions Functions whose tags matched discover.tags at the last successful discovery.
# TYPE pcautoscaler_discovered_functions gauge
pcautoscaler_discovered_functions 12
# HELP pcautoscaler_discovered_targets Targets managed from discovered functions' tags (explicit targets excluded).
# TYPE pcautoscaler_discovered_targets gauge
pcautoscaler_discovered_targets 10
# HELP pcautoscaler_discovery_last_success_timestamp_seconds Unix time of the last successful discovery (seconds); 0 before the first.
# TYPE pcautoscaler_discovery_last_success_timestamp_seconds gauge
pcautoscaler_discovery_last_success_timestamp_seconds 1.7954568e+09
# HELP pcautoscaler_discovery_runs_total Discoveries by tags (Resource Groups Tagging API GetResources) by result: ok, or error when the listing failed and the targets stayed as they were.
# TYPE pcautoscaler_discovery_runs_total counter
pcautoscaler_discovery_runs_total{result="error"} 1
pcautoscaler_discovery_runs_total{result="ok"} 1
# HELP pcautoscaler_discovery_tag_problem_functions Discovered functions whose pcautoscaler/ tags have problems (logged with the ARN and tag key); they are not managed from those tags.
# TYPE pcautoscaler_discovery_tag_problem_functions gauge
pcautoscaler_discovery_tag_problem_functions 1
`), "pcautoscaler_discovered_functions", "pcautoscaler_discovered_targets", "pcautoscaler_discovery_last_success_timestamp_seconds",
		"pcautoscaler_discovery_runs_total", "pcautoscaler_discovery_tag_problem_functions"))
}

// TestTargetState: one series per state, pre-created at 0; the decision's
// State is 1 and every other 0; a Decision without one reads as steady.
func TestTargetState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state controller.TargetState
		want  controller.TargetState
	}{
		{"deploying", controller.StateDeploying, controller.StateDeploying},
		{"weighted", controller.StateWeighted, controller.StateWeighted},
		{"failed", controller.StateFailed, controller.StateFailed},
		{"no state given", "", controller.StateSteady},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMetrics(t, checkout)
			require.Equal(t, len(controller.TargetStates()), testutil.CollectAndCount(m.targetState))
			m.Observed(checkout, controller.PCConfig{}, controller.Limits{}, controller.Decision{State: controller.StateAllocating})
			m.Observed(checkout, controller.PCConfig{}, controller.Limits{}, controller.Decision{State: tc.state})
			for _, st := range controller.TargetStates() {
				want := 0.0
				if st == tc.want {
					want = 1
				}
				require.InDelta(t, want, testutil.ToFloat64(m.targetState.WithLabelValues(checkout.Function, checkout.Qualifier, string(st))), 0, st)
			}
		})
	}
}
