package sim

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Load kinds.
const (
	LoadConstant = "constant"
	LoadDiurnal  = "diurnal"
	LoadStep     = "step"
	LoadBursts   = "bursts"
	LoadTrace    = "trace"
)

// Load is one qualifier's traffic. Rates are invocations per minute.
//
//	constant: Rate all the time.
//	diurnal:  Rate + (Peak−Rate)·exp(−d²/2σ²), d = distance of the local
//	          time of day from PeakAt (in Timezone), σ = Width (default 3h).
//	step:     Rate, then each Steps[k].Rate from offset Steps[k].At.
//	bursts:   Rate, and Peak for Width (default 2m) every Every (default
//	          30m), the first burst Offset after the start.
//	trace:    PerMinute[m] in minute m after the start, 0 after the end.
type Load struct {
	Qualifier  string    `yaml:"qualifier"`
	Kind       string    `yaml:"kind"`                 // constant | diurnal | step | bursts | trace
	DurationMS float64   `yaml:"duration_ms"`          // each invocation's run time
	Rate       float64   `yaml:"rate,omitempty"`       // constant level; diurnal trough; step and bursts baseline
	Peak       float64   `yaml:"peak,omitempty"`       // diurnal peak; burst level
	PeakAt     string    `yaml:"peak_at,omitempty"`    // diurnal: local "HH:MM" of the peak
	Timezone   string    `yaml:"timezone,omitempty"`   // diurnal: IANA zone of PeakAt; default UTC
	Width      Duration  `yaml:"width,omitempty"`      // diurnal: σ of the daily bump; bursts: burst length
	Every      Duration  `yaml:"every,omitempty"`      // bursts: period
	Offset     Duration  `yaml:"offset,omitempty"`     // bursts: first burst this long after start
	Steps      []StepAt  `yaml:"steps,omitempty"`      // step: rate changes at offsets from start
	PerMinute  []float64 `yaml:"per_minute,omitempty"` // trace: invocations per minute from start
}

// StepAt switches a step load to Rate at offset At from the start.
type StepAt struct {
	At   Duration `yaml:"at"`
	Rate float64  `yaml:"rate"`
}

// Traffic turns a Load into per-second arrivals and concurrency. It is
// deterministic for (load, seed, start) and random-access: Second(i) is a
// pure function of i, so the backtest's oracle sees exactly the arrivals the
// world served. Sequential calls (i, i+1, …) cost O(1) each.
//
// The model, per second i (time start+i s):
//   - rate λ = the load's per-minute rate at that second / 60;
//   - arrivals a(i) ~ Poisson(λ), drawn from a PCG keyed by (seed, i): an
//     inversion sampler below λ = 30, the normal approximation above
//     (error well under 1% of the mean there);
//   - arrivals are uniform within their second and each runs for D seconds,
//     so the invocations in flight at the end of second i are those that
//     arrived in the last D seconds: all of a(i−k) for k < ⌊D⌋, and each of
//     a(i−⌊D⌋) with probability frac(D) — a Binomial draw keyed by (seed, i).
//     Its mean is Little's law, λ·D; for sub-second D it is
//     Binomial(a(i), D). This is the instantaneous concurrency Lambda's
//     ConcurrentExecutions samples, not an upper bound.
//
// A Traffic is not safe for concurrent use.
type Traffic struct {
	load  Load
	start time.Time
	k0    uint64
	k1    uint64
	full  int64   // ⌊D⌋ in seconds
	frac  float64 // D − ⌊D⌋
	loc   *time.Location
	peak  float64 // diurnal: seconds after local midnight
	sigma float64 // diurnal: seconds
	steps []StepAt

	pcg *rand.PCG
	rng *rand.Rand

	ring []int // a(j) for j in (last−full−1, last], indexed j mod len
	last int64 // last second computed; valid only when have
	have bool
	sum  int // a(last−full+1) + … + a(last)
}

// NewTraffic builds the deterministic traffic of l for seed from start.
// The qualifier is part of the key, so loads of one scenario differ.
// A load that fails Validate behaves as no traffic where it is invalid.
func NewTraffic(l Load, seed int64, start time.Time) *Traffic {
	h := fnv.New64a()
	h.Write([]byte(l.Qualifier))
	h.Write([]byte{0})
	h.Write([]byte(l.Kind))
	d := l.DurationMS / 1000
	if !(d > 0) || math.IsInf(d, 0) {
		d = 0.001
	}
	if d > 900 {
		d = 900 // Lambda's 15-minute limit
	}
	full := math.Floor(d)
	t := &Traffic{
		load:  l,
		start: start,
		k0:    splitmix(uint64(seed)),
		k1:    splitmix(h.Sum64()),
		full:  int64(full),
		frac:  d - full,
		loc:   time.UTC,
		sigma: 3 * 3600,
	}
	if l.Kind == LoadDiurnal {
		if loc, err := time.LoadLocation(l.Timezone); err == nil && l.Timezone != "" {
			t.loc = loc
		}
		if p, err := parseClock(l.PeakAt); err == nil {
			t.peak = p
		}
		if l.Width.Duration > 0 {
			t.sigma = l.Width.Seconds()
		}
	}
	t.steps = append([]StepAt(nil), l.Steps...)
	sort.SliceStable(t.steps, func(i, j int) bool { return t.steps[i].At.Duration < t.steps[j].At.Duration })
	t.pcg = rand.NewPCG(0, 0)
	t.rng = rand.New(t.pcg)
	t.ring = make([]int, t.full+1)
	return t
}

