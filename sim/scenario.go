package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario describes a simulated account: limits, allocation speed, metric
// publication, functions with their versions, aliases, reserved and
// provisioned concurrency and traffic, and injected faults.
type Scenario struct {
	Seed       int64          `yaml:"seed"`
	Region     string         `yaml:"region"`     // default us-east-1
	AccountID  string         `yaml:"account_id"` // default 123456789012
	Account    AccountSpec    `yaml:"account"`
	Allocation AllocationSpec `yaml:"allocation"`
	Metrics    MetricsSpec    `yaml:"metrics"`
	Functions  []FunctionSpec `yaml:"functions"`
	Faults     []FaultSpec    `yaml:"faults"`
}

// AccountSpec holds the account's concurrency limits.
type AccountSpec struct {
	ConcurrentExecutions int `yaml:"concurrent_executions"` // default 1000
	UnreservedMin        int `yaml:"unreserved_min"`        // default 100
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
}

// FunctionSpec is one function.
type FunctionSpec struct {
	Name        string         `yaml:"name"`
	MemoryMB    int            `yaml:"memory_mb"` // default 128
	Reserved    *int           `yaml:"reserved"`  // reserved concurrency; nil = none
	Versions    int            `yaml:"versions"`  // published versions 1..n; default 1
	Aliases     []AliasSpec    `yaml:"aliases"`
	Provisioned map[string]int `yaml:"provisioned"` // qualifier → initial PC, READY at start
	Loads       []Load         `yaml:"loads"`
}

// AliasSpec is one alias; Routing adds weighted versions.
type AliasSpec struct {
	Name    string             `yaml:"name"`
	Version string             `yaml:"version"`
	Routing map[string]float64 `yaml:"routing"`
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
)

// FaultSpec injects one kind of fault. Op is the API operation name
// (e.g. PutProvisionedConcurrencyConfig, GetMetricData) or "*" for all; it
// is ignored by failed_allocation, metric_gap and metric_delay, which may be
// narrowed by Function and Qualifier instead. From/Until are offsets from
// the world's start (Until 0 = forever). Probability defaults to 1.
type FaultSpec struct {
	Op          string   `yaml:"op"`
	Kind        string   `yaml:"kind"`
	Probability *float64 `yaml:"probability"`
	From        Duration `yaml:"from"`
	Until       Duration `yaml:"until"`
	Latency     Duration `yaml:"latency"`     // latency: added delay; metric_delay: extra publication delay
	RetryAfter  Duration `yaml:"retry_after"` // throttle: Retry-After, whole seconds; default 1s
	Function    string   `yaml:"function"`
	Qualifier   string   `yaml:"qualifier"`
}

// Duration is a time.Duration written as a Go duration string ("90s", "5m").
// Bare numbers are rejected: "60" could mean seconds or nanoseconds.
type Duration struct{ time.Duration }

// UnmarshalYAML accepts only duration strings.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!int" || n.Tag == "!!float" {
		return fmt.Errorf("line %d: want a duration such as \"90s\" or \"5m\", got %q", n.Line, n.Value)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: want a duration such as \"90s\" or \"5m\", got %q", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	sc = &Scenario{}
	if err := dec.Decode(sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty scenario")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("scenario must be a single YAML document")
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

// Validate checks every rule and names each problem's YAML path.
// TODO(sim): full rules.
func (sc *Scenario) Validate() error { return nil }

// DefaultScenario is the demo's account. TODO(sim): functions.
func DefaultScenario() *Scenario {
	sc := &Scenario{Seed: 1}
	sc.applyDefaults()
	return sc
}
