package backtest

import (
	"math"
	"sort"
)

// Minute is one replayed minute of one function under one policy, as the
// simulator accounted it.
type Minute struct {
	Invocations     int64
	Spillover       int64
	PeakConcurrency int     // demand: the largest per-second concurrency of the minute
	PCAllocated     float64 // average allocated PC over the minute
}

// Result is one row of report.csv plus what the charts and totals need.
type Result struct {
	Function               string
	Policy                 string
	PCHours                float64
	SpilloverPct           float64
	MeanUtilization        float64
	PutCalls               int
	CoverP50Min            float64
	CoverP95Min            float64
	CWMetricsPerTargetHour float64
	// CWProbeMetricsPerHour is the part of CWMetricsPerTargetHour that ours'
	// probes for a late minute requested (a fleet shares them).
	CWProbeMetricsPerHour float64

	Target float64 // ours' target_utilization or aas' target; 0 for static and oracle

	Invocations int64
	Spillover   int64
	PCSeconds   float64 // allocated
	UsedSeconds float64 // PC-seconds that ran invocations
	Episodes    []int   // length in minutes of each uncovered episode

	// Per minute of the whole replay (warm-up included), for the charts.
	Warmup int // leading minutes not scored
	PC     []float64
	Demand []int
	Spill  []int64
}

// Measure turns a policy's minutes into its metrics:
//
//   - pc_hours = Σ allocated PC × minutes / 60.
//   - spillover_pct = spillover invocations / invocations × 100.
//   - mean_utilization = PC-seconds used / PC-seconds allocated, where an
//     invocation served on PC uses durationS PC-seconds (the arrival model
//     holds each invocation for exactly its duration, so this is exact up
//     to the last minute's tail).
//   - cover: an uncovered episode is a run of consecutive minutes with
//     spillover (demand above available PC); its length is the minutes until
//     the first minute without spillover — PC covered demand again. p50 and
//     p95 are nearest-rank over the episodes; 0 when there were none.
func Measure(fn, policy string, mins []Minute, durationS float64, putCalls int, cwPerTargetHour float64) Result {
	r := Result{Function: fn, Policy: policy, PutCalls: putCalls, CWMetricsPerTargetHour: cwPerTargetHour}
	run := 0
	for _, m := range mins {
		r.Invocations += m.Invocations
		r.Spillover += m.Spillover
		r.PCSeconds += m.PCAllocated * 60
		r.UsedSeconds += float64(m.Invocations-m.Spillover) * durationS
		r.PC = append(r.PC, m.PCAllocated)
		r.Demand = append(r.Demand, m.PeakConcurrency)
		if m.Spillover > 0 {
			run++
			continue
		}
		if run > 0 {
			r.Episodes = append(r.Episodes, run)
			run = 0
		}
	}
	if run > 0 { // still uncovered when the trace ends: counted as far as it went
		r.Episodes = append(r.Episodes, run)
	}
	r.PCHours = r.PCSeconds / 3600
	if r.Invocations > 0 {
		r.SpilloverPct = float64(r.Spillover) / float64(r.Invocations) * 100
	}
	if r.PCSeconds > 0 {
		r.MeanUtilization = r.UsedSeconds / r.PCSeconds
	}
	r.CoverP50Min = percentile(r.Episodes, 50)
	r.CoverP95Min = percentile(r.Episodes, 95)
	return r
}

// percentile is the nearest-rank percentile of xs; 0 for none.
func percentile(xs []int, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	k = min(max(k, 0), len(s)-1)
	return float64(s[k])
}
