package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// observation is what one tick learned about one target.
type observation struct {
	t          Target
	skipped    bool // in the not-found backoff: not observed at all
	fresh      bool // GetPC answered this tick (else pc is the cached one)
	pc         PCConfig
	pcErr      error
	limits     Limits
	limFetched bool
	limErr     error
	series     Series
}

// PlanRow is one target's evaluation without acting: what `plan` prints.
type PlanRow struct {
	ID       TargetID
	PC       PCConfig
	Limits   Limits
	Bounds   Bounds
	Decision Decision
	Err      error // the target could not be observed; Decision is zero
}

// Tick runs one observe → decide → act cycle at now. The backtest drives it
// with a virtual clock. It returns the observation errors of this tick
// (joined); the loop keeps running whatever they are.
func (c *Controller) Tick(ctx context.Context, now time.Time) error {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	began := c.clock.Now()

	obs, start, end, mErr := c.observe(ctx, now)
	var errs []error
	if mErr != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", mErr))
		if ctx.Err() == nil {
			c.log.Warn("metrics read failed: holding every target", KeyError, mErr.Error(), KeyErrorClass, errClass(mErr))
		}
	}
	var jobs []job
	for _, ob := range obs {
		id := ob.t.ID
		c.update(id, func(st *targetState) { c.apply(st, ob, now) })
		if ob.skipped {
			st := c.stateCopy(id)
			errs = append(errs, fmt.Errorf("%s: not found; next try at %s", id, st.NotFoundUntil.UTC().Format(time.RFC3339)))
			continue
		}
		if ob.pcErr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, ob.pcErr))
			c.logCallError(ctx, id, "reading provisioned concurrency failed", ob.pcErr, now)
			continue
		}
		if ob.limErr != nil {
			c.logCallError(ctx, id, "reading limits failed: using the cached ones", ob.limErr, now)
		}
		st := c.stateCopy(id)
		in := c.input(now, start, end, ob.t, st, ob)
		d := Decide(in)
		c.rec.Observed(id, in.PC, in.Limits, d)
		c.recordDemand(id, ob.series, end)
		if d.Action == ActNone {
			c.logs[id].Debug("hold", KeyReason, string(d.Reason), KeyFrom, d.Current, KeyTo, d.Desired,
				KeyUtilization, d.Utilization, KeyDetail, d.Detail, KeyConstrained, d.Constrained,
				KeyEffectiveMin, d.EffectiveMin, KeyEffectiveMax, d.EffectiveMax)
			continue
		}
		jobs = append(jobs, job{t: ob.t, d: d, failed: in.PC.Exists && in.PC.Status == StatusFailed})
	}
	c.actAll(ctx, now, jobs)

	err := errors.Join(errs...)
	took := c.clock.Now().Sub(began)
	c.log.Debug("tick", KeyTargets, len(obs), KeyTook, took.String(), KeyError, errString(err))
	c.rec.Ticked(began, took, err)
	return err
}

// Plan observes and decides at now for every target, and writes nothing:
// neither Lambda nor the loop's memory.
func (c *Controller) Plan(ctx context.Context, now time.Time) ([]PlanRow, error) {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	obs, start, end, mErr := c.observe(ctx, now)
	rows := make([]PlanRow, 0, len(obs))
	for _, ob := range obs {
		st := c.stateCopy(ob.t.ID)
		c.apply(&st, ob, now)
		row := PlanRow{ID: ob.t.ID, PC: ob.pc, Limits: st.limits}
		switch {
		case ob.skipped:
			row.Err = fmt.Errorf("not found; next try at %s", st.NotFoundUntil.UTC().Format(time.RFC3339))
		case ob.pcErr != nil:
			row.Err = ob.pcErr
		default:
			in := c.input(now, start, end, ob.t, st, ob)
			row.PC, row.Limits, row.Bounds, row.Decision = in.PC, in.Limits, in.Bounds, Decide(in)
		}
		rows = append(rows, row)
	}
	if mErr != nil {
		return rows, fmt.Errorf("metrics: %w", mErr)
	}
	return rows, nil
}

// window is the metric read of a tick: the newest MetricLag finished
// periods are left out as not yet complete; the lookback covers every
// target's datapoints (and idle_after where missing_data is idle).
func (c *Controller) window(now time.Time) (time.Time, time.Time) {
	end := now.Truncate(metricPeriod).Add(-time.Duration(c.lag) * metricPeriod)
	n := 1
	for _, t := range c.targets {
		n = max(n, lookback(t.Policy))
	}
	return end.Add(-time.Duration(n) * metricPeriod), end
}

