package metrics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// cannedCloudWatch answers every query with one datapoint a minute over the
// whole window, oldest first, as CloudWatch does with ScanBy
// TimestampAscending: what the benchmark measures is this package's own
// work (requests, merge, build), not a codec or a network.
type cannedCloudWatch struct {
	ts   []time.Time
	vals []float64
}

func newCanned(start, end time.Time) *cannedCloudWatch {
	c := &cannedCloudWatch{}
	for t := start; t.Before(end); t = t.Add(time.Minute) {
		c.ts = append(c.ts, t)
		c.vals = append(c.vals, float64(len(c.vals)%7)/7)
	}
	return c
}

func (c *cannedCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: make([]types.MetricDataResult, len(in.MetricDataQueries))}
	for i, q := range in.MetricDataQueries {
		out.MetricDataResults[i] = types.MetricDataResult{Id: q.Id, StatusCode: types.StatusCodeComplete, Timestamps: c.ts, Values: c.vals}
	}
	return out, nil
}

// BenchmarkFetchSeries: one tick's Fetch of 10,000 targets over a 185-minute
// window (predict_lookback 3 h), every minute present, without the wire:
// allocs/op and B/op are this package's.
func BenchmarkFetchSeries(b *testing.B) {
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	start := end.Add(-185 * time.Minute)
	var queries []controller.MetricQuery
	for i := range 10000 {
		queries = append(queries, controller.MetricQuery{ID: controller.TargetID{Function: fmt.Sprintf("fn%05d", i), Qualifier: "live"}, Statistic: "Maximum"})
	}
	for _, tc := range []struct {
		name string
		o    options
	}{
		{name: "derived", o: options{alloc: func(controller.TargetID) (int, bool) { return 10, true }}},
		{name: "full"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			src := newSource(newCanned(start, end), tc.o)
			b.ReportAllocs()
			for b.Loop() {
				got, err := src.Fetch(context.Background(), queries, start, end)
				if err != nil || len(got) != len(queries) || len(got[queries[0].ID].Points) != 185 {
					b.Fatalf("fetch: %v, %d series", err, len(got))
				}
			}
		})
	}
}

var _ cloudwatch.GetMetricDataAPIClient = (*cannedCloudWatch)(nil)
