package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
	weights    map[string]float64 // the alias's routing weights, when limErr is weighted
	series     Series
	winStart   time.Time // where this target's metric read began
	read       readKind  // why the config was read this tick (readNone: cached)
	readLimits bool      // the limits too
	cachedPC   bool      // pc is the loop's cached state (from an earlier read or write)
	// cut, limCut: the tick's read time ran out during (or before) the
	// config's or the limits' read; sent, limSent: the call was begun
	// (counted against the tick's budget, cut or not: a cut one may still
	// have been waiting for the bucket, so this errs on the safe side).
	cut, limCut   bool
	sent, limSent bool
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

// view is what a tick knows about time and CloudWatch's data, for every
// target alike.
type view struct {
	awsNow     time.Time // our clock corrected by the measured offset
	start, end time.Time // the metric read: [start, end), end = running minute
	fr         readFreshness
	holdIn     string      // why no scale-in or idle may be decided ("" none)
	global     StallReason // a stall every target shares (skew, stale data)
}

// Tick runs one observe → decide → act cycle at now (our clock). The
// backtest and the fault suite drive it on a virtual clock, directly or
// through Wake. It returns the observation errors of this tick (joined);
// the loop keeps running whatever they are.
func (c *Controller) Tick(ctx context.Context, now time.Time) error {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	began := c.clock.Now()

	// Reads that hang (an endpoint that accepts and never answers) end
	// within the share of the interval a tick plans on: the targets they
	// were for hold, and the tick goes on to its writes and ends in time.
	rctx, cancel := context.WithTimeout(ctx, time.Duration(float64(c.opts.Interval)*budgetUsable))
	obs, v, mErr := c.observeAt(rctx, now)
	cancel()
	v = c.judge(now, v, obs)
	var errs []error
	if mErr != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", mErr))
		if ctx.Err() == nil {
			c.log.Warn("metrics read failed: no scale-in on the targets it covered", KeyError, mErr.Error(),
				KeyErrorClass, errClass(mErr))
		}
	}
	var jobs []job
	decisions := make([]Decision, len(obs))
	for i, ob := range obs {
		j, ok, err := c.evaluate(ctx, ob, v)
		if err != nil {
			errs = append(errs, err)
		}
		decisions[i] = j.d
		if ok {
			jobs = append(jobs, j)
		}
	}
	budget := c.budget(tickLoad{}).total - c.readsMade(obs)
	run, depth, oldest := c.queueWrites(v.awsNow, jobs, budget)
	if depth > 0 && c.loop.backlog == 0 {
		c.log.Warn("more writes due than the Lambda API budget allows: the rest wait for the next tick",
			KeyQueued, depth, KeyBudget, budget)
	}
	c.loop.backlog = depth
	c.rec.ObserveQueue(depth, oldest)
	c.actAll(ctx, v.awsNow, run)
	// Stalls are judged after the writes: a write that failed now counts
	// for this tick.
	firstReadsMoving := c.noteFirstReads(v.awsNow, obs)
	for i, ob := range obs {
		c.noteStall(ob.t.ID, ob, decisions[i], v.awsNow, v.global, firstReadsMoving)
	}
	c.scheduleAfterTick(now, v, obs)
	c.keepHistory(v, obs)

	err := tickErr(errs)
	took := c.clock.Now().Sub(began)
	if took > c.opts.Interval && ctx.Err() == nil {
		c.log.Warn("tick took longer than its interval: calls are slow or hang, or the Lambda budget is too small for the targets",
			KeyTook, took.Round(time.Millisecond).String(), KeyInterval, c.opts.Interval.String(), KeyTargets, len(obs))
	}
	c.log.Debug("tick", KeyTargets, len(obs), KeyTook, took.String(), KeyWatermark, timeString(v.fr.watermark),
		KeyError, errString(err))
	c.rec.Ticked(began, took, err)
	return err
}

