package telemetry

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/ha"
)

// sampleTargets are the targets of the sample registry used by the scrape
// and name tests.
var sampleTargets = []controller.TargetID{
	{Function: "checkout-api", Qualifier: "live"},
	{Function: "search", Qualifier: "7"},
	{Function: "arn:aws:lambda:us-east-1:123456789012:function:orders", Qualifier: "prod"},
}

// newSampleRegistry builds a registry with NewMetrics and feeds it one of
// everything the daemon records, so every family (including label-less
// vectors such as aws_api_calls_total) is exported.
func newSampleRegistry() (*prometheus.Registry, *Metrics) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, sampleTargets, BuildInfo{Version: "0.0.0-test", Revision: "deadbeef"})
	m.SetPricing(0.0000041667, map[controller.TargetID]int{sampleTargets[0]: 1024})
	m.AttachReadiness(NewReadiness(time.Minute, time.Now))
	// The daemon's registry also holds the leader election's series.
	ha.NewNone(ha.Options{Metrics: ha.NewMetrics(reg)})
	now := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	for i, id := range sampleTargets {
		pc := controller.PCConfig{Exists: true, Requested: 10 * (i + 1), Allocated: 10 * (i + 1),
			Status: controller.StatusReady, LastModified: now.Add(-time.Hour)}
		d := controller.Decision{Current: pc.Requested, Desired: pc.Requested + 5, Direction: controller.DirOut,
			Reason: controller.ReasonUtilization, Action: controller.ActPut, EffectiveMin: 1, EffectiveMax: 100,
			Utilization: 0.82}
		m.Observed(id, pc, controller.Limits{Known: true, MemoryMB: 2048}, d)
		m.ObserveDemand(id, float64(12*(i+1)), float64(i))
		m.Acted(id, d, "ok")
		m.ObserveStall(id, controller.StallNone)
	}
	m.ObserveStall(sampleTargets[1], controller.StallStaleMetrics)
	m.ObserveFreshness(controller.Freshness{Watermark: now.Add(-2 * time.Minute), Lag: 2*time.Minute + 5*time.Second,
		PublishDelay: 95 * time.Second, ClockOffset: 1200 * time.Millisecond, ClockKnown: true})
	m.ObserveCall(ServiceLambda, "GetProvisionedConcurrencyConfig", awsapi.ClassOK, 40*time.Millisecond)
	m.ObserveCall(ServiceLambda, "PutProvisionedConcurrencyConfig", awsapi.ClassThrottled, 90*time.Millisecond)
	m.ObserveCall(ServiceCloudWatch, "GetMetricData", awsapi.ClassOK, 120*time.Millisecond)
	m.MetricsRequested(4 * len(sampleTargets))
	m.Ticked(now, 800*time.Millisecond, nil)
	m.Ticked(now.Add(time.Minute), 300*time.Millisecond, errors.New("sample failure"))
	return reg, m
}
