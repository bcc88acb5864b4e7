package sim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
)

// Scenario describes a simulated account: limits, allocation speed, metric
// publication, functions with their versions, aliases, reserved and
// provisioned concurrency and traffic, and injected faults.
type Scenario struct {
	Seed       int64          `yaml:"seed"`
	Region     string         `yaml:"region,omitempty"`     // default us-east-1
	AccountID  string         `yaml:"account_id,omitempty"` // default 123456789012
	Account    AccountSpec    `yaml:"account"`
	Allocation AllocationSpec `yaml:"allocation"`
	Metrics    MetricsSpec    `yaml:"metrics"`
	Functions  []FunctionSpec `yaml:"functions,omitempty"`
	Deploys    DeploysSpec    `yaml:"deploys,omitempty"`
	Faults     []FaultSpec    `yaml:"faults,omitempty"`
}

// AccountSpec holds the account's concurrency limits.
type AccountSpec struct {
	ConcurrentExecutions int `yaml:"concurrent_executions"` // default 1000
	UnreservedMin        int `yaml:"unreserved_min"`        // default 100
	// ControlPlaneRPS throttles the Lambda control-plane operations (429
	// TooManyRequestsException) above this many requests per second of the
	// world's clock, with a burst of one second's worth. AWS allows 15
	// across all of them; 0 (the default) disables the limit, because a
	// virtual clock does not move while a backtest tick makes its calls.
	ControlPlaneRPS float64 `yaml:"control_plane_rps,omitempty"`
	// TaggingRPS throttles the Resource Groups Tagging API's GetResources
	// (400 ThrottledException) above this many requests per second, in a
	// bucket of its own: it is not a Lambda operation. AWS's number is not
	// documented where we looked; 0 (the default) disables the limit.
	TaggingRPS float64 `yaml:"tagging_rps,omitempty"`
	// GetFunctionRPS throttles GetFunction (429 TooManyRequestsException)
	// in a bucket of its own: AWS gives it 100 rps outside the 15 shared by
	// the other operations (AWS-FACTS §3). Absent means 100; 0 disables it.
	GetFunctionRPS *float64 `yaml:"get_function_rps,omitempty"`
}

// getFunctionRPS is GetFunction's limit: DefaultGetFunctionRPS when not set.
func (a AccountSpec) getFunctionRPS() float64 {
	if a.GetFunctionRPS == nil {
		return DefaultGetFunctionRPS
	}
	return *a.GetFunctionRPS
}

// AllocationSpec is how fast Lambda turns a Put into available environments.
type AllocationSpec struct {
	PrepDelay     Duration `yaml:"prep_delay"`      // before allocation starts; default 60s
	RatePerMinute int      `yaml:"rate_per_minute"` // environments per minute; default 6000
	DecreaseDelay Duration `yaml:"decrease_delay"`  // IN_PROGRESS time of a decrease; default 10s
}

// MetricsSpec controls metric publication.
type MetricsSpec struct {
	PublishDelay Duration `yaml:"publish_delay"` // after the minute ends; default 60s
	// PublishJitter adds to each function's minute a delay drawn uniformly
	// from 0 to this (whole seconds): CloudWatch's newest minute does not
	// appear at one fixed instant after its end; default 0.
	PublishJitter Duration `yaml:"publish_jitter,omitempty"`
}

// FunctionSpec is one function.
type FunctionSpec struct {
	Name        string            `yaml:"name"`
	MemoryMB    int               `yaml:"memory_mb"`          // default 128
	Reserved    *int              `yaml:"reserved,omitempty"` // reserved concurrency; nil = none
	Versions    int               `yaml:"versions"`           // published versions 1..n; default 1
	Aliases     []AliasSpec       `yaml:"aliases,omitempty"`
	Provisioned map[string]int    `yaml:"provisioned,omitempty"` // qualifier → initial PC, READY at start
	Loads       []Load            `yaml:"loads,omitempty"`
	Tags        map[string]string `yaml:"tags,omitempty"` // the function's tags (ListTags, GetResources)
}