// evaluate folds one target's observation into its memory, decides, and
// returns the write to make, if any.
func (c *Controller) evaluate(ctx context.Context, ob observation, v view) (job, bool, error) {
	id, now := ob.t.ID, v.awsNow
	log := c.logs[id]
	var before, after targetState
	c.update(id, func(st *targetState) { before = *st; c.apply(st, ob, now); after = *st })
	if ev := after.foreignEvent; ev != nil {
		c.update(id, func(st *targetState) { st.foreignEvent = nil })
		fight := len(after.Foreign) >= fightChanges
		msg := "provisioned concurrency changed by another writer"
		if ev.rewrite {
			msg = "provisioned concurrency rewritten by another writer (same value, later LastModified)"
		}
		if fight {
			msg = "fighting another writer: provisioned concurrency changed by someone else again"
		}
		action := "override: the next decision puts back what the metrics ask for"
		if !after.YieldUntil.IsZero() && now.Before(after.YieldUntil) {
			action = "yield: left alone until " + after.YieldUntil.UTC().Format(time.RFC3339)
		}
		log.Warn(msg, KeyFrom, ev.from, KeyTo, ev.to, KeyChangedAt, timeString(ev.at), KeyCount, len(after.Foreign),
			KeyDetail, action)
		c.rec.ForeignChange(id, ev.from, ev.to)
	}
	switch {
	case before.WeightedSince.IsZero() && !after.WeightedSince.IsZero():
		log.Info("alias has routing weights (a deploy shifting traffic): no change while they stand", KeyWeights, weightsString(ob.weights))
	case !before.WeightedSince.IsZero() && after.WeightedSince.IsZero():
		log.Info("routing weights cleared: deciding again", KeyDetail, "weighted for "+now.Sub(before.WeightedSince).Round(time.Second).String())
	}
	if after.lastStatus == StatusFailed && before.lastStatus != StatusFailed && ob.fresh {
		log.Warn("allocation FAILED", KeyStatusReason, ob.pc.StatusReason, KeyRequested, ob.pc.Requested,
			KeyAllocated, ob.pc.Allocated, KeyUntil, after.FailedUntil.UTC().Format(time.RFC3339))
	}
	for _, r := range []struct {
		was, is ErrorClass
		msg     string
	}{{before.pcReadErr, after.pcReadErr, "reading provisioned concurrency works again"},
		{before.limReadErr, after.limReadErr, "reading limits works again"}} {
		if r.was != "" && r.is == "" {
			log.Info(r.msg, KeyDetail, "after failing with "+string(r.was))
		}
	}
	var err error
	var d Decision
	decided := false
	switch {
	case ob.skipped:
		err = fmt.Errorf("%s: not found; next try at %s", id, after.NotFoundUntil.UTC().Format(time.RFC3339))
	case ob.pcErr != nil:
		err = fmt.Errorf("%s: %w", id, ob.pcErr)
		c.logCallError(ctx, id, "reading provisioned concurrency failed", ob.pcErr, now, before.pcReadErr == after.pcReadErr)
	case !ob.fresh && !ob.cachedPC:
		// Never read yet and not this tick (its turn in the budget has not
		// come, or Lambda throttles it): nothing is known to decide on.
		log.Debug("waiting for the first read of its config", KeyReason, "api_budget")
	default:
		if ob.limErr != nil && errClass(ob.limErr) != ClassWeighted { // weights: one Info line, above
			c.logCallError(ctx, id, "reading limits failed: using the cached ones", ob.limErr, now, before.limReadErr == after.limReadErr)
		}
		in := c.input(v, ob.t, after, ob)
		d, decided = Decide(in), true
		c.rec.Observed(id, in.PC, in.Limits, d)
		c.recordDemand(id, ob.series, v.fr.watermark)
	}
	if decided && d.Action == ActNone {
		c.update(id, func(st *targetState) { st.writeErr = "" }) // nothing left to write
	}
	if !decided {
		return job{}, false, err
	}
	if d.Action == ActNone {
		log.Debug("hold", KeyReason, string(d.Reason), KeyFrom, d.Current, KeyTo, d.Desired, KeyAllocated, ob.pc.Allocated,
			KeyUtilization, d.Utilization, KeyDetail, d.Detail, KeyConstrained, d.Constrained,
			KeyEffectiveMin, d.EffectiveMin, KeyEffectiveMax, d.EffectiveMax)
		return job{d: d}, false, err
	}
	return job{t: ob.t, d: d, failed: ob.pc.Exists && ob.pc.Status == StatusFailed, allocated: ob.pc.Allocated}, true, err
}

