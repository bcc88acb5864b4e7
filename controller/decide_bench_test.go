package controller

import (
	"testing"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// BenchmarkDecide: one quiet target's decision over the default window
// (predict_lookback 3h + metrics_max_lag), as every tick makes it for every
// target: allocations here are multiplied by the fleet (10,000 at scale/).
func BenchmarkDecide(b *testing.B) {
	const n = 185
	start := winEnd.Add(-n * time.Minute)
	pts := make([]Datapoint, 0, n)
	for i := range n {
		c := 66.0 + float64(i%3)
		pts = append(pts, Datapoint{Time: start.Add(time.Duration(i) * time.Minute), Utilization: c / 100, HasUtilization: true,
			Concurrency: c, HasConcurrency: true})
	}
	in := Input{Now: t0, WindowStart: start, WindowEnd: winEnd, Policy: config.DefaultPolicy(),
		PC:     PCConfig{Exists: true, Requested: 100, Allocated: 100, Available: 100, Status: StatusReady, LastModified: t0.Add(-5 * time.Hour)},
		Series: Series{Points: pts, Complete: true}, Limits: Limits{Known: true, AccountUnreserved: 1000}}
	in.Policy.Max = 1000
	b.ReportAllocs()
	for b.Loop() {
		_ = Decide(in)
	}
}
