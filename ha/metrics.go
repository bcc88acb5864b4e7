package ha

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the election's series.
type Metrics struct {
	leader  prometheus.Gauge
	changes prometheus.Counter
}

// NewMetrics creates pcautoscaler_leader and pcautoscaler_leader_changes_total
// and registers them on reg (nil registers nothing). Registering twice on
// one registry reuses the collectors already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		leader: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "pcautoscaler", Name: "leader",
			Help: "1 while this replica holds the leader lease (it alone writes to Lambda), else 0; always 1 with ha.backend none.",
		})),
		changes: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "pcautoscaler", Name: "leader_changes_total",
			Help: "Times this replica became the leader or stopped being it.",
		})),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *Metrics) set(leader bool) {
	if m == nil {
		return
	}
	if leader {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

func (m *Metrics) changed() {
	if m != nil {
		m.changes.Inc()
	}
}
