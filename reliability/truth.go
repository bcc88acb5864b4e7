package reliability

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Helpers that read the ground truth of a Run: the simulated account's
// scenario, Lambda's sampled state and the per-minute truth.

const (
	minute = time.Minute
	// interval is the daemon's tick (the suite runs the default).
	interval = controller.DefaultInterval
	// maxLag is the default metrics_max_lag: a minute older than this counts
	// as published for the controller, so CloudWatch lagging more than this
	// is a fault the daemon must report.
	maxLag = config.DefaultMetricsMaxLag
	// skewTolerance: the issue asks that ±60 s change nothing; beyond it the
	// daemon must hold scale-ins and say so.
	skewTolerance = 60 * time.Second
)

func (r *Run) target(id controller.TargetID) Target {
	for _, t := range r.Targets {
		if t.ID == id {
			return t
		}
	}
	return Target{ID: id, Policy: config.DefaultPolicy()}
}

func (r *Run) function(name string) *sim.FunctionSpec {
	for i := range r.SimSc.Functions {
		if r.SimSc.Functions[i].Name == name {
			return &r.SimSc.Functions[i]
		}
	}
	return nil
}

// offset formats t as run time: "+1h02m05s".
func (r *Run) offset(t time.Time) string {
	d := t.Sub(r.Start).Round(time.Second)
	if d < 0 {
		return "-" + (-d).String()
	}
	return "+" + d.String()
}

// minutes returns the target's minutes overlapping [from, to).
func (r *Run) minutes(id controller.TargetID, from, to time.Time) []Minute {
	ms := r.Minutes[id]
	var out []Minute
	for _, m := range ms {
		if m.Start.Add(minute).After(from) && m.Start.Before(to) {
			out = append(out, m)
		}
	}
	return out
}

// sampleAt is Lambda's state of the target at the last sample at or
// before t (samples are in time order).
func (r *Run) sampleAt(id controller.TargetID, t time.Time) (Sample, bool) {
	ss := r.Samples[id]
	i := sort.Search(len(ss), func(i int) bool { return ss[i].Time.After(t) })
	if i == 0 {
		return Sample{}, false
	}
	return ss[i-1], true
}

// limitCap is the most PC the target may have by the limits the daemon can
// read: its max, reserved concurrency minus the function's other
// qualifiers' PC, the account's unreserved concurrency minus the minimum it
// must keep minus that same PC (other functions' PC is invisible to it, and
// Lambda refuses a Put over it, so it is not counted here).
func (r *Run) limitCap(id controller.TargetID) (int, string) {
	p := r.target(id).Policy
	capv, by := p.Max, "max"
	f := r.function(id.Function)
	if f == nil {
		return capv, by
	}
	other := 0
	for q, n := range f.Provisioned {
		if q != id.Qualifier {
			other += n
		}
	}
	if f.Reserved != nil {
		if c := *f.Reserved - other; c < capv {
			capv, by = c, "reserved concurrency"
		}
		return capv, by
	}
	unreserved := r.SimSc.Account.ConcurrentExecutions
	for _, g := range r.SimSc.Functions {
		if g.Reserved != nil {
			unreserved -= *g.Reserved
		}
	}
	if c := unreserved - r.SimSc.Account.UnreservedMin - other; c < capv {
		capv, by = c, "account unreserved concurrency"
	}
	return capv, by
}

// allocation is how long Lambda takes to make n more environments
// available (preparation, then rate_per_minute).
func (r *Run) allocation(n int) time.Duration {
	a := r.SimSc.Allocation
	d := a.PrepDelay.Duration
	if n > 0 && a.RatePerMinute > 0 {
		d += time.Duration(math.Ceil(float64(n)*60/float64(a.RatePerMinute))) * time.Second
	}
	return d
}

// publication is the longest a minute of the target starting in [from, to)
// may take to become visible after it ends: the publish delay plus every
// metric_delay fault that can hit it.
func (r *Run) publication(id controller.TargetID, from, to time.Time) time.Duration {
	d := r.SimSc.Metrics.PublishDelay.Duration + r.SimSc.Metrics.PublishJitter.Duration
	for _, f := range r.SimSc.Faults {
		if f.Kind == sim.FaultMetricDelay && r.faultHits(f, id) && r.faultOverlaps(f, from, to) {
			d += f.Latency.Duration
		}
	}
	return d
}

