package backtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// AAS emulates Application Auto Scaling target tracking on
// LambdaProvisionedConcurrencyUtilization as AWS-FACTS.md §1 describes it:
//
//   - Two CloudWatch alarms on ProvisionedConcurrencyUtilization
//     (FunctionName, Resource=fn:qualifier), statistic Average, period 60 s.
//   - AlarmHigh: 3 of 3 datapoints > target. AlarmLow: 15 of 15 datapoints
//     < 0.9 × target.
//   - TreatMissingData = missing: if any datapoint of an alarm's window is
//     absent (no invocations that minute, or not yet published), the alarm is
//     INSUFFICIENT_DATA and nothing happens. (Real CloudWatch looks a little
//     further back before giving up; requiring the exact window is the
//     conservative reading and matches "no traffic, no scale-in".)
//   - While an alarm is in ALARM, AAS re-invokes the policy every minute; the
//     cooldowns for Lambda PC default to 0 s, so every evaluation can act.
//   - New capacity = ceil(current × u / target) with current the requested PC
//     (GetProvisionedConcurrencyConfig) and u the newest datapoint of the
//     alarm's window, clamped to [Min, Max]. u is an Average of a value that
//     saturates at 1.0, so one step grows by at most ×1/target.
//   - A Put while the config is IN_PROGRESS gets 409 from Lambda, as it
//     would for AAS; the activity fails and the next minute tries again.
//   - The alarm windows end at the newest period CloudWatch has published:
//     [E − N min, E) with E = now − PublishDelay truncated to the minute.
//
// AAS is driven once a minute by the backtest; it is not safe for concurrent use.
type AAS struct {
	ID            controller.TargetID
	Target        float64 // TargetValue, e.g. 0.70
	ScaleInRatio  float64 // AlarmLow threshold = Target × ScaleInRatio (0.9)
	HighPoints    int     // 3
	LowPoints     int     // 15
	Min, Max      int
	PublishDelay  time.Duration
	Store         controller.PCStore
	Metrics       controller.MetricSource
	ConflictsSeen int // Puts refused with 409 while a change was in progress
}

// NewAAS returns the emulation with AWS's defaults for Lambda PC.
func NewAAS(id controller.TargetID, store controller.PCStore, ms controller.MetricSource, minPC, maxPC int, publishDelay time.Duration) *AAS {
	return &AAS{ID: id, Target: 0.70, ScaleInRatio: 0.90, HighPoints: 3, LowPoints: 15,
		Min: minPC, Max: maxPC, PublishDelay: publishDelay, Store: store, Metrics: ms}
}

// AASStep is what one evaluation saw and did.
type AASStep struct {
	High, Low string // alarm states: OK | ALARM | INSUFFICIENT_DATA
	Current   int
	Desired   int
	Put       bool  // a Put was attempted
	Err       error // the Put's or a read's error
}

// Alarm states.
const (
	AlarmOK           = "OK"
	AlarmAlarm        = "ALARM"
	AlarmInsufficient = "INSUFFICIENT_DATA"
)

// Tick evaluates both alarms at now and scales when one is in ALARM.
func (a *AAS) Tick(ctx context.Context, now time.Time) AASStep {
	var st AASStep
	n := max(a.HighPoints, a.LowPoints)
	end := now.Add(-a.PublishDelay).Truncate(time.Minute)
	start := end.Add(-time.Duration(n) * time.Minute)
	series, err := a.Metrics.Fetch(ctx, []controller.MetricQuery{{ID: a.ID, Statistic: "Average"}}, start, end)
	if err != nil {
		st.High, st.Low, st.Err = AlarmInsufficient, AlarmInsufficient, err
		return st
	}
	s := series[a.ID]
	byMinute := map[int64]float64{}
	if s.Complete {
		for _, p := range s.Points {
			if p.HasUtilization && !p.Time.Before(start) && p.Time.Before(end) {
				byMinute[p.Time.Unix()/60] = p.Utilization
			}
		}
	}
	window := func(k int) ([]float64, bool) {
		out := make([]float64, 0, k)
		for m := end.Add(-time.Duration(k) * time.Minute); m.Before(end); m = m.Add(time.Minute) {
			u, ok := byMinute[m.Unix()/60]
			if !ok {
				return nil, false
			}
			out = append(out, u)
		}
		return out, true
	}
	st.High = evalAlarm(window, a.HighPoints, func(u float64) bool { return u > a.Target })
	low := a.Target * a.ScaleInRatio
	st.Low = evalAlarm(window, a.LowPoints, func(u float64) bool { return u < low })
	if st.High != AlarmAlarm && st.Low != AlarmAlarm {
		return st
	}
	pc, err := a.Store.GetPC(ctx, a.ID)
	if err != nil {
		st.Err = err
		return st
	}
	st.Current = pc.Requested
	u := byMinute[end.Add(-time.Minute).Unix()/60] // the newest datapoint of either window
	desired := int(math.Ceil(float64(pc.Requested)*u/a.Target - 1e-9))
	desired = min(max(desired, a.Min), a.Max)
	// AlarmHigh only ever adds capacity, AlarmLow only removes it.
	if (st.High == AlarmAlarm && desired <= pc.Requested) || (st.High != AlarmAlarm && desired >= pc.Requested) {
		st.Desired = pc.Requested
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

func evalAlarm(window func(int) ([]float64, bool), k int, breach func(float64) bool) string {
	pts, ok := window(k)
	if !ok {
		return AlarmInsufficient
	}
	for _, u := range pts {
		if !breach(u) {
			return AlarmOK
		}
	}
	return AlarmAlarm
}
