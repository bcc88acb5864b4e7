package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// TestMergeAndBuild covers answers the simulator does not give: statuses
// other than Complete on a final page, and odd timestamps and values.
func TestMergeAndBuild(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	start, end := t0, t0.Add(5*time.Minute)
	res := func(id string, status types.StatusCode, ts []time.Time, vs []float64) types.MetricDataResult {
		return types.MetricDataResult{Id: aws.String(id), StatusCode: status, Timestamps: ts, Values: vs}
	}
	all := func(status types.StatusCode) []types.MetricDataResult {
		return []types.MetricDataResult{
			res("t0u", status, []time.Time{t0}, []float64{0.5}),
			res("t0s", types.StatusCodeComplete, []time.Time{t0}, []float64{0}),
			res("t0c", types.StatusCodeComplete, []time.Time{t0}, []float64{3}),
			res("t0i", types.StatusCodeComplete, []time.Time{t0}, []float64{40}),
		}
	}
	point := controller.Datapoint{Time: t0, Utilization: 0.5, HasUtilization: true, Concurrency: 3, HasConcurrency: true,
		Invocations: 40, HasInvocations: true}
	for _, tc := range []struct {
		name  string
		pages [][]types.MetricDataResult
		want  controller.Series
	}{
		{name: "complete", pages: [][]types.MetricDataResult{all(types.StatusCodeComplete)},
			want: controller.Series{Points: []controller.Datapoint{point}, Complete: true}},
		{name: "partial data on the last page", pages: [][]types.MetricDataResult{all(types.StatusCodePartialData)},
			want: controller.Series{Points: []controller.Datapoint{point}}},
		{name: "internal error", pages: [][]types.MetricDataResult{all(types.StatusCodeInternalError)},
			want: controller.Series{Points: []controller.Datapoint{point}}},
		{name: "forbidden", pages: [][]types.MetricDataResult{all(types.StatusCodeForbidden)},
			want: controller.Series{Points: []controller.Datapoint{point}}},
		{name: "partial then completed by the next page",
			pages: [][]types.MetricDataResult{all(types.StatusCodePartialData), {res("t0u", types.StatusCodeComplete, nil, nil)}},
			want:  controller.Series{Points: []controller.Datapoint{point}, Complete: true}},
		{name: "a query missing from the answer", pages: [][]types.MetricDataResult{all(types.StatusCodeComplete)[1:]},
			want: controller.Series{Points: []controller.Datapoint{{Time: t0, Concurrency: 3, HasConcurrency: true, Invocations: 40, HasInvocations: true}}}},
		{name: "unaligned, out of window, NaN, short values, unknown id",
			pages: [][]types.MetricDataResult{{
				res("t0u", types.StatusCodeComplete,
					[]time.Time{t0.Add(2*time.Minute + 30*time.Second), t0.Add(-time.Minute), end, t0.Add(3 * time.Minute), t0.Add(4 * time.Minute)},
					[]float64{0.9, 0.1, 0.1, math.NaN()}),
				res("t0s", types.StatusCodeComplete, nil, nil),
				res("t0c", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{math.Inf(1)}),
				res("t0i", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{0}),
				res("zz", types.StatusCodeComplete, []time.Time{t0}, []float64{1}),
			}},
			want: controller.Series{Complete: true, Points: []controller.Datapoint{
				{Time: t0.Add(time.Minute), HasInvocations: true},
				{Time: t0.Add(2 * time.Minute), Utilization: 0.9, HasUtilization: true},
			}}},
		{name: "pages out of order: minutes sorted, a later value wins",
			pages: [][]types.MetricDataResult{
				{res("t0c", types.StatusCodePartialData, []time.Time{t0.Add(3 * time.Minute), t0.Add(4 * time.Minute)}, []float64{5, 6})},
				{res("t0c", types.StatusCodeComplete, []time.Time{t0, t0.Add(3 * time.Minute)}, []float64{1, 7})},
				{res("t0u", types.StatusCodeComplete, nil, nil), res("t0s", types.StatusCodeComplete, nil, nil), res("t0i", types.StatusCodeComplete, nil, nil)},
			},
			want: controller.Series{Complete: true, Points: []controller.Datapoint{
				{Time: t0, Concurrency: 1, HasConcurrency: true},
				{Time: t0.Add(3 * time.Minute), Concurrency: 7, HasConcurrency: true},
				{Time: t0.Add(4 * time.Minute), Concurrency: 6, HasConcurrency: true},
			}}},
		{name: "IDs this batch did not ask are ignored",
			pages: [][]types.MetricDataResult{append(all(types.StatusCodeComplete),
				res("t00c", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{9}),
				res("t+0c", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{9}),
				res("t1c", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{9}),
				res("t0x", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{9}),
				res("t0", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{9}),
				res("t99999999999999999999999c", types.StatusCodeComplete, []time.Time{t0.Add(time.Minute)}, []float64{9}),
			)},
			want: controller.Series{Points: []controller.Datapoint{point}, Complete: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results := newResults([]plan{{kinds: fullKinds}}, start, end)
			for _, p := range tc.pages {
				results.merge(p)
			}
			got := results.build(0)
			if len(tc.want.Points) == 0 {
				tc.want.Points = []controller.Datapoint{}
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzMerge(f *testing.F) {
	f.Add(int64(0), 0.5, "Complete", "t0u")
	f.Add(int64(-1<<62), math.Inf(-1), "PartialData", "t0c")
	f.Add(int64(1<<62), math.NaN(), "", "zz")
	f.Add(int64(1767261600), 1.0, "Complete", "t1c")
	f.Add(int64(1767261600), 1.0, "Complete", "t01c")
	f.Add(int64(1767261600), 1.0, "Complete", "t+0u")
	f.Add(int64(1767261660), 2.0, "Complete", "t99999999999999999999c")
	f.Fuzz(func(t *testing.T, sec int64, v float64, status, id string) {
		t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
		results := newResults([]plan{{kinds: fullKinds}, {kinds: derivedKinds}}, t0, t0.Add(time.Hour))
		results.merge([]types.MetricDataResult{{Id: aws.String(id), StatusCode: types.StatusCode(status),
			Timestamps: []time.Time{time.Unix(sec, 0)}, Values: []float64{v}}})
		s := results.build(0)
		_ = results.build(1)
		derive(s.Points, int(sec%100))
		for _, p := range s.Points {
			if p.Time.Before(t0) || !p.Time.Before(t0.Add(time.Hour)) || math.IsNaN(p.Utilization) {
				t.Fatalf("bad point %+v", p)
			}
		}
	})
}