func lookback(p config.Policy) int {
	n := max(p.ScaleOutDatapoints, p.ScaleInDatapoints, 1)
	if p.MissingData == config.MissingIdle && p.IdleAfter.Duration > 0 {
		n = max(n, int((p.IdleAfter.Duration+metricPeriod-1)/metricPeriod)+1)
	}
	if p.Predict == config.PredictPeriodic {
		n = max(n, int((p.PredictLookback.Duration+metricPeriod-1)/metricPeriod))
	}
	return n
}

// observe reads CloudWatch once for all targets while a bounded pool reads
// Lambda per target; limits only when their cache is stale.
func (c *Controller) observe(ctx context.Context, now time.Time) ([]observation, time.Time, time.Time, error) {
	start, end := c.window(now)
	obs := make([]observation, len(c.targets))
	queries := make([]MetricQuery, 0, len(c.targets))
	sem := make(chan struct{}, c.opts.Workers)
	var wg sync.WaitGroup
	for i, t := range c.targets {
		st := c.stateCopy(t.ID)
		ob := &obs[i]
		ob.t = t
		if now.Before(st.NotFoundUntil) {
			ob.skipped = true
			continue
		}
		queries = append(queries, MetricQuery{ID: t.ID, Statistic: t.Policy.Statistic})
		if now.Before(st.ThrottledUntil) {
			ob.pc, ob.limits = st.pc, st.limits // no call: Decide holds
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !acquire(ctx, sem) {
				ob.pcErr = ctx.Err()
				return
			}
			defer func() { <-sem }()
			ob.pc, ob.pcErr = c.opts.Store.GetPC(ctx, t.ID)
			ob.fresh = ob.pcErr == nil
			ob.limits = st.limits
			if ob.pcErr == nil && (st.limitsAt.IsZero() || now.Sub(st.limitsAt) >= c.opts.LimitsRefresh) {
				lim, err := c.opts.Store.Limits(ctx, t.ID)
				ob.limFetched, ob.limErr = true, err
				if err == nil {
					ob.limits = lim
				}
			}
		}()
	}

	var series map[TargetID]Series
	var mErr error
	if len(queries) > 0 {
		series, mErr = c.opts.Metrics.Fetch(ctx, queries, start, end)
	}
	wg.Wait()
	for i := range obs {
		// A failed call marks only its own batch incomplete; the other
		// batches' series are still good (see MetricSource).
		s, ok := series[obs[i].t.ID]
		if !ok {
			s = Series{Complete: false}
		}
		obs[i].series = s
	}
	return obs, start, end, mErr
}

// apply folds an observation into a target's memory.
func (c *Controller) apply(st *targetState, ob observation, now time.Time) {
	if ob.skipped {
		return
	}
	if ob.pcErr != nil {
		c.backOff(st, ob.pcErr, now)
	}
	if ob.fresh {
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
		st.pc, st.hasPC, st.lastStatus = ob.pc, true, ob.pc.Status
		st.NotFoundUntil = time.Time{}
	}
	if ob.limFetched {
		st.limitsAt = now // on error too: retry on the slow cadence, not every tick
		if ob.limErr == nil {
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

func (c *Controller) input(now, start, end time.Time, t Target, st targetState, ob observation) Input {
	in := Input{
		Now: now, Period: metricPeriod, WindowStart: start, WindowEnd: end,
		Policy: t.Policy, PC: ob.pc, Series: ob.series, Limits: ob.limits, State: st.State,
	}
	if t.Bounds != nil {
		in.Bounds = t.Bounds(now)
	}
	return in
}

func (c *Controller) recordDemand(id TargetID, s Series, end time.Time) {
	if !s.Complete {
		return
	}
	var conc, spill float64
	newest := end.Add(-metricPeriod)
	for _, pt := range s.Points {
		if pt.Time.Truncate(metricPeriod).Equal(newest) {
			conc, spill = pt.Concurrency, pt.Spillover
		}
	}
	c.rec.ObserveDemand(id, conc, spill)
}

func acquire(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		if ctx.Err() != nil {
			<-sem
			return false
		}
		return true
	case <-ctx.Done():
		return false
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