// AliasSpec is one alias; Routing adds weighted versions.
type AliasSpec struct {
	Name    string             `yaml:"name"`
	Version string             `yaml:"version"`
	Routing map[string]float64 `yaml:"routing,omitempty"`
}

// Fault kinds.
const (
	FaultThrottle         = "throttle"
	FaultServerError      = "server_error"
	FaultLatency          = "latency"
	FaultConflict         = "conflict"
	FaultFailedAllocation = "failed_allocation"
	FaultMetricGap        = "metric_gap"
	FaultMetricDelay      = "metric_delay"
	FaultUnavailable      = "unavailable"
)

// FaultSpec injects one kind of fault. Kind unavailable is an endpoint
// outage: nothing is answered (over HTTP the connection is closed; in
// process the call fails with ErrUnavailable). Op is the API operation name
// (e.g. PutProvisionedConcurrencyConfig, GetMetricData) or "*" for all; it
// is ignored by failed_allocation, metric_gap and metric_delay, which may be
// narrowed by Function and Qualifier instead. From/Until are offsets from
// the world's start (Until 0 = forever). Probability defaults to 1.
type FaultSpec struct {
	Op          string   `yaml:"op"`
	Kind        string   `yaml:"kind"`
	Probability *float64 `yaml:"probability,omitempty"`
	From        Duration `yaml:"from,omitempty"`
	Until       Duration `yaml:"until,omitempty"`
	Latency     Duration `yaml:"latency,omitempty"`     // latency: added delay; metric_delay: extra publication delay
	RetryAfter  Duration `yaml:"retry_after,omitempty"` // throttle: Retry-After, whole seconds; default 1s
	Function    string   `yaml:"function,omitempty"`
	Qualifier   string   `yaml:"qualifier,omitempty"`
}

// Duration is the config file's duration ("90s", "5m"; a bare number other
// than 0 is refused): one syntax for every YAML file of the project.
type Duration = config.Duration

// YAML returns the scenario as a YAML document ParseScenario reads back.
func (sc *Scenario) YAML() ([]byte, error) { return yaml.Marshal(sc) }

// LoadScenario reads and validates a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes strictly (unknown keys are errors), applies
// defaults and validates, returning every problem at once.
func ParseScenario(data []byte) (sc *Scenario, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty scenario")
	}
	// The config file's decoder: every unknown key, wrong kind or bad
	// duration at once, each with its YAML path and line.
	sc = &Scenario{}
	if err := config.DecodeStrict(data, sc); err != nil {
		return nil, err
	}
	sc.applyDefaults()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *Scenario) applyDefaults() {
	if sc.Region == "" {
		sc.Region = DefaultRegion
	}
	if sc.AccountID == "" {
		sc.AccountID = DefaultAccountID
	}
	if sc.Account.ConcurrentExecutions == 0 {
		sc.Account.ConcurrentExecutions = 1000
	}
	if sc.Account.UnreservedMin == 0 {
		sc.Account.UnreservedMin = 100
	}
	if sc.Allocation.PrepDelay.Duration == 0 {
		sc.Allocation.PrepDelay.Duration = 60 * time.Second
	}
	if sc.Allocation.RatePerMinute == 0 {
		sc.Allocation.RatePerMinute = 6000
	}
	if sc.Allocation.DecreaseDelay.Duration == 0 {
		sc.Allocation.DecreaseDelay.Duration = 10 * time.Second
	}
	if sc.Metrics.PublishDelay.Duration == 0 {
		sc.Metrics.PublishDelay.Duration = 60 * time.Second
	}
	if sc.Deploys.WeightedExistingConfig == "" {
		sc.Deploys.WeightedExistingConfig = WeightedKeep
	}
	for i := range sc.Functions {
		f := &sc.Functions[i]
		if f.MemoryMB == 0 {
			f.MemoryMB = 128
		}
		if f.Versions == 0 {
			f.Versions = 1
		}
	}
	for i := range sc.Faults {
		f := &sc.Faults[i]
		if f.Op == "" {
			f.Op = "*"
		}
		if f.Kind == FaultThrottle && f.RetryAfter.Duration == 0 {
			f.RetryAfter.Duration = time.Second
		}
	}
}