// noteFirstReads logs, loop-wide, first reads spread over ticks by the
// budget: once when they begin to wait, once when every target has been
// read. It reports whether first reads are moving (this tick made some, or
// none is waiting); a tick that leaves targets unread and reads none of
// them lets them count as stalled.
func (c *Controller) noteFirstReads(now time.Time, obs []observation) bool {
	unread, first := 0, 0
	for i := range obs {
		if obs[i].skipped {
			continue
		}
		if obs[i].read == readFirst && obs[i].fresh {
			first++
		}
		if !c.stateCopy(obs[i].t.ID).hasPC {
			unread++
		}
	}
	switch {
	case unread > 0 && c.loop.unreadSince.IsZero():
		c.loop.unreadSince = now
		ticks := (unread + max(first, 1) - 1) / max(first, 1)
		c.log.Info("first reads spread over ticks by the Lambda API budget: targets not read yet are decided once read",
			KeyCount, unread, KeyDetail, fmt.Sprintf("%d read this tick; about %d more ticks", first, ticks))
	case unread == 0 && !c.loop.unreadSince.IsZero():
		c.log.Info("every target read", KeyTook, now.Sub(c.loop.unreadSince).Round(time.Second).String())
		c.loop.unreadSince = time.Time{}
	}
	return unread == 0 || first > 0
}

// noteStall reports a target that has not been able to act on its metrics
// for more than StallTicks ticks: once at Warn when it begins (or its
// reason changes), at Info when it ends, and every tick to the recorder.
func (c *Controller) noteStall(id TargetID, ob observation, d Decision, now time.Time, global StallReason, firstReadsMoving bool) {
	st := c.stateCopy(id)
	reason, detail := blocker(ob, d, st, now, global)
	if reason == StallBudget && firstReadsMoving && !st.hasPC {
		// Waiting for its first read while first reads go on is start-up,
		// not a stall: one loop-wide line says it (noteFirstReads).
		reason, detail = StallNone, ""
	}
	var report StallReason
	var change stallChange
	var ticks int
	c.update(id, func(st *targetState) {
		report, change = st.stallUpdate(reason, detail)
		ticks = st.stallTicks
	})
	switch change {
	case stallBegan:
		c.logs[id].Warn("target stalled: not acting on its metrics", KeyStall, string(report), KeyTicks, ticks,
			KeyDetail, detail)
	case stallEnded:
		c.logs[id].Info("target acting on its metrics again")
	}
	c.rec.ObserveStall(id, report)
}

// Plan observes and decides at now for every target, and writes nothing:
// neither Lambda nor the loop's memory.
func (c *Controller) Plan(ctx context.Context, now time.Time) ([]PlanRow, error) {
	c.tickMu.Lock()
	defer c.tickMu.Unlock()
	obs, v, mErr := c.observeAt(ctx, now)
	c.loop.mu.Lock()
	v = c.holds(now, v, false)
	c.loop.mu.Unlock()
	rows := make([]PlanRow, 0, len(obs))
	for _, ob := range obs {
		st := c.stateCopy(ob.t.ID)
		c.apply(&st, ob, v.awsNow)
		row := PlanRow{ID: ob.t.ID, PC: ob.pc, Limits: st.limits}
		switch {
		case ob.skipped:
			row.Err = fmt.Errorf("not found; next try at %s", st.NotFoundUntil.UTC().Format(time.RFC3339))
		case ob.pcErr != nil:
			row.Err = ob.pcErr
		default:
			in := c.input(v, ob.t, st, ob)
			row.PC, row.Limits, row.Bounds, row.Decision = in.PC, in.Limits, in.Bounds, Decide(in)
		}
		rows = append(rows, row)
	}
	if mErr != nil {
		return rows, fmt.Errorf("metrics: %w", mErr)
	}
	return rows, nil
}

// observeAt reads Lambda and CloudWatch at now (our clock) and judges the
// read's freshness.
func (c *Controller) observeAt(ctx context.Context, now time.Time) ([]observation, view, error) {
	off, _ := c.offset()
	short, start, end := c.window(now.Add(off))
	obs, mErr := c.observe(ctx, now.Add(off), short, start, end)
	// The read's responses measured the offset (again): use it.
	off, known := c.offset()
	v := view{awsNow: now.Add(off), start: start, end: end}
	clockOK, _ := clockCheck(off, known)
	series := make(map[TargetID]Series, len(obs))
	for _, ob := range obs {
		series[ob.t.ID] = ob.series
	}
	v.fr = freshnessOf(series, v.awsNow, end, c.maxLag, clockOK)
	return obs, v, mErr
}

