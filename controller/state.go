package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// Every change to a target's memory happens in this file. A target's
// Lambda config moves through these states; the loop's memory follows what
// it reads and what it writes:
//
//	        Put ok                      allocation done
//	NONE ───────────▶ IN_PROGRESS ─────────────────────▶ READY ──┐
//	  ▲                 │      ▲                          │      │ Put ok
//	  │ Delete ok       │      └──────────────────────────┼──────┘
//	  └─────────────────┼─────────────────────────────────┘
//	                    │ allocation fails
//	                    ▼
//	                  FAILED ── backoff (1 interval, doubling to 1 h) ──▶ Put (no larger) ─▶ IN_PROGRESS
//
// Beside the config, per target: a throttle backoff (Retry-After or one
// interval), a slow retry while the function is not found, a value Lambda
// refused (not repeated for RejectRetry), the newest minute with
// invocations, and a stall count (ticks in a row it could not act on its
// metrics; reported after StallTicks).

// apply folds an observation into a target's memory.
func (c *Controller) apply(st *targetState, ob observation, now time.Time) {
	if ob.skipped {
		return
	}
	if ob.pcErr != nil {
		c.backOff(st, ob.pcErr, now)
		st.pcReadErr = errClass(ob.pcErr)
	}
	if ob.fresh {
		st.pcReadErr = ""
		if st.hasPC && (ob.pc.Exists != st.pc.Exists || ob.pc.Requested != st.pc.Requested || rewritten(st, ob.pc)) && c.mayWrite() {
			// A follower replica sees the leader's writes: not foreign.
			c.foreign(st, ob, now)
		}
		if st.lastStatus == StatusInProgress && ob.pc.Status != StatusInProgress {
			st.SettledAt = now // the change just finished allocating
		}
		if ob.pc.Exists && ob.pc.Status == StatusFailed {
			if st.FailedUntil.IsZero() {
				st.FailedUntil = now.Add(c.failedBackoff(0))
			}
		} else if !ob.pc.Exists || ob.pc.Status == StatusReady {
			st.FailedAttempts, st.FailedUntil = 0, time.Time{}
		}
		st.pc, st.hasPC, st.lastStatus, st.readAt = ob.pc, true, ob.pc.Status, now
		st.NotFoundUntil = time.Time{}
	}
	if ob.limFetched {
		st.limitsAt = now // on error too: retry on the slow cadence, not every tick
		st.limReadErr = ""
		switch cl := errClass(ob.limErr); {
		case ob.limErr == nil:
			st.WeightedSince = time.Time{} // the weights are gone
		case cl == ClassWeighted:
			st.WeightedSince = earliestSet(st.WeightedSince, now)
		default:
			st.limReadErr = cl
		}
		if ob.limErr == nil {
			if st.limits.Known && limitsChanged(st.limits, ob.limits) {
				// The limits moved: what was refused may fit now.
				st.Rejected, st.RejectedAt = 0, time.Time{}
			}
			st.limits = ob.limits
		} else {
			c.backOff(st, ob.limErr, now)
		}
	}
	for _, pt := range ob.series.Points {
		if active(pt) {
			st.LastInvocation = latest(st.LastInvocation, pt.Time.Truncate(metricPeriod).Add(metricPeriod))
		}
	}
}

// fightWindow and fightChanges: this many foreign changes within the
// window is a fight with another controller.
const (
	fightWindow  = time.Hour
	fightChanges = 3
)

// lastModifiedSlack: a LastModified this much later than the loop's own
// write (or the last one it read) is someone else's Put, even of the same
// value. Generous: the loop's memory of its write may be its own clock's
// time when the store answered without one.
const lastModifiedSlack = time.Minute

