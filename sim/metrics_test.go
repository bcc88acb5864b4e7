package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// metricsScenario: "pc" serves a steady 20-concurrent load with PC 15 (so it
// spills), "idle" runs only in minutes 0, 1 and 4, "nopc" has no PC.
const metricsScenario = `
seed: 3
metrics: {publish_delay: 60s}
functions:
  - name: pc
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 15}
    loads: [{qualifier: live, kind: constant, rate: 6000, duration_ms: 200}]
  - name: idle
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 5}
    loads: [{qualifier: live, kind: trace, per_minute: [60, 60, 0, 0, 60], duration_ms: 100}]
  - name: nopc
    versions: 2
    loads:
      - {qualifier: "1", kind: constant, rate: 600, duration_ms: 1000}
      - {qualifier: "2", kind: constant, rate: 1200, duration_ms: 1000}
`

func resourceDims(fn, q string) []Dimension {
	return []Dimension{{Name: DimResource, Value: fn + ":" + q}, {Name: DimFunctionName, Value: fn}}
}

func statQuery(id, metric string, dims []Dimension, stat string, period int32) MetricDataQuery {
	return MetricDataQuery{Id: id, MetricStat: &MetricStat{
		Metric: Metric{Namespace: NamespaceLambda, MetricName: metric, Dimensions: dims}, Period: period, Stat: stat,
	}}
}

func getOne(t *testing.T, w *World, q MetricDataQuery, start, end time.Time) MetricDataResult {
	t.Helper()
	out, err := w.GetMetricData(MetricDataInput{MetricDataQueries: []MetricDataQuery{q}, StartTime: start, EndTime: end, ScanBy: "TimestampAscending"})
	require.NoError(t, err)
	require.Len(t, out.MetricDataResults, 1)
	require.Empty(t, out.NextToken)
	return out.MetricDataResults[0]
}

func minutes(ns ...int) []time.Time {
	var ts []time.Time
	for _, n := range ns {
		ts = append(ts, t0.Add(time.Duration(n)*time.Minute))
	}
	return ts
}

func TestMetricsPublishedAfterDelay(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	q := statQuery("inv", MetricInvocations, resourceDims("pc", "live"), "Sum", 60)

	clk.Set(t0.Add(2*time.Minute + 59*time.Second)) // minute 0 ended at 09:01, visible at 09:02
	r := getOne(t, w, q, t0, t0.Add(time.Hour))
	require.Equal(t, minutes(0), r.Timestamps)

	clk.Set(t0.Add(3 * time.Minute))
	r = getOne(t, w, q, t0, t0.Add(time.Hour))
	require.Equal(t, minutes(0, 1), r.Timestamps)
	require.Equal(t, "Complete", r.StatusCode)
	for _, v := range r.Values {
		require.InDelta(t, 6000, v, 400)
	}
}

func TestMetricsAbsentOnIdleMinutes(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(10 * time.Minute))
	for _, metric := range []string{MetricInvocations, MetricConcurrent, MetricUtilization, MetricPCExecutions, MetricPCInvocation, MetricSpillover} {
		for _, dims := range [][]Dimension{resourceDims("idle", "live"), {{Name: DimFunctionName, Value: "idle"}}} {
			r := getOne(t, w, statQuery("m", metric, dims, "SampleCount", 60), t0, t0.Add(time.Hour))
			require.Equal(t, minutes(0, 1, 4), r.Timestamps, "%s %v", metric, dims)
		}
	}
}

func TestUtilizationOnlyWithPC(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(5 * time.Minute))
	for _, metric := range []string{MetricUtilization, MetricPCExecutions, MetricSpillover, MetricPCInvocation} {
		r := getOne(t, w, statQuery("m", metric, resourceDims("nopc", "1"), "Maximum", 60), t0, t0.Add(time.Hour))
		require.Empty(t, r.Timestamps, metric)
	}
	r := getOne(t, w, statQuery("m", MetricConcurrent, resourceDims("nopc", "1"), "Maximum", 60), t0, t0.Add(time.Hour))
	require.Len(t, r.Timestamps, 4)
}

