package telemetry

import (
	"math"
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

var _ controller.Recorder = (*Metrics)(nil)

// Observed records one target's state and decision for this tick.
func (m *Metrics) Observed(id controller.TargetID, pc controller.PCConfig, lim controller.Limits, d controller.Decision) {
	f, q := targetLabels(id)
	m.pcRequested.WithLabelValues(f, q).Set(float64(pc.Requested))
	m.pcAllocated.WithLabelValues(f, q).Set(float64(pc.Allocated))
	m.pcDesired.WithLabelValues(f, q).Set(float64(d.Desired))
	m.utilization.WithLabelValues(f, q).Set(d.Utilization)
	m.effectiveMin.WithLabelValues(f, q).Set(float64(d.EffectiveMin))
	m.effectiveMax.WithLabelValues(f, q).Set(float64(d.EffectiveMax))
	m.constrained.WithLabelValues(f, q).Set(boolGauge(d.Constrained))

	status := "NONE"
	if pc.Exists && pc.Status != controller.StatusNone {
		status = string(pc.Status)
	}
	for _, s := range configStatuses {
		m.configStatus.WithLabelValues(f, q, s).Set(boolGauge(s == status))
	}
	m.decisions.WithLabelValues(f, q, direction(d.Direction), reason(d.Reason)).Inc()
	state := d.State
	if state == "" { // a Decision made without stateOf (tests, backtests)
		state = controller.StateSteady
	}
	for _, st := range controller.TargetStates() {
		m.targetState.WithLabelValues(f, q, string(st)).Set(boolGauge(st == state))
	}

	m.costPerHour.WithLabelValues(f, q).Set(m.costPerHourFor(id, pc.Requested, lim.MemoryMB))
}

// Acted counts one Put/Delete by direction and result.
func (m *Metrics) Acted(id controller.TargetID, d controller.Decision, result string) {
	f, q := targetLabels(id)
	m.actions.WithLabelValues(f, q, direction(d.Direction), actionResult(result)).Inc()
}

// Ticked records the end of a tick. err nil means every target was observed.
func (m *Metrics) Ticked(start time.Time, took time.Duration, err error) {
	m.tickDuration.Observe(took.Seconds())
	if err != nil {
		m.ticks.WithLabelValues(TickError).Inc()
	} else {
		m.ticks.WithLabelValues(TickOK).Inc()
		end := start.Add(took)
		m.lastTickSuccess.Set(float64(end.UnixNano()) / 1e9)
	}
	m.mu.Lock()
	r := m.readiness
	m.mu.Unlock()
	if r != nil {
		r.Ticked(start, took, err)
	}
}

// ObserveDemand records what CloudWatch said about the latest complete minute:
// the alias's maximum concurrent executions and its spillover invocations.
// The Recorder contract's Decision doesn't carry them, so the loop calls this
// when its recorder has it (pass 0 for a minute without datapoints).
func (m *Metrics) ObserveDemand(id controller.TargetID, concurrency, spillover float64) {
	f, q := targetLabels(id)
	m.demand.WithLabelValues(f, q).Set(concurrency)
	m.spillover.WithLabelValues(f, q).Set(spillover)
}

// ObserveFreshness records what a tick knew about CloudWatch's data and
// AWS's clock. Unknown values are NaN: the clock offset until measured, the
// watermark lag while no minute counts as published. The publication delay
// keeps its last value through ticks that saw no new minute.
func (m *Metrics) ObserveFreshness(f controller.Freshness) {
	if f.ClockKnown {
		m.clockOffset.Set(f.ClockOffset.Seconds())
	} else {
		m.clockOffset.Set(math.NaN())
	}
	if f.Watermark.IsZero() {
		m.watermarkLag.Set(math.NaN())
	} else {
		m.watermarkLag.Set(f.Lag.Seconds())
	}
	if f.PublishDelay > 0 {
		m.publishDelay.Set(f.PublishDelay.Seconds())
		m.publishDelayHist.Observe(f.PublishDelay.Seconds())
	}
}

// stallOther is the reason label of a StallReason the enum doesn't know (a
// controller newer than this telemetry); it exists only while in use.
const stallOther = "other"

// ObserveStall records why a target cannot act on its metrics: the reason's
// series 1 and every other 0, all 0 for StallNone.
func (m *Metrics) ObserveStall(id controller.TargetID, r controller.StallReason) {
	f, q := targetLabels(id)
	known := false
	for _, k := range controller.StallReasons() {
		m.stalled.WithLabelValues(f, q, string(k)).Set(boolGauge(k == r))
		known = known || k == r
	}
	if r != controller.StallNone && !known {
		m.stalled.WithLabelValues(f, q, stallOther).Set(1)
	} else {
		m.stalled.DeleteLabelValues(f, q, stallOther)
	}
}

// ForeignChange counts a change of the target's PC made by someone else.
func (m *Metrics) ForeignChange(id controller.TargetID, _, _ int) {
	f, q := targetLabels(id)
	m.foreign.WithLabelValues(f, q).Inc()
}

// ObserveQueue records the writes waiting for the Lambda API budget.
func (m *Metrics) ObserveQueue(depth int, oldestWait time.Duration) {
	m.queueDepth.Set(float64(depth))
	m.queueWait.Set(oldestWait.Seconds())
}

// Discovered records one discovery at (the loop's clock) (discover.Recorder):
// functions found, targets managed from their tags, functions with bad
// tags; err non-nil when the listing failed (the gauges then stay as they
// were).
func (m *Metrics) Discovered(at time.Time, found, managed, problems int, err error) {
	if err != nil {
		m.discoveryRuns.WithLabelValues(TickError).Inc()
		return
	}
	m.discoveryRuns.WithLabelValues(TickOK).Inc()
	m.discoveredFns.Set(float64(found))
	m.discoveredManaged.Set(float64(managed))
	m.discoveryProblems.Set(float64(problems))
	m.discoveryLastOK.Set(float64(at.Unix()))
}

// SetMemory sets the memory_mb of targets added after SetPricing
// (discovered ones); 0 clears it.
func (m *Metrics) SetMemory(id controller.TargetID, memoryMB int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if memoryMB > 0 {
		m.memoryCfg[id] = memoryMB
	} else {
		delete(m.memoryCfg, id)
	}
}

// SetPricing sets the price of provisioned concurrency (USD per GB-second)
// and the memory sizes the config file sets (memory_mb; they win over the
// size Lambda reports in Limits.MemoryMB). Call it once before the first tick.
func (m *Metrics) SetPricing(pricePerGBSecond float64, memoryMB map[controller.TargetID]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.price = pricePerGBSecond
	m.memoryCfg = make(map[controller.TargetID]int, len(memoryMB))
	for id, mb := range memoryMB {
		if mb > 0 {
			m.memoryCfg[id] = mb
		}
	}
	m.pricePerGBSecond.Set(pricePerGBSecond)
}

// AttachReadiness makes Ticked and ObserveCall feed r as well.
func (m *Metrics) AttachReadiness(r *Readiness) {
	m.mu.Lock()
	m.readiness = r
	m.mu.Unlock()
}

// costPerHourFor estimates USD per hour: PC × GB × 3600 s × price per GB-s.
// The memory size from the config wins; else the last size Lambda reported
// is kept, so a tick without limits doesn't zero the estimate.
func (m *Metrics) costPerHourFor(id controller.TargetID, requested, lambdaMemoryMB int) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	mb, ok := m.memoryCfg[id]
	if !ok {
		if lambdaMemoryMB > 0 {
			m.memory[id] = lambdaMemoryMB
		}
		mb = m.memory[id]
	}
	if mb <= 0 || requested <= 0 || !(m.price > 0) || math.IsInf(m.price, 1) {
		return 0
	}
	return float64(requested) * float64(mb) / 1024 * 3600 * m.price
}

// targetLabels returns the function and qualifier as label values. The
// client panics on invalid UTF-8, so bad bytes are replaced rather than
// trusted to have been rejected upstream.
func targetLabels(id controller.TargetID) (function, qualifier string) {
	return validUTF8(id.Function), validUTF8(id.Qualifier)
}

func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// direction keeps the label bounded: an unknown direction counts as none.
func direction(d controller.Direction) string {
	switch d {
	case controller.DirOut, controller.DirIn:
		return string(d)
	}
	return string(controller.DirNone)
}

// reason keeps the label bounded to the controller's enum.
func reason(r controller.Reason) string {
	if _, ok := decisionSeries[r]; ok {
		return string(r)
	}
	for _, known := range controller.Reasons() {
		if r == known {
			return string(r)
		}
	}
	return "other"
}

func actionResult(r string) string {
	for _, known := range actionResults {
		if r == known {
			return r
		}
	}
	return "error"
}