// rewritten: the config has the value the loop knows, but Lambda says it
// was written later than the loop wrote or last read it (another writer
// putting the same value: AAS re-applying its min, a pipeline).
func rewritten(st *targetState, pc PCConfig) bool {
	known := latest(st.pc.LastModified, st.LastChange)
	// IN_PROGRESS at the same value is also how an alias move reads
	// (deploying): a rewrite is told once it is READY, LastModified stays.
	return pc.Exists && st.pc.Exists && pc.Requested == st.pc.Requested && pc.Status != StatusInProgress &&
		!known.IsZero() && !pc.LastModified.IsZero() && pc.LastModified.After(known.Add(lastModifiedSlack))
}

// foreign records a PC change the loop did not make: its memory (the last
// read or its own write's answer) disagrees with what Lambda says now.
func (c *Controller) foreign(st *targetState, ob observation, now time.Time) {
	st.foreignEvent = &foreignEvent{from: st.pc.Requested, to: ob.pc.Requested, at: ob.pc.LastModified,
		rewrite: ob.pc.Requested == st.pc.Requested && ob.pc.Exists == st.pc.Exists}
	kept := st.Foreign[:0]
	for _, t := range st.Foreign {
		if now.Sub(t) < fightWindow {
			kept = append(kept, t)
		}
	}
	st.Foreign = append(kept, now)
	if ob.t.Policy.OnForeignChange == config.ForeignYield && ob.t.Policy.YieldFor.Duration > 0 {
		st.YieldUntil = now.Add(ob.t.Policy.YieldFor.Duration)
	}
}

// mayWrite reports whether this replica writes now (no gate: always). The
// gate's check is in memory (the lease as last renewed).
func (c *Controller) mayWrite() bool {
	return c.opts.Gate == nil || c.opts.Gate.MayWrite(context.Background()) == nil
}

// backOff reacts to a failed Lambda call by its class.
func (c *Controller) backOff(st *targetState, err error, now time.Time) {
	switch errClass(err) {
	case ClassThrottled:
		d := retryAfter(err)
		if d <= 0 {
			d = c.opts.Interval
		}
		st.ThrottledUntil = now.Add(d)
	case ClassNotFound:
		st.NotFoundUntil = now.Add(c.notFoundRetry())
	}
}

func (c *Controller) notFoundRetry() time.Duration { return 5 * c.opts.Interval }

// failedBackoff doubles per attempt from one interval, up to an hour.
func (c *Controller) failedBackoff(attempts int) time.Duration {
	d := c.opts.Interval
	for range attempts {
		d *= 2
		if d >= failedBackoffMax {
			return failedBackoffMax
		}
	}
	return d
}

// wrote records a successful Put or Delete; pc is Lambda's answer.
func (c *Controller) wrote(st *targetState, j job, pc PCConfig, now time.Time) {
	d := j.d
	st.writeErr = ""
	st.LastChange, st.LastFrom, st.LastTo, st.LastDirection = now, d.Current, d.Desired, d.Direction
	st.remember(Write{At: now, From: d.Current, To: d.Desired})
	if st.Rejected > 0 && d.Desired >= st.Rejected {
		st.Rejected, st.RejectedAt = 0, time.Time{} // a limit was raised
	}
	if j.failed {
		st.FailedAttempts++
		st.FailedUntil = now.Add(c.failedBackoff(st.FailedAttempts))
	}
	if d.Action == ActDelete {
		st.pc = PCConfig{}
	} else {
		if !pc.Exists { // a store that answers Put with nothing: assume Lambda's
			pc = PCConfig{Exists: true, Requested: d.Desired, Status: StatusInProgress, LastModified: now}
		}
		st.pc = pc
	}
	st.lastStatus = st.pc.Status
}

// writeRefused records a failed Put or Delete.
func (c *Controller) writeRefused(st *targetState, j job, err error, now time.Time) {
	c.backOff(st, err, now)
	// A refusal is learned (bisection, limits) and weights are waited out,
	// not stalls; anything else keeps the target from acting until a write
	// goes through.
	switch cl := errClass(err); cl {
	case ClassInvalid:
	case ClassWeighted:
		st.WeightedSince = earliestSet(st.WeightedSince, now)
	default:
		st.writeErr = cl
	}
	if errClass(err) == ClassInvalid && j.d.Action == ActPut {
		// Keep the smallest value refused on the way up: the bound.
		if st.Rejected == 0 || j.d.Desired < st.Rejected || j.d.Desired <= j.d.Current {
			st.Rejected = j.d.Desired
		}
		st.RejectedAt = now
	}
}