func TestUtilizationStatistics(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(20 * time.Minute))
	dims := resourceDims("pc", "live")
	res := map[string][]float64{}
	for _, stat := range []string{"Maximum", "Average", "Minimum", "Sum", "SampleCount"} {
		res[stat] = getOne(t, w, statQuery("u", MetricUtilization, dims, stat, 60), t0, t0.Add(time.Hour)).Values
		require.Len(t, res[stat], 19, stat)
	}
	inv := getOne(t, w, statQuery("i", MetricInvocations, dims, "Sum", 60), t0, t0.Add(time.Hour)).Values
	for i := range res["Maximum"] {
		// Mean concurrency is 20 on 15 PC: mostly saturated, sometimes not.
		require.Equal(t, 1.0, res["Maximum"][i])
		require.Less(t, res["Average"][i], res["Maximum"][i])
		require.Greater(t, res["Average"][i], 0.8)
		require.LessOrEqual(t, res["Minimum"][i], res["Average"][i])
		require.InDelta(t, res["Sum"][i]/res["SampleCount"][i], res["Average"][i], 1e-9)
		require.Equal(t, inv[i], res["SampleCount"][i], "one utilization sample per invocation")
	}
	spill := getOne(t, w, statQuery("s", MetricSpillover, dims, "Sum", 60), t0, t0.Add(time.Hour)).Values
	onPC := getOne(t, w, statQuery("p", MetricPCInvocation, dims, "Sum", 60), t0, t0.Add(time.Hour)).Values
	pcMax := getOne(t, w, statQuery("x", MetricPCExecutions, dims, "Maximum", 60), t0, t0.Add(time.Hour)).Values
	for i := range spill {
		require.Greater(t, spill[i], 0.0)
		require.Equal(t, inv[i], spill[i]+onPC[i])
		require.Equal(t, 15.0, pcMax[i])
	}
}

func TestFunctionNameDimensionAggregates(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(6 * time.Minute))
	one := getOne(t, w, statQuery("a", MetricInvocations, resourceDims("nopc", "1"), "Sum", 60), t0, t0.Add(time.Hour)).Values
	two := getOne(t, w, statQuery("b", MetricInvocations, resourceDims("nopc", "2"), "Sum", 60), t0, t0.Add(time.Hour)).Values
	all := getOne(t, w, statQuery("c", MetricInvocations, []Dimension{{Name: DimFunctionName, Value: "nopc"}}, "Sum", 60), t0, t0.Add(time.Hour)).Values
	c1 := getOne(t, w, statQuery("d", MetricConcurrent, resourceDims("nopc", "1"), "Maximum", 60), t0, t0.Add(time.Hour)).Values
	cAll := getOne(t, w, statQuery("e", MetricConcurrent, []Dimension{{Name: DimFunctionName, Value: "nopc"}}, "Maximum", 60), t0, t0.Add(time.Hour)).Values
	require.Len(t, all, 5)
	for i := range all {
		require.Equal(t, one[i]+two[i], all[i])
		require.Greater(t, cAll[i], c1[i], "function concurrency covers both versions")
	}
	// Resource alone is not a dimension set Lambda publishes.
	r := getOne(t, w, statQuery("f", MetricInvocations, []Dimension{{Name: DimResource, Value: "nopc:1"}}, "Sum", 60), t0, t0.Add(time.Hour))
	require.Empty(t, r.Values)
}

func TestMetricsMatchStats(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(31 * time.Minute)) // 31 whole minutes simulated, visible up to minute 29
	var inv, spill float64
	for _, v := range getOne(t, w, statQuery("i", MetricInvocations, resourceDims("pc", "live"), "Sum", 60), t0, t0.Add(time.Hour)).Values {
		inv += v
	}
	for _, v := range getOne(t, w, statQuery("s", MetricSpillover, resourceDims("pc", "live"), "Sum", 60), t0, t0.Add(time.Hour)).Values {
		spill += v
	}
	var mInv, mSpill int64
	ms := w.Minutes("pc", "live")
	require.Len(t, ms, 31)
	for _, m := range ms[:30] {
		mInv += m.Invocations
		mSpill += m.Spillover
		require.Equal(t, 15.0, m.PCAllocated)
		require.Equal(t, 15.0, m.PCAvailable)
	}
	require.Equal(t, float64(mInv), inv)
	require.Equal(t, float64(mSpill), spill)
}

