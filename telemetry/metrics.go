// Package telemetry writes the daemon's own state out: Prometheus metrics
// (namespace pcautoscaler, an injected registry) and the /metrics, /healthz
// and /readyz endpoints. It reads nothing from AWS; metrics/ does that.
package telemetry

import (
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Namespace prefixes every metric the daemon exports.
const Namespace = "pcautoscaler"

// Label names. Every value is bounded: targets come from the config file,
// directions, reasons and results from small enums, services and operations
// from the code, and codes are awsapi's error classes.
const (
	LabelFunction  = "function"
	LabelQualifier = "qualifier"
	LabelDirection = "direction"
	LabelReason    = "reason"
	LabelResult    = "result"
	LabelService   = "service"
	LabelOperation = "operation"
	LabelCode      = "code"
	LabelStatus    = "status"
	LabelState     = "state" // controller.TargetStates()
	// LabelAccount is added to every series of an account's loop when the
	// config has accounts: (the accounts[] entry's name, or "default").
	LabelAccount = "account"
)

// actionResults are the results of a Put/Delete as Recorder.Acted reports
// them: "ok", "dry_run" or an error class from awsapi. Anything else counts
// as "error".
var actionResults = func() []string {
	out := []string{controller.ResultOK, controller.ResultDryRun}
	for _, c := range awsapi.Classes() {
		if c != awsapi.ClassOK {
			out = append(out, c)
		}
	}
	return out
}()

// Config statuses as the pc_config_status label; "NONE" is "no config exists".
var configStatuses = []string{"NONE", string(controller.StatusInProgress), string(controller.StatusReady),
	string(controller.StatusFailed)}

// Tick results.
const (
	TickOK    = "ok"
	TickError = "error"
)

// BuildInfo is exported as pcautoscaler_build_info.
type BuildInfo struct {
	Version   string
	Revision  string // VCS revision; "unknown" when empty
	GoVersion string // runtime.Version() when empty
}

// DefaultBuildInfo fills Revision from the binary's embedded VCS stamp (when
// built with -buildvcs) and GoVersion from the runtime.
func DefaultBuildInfo(version string) BuildInfo {
	b := BuildInfo{Version: version, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				b.Revision = s.Value
			}
		}
	}
	return b
}

// Metrics is every series the daemon exports. It implements
// controller.Recorder and the AWS call observer used by awsapi and metrics.
// All methods are safe for concurrent use.
type Metrics struct {
	// Per target: function, qualifier.
	pcRequested  *prometheus.GaugeVec
	pcAllocated  *prometheus.GaugeVec
	pcDesired    *prometheus.GaugeVec
	utilization  *prometheus.GaugeVec
	effectiveMin *prometheus.GaugeVec
	effectiveMax *prometheus.GaugeVec
	constrained  *prometheus.GaugeVec
	spillover    *prometheus.GaugeVec
	demand       *prometheus.GaugeVec
	costPerHour  *prometheus.GaugeVec
	configStatus *prometheus.GaugeVec // + status
	decisions    *prometheus.CounterVec
	actions      *prometheus.CounterVec
	stalled      *prometheus.GaugeVec // + reason
	targetState  *prometheus.GaugeVec // + state
	foreign      *prometheus.CounterVec

	// Daemon.
	apiCalls          *prometheus.CounterVec
	apiDuration       *prometheus.HistogramVec
	cwMetricsReq      prometheus.Counter
	tickDuration      prometheus.Histogram
	ticks             *prometheus.CounterVec
	lastTickSuccess   prometheus.Gauge
	buildInfo         *prometheus.GaugeVec
	pricePerGBSecond  prometheus.Gauge
	configuredTargets prometheus.Gauge
	disabledTargets   prometheus.Gauge

	// Freshness of CloudWatch's data and AWS's clock (ObserveFreshness).
	clockOffset      prometheus.Gauge
	watermarkLag     prometheus.Gauge
	publishDelay     prometheus.Gauge
	publishDelayHist prometheus.Histogram

	// The write queue under the Lambda API budget (ObserveQueue).
	queueDepth prometheus.Gauge
	queueWait  prometheus.Gauge

	// Discovery by tags (Discovered).
	discoveryRuns     *prometheus.CounterVec
	discoveredFns     prometheus.Gauge
	discoveredManaged prometheus.Gauge
	discoveryProblems prometheus.Gauge
	discoveryLastOK   prometheus.Gauge

	mu        sync.Mutex
	price     float64                     // USD per GB-second
	memoryCfg map[controller.TargetID]int // memory_mb from the config; wins over Lambda's value
	memory    map[controller.TargetID]int // memory in use for the estimate
	readiness *Readiness
	targets   map[controller.TargetID]bool // whose per-target series exist (SetTargets)
}