// stallUpdate counts the ticks in a row a target could not act on its
// metrics and says whether it is (still, newly, no longer) stalled.
func (st *targetState) stallUpdate(reason StallReason, detail string) (report StallReason, change stallChange) {
	if reason == StallNone {
		was := st.stallReported
		st.stallTicks, st.stallReason, st.stallReported, st.stallDetail = 0, StallNone, false, ""
		if was {
			return StallNone, stallEnded
		}
		return StallNone, stallSame
	}
	st.stallTicks++
	changed := reason != st.stallReason
	st.stallReason, st.stallDetail = reason, detail
	if st.stallTicks <= StallTicks {
		return StallNone, stallSame
	}
	if !st.stallReported || changed {
		st.stallReported = true
		return reason, stallBegan
	}
	return reason, stallSame
}

type stallChange int

const (
	stallSame stallChange = iota
	stallBegan
	stallEnded
)

// blocker says why a target could not act on its metrics this tick.
func blocker(ob observation, d Decision, st targetState, now time.Time, global StallReason) (StallReason, string) {
	switch {
	case st.writeErr == ClassThrottled:
		return StallThrottled, "Lambda throttles its writes"
	case st.writeErr != "":
		return StallLambdaError, fmt.Sprintf("its last write failed (%s)", st.writeErr)
	case !st.WeightedSince.IsZero() && now.Sub(st.WeightedSince) >= weightedAlarmAfter(ob.t.Policy):
		return StallWeighted, fmt.Sprintf("alias has had routing weights since %s", st.WeightedSince.UTC().Format(time.RFC3339))
	case st.FailedAttempts > 0 && ob.pc.Exists && ob.pc.Status == StatusInProgress:
		return StallFailed, fmt.Sprintf("retrying a FAILED allocation (%d attempts)", st.FailedAttempts)
	case ob.skipped:
		return StallLambdaError, "function or alias not found: retrying slowly"
	case ob.pcErr != nil && errClass(ob.pcErr) == ClassThrottled, d.Reason == ReasonThrottled:
		return StallThrottled, "Lambda answers 429: backing off"
	case ob.pcErr != nil:
		return StallLambdaError, fmt.Sprintf("reading the config failed (%s)", errClass(ob.pcErr))
	case !ob.series.Complete:
		return StallMetricsError, "CloudWatch read failed or partial"
	case ob.pc.Exists && ob.pc.Status == StatusFailed:
		return StallFailed, fmt.Sprintf("allocation FAILED (%s): %d of %d allocated", ob.pc.StatusReason, ob.pc.Allocated, ob.pc.Requested)
	case !ob.fresh && !ob.cachedPC:
		return StallBudget, "its config has not been read yet: waiting for its turn in the Lambda API budget"
	case global != StallNone:
		return global, ""
	}
	return StallNone, ""
}

// weightedAlarmAfter is the policy's weighted_alarm_after (the default
// for a hand-built policy that leaves it zero).
func weightedAlarmAfter(p config.Policy) time.Duration {
	if p.WeightedAlarmAfter.Duration > 0 {
		return p.WeightedAlarmAfter.Duration
	}
	return config.DefaultWeightedAlarmAfter
}

func limitsChanged(a, b Limits) bool {
	ra, rb := -1, -1
	if a.Reserved != nil {
		ra = *a.Reserved
	}
	if b.Reserved != nil {
		rb = *b.Reserved
	}
	return ra != rb || a.OtherPC != b.OtherPC || a.AccountUnreserved != b.AccountUnreserved
}