func TestPeriodAggregationAndScanBy(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(12 * time.Minute))
	dims := resourceDims("pc", "live")
	per1 := getOne(t, w, statQuery("a", MetricInvocations, dims, "Sum", 60), t0, t0.Add(10*time.Minute))
	per5 := getOne(t, w, statQuery("b", MetricInvocations, dims, "Sum", 300), t0, t0.Add(10*time.Minute))
	require.Equal(t, minutes(0, 5), per5.Timestamps)
	var first, second float64
	for i, v := range per1.Values {
		if i < 5 {
			first += v
		} else {
			second += v
		}
	}
	require.Equal(t, []float64{first, second}, per5.Values)

	out, err := w.GetMetricData(MetricDataInput{MetricDataQueries: []MetricDataQuery{statQuery("a", MetricInvocations, dims, "Sum", 60)},
		StartTime: t0.Add(30 * time.Second), EndTime: t0.Add(3 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, minutes(2, 1, 0), out.MetricDataResults[0].Timestamps, "descending by default; start rounded down to the minute")
}

func TestGetMetricDataPagination(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(12 * time.Minute))
	var queries []MetricDataQuery
	for i, m := range []string{MetricInvocations, MetricConcurrent, MetricUtilization} {
		queries = append(queries, statQuery(fmt.Sprintf("q%d", i), m, resourceDims("pc", "live"), "Maximum", 60))
	}
	hidden := statQuery("hidden", MetricInvocations, resourceDims("pc", "live"), "Sum", 60)
	f := false
	hidden.ReturnData = &f
	queries = append(queries, hidden)
	in := MetricDataInput{MetricDataQueries: queries, StartTime: t0, EndTime: t0.Add(time.Hour)}
	full, err := w.GetMetricData(in)
	require.NoError(t, err)
	require.Len(t, full.MetricDataResults, 3)

	merged := map[string][]float64{}
	in.MaxDatapoints = 4
	pages := 0
	for {
		out, err := w.GetMetricData(in)
		require.NoError(t, err)
		pages++
		n := 0
		for _, r := range out.MetricDataResults {
			merged[r.Id] = append(merged[r.Id], r.Values...)
			n += len(r.Values)
			if out.NextToken == "" {
				require.Equal(t, "Complete", r.StatusCode)
			}
		}
		require.LessOrEqual(t, n, 4)
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
		require.Less(t, pages, 20)
	}
	require.Equal(t, 9, pages) // 3 × 11 datapoints, 4 a page
	for _, r := range full.MetricDataResults {
		require.Equal(t, r.Values, merged[r.Id], r.Id)
	}
}

func TestGetMetricDataValidation(t *testing.T) {
	good := statQuery("a", MetricInvocations, resourceDims("pc", "live"), "Sum", 60)
	many := make([]MetricDataQuery, 501)
	for i := range many {
		many[i] = statQuery(fmt.Sprintf("q%d", i), MetricInvocations, resourceDims("pc", "live"), "Sum", 60)
	}
	with := func(f func(q *MetricDataQuery)) []MetricDataQuery {
		q := good
		ms := *q.MetricStat
		q.MetricStat = &ms
		f(&q)
		return []MetricDataQuery{q}
	}
	tests := []struct {
		name    string
		in      MetricDataInput
		code    string
		wantErr bool
	}{
		{name: "500 queries is fine", in: MetricDataInput{MetricDataQueries: many[:500]}},
		{name: "501 queries", in: MetricDataInput{MetricDataQueries: many}, code: CodeCWInvalidParameter},
		{name: "no queries", in: MetricDataInput{}, code: CodeCWMissingParameter},
		{name: "period not a multiple of 60", in: MetricDataInput{MetricDataQueries: with(func(q *MetricDataQuery) { q.MetricStat.Period = 90 })}, code: CodeCWInvalidParameter},
		{name: "unknown statistic", in: MetricDataInput{MetricDataQueries: with(func(q *MetricDataQuery) { q.MetricStat.Stat = "p99.9" })}, code: CodeCWInvalidParameter},
		{name: "id must start lowercase", in: MetricDataInput{MetricDataQueries: with(func(q *MetricDataQuery) { q.Id = "Util" })}, code: CodeCWInvalidParameter},
		{name: "duplicate ids", in: MetricDataInput{MetricDataQueries: []MetricDataQuery{good, good}}, code: CodeCWInvalidParameter},
		{name: "expression", in: MetricDataInput{MetricDataQueries: with(func(q *MetricDataQuery) { q.Expression = "SUM(METRICS())" })}, code: CodeCWInvalidParameter},
		{name: "no metric stat", in: MetricDataInput{MetricDataQueries: []MetricDataQuery{{Id: "a"}}}, code: CodeCWMissingParameter},
		{name: "start after end", in: MetricDataInput{MetricDataQueries: []MetricDataQuery{good}, StartTime: t0.Add(time.Hour), EndTime: t0}, code: CodeCWInvalidParameter},
		{name: "bad scan order", in: MetricDataInput{MetricDataQueries: []MetricDataQuery{good}, ScanBy: "Sideways"}, code: CodeCWInvalidParameter},
		{name: "bad next token", in: MetricDataInput{MetricDataQueries: []MetricDataQuery{good}, NextToken: "xyz"}, code: CodeCWInvalidNextToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := newTestWorld(t, metricsScenario)
			clk.Set(t0.Add(5 * time.Minute))
			if tt.in.StartTime.IsZero() {
				tt.in.StartTime, tt.in.EndTime = t0, t0.Add(time.Hour)
			}
			_, err := w.GetMetricData(tt.in)
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			requireAPIError(t, err, 400, tt.code, "")
		})
	}
}

