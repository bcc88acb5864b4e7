package sim

import (
	"sort"
	"time"
)

// MinuteVisibility is ground truth for the fault suite (reliability/): when
// the datapoints of (fn, qualifier)'s minute starting at m became visible to
// GetMetricData on {FunctionName, Resource}. published=false when nothing
// was published for it: the minute had no invocations, or a metric_gap
// fault dropped it (dropped=true). It reads the metric store, so every
// source of lateness (publish delay, injected delays, jitter) is included.
func (w *World) MinuteVisibility(fn, qualifier string, m time.Time) (visible time.Time, published, dropped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m = m.UTC().Truncate(time.Minute)
	if len(w.faults) > 0 {
		dropped, _ = w.metricFaults(fn, qualifier, m)
	}
	dims := []Dimension{{Name: DimFunctionName, Value: fn}, {Name: DimResource, Value: fn + ":" + qualifier}}
	se := w.store.series[seriesKey(NamespaceLambda, MetricInvocations, dims)]
	if se == nil {
		return time.Time{}, false, dropped
	}
	t := m.Unix()
	i := sort.Search(len(se.pts), func(i int) bool { return se.pts[i].t >= t })
	if i == len(se.pts) || se.pts[i].t != t {
		return time.Time{}, false, dropped
	}
	return time.Unix(se.pts[i].visible, 0).UTC(), true, dropped
}
