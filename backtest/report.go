package backtest

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is report.csv's header, fixed by issue 5.
const CSVHeader = "function,policy,pc_hours,spillover_pct,mean_utilization,put_calls,cover_p50_min,cover_p95_min,cw_metrics_per_target_hour"

// Report is a backtest's outcome.
type Report struct {
	Options   Options
	Functions []FunctionInfo
	Results   []Result // function-major, policies in the order asked
	Totals    []Total  // one per policy
	Sweep     []Result // --sweep-targets runs that are not in Results
	Frontier  *Frontier
}

// FunctionInfo describes a replayed function as it was replayed.
type FunctionInfo struct {
	ID              string
	DurationMS      float64
	Minutes         int
	Invocations     float64 // after scaling
	PeakMeanConc    float64 // busiest minute's invocations/60 × duration
	PeakConcurrency int     // per-second peak of the seeded arrivals
	Burstiness      float64
	Scale           float64   // factor applied to the counts (1 without --scale-peak)
	Start           time.Time // the replay's first minute on the simulated clock
}

// Total sums one policy over every function.
type Total struct {
	Policy          string
	PCHours         float64
	SpilloverPct    float64
	MeanUtilization float64
	PutCalls        int
	CoverP50Min     float64
	CoverP95Min     float64
	CWPerTargetHour float64
	CWProbesPerHour float64 // of which ours' probes (mean)
	CostUSD         float64
}

func totals(results []Result, policies []string, memoryMB int, price float64) []Total {
	out := make([]Total, 0, len(policies))
	for _, p := range policies {
		t := Total{Policy: p}
		var inv, spill int64
		var alloc, used, cw, probes float64
		var eps []int
		n := 0
		for _, r := range results {
			if r.Policy != p {
				continue
			}
			n++
			t.PCHours += r.PCHours
			t.PutCalls += r.PutCalls
			inv += r.Invocations
			spill += r.Spillover
			alloc += r.PCSeconds
			used += r.UsedSeconds
			cw += r.CWMetricsPerTargetHour
			probes += r.CWProbeMetricsPerHour
			eps = append(eps, r.Episodes...)
		}
		if inv > 0 {
			t.SpilloverPct = float64(spill) / float64(inv) * 100
		}
		if alloc > 0 {
			t.MeanUtilization = used / alloc
		}
		if n > 0 {
			t.CWPerTargetHour, t.CWProbesPerHour = cw/float64(n), probes/float64(n)
		}
		t.CoverP50Min, t.CoverP95Min = percentile(eps, 50), percentile(eps, 95)
		t.CostUSD = Cost(t.PCHours, memoryMB, price)
		out = append(out, t)
	}
	return out
}

// Cost is the PC charge of pcHours at memoryMB and price per GB-second.
// (Invocation and duration charges are left out: they barely depend on the
// policy.)
func Cost(pcHours float64, memoryMB int, pricePerGBSecond float64) float64 {
	return pcHours * 3600 * float64(memoryMB) / 1024 * pricePerGBSecond
}

func ff(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }

// WriteCSV writes report.csv.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(strings.Split(CSVHeader, ",")); err != nil {
		return err
	}
	for _, x := range r.Results {
		if err := cw.Write([]string{x.Function, x.Policy, ff(x.PCHours, 3), ff(x.SpilloverPct, 4),
			ff(x.MeanUtilization, 4), strconv.Itoa(x.PutCalls), ff(x.CoverP50Min, 0), ff(x.CoverP95Min, 0),
			ff(x.CWMetricsPerTargetHour, 1)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteMarkdown writes report.md: settings, one table per function, totals
// with $, and how each number is defined.
func (r *Report) WriteMarkdown(w io.Writer) error {
	o := r.Options
	var b strings.Builder
	fmt.Fprintf(&b, "# Backtest report\n\n")
	fmt.Fprintf(&b, "- trace: `%s`", o.Trace)
	if o.Durations != "" {
		fmt.Fprintf(&b, ", durations: `%s`", o.Durations)
	}
	fmt.Fprintf(&b, "\n- seed %d, policies %s", o.Seed, strings.Join(o.Policies, ","))
	if o.ScalePeak > 0 {
		fmt.Fprintf(&b, ", scaled so the busiest minute's mean concurrency is %s", ff(o.ScalePeak, 0))
	}
	if o.Config != "" {
		fmt.Fprintf(&b, ", ours from `%s`", o.Config)
	} else {
		b.WriteString(", ours at default settings")
	}
	fmt.Fprintf(&b, "\n- price: $%s per GB-second of PC at %d MB\n", strconv.FormatFloat(o.Price, 'f', -1, 64), o.MemoryMB)
	fmt.Fprintf(&b, "- simulated AWS: metrics published %s after their minute plus 0–%s (per function and minute, seeded), allocation after %s of preparation\n",
		o.publishDelay(), o.publishJitter(), o.prepDelay().Round(time.Second))
	if w := o.warmupMinutes(); w > 0 {
		fmt.Fprintf(&b, "- warm-up: the first %s replayed from PC = 1 for ours and aas and not scored (every number below is the rest)\n", time.Duration(w)*time.Minute)
	} else {
		b.WriteString("- no warm-up: ours and aas start at the first minute's peak / 0.7, every minute scored\n")
	}
	fmt.Fprintf(&b, "- aas: target %s, AlarmLow below %s, scale-in step at most %s of PC (assumption, see backtest/aas.go); ours through the `%s` wire\n\n",
		ff(o.aasTarget(), 2), ff(o.aasTarget()*0.9, 3), stepLabel(o.aasScaleInStep()), o.Wire)

	b.WriteString("| function | duration ms | invocations | peak mean conc. | peak conc. (per second) | burstiness (CV) |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Functions {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s |\n", short(f.ID), ff(f.DurationMS, 0), ff(f.Invocations, 0),
			ff(f.PeakMeanConc, 1), f.PeakConcurrency, ff(f.Burstiness, 2))
	}
	b.WriteString("\n## Per function\n\n")
	b.WriteString("| function | policy | PC-hours | $ | spillover % | mean util. | Puts | cover p50 min | cover p95 min | CW metrics / target-hour |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", short(x.Function), x.Policy,
			ff(x.PCHours, 1), ff(Cost(x.PCHours, o.MemoryMB, o.Price), 2), ff(x.SpilloverPct, 3),
			ff(x.MeanUtilization, 3), x.PutCalls, ff(x.CoverP50Min, 0), ff(x.CoverP95Min, 0), cwLabel(x.CWMetricsPerTargetHour, x.CWProbeMetricsPerHour))
	}
	b.WriteString("\n## Totals\n\n")
	b.WriteString("| policy | PC-hours | $ | spillover % | mean util. | Puts | cover p50 min | cover p95 min | CW metrics / target-hour (mean) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Totals {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", t.Policy, ff(t.PCHours, 1), ff(t.CostUSD, 2),
			ff(t.SpilloverPct, 3), ff(t.MeanUtilization, 3), t.PutCalls, ff(t.CoverP50Min, 0), ff(t.CoverP95Min, 0), cwLabel(t.CWPerTargetHour, t.CWProbesPerHour))
	}
	b.WriteString(observationCost(r.Totals))
	if r.Frontier != nil {
		b.WriteString(r.Frontier.markdown(o.aasTarget()))
	}
	b.WriteString(definitions)
	_, err := io.WriteString(w, b.String())
	return err
}