func TestPutMetricDataAndListMetrics(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Set(t0.Add(10 * time.Minute))
	v := 0.5
	dims := []Dimension{{Name: DimFunctionName, Value: "x"}, {Name: DimResource, Value: "x:live"}}
	err := w.PutMetricData("Custom/PC", []MetricDatum{
		{MetricName: MetricUtilization, Dimensions: dims, Timestamp: t0.Add(time.Minute), Value: &v, Unit: "None"},
		{MetricName: MetricUtilization, Dimensions: dims, Timestamp: t0.Add(time.Minute + 10*time.Second), Values: []float64{0.9, 0.1}, Counts: []float64{1, 2}},
		{MetricName: MetricUtilization, Dimensions: dims, Timestamp: t0.Add(2 * time.Minute), StatisticValues: &StatisticSet{SampleCount: 4, Sum: 2, Minimum: 0.2, Maximum: 0.8}},
	})
	require.NoError(t, err)
	q := statQuery("u", MetricUtilization, dims, "Maximum", 60)
	q.MetricStat.Metric.Namespace = "Custom/PC"
	r := getOne(t, w, q, t0, t0.Add(time.Hour))
	require.Equal(t, minutes(1, 2), r.Timestamps)
	require.Equal(t, []float64{0.9, 0.8}, r.Values)
	q.MetricStat.Stat = "SampleCount"
	require.Equal(t, []float64{4, 4}, getOne(t, w, q, t0, t0.Add(time.Hour)).Values)
	q.MetricStat.Unit = "Percent"
	require.Empty(t, getOne(t, w, q, t0, t0.Add(time.Hour)).Values, "a unit that doesn't match returns no data")

	ms := w.ListMetrics("Custom/PC", "", nil)
	require.Equal(t, []Metric{{Namespace: "Custom/PC", MetricName: MetricUtilization, Dimensions: []Dimension{{Name: DimFunctionName, Value: "x"}, {Name: DimResource, Value: "x:live"}}}}, ms)
	lambda := w.ListMetrics(NamespaceLambda, MetricUtilization, []Dimension{{Name: DimResource}})
	var resources []string
	for _, m := range lambda {
		for _, d := range m.Dimensions {
			if d.Name == DimResource {
				resources = append(resources, d.Value)
			}
		}
	}
	require.Equal(t, []string{"idle:live", "pc:live"}, resources)
	require.Len(t, w.ListMetrics(NamespaceLambda, "", []Dimension{{Name: DimFunctionName, Value: "nopc"}}), 6) // Invocations and ConcurrentExecutions × (2 resources + the function)

	tests := []struct {
		name string
		ns   string
		data []MetricDatum
		code string
	}{
		{name: "reserved namespace", ns: "AWS/Lambda", data: []MetricDatum{{MetricName: "m", Value: &v}}, code: CodeCWInvalidParameter},
		{name: "no namespace", ns: "", data: []MetricDatum{{MetricName: "m", Value: &v}}, code: CodeCWMissingParameter},
		{name: "no data", ns: "C", code: CodeCWMissingParameter},
		{name: "no name", ns: "C", data: []MetricDatum{{Value: &v}}, code: CodeCWMissingParameter},
		{name: "no value", ns: "C", data: []MetricDatum{{MetricName: "m"}}, code: CodeCWInvalidParameter},
		{name: "value and values", ns: "C", data: []MetricDatum{{MetricName: "m", Value: &v, Values: []float64{1}}}, code: CodeCWInvalidParameter},
		{name: "counts mismatch", ns: "C", data: []MetricDatum{{MetricName: "m", Values: []float64{1, 2}, Counts: []float64{1}}}, code: CodeCWInvalidParameter},
		{name: "empty dimension value", ns: "C", data: []MetricDatum{{MetricName: "m", Value: &v, Dimensions: []Dimension{{Name: "a"}}}}, code: CodeCWInvalidParameter},
		{name: "bad statistic set", ns: "C", data: []MetricDatum{{MetricName: "m", StatisticValues: &StatisticSet{SampleCount: 0}}}, code: CodeCWInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireAPIError(t, w.PutMetricData(tt.ns, tt.data), 400, tt.code, "")
		})
	}
}

func TestMetricStorePrune(t *testing.T) {
	s := newMetricStore()
	for m := range 5 {
		at := t0.Add(time.Duration(m) * time.Minute)
		s.add("N", "m", nil, "", at, at, agg{sum: 1, count: 1, min: 1, max: 1})
	}
	s.prune(t0.Add(3 * time.Minute))
	se := s.series[seriesKey("N", "m", nil)]
	require.Len(t, se.pts, 2)
	require.Equal(t, t0.Add(3*time.Minute).Unix(), se.pts[0].t)
}