// NewMetrics creates and registers every series on reg and pre-creates the
// per-target series for targets, so dashboards are never empty. It also
// registers the Go and process collectors (skipped when the caller already
// registered them). A nil reg registers nothing, for tests and backtests.
// Registering twice on one registry reuses the existing collectors.
func NewMetrics(reg prometheus.Registerer, targets []controller.TargetID, build BuildInfo) *Metrics {
	target := []string{LabelFunction, LabelQualifier}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: name, Help: help,
		}, append(append([]string{}, target...), labels...)))
	}
	m := &Metrics{
		pcRequested: gauge("pc_requested",
			"Provisioned concurrency requested in the Lambda config (instances); 0 when no config exists."),
		pcAllocated: gauge("pc_allocated",
			"Provisioned concurrency allocated and ready to serve (instances)."),
		pcDesired: gauge("pc_desired",
			"Provisioned concurrency the last decision wanted (instances)."),
		utilization: gauge("utilization_ratio",
			"Latest complete ProvisionedConcurrencyUtilization datapoint used by the decision (ratio 0-1, configured statistic)."),
		effectiveMin: gauge("pc_effective_min",
			"Effective floor: max(min, active schedule floors) (instances)."),
		effectiveMax: gauge("pc_effective_max",
			"Effective ceiling: min(max, active schedule ceilings, reserved and account limits) (instances)."),
		constrained: gauge("constrained",
			"1 when limits bound the target: effective floor above effective ceiling, a value clamped by a limit or refused by Lambda; else 0."),
		spillover: gauge("spillover_invocations",
			"ProvisionedConcurrencySpilloverInvocations (Sum) in the latest complete minute read from CloudWatch (invocations per minute)."),
		demand: gauge("demand_concurrency",
			"ConcurrentExecutions of the alias (Maximum) in the latest complete minute read from CloudWatch (concurrent executions)."),
		costPerHour: gauge("pc_cost_dollars_per_hour",
			"Estimated spend on requested provisioned concurrency: requested x memory GB x 3600 x price per GB-second (USD per hour); 0 while the memory size is unknown."),
		configStatus: gauge("pc_config_status",
			"1 for the current status of the Lambda provisioned-concurrency config (NONE, IN_PROGRESS, READY, FAILED), 0 for the others.",
			LabelStatus),
		decisions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "scaling_decisions_total",
			Help: "Decisions made, one per target per tick, by direction (out, in, none) and reason.",
		}, append(append([]string{}, target...), LabelDirection, LabelReason))),
		actions: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "scaling_actions_total",
			Help: "Put/Delete calls made to carry out a decision, by direction and result (ok, dry_run or an error class).",
		}, append(append([]string{}, target...), LabelDirection, LabelResult))),
		foreign: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "foreign_changes_total",
			Help: "Changes of the target's provisioned concurrency the daemon did not make (another writer: a person, a pipeline, AAS, a second controller).",
		}, append([]string{}, target...))),
		targetState: gauge("target_state",
			"1 for what the target is going through at the last decision (steady, allocating, deploying: an alias moved to a new version, weighted: routing weights on the alias, constrained, yielding, failed), 0 for the others.",
			LabelState),
		stalled: gauge("target_stalled",
			"1 for the reason the target cannot act on its metrics this tick (stale_metrics, metrics_error, clock_skew, failed, throttled, lambda_error, api_budget, weighted), 0 for the others; all 0 when it can.",
			LabelReason),

		apiCalls: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "aws_api_calls_total",
			Help: "AWS API calls by service, operation and result code: ok or the error class (throttled, conflict, invalid, not_found, access_denied, server, error).",
		}, []string{LabelService, LabelOperation, LabelCode})),
		apiDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "aws_api_duration_seconds",
			Help:    "Duration of AWS API calls including SDK retries, excluding the wait for the shared rate limiter (seconds).",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{LabelService, LabelOperation})),
		cwMetricsReq: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "cloudwatch_metrics_requested_total",
			Help: "Metrics requested from CloudWatch GetMetricData (CloudWatch bills per metric requested).",
		})),
		tickDuration: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "tick_duration_seconds",
			Help:    "Duration of one evaluation tick over all targets: observe, decide, act (seconds).",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		})),
		ticks: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "ticks_total",
			Help: "Evaluation ticks by result: ok when every target was observed, else error.",
		}, []string{LabelResult})),
		lastTickSuccess: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_tick_success_timestamp_seconds",
			Help: "Unix time when the last successful tick ended (seconds); 0 before the first.",
		})),
		buildInfo: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "build_info",
			Help: "Always 1; labels carry the version, VCS revision and Go version of the binary.",
		}, []string{"version", "revision", "goversion"})),
		pricePerGBSecond: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "pc_price_dollars_per_gigabyte_second",
			Help: "Configured price of provisioned concurrency used for the spend estimate (USD per GB-second).",
		})),
		configuredTargets: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "targets",
			Help: "Targets (function aliases or versions) under management.",
		})),
		disabledTargets: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "targets_disabled",
			Help: "Configured targets disabled at start-up because their function or alias does not exist (named in the log at Error); back at the next reload or restart that finds them.",
		})),

		clockOffset: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "clock_offset_seconds",
			Help: "AWS's clock minus the daemon's, measured from the Date header of AWS's responses (seconds); NaN until measured.",
		})),
		watermarkLag: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "metrics_watermark_lag_seconds",
			Help: "AWS's now minus the end of the newest minute counted as published in CloudWatch (seconds); NaN before the first tick.",
		})),
		publishDelay: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "metrics_publish_delay_seconds",
			Help: "How long after its end the newest new minute was first seen in CloudWatch, last observed (seconds; an upper bound of the publication delay); NaN until one is seen.",
		})),
		queueDepth: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "write_queue_depth",
			Help: "Writes (Put/Delete) due but left for a later tick by the Lambda API budget, at the last tick.",
		})),
		queueWait: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "write_queue_wait_seconds",
			Help: "How long the oldest write left waiting for the Lambda API budget has waited, at the last tick (seconds).",
		})),
		publishDelayHist: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "metrics_publish_delay_distribution_seconds",
			Help:    "Every observed CloudWatch publication delay: how long after its end each newest new minute was first seen (seconds).",
			Buckets: []float64{15, 30, 60, 90, 120, 180, 240, 300, 450, 600, 900},
		})),

		discoveryRuns: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "discovery_runs_total",
			Help: "Discoveries by tags (Resource Groups Tagging API GetResources) by result: ok, or error when the listing failed and the targets stayed as they were.",
		}, []string{LabelResult})),
		discoveredFns: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "discovered_functions",
			Help: "Functions whose tags matched discover.tags at the last successful discovery.",
		})),
		discoveredManaged: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "discovered_targets",
			Help: "Targets managed from discovered functions' tags (explicit targets excluded).",
		})),
		discoveryProblems: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "discovery_tag_problem_functions",
			Help: "Discovered functions whose pcautoscaler/ tags have problems (logged with the ARN and tag key); they are not managed from those tags.",
		})),
		discoveryLastOK: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "discovery_last_success_timestamp_seconds",
			Help: "Unix time of the last successful discovery (seconds); 0 before the first.",
		})),

		memoryCfg: map[controller.TargetID]int{},
		memory:    map[controller.TargetID]int{},
		targets:   map[controller.TargetID]bool{},
	}
	registerOptional(reg, collectors.NewGoCollector())
	registerOptional(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if build.Revision == "" {
		build.Revision = "unknown"
	}
	if build.GoVersion == "" {
		build.GoVersion = runtime.Version()
	}
	m.buildInfo.WithLabelValues(validUTF8(build.Version), validUTF8(build.Revision), validUTF8(build.GoVersion)).Set(1)
	for _, r := range []string{TickOK, TickError} {
		m.ticks.WithLabelValues(r)
	}
	m.configuredTargets.Set(float64(len(targets)))
	// Unknown until measured: NaN compares false in every alert rule and is
	// a gap on a graph, where 0 would read as "in step" and "fresh".
	m.clockOffset.Set(math.NaN())
	m.watermarkLag.Set(math.NaN())
	m.publishDelay.Set(math.NaN())
	m.precreateCalls()
	for _, r := range []string{TickOK, TickError} {
		m.discoveryRuns.WithLabelValues(r)
	}
	for _, id := range targets {
		m.precreate(id)
		m.targets[id] = true
	}
	return m
}