// Operations that request faults may name (op "*" means all).
var faultOps = map[string]bool{
	"PutProvisionedConcurrencyConfig": true, "GetProvisionedConcurrencyConfig": true,
	"DeleteProvisionedConcurrencyConfig": true, "ListProvisionedConcurrencyConfigs": true,
	"GetFunctionConcurrency": true, "PutFunctionConcurrency": true, "DeleteFunctionConcurrency": true,
	"GetAccountSettings": true, "GetAlias": true, "ListAliases": true, "ListVersionsByFunction": true,
	"ListFunctions": true, "GetFunctionConfiguration": true, "GetFunction": true,
	"PublishVersion": true, "CreateAlias": true, "UpdateAlias": true, "DeleteAlias": true,
	"TagResource": true, "UntagResource": true, "ListTags": true, "GetResources": true,
	"GetMetricData": true, "PutMetricData": true, "ListMetrics": true,
}

var ()

// problems collects validation errors, each prefixed by its YAML path.
type problems []error

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

// Validate checks every rule and names each problem's YAML path. It
// expects defaults applied (ParseScenario does that).
func (sc *Scenario) Validate() error {
	var p problems
	if !awsname.ValidRegion(sc.Region) {
		p.add("region", "%q is not a region name such as us-east-1", sc.Region)
	}
	if !awsname.ValidAccount(sc.AccountID) {
		p.add("account_id", "%q must be 12 digits", sc.AccountID)
	}
	if sc.Account.ConcurrentExecutions < 1 {
		p.add("account.concurrent_executions", "must be at least 1, got %d", sc.Account.ConcurrentExecutions)
	}
	if sc.Account.UnreservedMin < 0 || sc.Account.UnreservedMin > sc.Account.ConcurrentExecutions {
		p.add("account.unreserved_min", "must be between 0 and concurrent_executions (%d), got %d", sc.Account.ConcurrentExecutions, sc.Account.UnreservedMin)
	}
	if !(sc.Account.ControlPlaneRPS >= 0 && sc.Account.ControlPlaneRPS <= 1e6) {
		p.add("account.control_plane_rps", "must be from 0 (no limit) to 1e6, got %v", sc.Account.ControlPlaneRPS)
	}
	if !(sc.Account.TaggingRPS >= 0 && sc.Account.TaggingRPS <= 1e6) {
		p.add("account.tagging_rps", "must be from 0 (no limit) to 1e6, got %v", sc.Account.TaggingRPS)
	}
	if r := sc.Account.getFunctionRPS(); !(r >= 0 && r <= 1e6) {
		p.add("account.get_function_rps", "must be from 0 (no limit) to 1e6, got %v", r)
	}
	if sc.Allocation.PrepDelay.Duration < 0 {
		p.add("allocation.prep_delay", "must not be negative")
	}
	if sc.Allocation.DecreaseDelay.Duration < 0 {
		p.add("allocation.decrease_delay", "must not be negative")
	}
	if sc.Allocation.RatePerMinute < 1 {
		p.add("allocation.rate_per_minute", "must be at least 1, got %d", sc.Allocation.RatePerMinute)
	}
	if sc.Metrics.PublishDelay.Duration < 0 {
		p.add("metrics.publish_delay", "must not be negative")
	}
	if sc.Metrics.PublishJitter.Duration < 0 {
		p.add("metrics.publish_jitter", "must not be negative")
	}
	names := map[string]int{}
	reservedTotal, unreservedPC := 0, 0
	for i := range sc.Functions {
		f := &sc.Functions[i]
		path := fmt.Sprintf("functions[%d]", i)
		if !awsname.ValidFunctionName(f.Name) {
			p.add(path+".name", "%q must be 1 to 64 letters, digits, - or _", f.Name)
		} else if j, dup := names[f.Name]; dup {
			p.add(path+".name", "%q is already the name of functions[%d]", f.Name, j)
		} else {
			names[f.Name] = i
		}
		if f.MemoryMB < 128 || f.MemoryMB > 10240 {
			p.add(path+".memory_mb", "must be from 128 to 10240, got %d", f.MemoryMB)
		}
		if f.Versions < 1 || f.Versions > 1000 {
			p.add(path+".versions", "must be from 1 to 1000, got %d", f.Versions)
		}
		if f.Reserved != nil {
			if *f.Reserved < 0 {
				p.add(path+".reserved", "must not be negative, got %d", *f.Reserved)
			} else {
				reservedTotal += *f.Reserved
			}
		}
		validateFunction(&p, path, f)
		validateTags(&p, path+".tags", f.Tags)
		if f.Reserved == nil {
			for _, n := range f.Provisioned {
				unreservedPC += max(n, 0)
			}
		}
	}
	unreserved := sc.Account.ConcurrentExecutions - reservedTotal
	if unreserved < sc.Account.UnreservedMin {
		p.add("functions", "reserved concurrency totals %d, leaving %d unreserved, below account.unreserved_min %d", reservedTotal, unreserved, sc.Account.UnreservedMin)
	} else if unreserved-unreservedPC < sc.Account.UnreservedMin {
		p.add("functions", "provisioned concurrency on functions without reserved concurrency totals %d, leaving %d of %d unreserved, below account.unreserved_min %d", unreservedPC, unreserved-unreservedPC, unreserved, sc.Account.UnreservedMin)
	}
	validateDeploys(&p, sc)
	for i, f := range sc.Faults {
		validateFault(&p, fmt.Sprintf("faults[%d]", i), f, names)
	}
	return errors.Join(p...)
}