// Duration returns each invocation's run time.
func (t *Traffic) Duration() time.Duration {
	return time.Duration((float64(t.full) + t.frac) * float64(time.Second))
}

// RatePerMinute returns the load's mean rate in second i (invocations per minute).
func (t *Traffic) RatePerMinute(i int64) float64 {
	l := &t.load
	var r float64
	switch l.Kind {
	case LoadConstant:
		r = l.Rate
	case LoadDiurnal:
		at := t.start.Add(time.Duration(i) * time.Second).In(t.loc)
		tod := float64(at.Hour()*3600 + at.Minute()*60 + at.Second())
		d := math.Abs(tod - t.peak)
		if d > 43200 {
			d = 86400 - d
		}
		r = l.Rate + (l.Peak-l.Rate)*math.Exp(-d*d/(2*t.sigma*t.sigma))
	case LoadStep:
		r = l.Rate
		off := time.Duration(i) * time.Second
		for _, s := range t.steps {
			if off >= s.At.Duration {
				r = s.Rate
			}
		}
	case LoadBursts:
		r = l.Rate
		every, width := l.Every.Duration, l.Width.Duration
		if every <= 0 {
			every = 30 * time.Minute
		}
		if width <= 0 {
			width = 2 * time.Minute
		}
		off := time.Duration(i)*time.Second - l.Offset.Duration
		if off >= 0 && off%every < width {
			r = l.Peak
		}
	case LoadTrace:
		if i >= 0 {
			if m := i / 60; m < int64(len(l.PerMinute)) {
				r = l.PerMinute[m]
			}
		}
	}
	if !(r > 0) || math.IsInf(r, 0) {
		return 0
	}
	return r
}

// Second returns the arrivals in second i after start and the concurrency
// (invocations in flight) at its end.
func (t *Traffic) Second(i int64) (arrivals int, concurrency int) {
	switch {
	case t.have && i == t.last:
	case t.have && i == t.last+1:
		a := t.arrivals(i)
		n := int64(len(t.ring))
		t.ring[mod(i, n)] = a
		t.sum += a
		if t.full > 0 {
			t.sum -= t.ring[mod(i-t.full, n)] // leaves the full-second window
		} else {
			t.sum = 0
		}
		t.last = i
	default:
		n := int64(len(t.ring))
		t.sum = 0
		for j := i - t.full; j <= i; j++ {
			a := t.arrivals(j)
			t.ring[mod(j, n)] = a
			if j > i-t.full {
				t.sum += a
			}
		}
		t.last, t.have = i, true
	}
	edge := t.ring[mod(i-t.full, int64(len(t.ring)))]
	return t.ring[mod(i, int64(len(t.ring)))], t.sum + t.binomial(i, edge, t.frac)
}

// arrivals draws a(i) ~ Poisson(rate/60) from the stream keyed by i.
func (t *Traffic) arrivals(i int64) int {
	lambda := t.RatePerMinute(i) / 60
	if lambda <= 0 {
		return 0
	}
	t.pcg.Seed(t.k0^splitmix(uint64(i)), t.k1)
	return poisson(t.rng, lambda)
}

// binomial draws Binomial(n, p) from a second stream keyed by i.
func (t *Traffic) binomial(i int64, n int, p float64) int {
	if n <= 0 || p <= 0 {
		return 0
	}
	t.pcg.Seed(t.k0^splitmix(uint64(i)^0x5bd1e9955bd1e995), t.k1+1)
	return binomial(t.rng, n, p)
}

func poisson(r *rand.Rand, lambda float64) int {
	if lambda < 30 {
		// Inversion by sequential search: exact, O(λ).
		u := r.Float64()
		p := math.Exp(-lambda)
		cdf := p
		k := 0
		for u > cdf && k < 1000 {
			k++
			p *= lambda / float64(k)
			cdf += p
		}
		return k
	}
	v := math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64())
	if v < 0 {
		return 0
	}
	return int(v)
}

func binomial(r *rand.Rand, n int, p float64) int {
	if p >= 1 {
		return n
	}
	if n < 50 {
		k := 0
		for range n {
			if r.Float64() < p {
				k++
			}
		}
		return k
	}
	mean := float64(n) * p
	v := math.Round(mean + math.Sqrt(mean*(1-p))*r.NormFloat64())
	return int(math.Max(0, math.Min(float64(n), v)))
}

// splitmix is SplitMix64's finaliser: it decorrelates nearby keys.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}

// parseClock parses "HH:MM" into seconds after midnight.
func parseClock(s string) (float64, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return 0, strconv.ErrSyntax
	}
	hh, err := strconv.Atoi(h)
	if err != nil || hh < 0 || hh > 23 {
		return 0, strconv.ErrSyntax
	}
	mm, err := strconv.Atoi(m)
	if err != nil || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, strconv.ErrSyntax
	}
	return float64(hh*3600 + mm*60), nil
}
