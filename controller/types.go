package controller

import (
	"context"
	"time"
)

// TargetID names one managed alias or version. It is the key of every
// per-target map and the pair of bounded labels in telemetry.
type TargetID struct {
	Function  string
	Qualifier string
}

func (t TargetID) String() string { return t.Function + ":" + t.Qualifier }

// Status is Lambda's provisioned-concurrency config status.
type Status string

const (
	StatusNone       Status = "" // no config exists
	StatusInProgress Status = "IN_PROGRESS"
	StatusReady      Status = "READY"
	StatusFailed     Status = "FAILED"
)

// PCConfig is what GetProvisionedConcurrencyConfig reports. A missing config
// is Exists=false with zero counts, not an error.
type PCConfig struct {
	Exists       bool
	Requested    int
	Allocated    int
	Available    int
	Status       Status
	StatusReason string
	LastModified time.Time
}

// Limits bound how much PC a target may have. They are refreshed on a slower
// cadence than the tick and cached.
type Limits struct {
	Known             bool // false: not read yet; bounds fall back to config max
	Reserved          *int // function's reserved concurrency; nil = none
	OtherPC           int  // PC requested on the function's other qualifiers
	AccountUnreserved int  // GetAccountSettings UnreservedConcurrentExecutions
	MemoryMB          int  // for the spend estimate; 0 = unknown
	// AliasVersion is the version the alias points to ("" for a version
	// target or when unknown); Weights are its routing weights (version →
	// share of traffic), empty when none.
	AliasVersion string
	Weights      map[string]float64
}

// PCStore is the Lambda control plane as the controller needs it.
// Implementations return errors classified by awsapi (see awsapi.Classify).
type PCStore interface {
	GetPC(ctx context.Context, id TargetID) (PCConfig, error)
	PutPC(ctx context.Context, id TargetID, n int) (PCConfig, error)
	DeletePC(ctx context.Context, id TargetID) error
	Limits(ctx context.Context, id TargetID) (Limits, error)
}

// Datapoint is one complete one-minute period for a target. Has* flags tell
// absent from zero: Lambda publishes nothing for a minute without invocations.
// The flags sit together at the end: 64 bytes a point instead of 88, and a
// tick holds every target's window at once (10,000 × 185 points).
type Datapoint struct {
	Time           time.Time // start of the period
	Utilization    float64   // ProvisionedConcurrencyUtilization, configured statistic
	Spillover      float64   // ProvisionedConcurrencySpilloverInvocations, Sum
	Concurrency    float64   // ConcurrentExecutions of the alias (Resource=fn:q), Maximum
	Invocations    float64   // Invocations of the alias, Sum
	HasUtilization bool
	HasConcurrency bool
	HasInvocations bool
}

// Series is a target's datapoints, oldest first, for complete periods only.
// Complete=false means the read failed or CloudWatch answered PartialData:
// never a reason to scale in.
type Series struct {
	Points   []Datapoint
	Complete bool
}

// MetricQuery asks for one target's series with its configured statistic.
type MetricQuery struct {
	ID        TargetID
	Statistic string // Maximum | Average, for utilization
}

// MetricSource reads CloudWatch for many targets in as few calls as possible.
// Periods are one minute; [start, end) are aligned to minutes. When some
// calls fail, Fetch returns an error and still returns the series it has:
// every target touched by a failed call must have Complete=false, and a
// target missing from the map counts as incomplete.
type MetricSource interface {
	Fetch(ctx context.Context, queries []MetricQuery, start, end time.Time) (map[TargetID]Series, error)
}

// Clock is the loop's time source: real time for the daemon, an accelerated
// or virtual clock for demo and tests.
type Clock interface {
	Now() time.Time
	// After fires once d of this clock's time has passed.
	After(d time.Duration) <-chan time.Time
}

// ClassifiedError is implemented by errors from the AWS boundary (awsapi,
// metrics). The controller reacts to the class, never to messages.
type ClassifiedError interface {
	error
	// ErrorClass is one of: throttled, conflict, invalid, not_found,
	// access_denied, server, error.
	ErrorClass() string
	// RetryAfter is the server's Retry-After (0 when absent).
	RetryAfter() time.Duration
}