// window is the metric read of a tick at AWS's time awsNow: up to the
// running minute, over every target's lookback plus metrics_max_lag, so
// that late data still leaves a full lookback of published minutes. short
// starts the decision rules' window (without the predictor's lookback):
// what a target whose history reaches it reads (history.go).
func (c *Controller) window(awsNow time.Time) (short, long, end time.Time) {
	end = awsNow.Truncate(metricPeriod)
	n, nd := 1, 1
	for _, t := range c.targets {
		n = max(n, lookback(t.Policy))
		nd = max(nd, decideLookback(t.Policy))
	}
	long = end.Add(-time.Duration(n)*metricPeriod - c.maxLag)
	short = end.Add(-time.Duration(nd)*metricPeriod - c.maxLag)
	return short, long, end
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

// observe reads CloudWatch once for all targets, then Lambda for the
// targets the read plan picks (see budget.go), through a bounded pool.
func (c *Controller) observe(ctx context.Context, now, short, start, end time.Time) ([]observation, error) {
	obs := make([]observation, len(c.targets))
	queries := make([]MetricQuery, 0, len(c.targets))
	var longQ []MetricQuery // the predictor's whole lookback: no history to join
	for i, t := range c.targets {
		obs[i].t = t
		if now.Before(c.stateCopy(t.ID).NotFoundUntil) {
			obs[i].skipped = true
			continue
		}
		q := MetricQuery{ID: t.ID, Statistic: t.Policy.Statistic}
		obs[i].winStart = short
		h := c.hist[t.ID]
		if !short.After(start) || (!h.covers(short) || h.partial) && len(longQ) < longReadsPerTick {
			obs[i].winStart = start
			longQ = append(longQ, q)
			continue
		}
		queries = append(queries, q)
	}
	series := map[TargetID]Series{}
	var errs []error
	for _, g := range []struct {
		qs    []MetricQuery
		start time.Time
	}{{queries, short}, {longQ, start}} {
		if len(g.qs) == 0 {
			continue
		}
		got, err := c.opts.Metrics.Fetch(ctx, g.qs, g.start, end)
		for id, s := range got {
			series[id] = s
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	mErr := errors.Join(errs...)
	for i := range obs {
		// A failed call marks only its own batch incomplete; the other
		// batches' series are still good (see MetricSource).
		s, ok := series[obs[i].t.ID]
		if !ok {
			s = Series{Complete: false}
		}
		obs[i].series = s
	}

	c.readPlan(now, obs, c.budget(c.load(now, obs)))
	sem := make(chan struct{}, c.opts.Workers)
	var wg sync.WaitGroup
	for i := range obs {
		ob := &obs[i]
		if ob.read == readNone || ob.read == readSkipped || ob.read == readDeferred {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !acquire(ctx, sem) {
				ob.pcErr, ob.cut = ctx.Err(), true // never started
				return
			}
			defer func() { <-sem }()
			ob.sent = true
			ob.pc, ob.pcErr = c.opts.Store.GetPC(ctx, ob.t.ID)
			ob.fresh = ob.pcErr == nil
			ob.cut = cutByTick(ctx, ob.pcErr)
			if ob.pcErr == nil && ob.readLimits {
				ob.limSent = true
				lim, err := c.opts.Store.Limits(ctx, ob.t.ID)
				ob.limFetched, ob.limErr = true, err
				if err == nil {
					ob.limits = lim
				} else if errClass(err) == ClassWeighted {
					ob.weights = lim.Weights // for the Info line
				}
				ob.limCut = cutByTick(ctx, err)
			}
		}()
	}
	wg.Wait()
	// The tick's read time ran out (see Tick): a read it cut, or that never
	// started, was deferred, not failed; the cached state stands. A read
	// that failed before (its own timeout) stays a failure.
	for i := range obs {
		ob := &obs[i]
		if ob.cut {
			st := c.stateCopy(ob.t.ID)
			ob.read, ob.pcErr, ob.fresh, ob.readLimits, ob.limFetched, ob.limErr = readDeferred, nil, false, false, false, nil
			ob.pc, ob.limits, ob.cachedPC = st.pc, st.limits, st.hasPC
		} else if ob.limCut {
			ob.limFetched, ob.limErr, ob.limits = false, nil, c.stateCopy(ob.t.ID).limits // due again next tick
		}
	}
	return obs, mErr
}

// cutByTick reports whether err is the tick's read time running out while
// the call was in flight (ctx is the tick's read context), as opposed to a
// failure of the call itself, its own timeout included, before that.
func cutByTick(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded)
}

func (c *Controller) input(v view, t Target, st targetState, ob observation) Input {
	in := Input{
		Now: v.awsNow, Period: metricPeriod, WindowStart: ob.winStart, WindowEnd: v.fr.watermark,
		MaxLag: c.maxLag, HoldIn: v.holdIn,
		Policy: t.Policy, PC: ob.pc, Series: ob.series, Limits: ob.limits, State: st.State,
	}
	if ob.read == readFirst && ob.fresh {
		in.Series = deriveOnFirstRead(in.Series, ob.pc, t.Policy.Statistic)
	}
	if in.WindowStart.IsZero() {
		in.WindowStart = v.start
	}
	if in.WindowEnd.IsZero() {
		in.WindowEnd = in.WindowStart // nothing known to be published
	}
	if in.WindowStart.After(v.start) {
		// Without a history reaching the read (none yet, a gap), Decide
		// sees the decision window alone: never a gap that looks quiet.
		if h := c.hist[t.ID]; h.covers(in.WindowStart) {
			// The decision window's read joins the loop's history: Decide
			// sees the whole window, as if it had been read.
			from := latest(v.start, h.first())
			in.Series.Points = h.join(c.scratch, from, in.WindowStart, in.Series.Points)
			if cap(in.Series.Points) > cap(c.scratch) {
				c.scratch = in.Series.Points[:0]
			}
			in.WindowStart = earliest(from, in.WindowStart)
		}
	}
	if t.Bounds != nil {
		in.Bounds = t.Bounds(v.awsNow)
	}
	return in
}

func (c *Controller) recordDemand(id TargetID, s Series, end time.Time) {
	if !s.Complete || end.IsZero() {
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

func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// keepHistory folds the tick's final minutes (older than the watermark by
// metrics_max_lag: later ones may still be late) into each
// target's history; an incomplete read adds nothing (the next read covers
// the gap while it is shorter than the decision window).
func (c *Controller) keepHistory(v view, obs []observation) {
	if v.fr.watermark.IsZero() {
		return
	}
	final := v.fr.watermark.Add(-c.maxLag).Truncate(metricPeriod)
	keep := int(v.end.Sub(v.start) / metricPeriod)
	for _, ob := range obs {
		if ob.skipped || !ob.series.Complete || ob.winStart.IsZero() {
			continue
		}
		h := c.hist[ob.t.ID]
		long := !ob.winStart.After(v.start)
		switch {
		case long:
			h = nil // the whole lookback was read: it replaces the history
		case !h.covers(ob.winStart):
			h = &history{partial: true} // a gap, or none: begun from the decision window
		}
		c.hist[ob.t.ID] = h.extend(ob.series, ob.winStart, final, keep)
	}
}

// deriveOnFirstRead: before a target's first config read the metric source
// knows no allocation to derive utilization from and reads concurrency
// alone; the config just read has it, so the first decision need not wait a
// tick. For the Maximum statistic only (Lambda serves an alias on its PC
// first, so a minute's peak against the allocation is its utilization), and
// only for a settled config.
func deriveOnFirstRead(s Series, pc PCConfig, statistic string) Series {
	if statistic != "" && statistic != config.StatMaximum || !pc.Exists || pc.Status != StatusReady || pc.Allocated <= 0 {
		return s
	}
	for _, p := range s.Points {
		if p.HasUtilization {
			return s // the source measured or derived it already
		}
	}
	pts := slices.Clone(s.Points)
	alloc := float64(pc.Allocated)
	for i := range pts {
		if pts[i].HasConcurrency {
			pts[i].Spillover = max(0, pts[i].Concurrency-alloc)
			pts[i].Utilization, pts[i].HasUtilization = min(1, pts[i].Concurrency/alloc), true
		}
	}
	return Series{Points: pts, Complete: s.Complete}
}

// weightsString renders routing weights as "2=10% 3=90%", versions in
// order; "unknown" when the store did not say.
func weightsString(w map[string]float64) string {
	if len(w) == 0 {
		return "unknown"
	}
	vs := slices.Sorted(maps.Keys(w))
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s=%.4g%%", v, w[v]*100)
	}
	return strings.Join(parts, " ")
}

// readsMade counts the Lambda calls the observation made.
func (c *Controller) readsMade(obs []observation) int {
	n := 0
	for _, ob := range obs {
		if ob.read != readNone && ob.read != readSkipped && ob.read != readDeferred || ob.sent {
			n++
		}
		if ob.limFetched || ob.limSent {
			n += c.limitsCost(ob.t.ID)
		}
	}
	return n
}
