package controller

import "time"

// ServerClock reports AWS's clock as measured from its responses (the
// HTTP Date header; awsapi implements it). Metric windows and cooldowns use
// AWS's time, because Lambda's LastModified and CloudWatch's minutes are
// AWS's.
type ServerClock interface {
	// ClockOffset is AWS's clock minus ours; ok=false until measured.
	ClockOffset() (offset time.Duration, ok bool)
}

// FixedOffset is a ServerClock with a known, constant offset: a simulator
// that shares the loop's clock is FixedOffset(0).
type FixedOffset time.Duration

// ClockOffset implements ServerClock.
func (f FixedOffset) ClockOffset() (time.Duration, bool) { return time.Duration(f), true }

// Freshness is what one tick knew about CloudWatch's data, for telemetry.
type Freshness struct {
	// Watermark is the end of the newest minute counted as published
	// (exclusive); zero when nothing is known yet.
	Watermark time.Time
	// Lag is AWS's now minus Watermark.
	Lag time.Duration
	// PublishDelay is how long after its end the newest new minute was
	// first seen (an upper bound of CloudWatch's publication delay); 0 when
	// no new minute appeared this tick.
	PublishDelay time.Duration
	// ClockOffset is AWS's clock minus ours, when ClockKnown.
	ClockOffset time.Duration
	ClockKnown  bool
}

// StallReason says why a target cannot act on its metrics; a small enum and
// a bounded telemetry label. StallNone means it can.
type StallReason string

const (
	StallNone         StallReason = ""
	StallStaleMetrics StallReason = "stale_metrics" // no published minute newer than metrics_max_lag
	StallMetricsError StallReason = "metrics_error" // CloudWatch reads failed or were partial
	StallClockSkew    StallReason = "clock_skew"    // AWS's clock is off by more than MaxClockSkew (or unknown)
	StallFailed       StallReason = "failed"        // the allocation is FAILED
	StallThrottled    StallReason = "throttled"     // Lambda keeps answering 429
	StallLambdaError  StallReason = "lambda_error"  // reading the config from Lambda keeps failing
)

// StallReasons lists every StallReason but StallNone, so telemetry can
// pre-create its series.
func StallReasons() []StallReason {
	return []StallReason{StallStaleMetrics, StallMetricsError, StallClockSkew, StallFailed, StallThrottled, StallLambdaError}
}
