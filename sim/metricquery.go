package sim

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CloudWatch limits the simulator enforces (AWS-FACTS §4.2).
const (
	MaxMetricDataQueries = 500
	DefaultMaxDatapoints = 100800
	maxPutDatums         = 1000
	maxDimensions        = 30
)

var queryIDPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

func cwInvalid(msg string) *APIError {
	return &APIError{Status: 400, Code: CodeCWInvalidParameter, Message: msg, Type: TypeSender}
}

func cwMissing(msg string) *APIError {
	return &APIError{Status: 400, Code: CodeCWMissingParameter, Message: msg, Type: TypeSender}
}

// GetMetricData answers MetricStat queries from the metric store: only
// minutes already published (minute end + publish delay ≤ now) count.
// StartTime is rounded down to the minute; buckets start at StartTime and
// step by Period; buckets without data have no datapoint. Pages hold at
// most MaxDatapoints datapoints; a result cut by the page is PartialData
// and NextToken resumes it.
func (w *World) GetMetricData(in MetricDataInput) (MetricDataOutput, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()

	if len(in.MetricDataQueries) == 0 {
		return MetricDataOutput{}, cwMissing("The parameter MetricDataQueries is required.")
	}
	if len(in.MetricDataQueries) > MaxMetricDataQueries {
		return MetricDataOutput{}, cwInvalid(fmt.Sprintf("The collection MetricDataQueries must not have a size greater than %d.", MaxMetricDataQueries))
	}
	if in.StartTime.IsZero() || in.EndTime.IsZero() {
		return MetricDataOutput{}, cwMissing("The parameters StartTime and EndTime are required.")
	}
	start := in.StartTime.UTC().Truncate(time.Minute)
	end := in.EndTime.UTC()
	if !start.Before(end) {
		return MetricDataOutput{}, cwInvalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	ascending := false
	switch in.ScanBy {
	case "", "TimestampDescending":
	case "TimestampAscending":
		ascending = true
	default:
		return MetricDataOutput{}, cwInvalid("The value " + in.ScanBy + " for parameter ScanBy is not valid; use TimestampDescending or TimestampAscending.")
	}
	maxPoints := in.MaxDatapoints
	if maxPoints <= 0 {
		maxPoints = DefaultMaxDatapoints
	}
	skip := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "sim-"))
		if err != nil || n < 0 || !strings.HasPrefix(in.NextToken, "sim-") {
			return MetricDataOutput{}, &APIError{Status: 400, Code: CodeCWInvalidNextToken, Message: "The service couldn't process the NextToken.", Type: TypeSender}
		}
		skip = n
	}

	seen := make(map[string]bool, len(in.MetricDataQueries))
	for i, q := range in.MetricDataQueries {
		if !queryIDPattern.MatchString(q.Id) {
			return MetricDataOutput{}, cwInvalid(fmt.Sprintf("The value %q for parameter MetricDataQueries.member.%d.Id is invalid: it must start with a lowercase letter and contain only letters, digits and underscores.", q.Id, i+1))
		}
		if seen[q.Id] {
			return MetricDataOutput{}, cwInvalid(fmt.Sprintf("The values for parameter id in MetricDataQueries are not unique: %s.", q.Id))
		}
		seen[q.Id] = true
		if q.Expression != "" {
			return MetricDataOutput{}, cwInvalid(fmt.Sprintf("MetricDataQueries.member.%d: Expression is not supported by the simulator; use MetricStat.", i+1))
		}
		if q.MetricStat == nil {
			return MetricDataOutput{}, cwMissing(fmt.Sprintf("MetricDataQueries.member.%d needs a MetricStat.", i+1))
		}
		ms := q.MetricStat
		if ms.Period <= 0 || ms.Period%60 != 0 {
			return MetricDataOutput{}, cwInvalid(fmt.Sprintf("The value %d for parameter MetricDataQueries.member.%d.MetricStat.Period must be a multiple of 60.", ms.Period, i+1))
		}
		if _, ok := (agg{count: 1}).stat(ms.Stat); !ok {
			return MetricDataOutput{}, cwInvalid(fmt.Sprintf("The value %q for parameter MetricDataQueries.member.%d.MetricStat.Stat is not supported: use Average, Maximum, Minimum, Sum or SampleCount.", ms.Stat, i+1))
		}
		if ms.Metric.MetricName == "" || ms.Metric.Namespace == "" {
			return MetricDataOutput{}, cwMissing(fmt.Sprintf("MetricDataQueries.member.%d.MetricStat.Metric needs Namespace and MetricName.", i+1))
		}
	}

	out := MetricDataOutput{MetricDataResults: []MetricDataResult{}}
	budget := maxPoints
	pos := 0 // datapoint position over the whole answer, to resume at skip
	for _, q := range in.MetricDataQueries {
		if q.ReturnData != nil && !*q.ReturnData {
			continue
		}
		ts, vs := w.query(q.MetricStat, start, end, now, ascending)
		label := q.Label
		if label == "" {
			label = q.MetricStat.Metric.MetricName
		}
		r := MetricDataResult{Id: q.Id, Label: label, StatusCode: "Complete", Timestamps: []time.Time{}, Values: []float64{}}
		from := 0
		if skip > pos {
			from = min(len(ts), skip-pos)
		}
		pos += len(ts)
		if skip > 0 && pos <= skip {
			continue // wholly returned on an earlier page
		}
		take := min(len(ts)-from, budget)
		r.Timestamps = append(r.Timestamps, ts[from:from+take]...)
		r.Values = append(r.Values, vs[from:from+take]...)
		budget -= take
		if from+take < len(ts) {
			r.StatusCode = "PartialData"
			out.NextToken = "sim-" + strconv.Itoa(pos-len(ts)+from+take)
			out.MetricDataResults = append(out.MetricDataResults, r)
			break
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out, nil
}

// query computes one MetricStat's datapoints in [start, end) seen at now.
func (w *World) query(ms *MetricStat, start, end, now time.Time, ascending bool) ([]time.Time, []float64) {
	se := w.store.series[seriesKey(ms.Metric.Namespace, ms.Metric.MetricName, ms.Metric.Dimensions)]
	if se == nil || (ms.Unit != "" && ms.Unit != se.unit) {
		return nil, nil
	}
	s0, e0, nowU := start.Unix(), end.Unix(), now.Unix()
	period := int64(ms.Period)
	i := sort.Search(len(se.pts), func(i int) bool { return se.pts[i].t >= s0 })
	j := sort.Search(len(se.pts), func(i int) bool { return se.pts[i].t >= e0 })
	if j <= i {
		return nil, nil
	}
	n := int((e0-s0)/period) + 1
	ts := make([]time.Time, 0, min(j-i, n))
	vs := make([]float64, 0, min(j-i, n))
	var cur agg
	curBucket := int64(math.MinInt64)
	emit := func() {
		if cur.count > 0 {
			v, _ := cur.stat(ms.Stat)
			ts = append(ts, time.Unix(curBucket, 0).UTC())
			vs = append(vs, v)
		}
		cur = agg{}
	}
	for ; i < j; i++ {
		p := se.pts[i]
		if p.visible > nowU {
			continue
		}
		b := s0 + (p.t-s0)/period*period
		if b != curBucket {
			emit()
			curBucket = b
		}
		cur.addSet(p.agg)
	}
	emit()
	if !ascending {
		for l, r := 0, len(ts)-1; l < r; l, r = l+1, r-1 {
			ts[l], ts[r] = ts[r], ts[l]
			vs[l], vs[r] = vs[r], vs[l]
		}
	}
	return ts, vs
}

// PutMetricData stores custom metrics (visible at once). AWS/ namespaces
// are reserved, as in CloudWatch.
func (w *World) PutMetricData(namespace string, data []MetricDatum) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	if namespace == "" {
		return cwMissing("The parameter Namespace is required.")
	}
	if strings.HasPrefix(namespace, "AWS/") {
		return cwInvalid("The value AWS/ for parameter Namespace is invalid.")
	}
	if len(data) == 0 {
		return cwMissing("The parameter MetricData is required.")
	}
	if len(data) > maxPutDatums {
		return cwInvalid(fmt.Sprintf("The collection MetricData must not have a size greater than %d.", maxPutDatums))
	}
	aggs := make([]agg, len(data))
	for i, d := range data {
		p := fmt.Sprintf("MetricData.member.%d", i+1)
		if d.MetricName == "" {
			return cwMissing("The parameter " + p + ".MetricName is required.")
		}
		if len(d.Dimensions) > maxDimensions {
			return cwInvalid(fmt.Sprintf("The collection %s.Dimensions must not have a size greater than %d.", p, maxDimensions))
		}
		for j, dim := range d.Dimensions {
			if dim.Name == "" || dim.Value == "" {
				return cwInvalid(fmt.Sprintf("The parameter %s.Dimensions.member.%d needs Name and Value.", p, j+1))
			}
		}
		var a agg
		set := 0
		if d.Value != nil {
			set++
			if !finite(*d.Value) {
				return cwInvalid("The value for parameter " + p + ".Value is not a finite number.")
			}
			a.add(*d.Value, 1)
		}
		if d.StatisticValues != nil {
			set++
			sv := *d.StatisticValues
			if !finite(sv.Sum) || !finite(sv.Minimum) || !finite(sv.Maximum) || !(sv.SampleCount > 0) || sv.Minimum > sv.Maximum {
				return cwInvalid("The parameter " + p + ".StatisticValues is invalid: SampleCount must be positive and Minimum ≤ Maximum.")
			}
			a.addSet(agg{sum: sv.Sum, count: sv.SampleCount, min: sv.Minimum, max: sv.Maximum})
		}
		if len(d.Values) > 0 {
			set++
			if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return cwInvalid("The parameters " + p + ".Values and " + p + ".Counts must be of the same size.")
			}
			for k, v := range d.Values {
				c := 1.0
				if len(d.Counts) > 0 {
					c = d.Counts[k]
				}
				if !finite(v) || !(c > 0) || math.IsInf(c, 0) {
					return cwInvalid("The parameter " + p + ".Values holds a value that is not finite or a count that is not positive.")
				}
				a.addSet(agg{sum: v * c, count: c, min: v, max: v})
			}
		}
		if set != 1 {
			return cwInvalid("The parameter " + p + " must have exactly one of Value, Values or StatisticValues.")
		}
		aggs[i] = a
	}
	for i, d := range data {
		ts := d.Timestamp
		if ts.IsZero() {
			ts = now
		}
		m := ts.UTC().Truncate(time.Minute)
		w.store.add(namespace, d.MetricName, d.Dimensions, d.Unit, m, m, aggs[i])
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// ListMetrics lists metrics with at least one visible datapoint, filtered
// by namespace and name (when non-empty) and dimensions (each filter's Name
// must be present; a non-empty Value must match). Sorted by namespace, name
// and dimensions.
func (w *World) ListMetrics(namespace, metricName string, dims []Dimension) []Metric {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync().Unix()
	var keys []string
	for k, se := range w.store.series {
		m := se.metric
		if (namespace != "" && m.Namespace != namespace) || (metricName != "" && m.MetricName != metricName) {
			continue
		}
		if !dimsMatch(m.Dimensions, dims) || !se.visibleBy(now) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Metric, 0, len(keys))
	for _, k := range keys {
		m := w.store.series[k].metric
		m.Dimensions = append([]Dimension{}, m.Dimensions...)
		out = append(out, m)
	}
	return out
}

func (se *series) visibleBy(now int64) bool {
	for _, p := range se.pts {
		if p.visible <= now {
			return true
		}
	}
	return false
}

func dimsMatch(have, filter []Dimension) bool {
	for _, f := range filter {
		found := false
		for _, h := range have {
			if h.Name == f.Name && (f.Value == "" || f.Value == h.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
