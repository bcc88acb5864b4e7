package scale

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// The benchmarks measure once per iteration and report the figures with
// b.ReportMetric; ns/op is the wall time of the whole run (simulator
// included) and means little. Run them with -benchtime 1x (see README.md).
// SCALE_TARGETS=n runs a smaller account with lambda_rps scaled alike
// (n/1000), the ratio the 10,000-target account has.

func benchFleet(b *testing.B) Fleet {
	f := DefaultFleet()
	if v := os.Getenv("SCALE_TARGETS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			b.Fatalf("SCALE_TARGETS=%q: want a number ≥ 10", v)
		}
		f.Targets, f.Surge, f.LambdaRPS = n, n/10, float64(n)/1000
	}
	return f
}

// BenchmarkFleet10k: 10,000 quiet targets from start-up (the daemon's
// preflight) to the steady state, then a 4× surge on 1,000 of them.
func BenchmarkFleet10k(b *testing.B) {
	f := benchFleet(b)
	for range b.N {
		rep, err := Measure(context.Background(), f, DefaultPlan())
		if rep != nil {
			b.Log("\n" + rep.String())
		}
		if err != nil {
			b.Fatal(err)
		}
		st := rep.Startup
		b.ReportMetric(st.FirstDecisionSeconds, "first-decision-s")
		b.ReportMetric(float64(st.FirstDecisionCalls), "first-decision-calls")
		b.ReportMetric(st.AllReadSeconds, "all-read-s")
		b.ReportMetric(float64(st.AllReadCalls), "all-read-calls")
		if sd := rep.Steady; sd != nil {
			b.ReportMetric(sd.CallsPerSecond, "steady-lambda-calls/s")
			b.ReportMetric(sd.GMDPerTick, "steady-gmd/tick")
			b.ReportMetric(float64(sd.ProbeGMD)/(sd.To.Sub(sd.From).Minutes()), "probe-gmd/min")
			b.ReportMetric(sd.TickWall.Mean.Seconds(), "tick-wall-s")
		}
		if s := rep.Surge; s != nil {
			b.ReportMetric(float64(s.Scaled), "surge-scaled")
			b.ReportMetric(s.FromPublished.P50.Seconds(), "surge-p50-s")
			b.ReportMetric(s.FromPublished.Max.Seconds(), "surge-max-s")
			b.ReportMetric(s.TickTook.Max.Seconds(), "tick-sim-max-s")
		}
	}
}

// BenchmarkHeap10k: the daemon's own heap for 10,000 targets, no simulator
// in the process.
func BenchmarkHeap10k(b *testing.B) {
	o := HeapOptions{}
	if v := os.Getenv("SCALE_TARGETS"); v != "" {
		o.Targets, _ = strconv.Atoi(v)
	}
	for range b.N {
		h, err := MeasureHeap(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%+v", h)
		b.ReportMetric(h.LiveMB, "live-MB")
		b.ReportMetric(h.PeakMB, "peak-MB")
		b.ReportMetric(h.SteadyPeakMB, "steady-peak-MB")
		b.ReportMetric(h.AllocMBPerTick, "alloc-MB/tick")
		b.ReportMetric(h.WallPerTick.Seconds(), "tick-wall-s")
		b.ReportMetric(h.CPUPerTick.Seconds(), "tick-cpu-s")
		b.ReportMetric(float64(h.AllRead), "all-read-ticks")
	}
}