// SetDisabled records how many configured targets start-up disabled.
func (m *Metrics) SetDisabled(n int) { m.disabledTargets.Set(float64(n)) }

// SetTargets follows a change of the managed targets (discovery, reload):
// series of new targets are created, those of dropped ones deleted, so a
// function that leaves does not linger on dashboards at its last value.
func (m *Metrics) SetTargets(ids []controller.TargetID) {
	keep := make(map[controller.TargetID]bool, len(ids))
	for _, id := range ids {
		keep[id] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.targets {
		if !keep[id] {
			f, q := targetLabels(id)
			m.deleteTarget(prometheus.Labels{LabelFunction: f, LabelQualifier: q})
			delete(m.memory, id)
		}
	}
	for id := range keep {
		if !m.targets[id] {
			m.precreate(id)
		}
	}
	m.targets = keep
	m.configuredTargets.Set(float64(len(ids)))
}

func (m *Metrics) deleteTarget(l prometheus.Labels) {
	for _, g := range []*prometheus.GaugeVec{m.pcRequested, m.pcAllocated, m.pcDesired, m.utilization,
		m.effectiveMin, m.effectiveMax, m.constrained, m.spillover, m.demand, m.costPerHour, m.configStatus, m.stalled, m.targetState} {
		g.DeletePartialMatch(l)
	}
	// Every per-target vector (TestSetTargets finds one left out).
	for _, c := range []*prometheus.CounterVec{m.decisions, m.actions, m.foreign} {
		c.DeletePartialMatch(l)
	}
}

// decisionSeries are the direction × reason pairs the policy can produce;
// each target gets them all at start. Others still count when they happen.
var decisionSeries = map[controller.Reason][]controller.Direction{
	controller.ReasonAllocating:     {controller.DirNone},
	controller.ReasonUtilization:    {controller.DirOut, controller.DirIn},
	controller.ReasonSaturated:      {controller.DirOut},
	controller.ReasonSpillover:      {controller.DirOut},
	controller.ReasonIdle:           {controller.DirIn},
	controller.ReasonFloor:          {controller.DirOut},
	controller.ReasonCeiling:        {controller.DirIn},
	controller.ReasonCooldown:       {controller.DirNone},
	controller.ReasonWithinTarget:   {controller.DirNone},
	controller.ReasonInsufficient:   {controller.DirNone},
	controller.ReasonMetricsMissing: {controller.DirNone},
	controller.ReasonFailedBackoff:  {controller.DirNone},
	controller.ReasonRejected:       {controller.DirNone},
	controller.ReasonThrottled:      {controller.DirNone},
}

func (m *Metrics) precreate(id controller.TargetID) {
	f, q := targetLabels(id)
	for _, g := range []*prometheus.GaugeVec{m.pcRequested, m.pcAllocated, m.pcDesired, m.utilization,
		m.effectiveMin, m.effectiveMax, m.constrained, m.spillover, m.demand, m.costPerHour} {
		g.WithLabelValues(f, q)
	}
	for _, s := range configStatuses {
		m.configStatus.WithLabelValues(f, q, s)
	}
	for _, r := range controller.Reasons() {
		dirs, ok := decisionSeries[r]
		if !ok { // a reason added to the enum later: at least the hold series
			dirs = []controller.Direction{controller.DirNone}
		}
		for _, d := range dirs {
			m.decisions.WithLabelValues(f, q, string(d), string(r))
		}
	}
	for _, d := range []controller.Direction{controller.DirOut, controller.DirIn} {
		for _, r := range actionResults {
			m.actions.WithLabelValues(f, q, string(d), r)
		}
	}
	for _, r := range controller.StallReasons() {
		m.stalled.WithLabelValues(f, q, string(r))
	}
	for _, st := range controller.TargetStates() {
		m.targetState.WithLabelValues(f, q, string(st))
	}
	m.foreign.WithLabelValues(f, q)
}

// register registers c on reg, or returns the collector already registered
// under the same descriptors. Other errors are programming errors (two
// different metrics with one name) and panic, as promauto does.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// registerOptional registers a collector the caller may have registered
// already; any error means it is there in some form, so it is ignored.
func registerOptional(reg prometheus.Registerer, c prometheus.Collector) {
	if reg != nil {
		_ = reg.Register(c)
	}
}
