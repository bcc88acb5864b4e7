package backtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// AAS emulates Application Auto Scaling target tracking on the predefined
// metric LambdaProvisionedConcurrencyUtilization. Every behaviour below is
// either documented (the source is given in AWS-FACTS.md style: [Sx] keys
// are /work/shared/AWS-FACTS.md's sources, [CW-ALARMS] and [AAS-TT] are
// added here) or stated as an ASSUMPTION.
//
// Sources added here:
//   - [CW-ALARMS] CloudWatch User Guide, "Using Amazon CloudWatch alarms",
//     sections "Configuring how CloudWatch alarms treat missing data", "How
//     alarm state is evaluated when data is missing" and "Avoiding premature
//     transitions to alarm state": awsdocs/amazon-cloudwatch-user-guide
//     doc_source/AlarmThatSendsEmail.md @cd4004c, current text at
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html.
//   - [AAS-TT] AAS User Guide, target tracking, "Considerations":
//     awsdocs/application-auto-scaling-user-guide
//     doc_source/application-auto-scaling-target-tracking.md, and
//     https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html.
//
// The alarms AAS creates:
//   - Two alarms on ProvisionedConcurrencyUtilization (FunctionName,
//     Resource=fn:qualifier), statistic Average [S1 "Both of the Application
//     Auto Scaling alarms use the average statistic by default"], period
//     60 s [S1, S10].
//   - AlarmHigh: 3 of 3 datapoints above the target ("require 3 data points
//     that hit the target average" [S1]; "3 data points over 1 minute each"
//     [S10]). AlarmLow: 15 of 15 below 0.9 × target ("utilization is
//     consistently less than 63 percent (90 percent of the 70 percent
//     target)" [S1]; "15 data points over 15 minutes" [S10]; UNCONFIRMED by
//     AWS's own pages, AWS-FACTS §1.2). GreaterThanThreshold and
//     LessThanThreshold: UNCONFIRMED for Lambda (seen on EC2's, AWS-FACTS §1.2).
//   - TreatMissingData is left at CloudWatch's default, missing ("If
//     TreatMissingData is omitted, the default behavior of missing is used"
//     [CW-ALARMS, PutMetricAlarm]); a user reports AAS's Lambda alarms show
//     "Treat missing data as missing" [S11 #36]. Lambda publishes no
//     utilization for a minute without invocations [S1, S7], and a minute
//     not yet published is missing too.
//
// How a CloudWatch alarm evaluates missing data [CW-ALARMS]:
//   - It retrieves more datapoints than Evaluation Periods, the evaluation
//     range: "CloudWatch retrieves the 5 most recent data points when
//     evaluating the alarm" for Evaluation Periods = Datapoints to Alarm =
//     3. ASSUMPTION: the range is Evaluation Periods + 2 for both alarms (5
//     and 17 one-minute datapoints); AWS says only that it "depends on the
//     length of the alarm period".
//   - With at least N (Evaluation Periods) real datapoints in the range,
//     the N most recent real ones decide: ALARM if all N breach (M = N),
//     else OK ("evaluates the alarm state based on the most recent real
//     data points", the missing-data setting is ignored).
//   - With none: INSUFFICIENT_DATA ("missing – If all data points in the
//     alarm evaluation range are missing, the alarm transitions to
//     INSUFFICIENT_DATA"), and "a target tracking scaling policy does not
//     perform scaling when the specified metric has insufficient data"
//     [AAS-TT].
//   - With fewer than N: ALARM when "the oldest available breaching
//     datapoint … is at least as old as the value of Datapoints to Alarm,
//     and all other more recent data points are breaching or missing"
//     (`- - X - -` is ALARM, `- - - X -` is not). ASSUMPTION: "as old as"
//     counts positions in the evaluation range (newest = 1); with a real
//     non-breaching datapoint that rule does not fire and the alarm is OK
//     (`0 - - - -` is OK in the documented table); with only breaching
//     datapoints too young it keeps its state (AWS says only that it "does
//     not go immediately into ALARM").
//   - ASSUMPTION: alarms are evaluated once a minute, TickOffset after the
//     minute starts (an alarm event in [CW-ALARMS]' partial-data page
//     shows queryDate 11:26:05 for datapoints 11:23–11:25), over the range
//     of whole minutes that ends at the minute's start.
//
// What AAS does:
//   - While an alarm is in ALARM the policy is invoked again about every
//     minute [S17: "Except for Auto Scaling actions, the actions happen only
//     on state transitions"; the per-minute interval is UNCONFIRMED]; the
//     cooldowns for Lambda PC default to 0 s [S8], so every invocation can
//     act.
//   - Scale-out: desired = ceil(current × u / target), current the requested
//     PC (GetProvisionedConcurrencyConfig, the only read AAS's role allows
//     [S7]) and u the alarm's newest real datapoint: "adding capacity
//     proportional to the metric value" and "rounding up … prevents it from
//     adding insufficient capacity" [S7]. The formula itself is UNCONFIRMED
//     (AWS-FACTS §1.3). u is an Average of a value that saturates at 1.0,
//     so one step grows by at most ×1/target.
//   - Scale-in: "scales in more gradually" [S7, AAS-TT], "decreases
//     provisioned concurrency in smaller periodic steps" [S1], "removing
//     too much capacity" is avoided by rounding [S7]. ASSUMPTION: each
//     invocation in ALARM removes at most ScaleInStep (10%) of the current
//     capacity, at least 1, towards ceil(current × u / target); the step
//     size is not documented (BENCHMARKS.md reports the full cut too).
//   - Desired is clamped to [Min, Max] [S9]. A Put while the config is
//     IN_PROGRESS gets 409 from Lambda, as it would for AAS; the activity
//     fails and the next invocation tries again (UNCONFIRMED how AAS
//     itself handles it).
//
// AAS is driven once a minute by the backtest; it is not safe for concurrent use.
type AAS struct {
	ID           controller.TargetID
	Target       float64 // TargetValue, e.g. 0.70
	ScaleInRatio float64 // AlarmLow threshold = Target × ScaleInRatio (0.9)
	HighPoints   int     // AlarmHigh Evaluation Periods = Datapoints to Alarm: 3
	LowPoints    int     // AlarmLow: 15
	// RangeExtra is how many datapoints beyond Evaluation Periods the
	// evaluation range holds (2: 5 for AlarmHigh, 17 for AlarmLow).
	RangeExtra int
	// ScaleInStep is the largest fraction of capacity one scale-in removes
	// (0.10); 1 removes the whole proportional cut at once.
	ScaleInStep float64
	Min, Max    int
	Store       controller.PCStore
	// Read returns the Average utilization per minute start (Unix seconds)
	// in [start, end) as CloudWatch has published it; ok=false when the
	// read failed (the alarms then keep their states).
	Read func(ctx context.Context, start, end time.Time) (map[int64]float64, error)

	high, low     string // alarm states
	ConflictsSeen int    // Puts refused with 409 while a change was in progress
}

