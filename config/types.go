// Package config turns the YAML file into a typed, defaulted and validated Config.
package config

import "time"

// Config is the whole file after defaults are applied. Targets carry a fully
// resolved Policy: defaults first, then the target's own overrides.
type Config struct {
	Region   string   `yaml:"region"`
	Interval Duration `yaml:"interval"`
	Listen   string   `yaml:"listen"`
	DryRun   bool     `yaml:"dry_run"`
	// Mode is normal (decide and write) or shadow (decide, write nothing,
	// and compare with what the current controller sets).
	Mode     string   `yaml:"mode"`
	Log      Log      `yaml:"log"`
	AWS      AWS      `yaml:"aws"`
	HA       HA       `yaml:"ha"`
	Pricing  Pricing  `yaml:"pricing"`
	Defaults Policy   `yaml:"defaults"`
	Targets  []Target `yaml:"targets"`
	// Discover, when set, adds the functions whose tags match (the
	// Resource Groups Tagging API), re-discovered every Discover.Interval.
	Discover *Discover `yaml:"discover"`
	// Accounts are further account-Regions managed from this process, each
	// with its own credentials, budget, targets and discovery.
	Accounts []Account `yaml:"accounts"`
}

// Log selects slog's level and handler.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // json | text
}

// AWS holds the settings of the AWS boundary.
type AWS struct {
	LambdaRPS          float64 `yaml:"lambda_rps"`          // shared token bucket for every Lambda control-plane call
	CloudWatchProtocol string  `yaml:"cloudwatch_protocol"` // cbor | json | query
	CloudWatchMetrics  string  `yaml:"cloudwatch_metrics"`  // derived | compact | full: metrics read per target
	Endpoint           string  `yaml:"endpoint"`            // optional; overrides both services (emulators, pcautoscaler sim)
	Workers            int     `yaml:"workers"`             // bounded pool for per-target Lambda calls
	// MetricsMaxLag bounds the freshness watermark: a minute older than this
	// counts as published even when no target has a datapoint for it.
	MetricsMaxLag Duration `yaml:"metrics_max_lag"`
	// MetricsProbe is how often the loop probes CloudWatch for the next
	// minute while it is late; 0 turns probing off.
	MetricsProbe Duration `yaml:"metrics_probe"`
	// StartupTimeout is how long start-up retries what can be retried
	// (throttling, 5xx, network) before the daemon gives up and exits.
	StartupTimeout Duration `yaml:"startup_timeout"`
}

// Pricing turns PC into money for the spend estimate.
type Pricing struct {
	PCPricePerGBSecond float64 `yaml:"pc_price_per_gb_second"` // USD; us-east-1 x86 is 0.0000041667
}

// Policy is every per-target setting; `defaults` holds one and each target may
// override any field.
type Policy struct {
	Statistic          string   `yaml:"statistic"`          // Maximum | Average
	TargetUtilization  float64  `yaml:"target_utilization"` // (0,1)
	ScaleInRatio       float64  `yaml:"scale_in_ratio"`     // (0,1): scale in below target × ratio
	ScaleOutDatapoints int      `yaml:"scale_out_datapoints"`
	ScaleInDatapoints  int      `yaml:"scale_in_datapoints"`
	ScaleOutCooldown   Duration `yaml:"scale_out_cooldown"`
	ScaleInCooldown    Duration `yaml:"scale_in_cooldown"`
	MaxScaleInStep     Step     `yaml:"max_scale_in_step"`
	MaxScaleOutStep    Step     `yaml:"max_scale_out_step"`
	MissingData        string   `yaml:"missing_data"` // idle | hold
	IdleAfter          Duration `yaml:"idle_after"`
	Min                int      `yaml:"min"`
	Max                int      `yaml:"max"`
	AllowZero          bool     `yaml:"allow_zero"`
	MemoryMB           int      `yaml:"memory_mb"`            // 0: read from Lambda (GetFunction)
	Predict            string   `yaml:"predict"`              // periodic | off: pre-provision for bursts that recur on a period
	PredictLead        Duration `yaml:"predict_lead"`         // how long before a predicted burst the floor starts
	PredictLookback    Duration `yaml:"predict_lookback"`     // datapoints the predictor reads
	OnForeignChange    string   `yaml:"on_foreign_change"`    // override | yield: when someone else changes the PC
	YieldFor           Duration `yaml:"yield_for"`            // with yield: how long to leave the target alone
	WeightedAlarmAfter Duration `yaml:"weighted_alarm_after"` // routing weights standing longer than this raise a Warn and an alert
	CoexistWithAAS     bool     `yaml:"coexist_with_aas"`     // manage an alias that Application Auto Scaling also has a scalable target on
}

// Modes of the daemon.
const (
	ModeNormal = "normal" // decide and write
	ModeShadow = "shadow" // decide, write nothing, record what the current controller set
)

// What the daemon does when another writer changes a target's PC.
const (
	ForeignOverride = "override" // put back what the metrics ask for (next tick), with a Warn
	ForeignYield    = "yield"    // leave the target alone for yield_for, then resume
)

// CloudWatch metric modes: how many metrics a tick reads per target.
const (
	MetricsDerived = "derived" // 1: ConcurrentExecutions; utilization and spillover derived from allocated PC (Maximum targets)
	MetricsCompact = "compact" // 2: utilization and concurrent executions
	MetricsFull    = "full"    // 4: utilization, spillover, concurrent executions, invocations
)

// Statistic and missing-data values.
const (
	StatMaximum     = "Maximum"
	StatAverage     = "Average"
	MissingIdle     = "idle"
	MissingHold     = "hold"
	PredictPeriodic = "periodic"
	PredictOff      = "off"
)

// Target is one alias or version under management.
type Target struct {
	Function  string `yaml:"function"`  // name, partial ARN or full ARN
	Qualifier string `yaml:"qualifier"` // alias or version; never $LATEST
	Policy    `yaml:",inline"`
	Schedules []ScheduleSpec `yaml:"schedules"`
}

// ScheduleSpec is one cron window as written in the file.
type ScheduleSpec struct {
	Name     string   `yaml:"name"`
	Cron     string   `yaml:"cron"`     // 5-field or descriptor (@daily …)
	Timezone string   `yaml:"timezone"` // IANA; default UTC
	Duration Duration `yaml:"duration"`
	Lead     Duration `yaml:"lead"`
	Floor    *int     `yaml:"floor"`
	Ceiling  *int     `yaml:"ceiling"`
}

// Duration is a time.Duration written as "90s", "5m", "10h".
type Duration struct{ time.Duration }

// Step limits a scale step: an absolute count ("10") or a percentage of
// current ("25%"). The zero value means unlimited.
type Step struct {
	Absolute int
	Percent  float64
}

// Limit returns the largest change allowed from current; 0 means unlimited.
func (s Step) Limit(current int) int {
	switch {
	case s.Absolute > 0:
		return s.Absolute
	case s.Percent > 0:
		n := int(float64(current) * s.Percent / 100)
		if n < 1 {
			n = 1
		}
		return n
	}
	return 0
}
