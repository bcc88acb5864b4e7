package controller

import (
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

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
	ReasonPredicted      Reason = "predicted"         // raised for a predicted periodic burst, or released after it
	// ReasonUnknownData: a scale-in or idle would rest on minutes not known
	// to be complete (first tick, clock jump or skew, stale CloudWatch).
	ReasonUnknownData Reason = "unknown_data"
	// ReasonYielding: someone else changed the PC and the policy is
	// on_foreign_change: yield — left alone until yield_for has passed.
	ReasonYielding Reason = "yielding"
	// ReasonWeighted: the alias has routing weights (a canary or linear
	// deploy); Lambda refuses PC changes while they stand.
	ReasonWeighted Reason = "weighted"
)

// Reasons lists every Reason, so telemetry can pre-create its series.
func Reasons() []Reason {
	return []Reason{ReasonAllocating, ReasonUtilization, ReasonSaturated, ReasonSpillover, ReasonIdle,
		ReasonFloor, ReasonCeiling, ReasonCooldown, ReasonWithinTarget, ReasonInsufficient,
		ReasonMetricsMissing, ReasonFailedBackoff, ReasonRejected, ReasonThrottled, ReasonPredicted, ReasonUnknownData, ReasonYielding, ReasonWeighted}
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
	State        TargetState
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
	// ObserveDemand gives the newest published minute's maximum concurrent
	// executions and spillover invocations of a target (0 for a quiet one).
	ObserveDemand(id TargetID, concurrency, spillover float64)
	// ObserveFreshness is called once per tick with what the read knew.
	ObserveFreshness(f Freshness)
	// ObserveStall is called once per target per tick: StallNone, or why
	// the target has not been able to act on its metrics for more than
	// StallTicks ticks.
	ObserveStall(id TargetID, reason StallReason)
	// ObserveQueue is called once per tick with the writes left waiting
	// for the Lambda API budget and the longest wait among them.
	ObserveQueue(depth int, oldestWait time.Duration)
	// ForeignChange is called when a read shows a PC change the loop did
	// not make (another writer: a person, a pipeline, AAS, a second
	// controller).
	ForeignChange(id TargetID, from, to int)
}

// ReasonThrottled: Lambda answered 429 for this target; no calls until the
// backoff (Retry-After honoured) has passed.
const ReasonThrottled Reason = "throttled"

// Bounds are a target's scheduled floor and ceiling at one instant. The
// wiring adapts the schedule package to a func(time.Time) Bounds per target.
type Bounds struct {
	Floor, Ceiling       int
	HasFloor, HasCeiling bool
}

// State is the per-target memory the loop keeps between ticks. Everything in
// it is an optimisation or a backoff: after a restart the zero State is safe,
// because cooldowns are rebuilt from PCConfig.LastModified.
type State struct {
	LastChange    time.Time // when the loop last wrote (Put or Delete)
	LastFrom      int       // requested PC before that write
	LastTo        int       // requested PC after it
	LastDirection Direction // direction of that write
	// Writes are the loop's newest writes, oldest first (NWrites of them):
	// the PC a minute ran against when CloudWatch publishes it after one
	// or more changes (a predicted burst's rise, tail and release all fall
	// within publication's lag).
	Writes  [writeMemory]Write
	NWrites int

	SettledAt time.Time // when the last change was first seen READY (zero: unknown)

	Rejected   int       // a value Lambda refused with 400; 0 = none
	RejectedAt time.Time // when; the value may be tried again after RejectRetry

	FailedAttempts int       // Puts made while the config was FAILED
	FailedUntil    time.Time // no retry of a FAILED config before this

	ThrottledUntil time.Time // no Lambda call for this target before this
	NotFoundUntil  time.Time // function/alias missing: slow retry

	LastInvocation time.Time // end of the newest period that showed invocations

	WeightedSince time.Time // the alias has had routing weights since (zero: none)

	YieldUntil time.Time   // on_foreign_change: yield — no write before this
	Foreign    []time.Time // foreign changes seen in the last hour (a fight when several)
}

// Write is one of the loop's own writes: requested PC From → To at At.
type Write struct {
	At       time.Time
	From, To int
}

// writeMemory: writes a State keeps (an array, so a State copy shares
// nothing).
const writeMemory = 4

// Input is everything Decide needs; it is built by the loop (or a test, a
// backtest, the plan command) and holds no handles.
type Input struct {
	Now    time.Time
	Period time.Duration // metric period; 0 means one minute
	// WindowStart is where the metric read began; WindowEnd is the
	// freshness watermark: the end of the newest minute known to be
	// published (see freshness.go). Minutes from WindowEnd on are unknown.
	WindowStart, WindowEnd time.Time
	// MaxLag: after a target's newest datapoint, missing minutes within
	// MaxLag of WindowEnd may only be late for it; 0 means the default.
	MaxLag time.Duration
	// HoldIn, when set, says why no metric-driven scale-in or idle may be
	// decided now (first tick, clock jump or skew, stale CloudWatch).
	HoldIn string

	Policy config.Policy
	PC     PCConfig
	Series Series
	Bounds Bounds
	Limits Limits
	State  State
}
