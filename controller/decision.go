package controller

import "time"

// Direction of a decision; a bounded telemetry label.
type Direction string

const (
	DirNone Direction = "none"
	DirOut  Direction = "out"
	DirIn   Direction = "in"
)

// Reason explains a decision; a small enum and a bounded telemetry label.
type Reason string

const (
	ReasonAllocating     Reason = "allocating"        // status IN_PROGRESS: a Put now gets 409
	ReasonUtilization    Reason = "utilization"       // target tracking on utilization, either way
	ReasonSaturated      Reason = "saturated"         // u ≥ 0.99: desired from concurrent executions
	ReasonSpillover      Reason = "spillover"         // spillover fast path
	ReasonIdle           Reason = "idle"              // no invocations for idle_after → floor
	ReasonFloor          Reason = "floor"             // raised to the effective minimum
	ReasonCeiling        Reason = "ceiling"           // lowered to the effective maximum
	ReasonCooldown       Reason = "cooldown"          // a change was due but a cooldown holds it
	ReasonWithinTarget   Reason = "within_target"     // utilization in the deadband
	ReasonInsufficient   Reason = "insufficient_data" // too few complete datapoints since the last change
	ReasonMetricsMissing Reason = "metrics_missing"   // failed or partial read: hold, never scale in
	ReasonFailedBackoff  Reason = "failed_backoff"    // status FAILED: waiting before the retry
	ReasonRejected       Reason = "rejected"          // this value was refused by Lambda (400); not repeated
)

// Reasons lists every Reason, so telemetry can pre-create its series.
func Reasons() []Reason {
	return []Reason{ReasonAllocating, ReasonUtilization, ReasonSaturated, ReasonSpillover, ReasonIdle,
		ReasonFloor, ReasonCeiling, ReasonCooldown, ReasonWithinTarget, ReasonInsufficient,
		ReasonMetricsMissing, ReasonFailedBackoff, ReasonRejected}
}

// Action is what the loop must do to carry out a decision.
type Action string

const (
	ActNone   Action = "none"
	ActPut    Action = "put"
	ActDelete Action = "delete"
)

// Decision is the output of the pure Decide function.
type Decision struct {
	Current      int // requested PC now (0 when no config)
	Desired      int
	Direction    Direction
	Reason       Reason
	Action       Action
	EffectiveMin int
	EffectiveMax int
	Constrained  bool    // effective min > effective max, or the value was clamped by a limit
	Utilization  float64 // the latest complete datapoint used, for logs and telemetry
	Detail       string  // a short human explanation for the log line
}

// Recorder receives what the loop observes and does; telemetry implements it.
// Methods must be cheap and safe for concurrent use.
type Recorder interface {
	// Observed is called once per target per tick with the decision made.
	Observed(id TargetID, pc PCConfig, lim Limits, d Decision)
	// Acted is called after a Put/Delete with result "ok", "dry_run" or an
	// error class from awsapi (throttled, conflict, invalid, not_found, error).
	Acted(id TargetID, d Decision, result string)
	// Ticked is called at the end of every tick; err is nil when every
	// target was observed.
	Ticked(start time.Time, took time.Duration, err error)
}