func validateFunction(p *problems, path string, f *FunctionSpec) {
	version := func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n >= 1 && n <= f.Versions && strconv.Itoa(n) == v
	}
	aliases := map[string]*AliasSpec{}
	for j := range f.Aliases {
		a := &f.Aliases[j]
		ap := fmt.Sprintf("%s.aliases[%d]", path, j)
		_, numeric := strconv.Atoi(a.Name)
		switch {
		case !awsname.ValidQualifier(a.Name) || a.Name == "$LATEST" || numeric == nil:
			p.add(ap+".name", "%q must be 1 to 128 letters, digits, - or _, and not a number", a.Name)
		case aliases[a.Name] != nil:
			p.add(ap+".name", "%q is defined twice", a.Name)
		default:
			aliases[a.Name] = a
		}
		if a.Version != "$LATEST" && !version(a.Version) {
			p.add(ap+".version", "%q is not $LATEST or a version from 1 to %d", a.Version, f.Versions)
		}
		if len(a.Routing) > 1 {
			p.add(ap+".routing", "Lambda routes to at most one additional version, got %d", len(a.Routing))
		}
		for v, wt := range a.Routing {
			if !version(v) || v == a.Version {
				p.add(ap+".routing", "%q is not a version from 1 to %d other than the alias's own", v, f.Versions)
			}
			if !(wt >= 0 && wt <= 1) {
				p.add(ap+".routing."+v, "weight must be from 0 to 1, got %v", wt)
			}
		}
	}
	known := func(q string) bool { return q == "$LATEST" || version(q) || aliases[q] != nil }
	versionOf := func(q string) string {
		if a := aliases[q]; a != nil {
			return a.Version
		}
		return q
	}
	pcByVersion := map[string]string{}
	pcTotal := 0
	for _, q := range sortedKeys(f.Provisioned) {
		n := f.Provisioned[q]
		qp := path + ".provisioned." + q
		switch {
		case !known(q):
			p.add(qp, "%q is not a version or alias of %s", q, f.Name)
			continue
		case versionOf(q) == "$LATEST":
			p.add(qp, "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
			continue
		case aliases[q] != nil && len(aliases[q].Routing) > 0:
			p.add(qp, "Alias with weights can not be used with Provisioned Concurrency")
		}
		if n < 1 {
			p.add(qp, "must be at least 1, got %d", n)
		}
		pcTotal += n
		if other, dup := pcByVersion[versionOf(q)]; dup {
			p.add(qp, "version %s already has provisioned concurrency through %q", versionOf(q), other)
		}
		pcByVersion[versionOf(q)] = q
	}
	if f.Reserved != nil && pcTotal > *f.Reserved {
		p.add(path+".provisioned", "totals %d, more than reserved concurrency %d", pcTotal, *f.Reserved)
	}
	loads := map[string]bool{}
	for j, l := range f.Loads {
		lp := fmt.Sprintf("%s.loads[%d]", path, j)
		if !known(l.Qualifier) {
			p.add(lp+".qualifier", "%q is not $LATEST, a version or an alias of %s", l.Qualifier, f.Name)
		} else if loads[l.Qualifier] {
			p.add(lp+".qualifier", "%q already has a load", l.Qualifier)
		}
		loads[l.Qualifier] = true
		validateLoad(p, lp, l)
	}
}

