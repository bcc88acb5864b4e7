package backtest

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Selection picks the functions to replay. Prefixes, Top and Burstiest add
// up (without repeats); all empty selects every function.
type Selection struct {
	Prefixes       []string // HashFunction prefixes, case-insensitive; each must match
	Top            int      // the N busiest by total invocations
	Burstiest      int      // the N burstiest (see Burstiness) among those with MinInvocations
	MinInvocations float64  // floor on total invocations for Burstiest; a handful of calls is noise, not a shape
	// MinActive is the fraction of minutes with invocations a Burstiest
	// candidate needs: bursts on top of traffic, which a scaler can follow,
	// rather than a single spike in an idle day, which none can.
	MinActive float64
}

// ActiveFraction is the share of minutes with at least one invocation.
func ActiveFraction(counts []float64) float64 {
	if len(counts) == 0 {
		return 0
	}
	n := 0
	for _, c := range counts {
		if c > 0 {
			n++
		}
	}
	return float64(n) / float64(len(counts))
}

// Burstiness is the coefficient of variation (population standard deviation
// over mean) of invocations per minute over the whole trace: 0 for a timer
// firing at a fixed rate, ~1 for a diurnal shape, ≫1 for idle-then-burst.
func Burstiness(counts []float64) float64 {
	if len(counts) == 0 {
		return 0
	}
	var sum float64
	for _, c := range counts {
		sum += c
	}
	mean := sum / float64(len(counts))
	if mean == 0 {
		return 0
	}
	var ss float64
	for _, c := range counts {
		ss += (c - mean) * (c - mean)
	}
	return math.Sqrt(ss/float64(len(counts))) / mean
}

// Select returns the selected functions: prefix matches first (busiest first
// within a prefix), then the top N, then the burstiest N.
func Select(t *Trace, s Selection) ([]Function, error) {
	if s.Top < 0 || s.Burstiest < 0 {
		return nil, errors.New("--top and --burstiest must be ≥ 0")
	}
	if len(s.Prefixes) == 0 && s.Top == 0 && s.Burstiest == 0 {
		return append([]Function(nil), t.Functions...), nil
	}
	byTotal := make([]int, len(t.Functions))
	totals := make([]float64, len(t.Functions))
	for i, f := range t.Functions {
		byTotal[i], totals[i] = i, f.Total()
	}
	// Ties broken by ID so the choice is deterministic.
	sort.SliceStable(byTotal, func(a, b int) bool {
		ia, ib := byTotal[a], byTotal[b]
		if totals[ia] != totals[ib] {
			return totals[ia] > totals[ib]
		}
		return t.Functions[ia].ID < t.Functions[ib].ID
	})
	var out []Function
	taken := map[int]bool{}
	take := func(i int) {
		if !taken[i] {
			taken[i] = true
			out = append(out, t.Functions[i])
		}
	}
	for _, p := range s.Prefixes {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			return nil, errors.New("--function: empty prefix")
		}
		n := 0
		for _, i := range byTotal {
			if strings.HasPrefix(strings.ToLower(t.Functions[i].ID), p) {
				take(i)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("--function %s: no function's hash starts with it", p)
		}
	}
	for k := 0; k < s.Top && k < len(byTotal); k++ {
		take(byTotal[k])
	}
	if s.Burstiest > 0 {
		var cands []int
		burst := map[int]float64{}
		for _, i := range byTotal {
			if totals[i] >= s.MinInvocations && totals[i] > 0 && ActiveFraction(t.Functions[i].Counts) >= s.MinActive {
				cands = append(cands, i)
				burst[i] = Burstiness(t.Functions[i].Counts)
			}
		}
		sort.SliceStable(cands, func(a, b int) bool { return burst[cands[a]] > burst[cands[b]] })
		for k := 0; k < s.Burstiest && k < len(cands); k++ {
			take(cands[k])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the selection matched no function")
	}
	return out, nil
}

// ApplyDurations sets each function's DurationMS: the durations file first,
// then the function's own (a plain CSV's column), then fallbackMS. Durations
// under 1 ms count as 1 ms (Lambda's billing floor), so concurrency is never
// zero for a minute with invocations.
func ApplyDurations(fns []Function, durations map[string]float64, fallbackMS float64) error {
	for i := range fns {
		f := &fns[i]
		if d, ok := durations[f.ID]; ok {
			f.DurationMS = d
		}
		if f.DurationMS == 0 {
			f.DurationMS = fallbackMS
		}
		if f.DurationMS <= 0 {
			return fmt.Errorf("function %s has no duration: give --durations with its HashFunction or --duration-ms", f.ID)
		}
		f.DurationMS = math.Max(f.DurationMS, 1)
	}
	return nil
}

// PeakMeanConcurrency is the busiest minute's mean concurrency by Little's
// law: invocations/60 × duration in seconds. --scale-peak targets this
// number; the per-second peak of the arrival model sits above it.
func PeakMeanConcurrency(f Function) float64 {
	var peak float64
	for _, c := range f.Counts {
		peak = math.Max(peak, c)
	}
	return peak / 60 * f.DurationMS / 1000
}

// ScalePeak multiplies a function's counts so its PeakMeanConcurrency
// becomes peak; the shape is kept. A function without invocations is left
// alone. Counts become fractional; the arrival model draws integers from them.
func ScalePeak(f Function, peak float64) Function {
	cur := PeakMeanConcurrency(f)
	if peak <= 0 || cur == 0 {
		return f
	}
	k := peak / cur
	out := f
	out.Counts = make([]float64, len(f.Counts))
	for i, c := range f.Counts {
		out.Counts[i] = c * k
	}
	return out
}
