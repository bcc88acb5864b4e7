package controller

import (
	"fmt"
	"time"
)

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
	StallBudget       StallReason = "api_budget"    // not read yet: waiting for its turn in the Lambda API budget
	StallWeighted     StallReason = "weighted"      // routing weights on the alias for longer than the policy's weighted_alarm_after
)

// StallReasons lists every StallReason but StallNone, so telemetry can
// pre-create its series.
func StallReasons() []StallReason {
	return []StallReason{StallStaleMetrics, StallMetricsError, StallClockSkew, StallFailed, StallThrottled, StallLambdaError, StallBudget, StallWeighted}
}

const (
	// MaxClockSkew: AWS's clock may differ from ours by this much and the
	// loop works as if it didn't (it corrects by the measured offset);
	// beyond it no scale-in or idle is decided.
	MaxClockSkew = 60 * time.Second
	// WarnClockSkew: an offset above it is logged at Warn.
	WarnClockSkew = 5 * time.Second
	// clockTolerance absorbs the measurement's error: the Date header has
	// one-second resolution and a response takes time to arrive.
	clockTolerance = 2 * time.Second
	// StallTicks: a target that cannot act on its metrics for more ticks
	// than this is reported stalled (log, telemetry, alert).
	StallTicks = 3
	// delaySamples: publication delays remembered for the wake schedule.
	delaySamples = 10
)

// readFreshness is what one read says about which minutes are published.
type readFreshness struct {
	// evidence: end of the newest minute any target has a datapoint for,
	// if recent enough to be evidence (zero: none).
	evidence time.Time
	// watermark: end of the newest minute counted as published; zero when
	// nothing is known. Minutes from it on are unknown.
	watermark time.Time
	stale     bool   // the newest datapoint is older than metrics_max_lag allows
	holdIn    string // why scale-in and idle are held now ("" none)
}

// freshnessOf is the freshness model. Lambda publishes nothing for a minute
// without invocations, so one target's missing minute says nothing; the
// whole read is the evidence:
//
//   - evidence E: the end of the newest minute any target has a datapoint
//     for. Every minute before it has been published (CloudWatch publishes
//     minutes in order; a function late against the others is handled per
//     target, see buildSlots).
//   - bound F = now − metrics_max_lag: a minute older than that counts as
//     published even with no datapoint of any target (an idle account),
//     but only when our clock agrees with AWS's, or F could be anything.
//   - watermark W = max(E, F). E behind F by more than a minute means
//     CloudWatch is late beyond the bound (stale): W = E and scale-in and
//     idle are held. E older than F by more than metrics_max_lag again is
//     not evidence of lateness any more — that function stopped long ago —
//     and W = F.
//
// awsNow is AWS's time; end is the read's end (the running minute's start).
func freshnessOf(series map[TargetID]Series, awsNow, end time.Time, maxLag time.Duration, clockOK bool) readFreshness {
	var e time.Time
	for _, s := range series {
		if !s.Complete {
			continue
		}
		for _, pt := range s.Points {
			if t := pt.Time.Truncate(metricPeriod).Add(metricPeriod); t.After(e) && !t.After(end) {
				e = t
			}
		}
	}
	f := awsNow.Add(-maxLag).Truncate(metricPeriod)
	var r readFreshness
	if !e.IsZero() && !e.Before(f.Add(-maxLag)) {
		r.evidence = e
	}
	switch {
	case !r.evidence.IsZero() && r.evidence.Before(f.Add(-metricPeriod)):
		r.watermark, r.stale = r.evidence, true
		r.holdIn = fmt.Sprintf("CloudWatch's newest datapoint ends %s, %s ago: later than metrics_max_lag %s",
			r.evidence.UTC().Format(time.RFC3339), awsNow.Sub(r.evidence).Round(time.Second), maxLag)
	case clockOK:
		r.watermark = latest(r.evidence, f)
	default:
		r.watermark = r.evidence
	}
	return r
}

// clockCheck judges the measured offset: ok when the loop may rely on its
// AWS time for scale-in; skewed when the offset is beyond MaxClockSkew.
func clockCheck(offset time.Duration, known bool) (ok, skewed bool) {
	if !known {
		return false, false
	}
	skewed = offset.Abs() > MaxClockSkew+clockTolerance
	return !skewed, skewed
}

// delayEstimate keeps the newest publication delays seen (how long after its
// end a minute was first read) and predicts the next one as their minimum:
// each is an upper bound of the true delay, so the minimum is the tightest,
// and a minute later than predicted is found by probing.
type delayEstimate struct {
	samples []time.Duration
}

func (d *delayEstimate) add(v time.Duration) {
	if v < 0 {
		return
	}
	d.samples = append(d.samples, v)
	if len(d.samples) > delaySamples {
		d.samples = d.samples[len(d.samples)-delaySamples:]
	}
}

// min returns the estimate; ok=false before the first sample.
func (d *delayEstimate) min() (time.Duration, bool) {
	if len(d.samples) == 0 {
		return 0, false
	}
	m := d.samples[0]
	for _, v := range d.samples[1:] {
		m = min(m, v)
	}
	return m, true
}