// NewAAS returns the emulation with AWS's defaults for Lambda PC at a 0.70
// target, reading utilization through ms.
func NewAAS(id controller.TargetID, store controller.PCStore, ms controller.MetricSource, minPC, maxPC int) *AAS {
	a := &AAS{ID: id, Target: 0.70, ScaleInRatio: 0.90, HighPoints: 3, LowPoints: 15, RangeExtra: 2, ScaleInStep: 0.10,
		Min: minPC, Max: maxPC, Store: store, high: AlarmInsufficient, low: AlarmInsufficient}
	a.Read = func(ctx context.Context, start, end time.Time) (map[int64]float64, error) {
		series, err := ms.Fetch(ctx, []controller.MetricQuery{{ID: id, Statistic: "Average"}}, start, end)
		s := series[id]
		if err != nil || !s.Complete {
			if err == nil {
				err = errors.New("incomplete utilization read")
			}
			return nil, err
		}
		out := map[int64]float64{}
		for _, p := range s.Points {
			if p.HasUtilization {
				out[p.Time.Unix()] = p.Utilization
			}
		}
		return out, nil
	}
	return a
}

// AASStep is what one evaluation saw and did.
type AASStep struct {
	High, Low string // alarm states: OK | ALARM | INSUFFICIENT_DATA
	Current   int
	Desired   int
	Put       bool  // a Put was attempted
	Err       error // the Put's or a read's error
}

