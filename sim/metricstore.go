package sim

import (
	"math"
	"sort"
	"strings"
	"time"
)

// The metric store keeps, per metric (namespace, name, dimension set), one
// aggregate per minute: Sum, SampleCount, Minimum, Maximum — enough for
// every statistic the simulator answers, whatever the period. Each minute
// carries the time it becomes visible, which models the publication delay.

// Lambda metric names and dimensions.
const (
	NamespaceLambda    = "AWS/Lambda"
	MetricUtilization  = "ProvisionedConcurrencyUtilization"
	MetricPCExecutions = "ProvisionedConcurrentExecutions"
	MetricPCInvocation = "ProvisionedConcurrencyInvocations"
	MetricSpillover    = "ProvisionedConcurrencySpilloverInvocations"
	MetricConcurrent   = "ConcurrentExecutions"
	MetricInvocations  = "Invocations"
	MetricThrottles    = "Throttles"
	DimFunctionName    = "FunctionName"
	DimResource        = "Resource"
)

// agg is a CloudWatch statistic set.
type agg struct {
	sum, count, min, max float64
}

// add records weight samples of value v.
func (a *agg) add(v float64, weight int) {
	if weight <= 0 {
		return
	}
	a.addSet(agg{sum: v * float64(weight), count: float64(weight), min: v, max: v})
}

func (a *agg) addSet(b agg) {
	if b.count <= 0 {
		return
	}
	if a.count == 0 {
		*a = b
		return
	}
	a.sum += b.sum
	a.count += b.count
	a.min = math.Min(a.min, b.min)
	a.max = math.Max(a.max, b.max)
}

// stat returns the named statistic; ok is false for unknown names.
func (a agg) stat(name string) (float64, bool) {
	switch name {
	case "Sum":
		return a.sum, true
	case "SampleCount":
		return a.count, true
	case "Average":
		return a.sum / a.count, true
	case "Maximum":
		return a.max, true
	case "Minimum":
		return a.min, true
	}
	return 0, false
}

type point struct {
	t       int64 // minute start, Unix seconds
	visible int64 // Unix seconds from which queries see it
	agg
}

type series struct {
	metric Metric // dimensions sorted by name
	unit   string
	pts    []point // sorted by t
}

type metricStore struct {
	series map[string]*series
}

func newMetricStore() *metricStore { return &metricStore{series: map[string]*series{}} }