// maxRate bounds invocations per minute (a billion: far beyond any account's
// concurrency) so arithmetic stays exact.
const maxRate = 1e9

func validateLoad(p *problems, lp string, l Load) {
	nonNeg := func(field string, v float64) {
		if !(v >= 0 && v <= maxRate) {
			p.add(lp+"."+field, "must be a number from 0 to %g, got %v", maxRate, v)
		}
	}
	if !(l.DurationMS > 0 && l.DurationMS <= 900000) {
		p.add(lp+".duration_ms", "must be more than 0 and at most 900000 (15 minutes), got %v", l.DurationMS)
	}
	nonNeg("rate", l.Rate)
	switch l.Kind {
	case LoadConstant:
	case LoadDiurnal:
		nonNeg("peak", l.Peak)
		if _, err := parseClock(l.PeakAt); err != nil {
			p.add(lp+".peak_at", "%q must be a local time HH:MM", l.PeakAt)
		}
		if l.Timezone != "" {
			if _, err := time.LoadLocation(l.Timezone); err != nil {
				p.add(lp+".timezone", "%q is not an IANA time zone: %v", l.Timezone, err)
			}
		}
		if l.Width.Duration < 0 || l.Width.Duration > 12*time.Hour {
			p.add(lp+".width", "must be from 0 (default 3h) to 12h, got %s", l.Width.Duration)
		}
	case LoadStep:
		if len(l.Steps) == 0 {
			p.add(lp+".steps", "a step load needs at least one step")
		}
		for k, s := range l.Steps {
			if s.At.Duration < 0 {
				p.add(fmt.Sprintf("%s.steps[%d].at", lp, k), "must not be negative")
			}
			nonNeg(fmt.Sprintf("steps[%d].rate", k), s.Rate)
		}
	case LoadBursts:
		nonNeg("peak", l.Peak)
		every, width := l.Every.Duration, l.Width.Duration
		if every == 0 {
			every = 30 * time.Minute
		}
		if width == 0 {
			width = 2 * time.Minute
		}
		if every < 0 || width < 0 || width >= every {
			p.add(lp+".width", "bursts need 0 < width (%s) < every (%s)", width, every)
		}
		if l.Offset.Duration < 0 {
			p.add(lp+".offset", "must not be negative")
		}
	case LoadTrace:
		if len(l.PerMinute) == 0 {
			p.add(lp+".per_minute", "a trace load needs invocations per minute")
		}
		for k, v := range l.PerMinute {
			if !(v >= 0 && v <= maxRate) {
				p.add(fmt.Sprintf("%s.per_minute[%d]", lp, k), "must be a number from 0 to %g, got %v", maxRate, v)
			}
		}
	default:
		p.add(lp+".kind", "%q is not one of constant, diurnal, step, bursts, trace", l.Kind)
	}
}