// AAS's target range for provisioned concurrency utilization: "you can
// apply any value between 10% and 90%" (AWS-FACTS §1.1).
const aasMinTarget, aasMaxTarget = 0.1, 0.9

// Alarm states.
const (
	AlarmOK           = "OK"
	AlarmAlarm        = "ALARM"
	AlarmInsufficient = "INSUFFICIENT_DATA"
)

// Tick evaluates both alarms at now and scales when one is in ALARM.
func (a *AAS) Tick(ctx context.Context, now time.Time) AASStep {
	if a.high == "" {
		a.high, a.low = AlarmInsufficient, AlarmInsufficient
	}
	end := now.Truncate(time.Minute)
	hiRange, loRange := a.HighPoints+a.RangeExtra, a.LowPoints+a.RangeExtra
	start := end.Add(-time.Duration(max(hiRange, loRange)) * time.Minute)
	byMinute, err := a.Read(ctx, start, end)
	if err != nil {
		return AASStep{High: a.high, Low: a.low, Err: err}
	}
	// The evaluation range, oldest first; nil = missing.
	rangeOf := func(n int) []*float64 {
		out := make([]*float64, n)
		for i := range n {
			m := end.Add(-time.Duration(n-i) * time.Minute).Unix()
			if u, ok := byMinute[m]; ok {
				out[i] = &u
			}
		}
		return out
	}
	hi, lo := rangeOf(hiRange), rangeOf(loRange)
	low := a.Target * a.ScaleInRatio
	a.high = evalAlarm(hi, a.HighPoints, func(u float64) bool { return u > a.Target }, a.high)
	a.low = evalAlarm(lo, a.LowPoints, func(u float64) bool { return u < low }, a.low)
	st := AASStep{High: a.high, Low: a.low}
	if a.high != AlarmAlarm && a.low != AlarmAlarm {
		return st
	}
	pc, err := a.Store.GetPC(ctx, a.ID)
	if err != nil {
		st.Err = err
		return st
	}
	st.Current, st.Desired = pc.Requested, pc.Requested
	cur := pc.Requested
	var desired int
	if a.high == AlarmAlarm {
		u, _ := newest(hi)
		desired = int(math.Ceil(float64(cur)*u/a.Target - 1e-9))
		if desired <= cur {
			return st // AlarmHigh only ever adds capacity
		}
	} else {
		u, _ := newest(lo)
		desired = int(math.Ceil(float64(cur)*u/a.Target - 1e-9))
		if a.ScaleInStep > 0 && a.ScaleInStep < 1 {
			desired = max(desired, cur-max(1, int(float64(cur)*a.ScaleInStep)))
		}
		if desired >= cur {
			return st // AlarmLow only ever removes it
		}
	}
	desired = min(max(desired, a.Min), a.Max)
	if desired == cur {
		return st
	}
	st.Desired, st.Put = desired, true
	if _, err := a.Store.PutPC(ctx, a.ID, desired); err != nil {
		st.Err = fmt.Errorf("aas put %d: %w", desired, err)
		var ce controller.ClassifiedError
		if errors.As(err, &ce) && ce.ErrorClass() == "conflict" {
			a.ConflictsSeen++
		}
	}
	return st
}

// newest is the newest real datapoint of an evaluation range.
func newest(r []*float64) (float64, bool) {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] != nil {
			return *r[i], true
		}
	}
	return 0, false
}

// evalAlarm is a CloudWatch alarm with Evaluation Periods = Datapoints to
// Alarm = n and TreatMissingData = missing over its evaluation range r
// (oldest first, nil = missing), given its previous state (see AAS).
func evalAlarm(r []*float64, n int, breach func(float64) bool, prev string) string {
	real := 0
	for _, v := range r {
		if v != nil {
			real++
		}
	}
	if real == 0 {
		return AlarmInsufficient
	}
	if real >= n {
		seen := 0
		for i := len(r) - 1; i >= 0 && seen < n; i-- {
			if r[i] == nil {
				continue
			}
			if !breach(*r[i]) {
				return AlarmOK
			}
			seen++
		}
		return AlarmAlarm
	}
	// Fewer than n real datapoints: the premature-alarm rule.
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == nil {
			continue
		}
		if !breach(*r[i]) {
			return AlarmOK
		}
		if age := len(r) - i; age >= n {
			return AlarmAlarm
		}
	}
	return prev
}