// seriesKey identifies a metric; dimensions match as a set.
func seriesKey(namespace, name string, dims []Dimension) string {
	var b strings.Builder
	b.Grow(len(namespace) + len(name) + 32*len(dims))
	b.WriteString(namespace)
	b.WriteByte(0)
	b.WriteString(name)
	if len(dims) > 1 && !sort.SliceIsSorted(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name }) {
		dims = sortedDims(dims)
	}
	for _, d := range dims {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

func sortedDims(dims []Dimension) []Dimension {
	out := append([]Dimension(nil), dims...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// get returns a series, creating it if needed.
func (s *metricStore) get(namespace, name string, dims []Dimension, unit string) *series {
	key := seriesKey(namespace, name, dims)
	se := s.series[key]
	if se == nil {
		se = &series{metric: Metric{Namespace: namespace, MetricName: name, Dimensions: sortedDims(dims)}, unit: unit}
		s.series[key] = se
	}
	return se
}

// add merges a minute aggregate into a series, creating it if needed.
func (s *metricStore) add(namespace, name string, dims []Dimension, unit string, minute time.Time, visible time.Time, a agg) {
	s.get(namespace, name, dims, unit).add(minute, visible, a)
}

// add merges a minute aggregate into the series.
func (se *series) add(minute time.Time, visible time.Time, a agg) {
	p := point{t: minute.Unix(), visible: visible.Unix(), agg: a}
	n := len(se.pts)
	if n == 0 || se.pts[n-1].t < p.t {
		se.pts = append(se.pts, p)
		return
	}
	i := sort.Search(n, func(i int) bool { return se.pts[i].t >= p.t })
	if i < n && se.pts[i].t == p.t {
		se.pts[i].addSet(p.agg)
		se.pts[i].visible = max(se.pts[i].visible, p.visible)
		return
	}
	se.pts = append(se.pts, point{})
	copy(se.pts[i+1:], se.pts[i:])
	se.pts[i] = p
}

// The Lambda metrics a minuteAcc publishes, indexes into its series cache.
const (
	mInvocations = iota
	mThrottles
	mConcurrent
	mSpillover
	mPCInvocations
	mPCExecutions
	mUtilization
	numLambdaMetrics
)

var lambdaMetrics = [numLambdaMetrics]struct{ name, unit string }{
	{MetricInvocations, "Count"}, {MetricThrottles, "Count"}, {MetricConcurrent, "Count"},
	{MetricSpillover, "Count"}, {MetricPCInvocation, "Count"}, {MetricPCExecutions, "Count"},
	{MetricUtilization, "None"},
}

// minuteAcc accumulates one minute of one dimension set of Lambda metrics.
type minuteAcc struct {
	out *accSeries // where publish writes; survives the per-minute reset

	inv       int64 // invocations that ran
	throttled int64
	pcInv     int64 // invocations while a PC config existed
	spill     int64
	util      agg // min(c, PC)/PC per invocation
	pcExec    agg // min(c, PC) per invocation
	conc      agg // concurrency per invocation
}

// recordLoad adds second-level samples: a invocations, spill of them on
// demand, at concurrency c with avail PC.
func (m *minuteAcc) recordLoad(a, spill int, hasPC bool, avail, c int) {
	if a <= 0 {
		return
	}
	m.inv += int64(a)
	if !hasPC {
		return
	}
	m.pcInv += int64(a)
	m.spill += int64(spill)
	onPC := min(c, avail)
	m.pcExec.add(float64(onPC), a)
	if avail > 0 {
		m.util.add(float64(onPC)/float64(avail), a)
	}
}

// recordConcurrency adds a samples of concurrency c.
func (m *minuteAcc) recordConcurrency(a, c int) {
	m.conc.add(float64(c), a)
}

// accSeries is a dimension set and its series, looked up once.
type accSeries struct {
	store  *metricStore
	dims   []Dimension
	series [numLambdaMetrics]*series
}

func newAccSeries(s *metricStore, dims []Dimension) *accSeries {
	return &accSeries{store: s, dims: dims}
}

func (o *accSeries) add(metric int, minute, visible time.Time, a agg) {
	se := o.series[metric]
	if se == nil {
		se = o.store.get(NamespaceLambda, lambdaMetrics[metric].name, o.dims, lambdaMetrics[metric].unit)
		o.series[metric] = se
	}
	se.add(minute, visible, a)
}

// publish writes the minute's metrics and resets the accumulator. A minute
// without invocations publishes nothing, as Lambda does.
func (m *minuteAcc) publish(minute, visible time.Time) {
	o := m.out
	defer func() { *m = minuteAcc{out: o} }()
	if m.inv == 0 && m.throttled == 0 {
		return
	}
	if m.inv > 0 {
		o.add(mInvocations, minute, visible, agg{sum: float64(m.inv), count: float64(m.inv), min: 1, max: 1})
	}
	if m.throttled > 0 {
		o.add(mThrottles, minute, visible, binaryAgg(m.throttled, m.inv+m.throttled))
	}
	if m.conc.count > 0 {
		o.add(mConcurrent, minute, visible, m.conc)
	}
	if m.pcInv > 0 {
		o.add(mSpillover, minute, visible, binaryAgg(m.spill, m.pcInv))
		o.add(mPCInvocations, minute, visible, binaryAgg(m.pcInv-m.spill, m.pcInv))
		o.add(mPCExecutions, minute, visible, m.pcExec)
	}
	if m.util.count > 0 {
		o.add(mUtilization, minute, visible, m.util)
	}
}

// discard drops the minute (an injected metric gap).
func (m *minuteAcc) discard() { *m = minuteAcc{out: m.out} }

// binaryAgg is n samples of which ones are 1 and the rest 0.
func binaryAgg(ones, n int64) agg {
	a := agg{sum: float64(ones), count: float64(n), min: 0, max: 0}
	if ones > 0 {
		a.max = 1
	}
	if ones == n {
		a.min = 1
	}
	return a
}

// flushMinute publishes the minute starting at m for every load, function
// and the account, visible after the publication delay plus the function's
// jitter (plus injected delays; injected gaps drop a load's minute).
func (w *World) flushMinute(m time.Time) {
	base := m.Add(time.Minute + w.sc.Metrics.PublishDelay.Duration)
	for _, f := range w.fnList {
		visible := base.Add(w.publishJitter(f.name, m))
		for _, ls := range f.loads {
			ls.minutes = append(ls.minutes, ls.minute.stat(m))
			gap, delay := false, time.Duration(0)
			if len(w.faults) > 0 {
				gap, delay = w.metricFaults(f.name, ls.qualifier, m)
			}
			if gap {
				ls.acc.discard()
				continue
			}
			ls.acc.publish(m, visible.Add(delay))
		}
		f.acc.publish(m, visible)
	}
	w.account.publish(m, base.Add(w.publishJitter("", m)))
	if m.Unix()%3600 == 0 {
		w.store.prune(m.Add(-MetricRetention))
	}
}

// MetricRetention is how long one-minute datapoints are kept, as in CloudWatch.
const MetricRetention = 15 * 24 * time.Hour

// prune drops datapoints of minutes before cutoff.
func (s *metricStore) prune(cutoff time.Time) {
	c := cutoff.Unix()
	for _, se := range s.series {
		i := sort.Search(len(se.pts), func(i int) bool { return se.pts[i].t >= c })
		if i > 0 {
			se.pts = append(se.pts[:0], se.pts[i:]...)
		}
	}
}
