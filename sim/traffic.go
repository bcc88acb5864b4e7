package sim

import "time"

// Load kinds.
const (
	LoadConstant = "constant"
	LoadDiurnal  = "diurnal"
	LoadStep     = "step"
	LoadBursts   = "bursts"
	LoadTrace    = "trace"
)

// Load is one qualifier's traffic. Rates are invocations per minute.
type Load struct {
	Qualifier  string    `yaml:"qualifier"`
	Kind       string    `yaml:"kind"`        // constant | diurnal | step | bursts | trace
	DurationMS float64   `yaml:"duration_ms"` // each invocation's run time
	Rate       float64   `yaml:"rate"`        // constant level; diurnal trough; step and bursts baseline
	Peak       float64   `yaml:"peak"`        // diurnal peak; burst level
	PeakAt     string    `yaml:"peak_at"`     // diurnal: local "HH:MM" of the peak
	Timezone   string    `yaml:"timezone"`    // diurnal: IANA zone of PeakAt; default UTC
	Width      Duration  `yaml:"width"`       // diurnal: σ of the daily bump; bursts: burst length
	Every      Duration  `yaml:"every"`       // bursts: period
	Offset     Duration  `yaml:"offset"`      // bursts: first burst this long after start
	Steps      []StepAt  `yaml:"steps"`       // step: rate changes at offsets from start
	PerMinute  []float64 `yaml:"per_minute"`  // trace: invocations per minute from start
}

// StepAt switches a step load to Rate at offset At from the start.
type StepAt struct {
	At   Duration `yaml:"at"`
	Rate float64  `yaml:"rate"`
}

// Traffic turns a Load into per-second arrivals and concurrency.
// TODO(sim): model.
type Traffic struct {
	load  Load
	seed  int64
	start time.Time
}

// NewTraffic builds the deterministic traffic of l for seed from start.
func NewTraffic(l Load, seed int64, start time.Time) *Traffic {
	return &Traffic{load: l, seed: seed, start: start}
}

// Second returns the arrivals in second i after start and the concurrency
// (invocations in flight) at its end.
func (t *Traffic) Second(i int64) (arrivals int, concurrency int) { return 0, 0 }
