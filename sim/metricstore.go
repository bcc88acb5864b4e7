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

// add merges a minute aggregate into a series, creating it if needed.
func (s *metricStore) add(namespace, name string, dims []Dimension, unit string, minute time.Time, visible time.Time, a agg) {
	key := seriesKey(namespace, name, dims)
	se := s.series[key]
	if se == nil {
		se = &series{metric: Metric{Namespace: namespace, MetricName: name, Dimensions: sortedDims(dims)}, unit: unit}
		s.series[key] = se
	}
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

// minuteAcc accumulates one minute of one dimension set of Lambda metrics.
type minuteAcc struct {
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

// publish writes the minute's metrics under dims and resets the accumulator.
// A minute without invocations publishes nothing, as Lambda does.
func (m *minuteAcc) publish(s *metricStore, dims []Dimension, minute, visible time.Time, withInvocations bool) {
	defer func() { *m = minuteAcc{} }()
	if m.inv == 0 && m.throttled == 0 {
		return
	}
	if withInvocations {
		if m.inv > 0 {
			s.add(NamespaceLambda, MetricInvocations, dims, "Count", minute, visible, agg{sum: float64(m.inv), count: float64(m.inv), min: 1, max: 1})
		}
		if m.throttled > 0 {
			s.add(NamespaceLambda, MetricThrottles, dims, "Count", minute, visible, binaryAgg(m.throttled, m.inv+m.throttled))
		}
	}
	if m.conc.count > 0 {
		s.add(NamespaceLambda, MetricConcurrent, dims, "Count", minute, visible, m.conc)
	}
	if m.pcInv > 0 {
		s.add(NamespaceLambda, MetricSpillover, dims, "Count", minute, visible, binaryAgg(m.spill, m.pcInv))
		s.add(NamespaceLambda, MetricPCInvocation, dims, "Count", minute, visible, binaryAgg(m.pcInv-m.spill, m.pcInv))
		s.add(NamespaceLambda, MetricPCExecutions, dims, "Count", minute, visible, m.pcExec)
	}
	if m.util.count > 0 {
		s.add(NamespaceLambda, MetricUtilization, dims, "None", minute, visible, m.util)
	}
}

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
// and the account, visible after the publication delay (plus injected
// delays; injected gaps drop a load's minute).
func (w *World) flushMinute(m time.Time) {
	visible := m.Add(time.Minute + w.sc.Metrics.PublishDelay.Duration)
	for _, name := range w.order {
		f := w.funcs[name]
		fnDims := []Dimension{{Name: DimFunctionName, Value: f.name}}
		for _, ls := range f.loads {
			ls.minutes = append(ls.minutes, ls.minute.stat(m))
			gap, delay := w.metricFaults(f.name, ls.qualifier, m)
			if gap {
				ls.acc = minuteAcc{}
				continue
			}
			dims := []Dimension{{Name: DimFunctionName, Value: f.name}, {Name: DimResource, Value: f.name + ":" + ls.qualifier}}
			ls.acc.publish(w.store, dims, m, visible.Add(delay), true)
		}
		f.acc.publish(w.store, fnDims, m, visible, true)
	}
	w.account.publish(w.store, nil, m, visible, true)
}