func validateFault(p *problems, fp string, f FaultSpec, functions map[string]int) {
	switch f.Kind {
	case FaultThrottle, FaultServerError, FaultLatency, FaultConflict, FaultUnavailable:
		if f.Op != "*" && !faultOps[f.Op] {
			p.add(fp+".op", "%q is not \"*\" or a simulated operation such as PutProvisionedConcurrencyConfig or GetMetricData", f.Op)
		}
	case FaultFailedAllocation, FaultMetricGap, FaultMetricDelay:
	default:
		p.add(fp+".kind", "%q is not one of throttle, server_error, latency, conflict, unavailable, failed_allocation, metric_gap, metric_delay", f.Kind)
	}
	if f.Probability != nil && !(*f.Probability >= 0 && *f.Probability <= 1) {
		p.add(fp+".probability", "must be from 0 to 1, got %v", *f.Probability)
	}
	if f.From.Duration < 0 {
		p.add(fp+".from", "must not be negative")
	}
	if f.Until.Duration != 0 && f.Until.Duration <= f.From.Duration {
		p.add(fp+".until", "must be after from (%s), got %s", f.From.Duration, f.Until.Duration)
	}
	if (f.Kind == FaultLatency || f.Kind == FaultMetricDelay) && f.Latency.Duration <= 0 {
		p.add(fp+".latency", "a %s fault needs a positive latency", f.Kind)
	}
	if f.RetryAfter.Duration < 0 {
		p.add(fp+".retry_after", "must not be negative")
	}
	if _, ok := functions[f.Function]; f.Function != "" && !ok {
		p.add(fp+".function", "%q is not a function of this scenario", f.Function)
	}
}

// DefaultScenario is the demo's account, matching config.example.yaml:
//
//   - checkout-api:live — diurnal, peaking around 13:00 Berlin time at
//     about 200 concurrent executions (250 ms invocations), ~10 at night;
//   - search-api:live — bursty: ~20 concurrent, with 2-minute spikes to
//     ~150 every 45 minutes (shorter than the 3 datapoints AAS waits for);
//   - report-worker:prod — quiet (20 s jobs, ~2 concurrent) with a nightly
//     batch peaking near 100 concurrent at 02:30 New York time: the case for
//     a cron floor. It has reserved concurrency 150.
//
// search-api also has a weighted alias "canary", on which PC is refused.
func DefaultScenario() *Scenario {
	reserved := 150
	sc := &Scenario{
		Seed: 1,
		Functions: []FunctionSpec{
			{
				Name: "checkout-api", MemoryMB: 1024, Versions: 3,
				Aliases:     []AliasSpec{{Name: "live", Version: "3"}},
				Provisioned: map[string]int{"live": 20},
				Loads: []Load{{
					Qualifier: "live", Kind: LoadDiurnal, DurationMS: 250,
					Rate: 2400, Peak: 48000, PeakAt: "13:00", Timezone: "Europe/Berlin",
					Width: Duration{Duration: 3 * time.Hour},
				}},
			},
			{
				Name: "search-api", MemoryMB: 512, Versions: 2,
				Aliases: []AliasSpec{
					{Name: "live", Version: "2"},
					{Name: "canary", Version: "2", Routing: map[string]float64{"1": 0.1}},
				},
				Provisioned: map[string]int{"live": 25},
				Loads: []Load{{
					Qualifier: "live", Kind: LoadBursts, DurationMS: 400,
					Rate: 3000, Peak: 22500, Every: Duration{Duration: 45 * time.Minute},
					Width: Duration{Duration: 2 * time.Minute}, Offset: Duration{Duration: 10 * time.Minute},
				}},
			},
			{
				Name: "report-worker", MemoryMB: 2048, Versions: 1, Reserved: &reserved,
				Aliases: []AliasSpec{{Name: "prod", Version: "1"}},
				Loads: []Load{{
					Qualifier: "prod", Kind: LoadDiurnal, DurationMS: 20000,
					Rate: 6, Peak: 300, PeakAt: "02:30", Timezone: "America/New_York",
					Width: Duration{Duration: 40 * time.Minute},
				}},
			},
		},
	}
	sc.applyDefaults()
	return sc
}
