package shadow

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Label values of side.
const (
	SideOurs   = "ours"   // what pcautoscaler would have set
	SideTheirs = "theirs" // what the current controller set
)

// Names are the series this package exports (the dashboard's test checks
// its queries against them).
func Names() []string {
	return []string{nameRequested, namePCSeconds, nameSpillover}
}

const (
	nameRequested = "pcautoscaler_shadow_pc_requested"
	namePCSeconds = "pcautoscaler_shadow_pc_seconds_total"
	nameSpillover = "pcautoscaler_shadow_spillover_total"
)

var (
	descRequested = prometheus.NewDesc(nameRequested,
		"Shadow mode: provisioned concurrency requested now, ours (virtual) and theirs (read from Lambda).",
		[]string{"function", "qualifier", "side"}, nil)
	descPCSeconds = prometheus.NewDesc(namePCSeconds,
		"Shadow mode: allocated PC integrated over time (instance-seconds), ours and theirs.",
		[]string{"function", "qualifier", "side"}, nil)
	descSpillover = prometheus.NewDesc(nameSpillover,
		"Shadow mode: spillover, theirs Lambda's own count (full metrics) and ours estimated; concurrency above PC per minute without invocations.",
		[]string{"function", "qualifier", "side"}, nil)
)

// Collector exports a Store's totals since start for dashboards (the
// hourly ledger is /shadow's).
type Collector struct{ s *Store }

// NewCollector returns the Store's collector.
func NewCollector(s *Store) *Collector { return &Collector{s: s} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRequested
	ch <- descPCSeconds
	ch <- descSpillover
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for id, t := range c.s.t {
		if t.started.IsZero() {
			continue
		}
		for _, side := range []struct {
			name      string
			requested int
			b         Side
		}{{SideOurs, t.ours.Requested, t.total.Ours}, {SideTheirs, t.theirs.Requested, t.total.Theirs}} {
			for _, m := range []struct {
				d *prometheus.Desc
				t prometheus.ValueType
				v float64
			}{{descRequested, prometheus.GaugeValue, float64(side.requested)},
				{descPCSeconds, prometheus.CounterValue, side.b.PCSeconds},
				{descSpillover, prometheus.CounterValue, side.b.Spillover}} {
				// NewConstMetric, not Must: a label that is not UTF-8 is
				// skipped, never a panic.
				if cm, err := prometheus.NewConstMetric(m.d, m.t, m.v, id.Function, id.Qualifier, side.name); err == nil {
					ch <- cm
				}
			}
		}
	}
}