func (r *Run) faultHits(f sim.FaultSpec, id controller.TargetID) bool {
	return (f.Function == "" || f.Function == id.Function) && (f.Qualifier == "" || f.Qualifier == id.Qualifier)
}

// faultWindow is the fault's window in AWS time (Until zero: the end of time).
func (r *Run) faultWindow(f sim.FaultSpec) (time.Time, time.Time) {
	from := Epoch.Add(f.From.Duration)
	until := time.Time{}.Add(math.MaxInt64)
	if f.Until.Duration > 0 {
		until = Epoch.Add(f.Until.Duration)
	}
	return from, until
}

func (r *Run) faultOverlaps(f sim.FaultSpec, from, to time.Time) bool {
	a, b := r.faultWindow(f)
	return a.Before(to) && b.After(from)
}

// daemonOps are the calls without which a tick cannot act: the metric
// read, the config read and the write. (The limits calls are cached.)
var daemonOps = map[string]bool{
	"*": true, "GetMetricData": true, "GetProvisionedConcurrencyConfig": true,
	"PutProvisionedConcurrencyConfig": true, "DeleteProvisionedConcurrencyConfig": true,
}

// requestFault reports whether f makes the daemon's own calls fail.
func requestFault(f sim.FaultSpec) bool {
	switch f.Kind {
	case sim.FaultThrottle, sim.FaultServerError, sim.FaultConflict, sim.FaultUnavailable:
		return daemonOps[f.Op]
	}
	return false
}

// impairment is a window during which a fault keeps a target from acting,
// with a name for messages. Doubling marks faults the daemon must retry with
// a growing backoff (FAILED): recovery may take as long again as the fault.
type impairment struct {
	from, until time.Time
	what        string
	doubling    bool
}

// impairments are the windows in which the target cannot act through no
// fault of the daemon: request faults on its calls (probability ≥ 0.5; a
// rarer one is retried through), FAILED allocations, injected PartialData,
// the daemon being down, the clock offset unknown.
func (r *Run) impairments(id controller.TargetID) []impairment {
	var out []impairment
	for _, f := range r.SimSc.Faults {
		a, b := r.faultWindow(f)
		switch {
		case requestFault(f) && (f.Probability == nil || *f.Probability >= 0.5):
			out = append(out, impairment{from: a, until: b, what: f.Kind + " on " + f.Op})
		case f.Kind == sim.FaultFailedAllocation && r.faultHits(f, id):
			out = append(out, impairment{from: a, until: b, what: "failed_allocation", doubling: true})
		}
	}
	for _, w := range r.Scenario.PartialData {
		out = append(out, impairment{from: r.Start.Add(w.From), until: r.Start.Add(w.Until), what: "PartialData"})
	}
	for i, inst := range r.Instances {
		if inst.Stopped.IsZero() {
			continue
		}
		until := r.End
		if i+1 < len(r.Instances) {
			until = r.Instances[i+1].Started
		}
		out = append(out, impairment{from: inst.Stopped, until: until, what: "daemon down after " + inst.How})
	}
	if k := r.Scenario.ClockKnownAfter; k > 0 {
		out = append(out, impairment{from: r.Start, until: r.Start.Add(k), what: "clock offset unknown"})
	}
	return out
}

// newestVisible is the end of the newest minute of any managed target that
// CloudWatch showed at t (zero if none): the batch's true watermark.
func (r *Run) newestVisible(t time.Time) time.Time {
	var w time.Time
	for _, ms := range r.Minutes {
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].visibleAt(t) {
				if e := ms[i].Start.Add(minute); e.After(w) {
					w = e
				}
				break
			}
		}
	}
	return w
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func isDaemon(w Write) bool { return strings.HasPrefix(w.Caller, "daemon#") }

func ceilDiv(x, target float64) int {
	if x <= 0 || target <= 0 {
		return 0
	}
	return int(math.Ceil(x/target - 1e-9))
}
