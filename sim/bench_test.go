package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkAdvanceDay simulates 24 h of one diurnal function peaking near
// 200 concurrent.
func BenchmarkAdvanceDay(b *testing.B) {
	sc := DefaultScenario()
	sc.Functions = sc.Functions[:1]
	for b.Loop() {
		clk := NewVirtualClock(t0)
		w, err := NewWorld(sc, clk)
		if err != nil {
			b.Fatal(err)
		}
		w.AdvanceTo(t0.Add(24 * time.Hour))
	}
}

// scaleScenario has n functions with PC and a light constant load each.
func scaleScenario(n int) string {
	var sb strings.Builder
	sb.WriteString("account: {concurrent_executions: 1000000}\nfunctions:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - {name: fn%d, aliases: [{name: live, version: \"1\"}], provisioned: {live: 2}, loads: [{qualifier: live, kind: constant, rate: 60, duration_ms: 500}]}\n", i)
	}
	return sb.String()
}

// BenchmarkGetMetricData10k answers one tick's reads for 10,000 targets
// (4 metrics each, 20 minutes, batches of 500 queries).
func BenchmarkGetMetricData10k(b *testing.B) {
	const n = 10000
	sc, err := ParseScenario([]byte(scaleScenario(n)))
	if err != nil {
		b.Fatal(err)
	}
	clk := NewVirtualClock(t0)
	w, err := NewWorld(sc, clk)
	if err != nil {
		b.Fatal(err)
	}
	clk.Advance(20 * time.Minute)
	w.AdvanceTo(clk.Now())
	var queries []MetricDataQuery
	for i := range n {
		dims := resourceDims(fmt.Sprintf("fn%d", i), "live")
		for k, m := range []string{MetricUtilization, MetricSpillover, MetricConcurrent, MetricInvocations} {
			queries = append(queries, statQuery(fmt.Sprintf("q%d_%d", i, k), m, dims, "Maximum", 60))
		}
	}
	b.ResetTimer()
	for b.Loop() {
		points := 0
		for lo := 0; lo < len(queries); lo += MaxMetricDataQueries {
			out, err := w.GetMetricData(MetricDataInput{MetricDataQueries: queries[lo:min(len(queries), lo+MaxMetricDataQueries)],
				StartTime: t0, EndTime: clk.Now()})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range out.MetricDataResults {
				points += len(r.Values)
			}
		}
		if points == 0 {
			b.Fatal("no datapoints")
		}
	}
}

// BenchmarkAdvanceMinute10k simulates one minute of 10,000 light targets.
func BenchmarkAdvanceMinute10k(b *testing.B) {
	sc, err := ParseScenario([]byte(scaleScenario(10000)))
	if err != nil {
		b.Fatal(err)
	}
	clk := NewVirtualClock(t0)
	w, err := NewWorld(sc, clk)
	if err != nil {
		b.Fatal(err)
	}
	at := t0
	for b.Loop() {
		at = at.Add(time.Minute)
		w.AdvanceTo(at)
	}
}