func cwLabel(total, probes float64) string {
	if probes > 0 {
		return ff(total, 0) + " (probes " + ff(probes, 0) + ")"
	}
	return ff(total, 0)
}

// CloudWatch prices (us-east-1): GetMetricData per metric requested, a
// standard-resolution alarm per month.
const (
	GetMetricDataPerMetric = 0.01 / 1000
	AlarmPerMonth          = 0.10
	hoursPerMonth          = 730
)

// observationCost is report.md's $ per target-month of reading CloudWatch.
func observationCost(ts []Total) string {
	var b strings.Builder
	for _, t := range ts {
		if t.Policy != PolicyOurs {
			continue
		}
		own := t.CWPerTargetHour - t.CWProbesPerHour
		b.WriteString("\n## Observation cost\n\n")
		fmt.Fprintf(&b, "- ours: %s metrics per target-hour, $%s per target-month at $0.01 per 1,000 GetMetricData metrics. "+
			"Of these, %s are the ticks' reads (derived mode: one metric per target and tick, four while its config is allocating) "+
			"and %s the probes for a late minute, which a fleet shares (one query, whoever the pilot target is): $%s per target-month in a fleet of 100.\n",
			ff(t.CWPerTargetHour, 0), ff(t.CWPerTargetHour*hoursPerMonth*GetMetricDataPerMetric, 2), ff(own, 0), ff(t.CWProbesPerHour, 0),
			ff((own+t.CWProbesPerHour/100)*hoursPerMonth*GetMetricDataPerMetric, 2))
		fmt.Fprintf(&b, "- aas: two alarms, $%s per target-month ($%s per standard-resolution alarm-month).\n", ff(2*AlarmPerMonth, 2), ff(AlarmPerMonth, 2))
	}
	return b.String()
}

func stepLabel(f float64) string {
	if f >= 1 {
		return "the whole proportional cut"
	}
	return ff(f*100, 0) + "%"
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

const definitions = `
## Definitions

- **PC-hours**: allocated provisioned concurrency integrated over the replay; **$** = PC-hours × 3600 × memory GB × price.
- **spillover %**: invocations served on standard concurrency because PC was exhausted, over all invocations.
- **mean util.**: PC-seconds that ran invocations (served invocations × duration) over PC-seconds allocated.
- **Puts**: successful PutProvisionedConcurrencyConfig calls (and Deletes).
- **cover p50/p95**: lengths in minutes of runs of consecutive minutes with spillover, i.e. from demand exceeding available PC until PC covers it again.
- **CW metrics / target-hour**: CloudWatch metrics requested per managed target per hour: ours = what its GetMetricData reads ask for; aas = 2 alarms × 60 evaluations; static and oracle read nothing.
- Arrivals: per second Poisson at the minute's rate, each invocation runs for the function's duration (the simulator's seeded model, sim.Traffic); every policy sees the same arrivals.
- **static**: PC fixed at the replay's per-second peak concurrency. **oracle**: PC each minute = that minute's per-second peak, set with no allocation delay (min 1), the lower bound at zero spillover.
`
