package controller

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// loopState is the loop's memory across ticks, beside the per-target one:
// what it knew of time and of CloudWatch's data at the last tick, and when
// it wants to wake next.
type loopState struct {
	mu sync.Mutex

	ticks      int           // ticks done
	lastLocal  time.Time     // our clock at the last tick
	lastOffset time.Duration // AWS minus ours at the last tick
	lastKnown  bool
	evidence   time.Time // newest minute with data at the last tick (AWS time)
	delays     delayEstimate
	skewWarned bool   // an offset above WarnClockSkew has been logged
	heldWhy    string // the loop-wide hold last logged ("" none)
	backlog    int    // writes the last tick left for later
	// unreadSince: when the first tick found targets never read (zero:
	// every target has been read, or none is waiting).
	unreadSince time.Time

	next  time.Time // our clock: next wake (zero: the next aligned tick)
	probe bool      // the next wake is a probe, not a tick
	force time.Time // our clock: a probe at or after this is a tick
	pilot MetricQuery
	// hasPilot: a target published recently enough to probe for the next
	// minute.
	hasPilot bool
}

// offset is AWS's clock minus ours. Without a ServerClock the loop runs on
// AWS's clock itself (a simulator sharing Clock).
func (c *Controller) offset() (time.Duration, bool) {
	if c.opts.ServerClock == nil {
		return 0, true
	}
	return c.opts.ServerClock.ClockOffset()
}

// holds decides the loop-wide holds of a tick at now (our clock): no
// scale-in or idle on the first tick after start, after a clock jump, with
// AWS's clock unmeasured or skewed, or on stale CloudWatch data.
func (c *Controller) holds(now time.Time, v view, first bool) view {
	l := &c.loop
	off, known := c.offset()
	_, skewed := clockCheck(off, known)
	jump := ""
	if l.ticks > 0 {
		gap := now.Sub(l.lastLocal)
		switch {
		case gap < 0:
			jump = fmt.Sprintf("our clock went back %s since the last tick", (-gap).Round(time.Second))
		case gap > 3*c.opts.Interval:
			jump = fmt.Sprintf("%s passed since the last tick (paused or clock jumped)", gap.Round(time.Second))
		case known && l.lastKnown && (off-l.lastOffset).Abs() > WarnClockSkew:
			jump = fmt.Sprintf("AWS's clock offset moved from %s to %s", l.lastOffset.Round(time.Second), off.Round(time.Second))
		}
	}
	switch {
	case skewed:
		v.holdIn = fmt.Sprintf("our clock is %s off AWS's, beyond %s", off.Abs().Round(time.Second), MaxClockSkew)
		v.global = StallClockSkew
	case !known:
		v.holdIn = "AWS's clock not measured yet"
		v.global = StallClockSkew
	case v.fr.stale:
		v.holdIn, v.global = v.fr.holdIn, StallStaleMetrics
	case first:
		v.holdIn = "first tick after start"
	case jump != "":
		v.holdIn = jump
	case v.fr.watermark.IsZero():
		v.holdIn = "no minute known to be published"
	}
	return v
}

// judge is holds for a real tick: it also measures the publication delay,
// reports freshness, logs loop-wide changes once and remembers the tick.
func (c *Controller) judge(now time.Time, v view, obs []observation) view {
	l := &c.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	v = c.holds(now, v, l.ticks == 0)
	off, known := c.offset()
	f := Freshness{Watermark: v.fr.watermark, ClockOffset: off, ClockKnown: known}
	if !f.Watermark.IsZero() {
		f.Lag = v.awsNow.Sub(f.Watermark)
	}
	if e := v.fr.evidence; !e.IsZero() && e.After(l.evidence) {
		// First seen now: an upper bound of how late CloudWatch published it.
		f.PublishDelay = v.awsNow.Sub(e)
		l.delays.add(f.PublishDelay)
	}
	c.rec.ObserveFreshness(f)

	switch abs := off.Abs(); {
	case known && abs > WarnClockSkew && !l.skewWarned:
		c.log.Warn("our clock differs from AWS's: correcting by the measured offset", KeyClockOffset, off.Round(time.Millisecond).String(),
			KeyLimit, MaxClockSkew.String())
		l.skewWarned = true
	case known && abs <= WarnClockSkew && l.skewWarned:
		c.log.Info("our clock agrees with AWS's again", KeyClockOffset, off.Round(time.Millisecond).String())
		l.skewWarned = false
	}
	if v.holdIn != l.heldWhy {
		switch {
		case v.global != StallNone:
			c.log.Warn("holding every scale-in and idle", KeyDetail, v.holdIn, KeyStall, string(v.global))
		case v.holdIn != "":
			c.log.Info("holding every scale-in and idle this tick", KeyDetail, v.holdIn)
		case l.heldWhy != "":
			c.log.Info("scale-in and idle allowed again")
		}
		l.heldWhy = v.holdIn
	}
	l.ticks++
	l.lastLocal, l.lastOffset, l.lastKnown = now, off, known
	if !v.fr.evidence.IsZero() {
		l.evidence = latest(l.evidence, v.fr.evidence)
	}
	l.hasPilot = false
	best := -1
	for _, ob := range obs {
		s := ob.series
		if !s.Complete || len(s.Points) == 0 || v.fr.evidence.IsZero() {
			continue
		}
		newest := s.Points[len(s.Points)-1].Time.Truncate(metricPeriod).Add(metricPeriod)
		if newest.Equal(v.fr.evidence) && len(s.Points) > best {
			best, l.pilot, l.hasPilot = len(s.Points), MetricQuery{ID: ob.t.ID, Statistic: ob.t.Policy.Statistic}, true
		}
	}
	return v
}

// scheduleAfterTick plans the next wake so the next tick meets the next
// minute: at its expected publication (its end plus the smallest recent
// delay, one probe interval early), probing from then on until it lands,
// and ticking anyway at the latest half an interval later (never sooner
// than an interval after this tick). Without a delay measured, a recently
// publishing target to probe, or with probing off, ticks are aligned to the
// interval plus Offset.
func (c *Controller) scheduleAfterTick(now time.Time, v view, _ []observation) {
	l := &c.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.delays.min()
	if c.opts.MetricsProbe < 0 || !ok || !l.hasPilot || l.evidence.IsZero() {
		l.next, l.probe = nextTick(now, c.opts.Interval, c.opts.Offset), false
		return
	}
	off := v.awsNow.Sub(now)
	nextEnd := l.evidence.Add(c.opts.Interval)
	aim := latest(nextEnd, nextEnd.Add(d-c.probeEvery())).Add(-off)
	if !aim.After(now) {
		aim = now.Add(c.probeEvery())
	}
	l.next, l.probe = aim, true
	l.force = latest(aim.Add(c.opts.Interval/2), now.Add(c.opts.Interval))
}

func (c *Controller) probeEvery() time.Duration {
	if c.opts.MetricsProbe > 0 {
		return c.opts.MetricsProbe
	}
	return c.defaultProbe
}

// NextWake is when the loop wants to run next after now (our clock): the
// next tick, or a probe for a late minute. Run sleeps until then and calls
// Wake; the fault suite and tests on a virtual clock call both themselves.
func (c *Controller) NextWake(now time.Time) time.Time {
	l := &c.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next.IsZero() {
		return nextTick(now, c.opts.Interval, c.opts.Offset)
	}
	return latest(l.next, now)
}

// Wake runs what is due at now (our clock): a tick, or a probe — one
// single-target read — that becomes a tick as soon as the next minute has
// been published.
func (c *Controller) Wake(ctx context.Context, now time.Time) error {
	l := &c.loop
	l.mu.Lock()
	probe := l.probe && now.Before(l.force)
	pilot, since, force := l.pilot, l.evidence, l.force
	l.mu.Unlock()
	if !probe || c.probeFinds(ctx, now, pilot, since) {
		return c.Tick(ctx, now)
	}
	l.mu.Lock()
	l.next = earliest(now.Add(c.probeEvery()), force)
	l.mu.Unlock()
	return nil
}

// probeFinds reads the pilot target's minutes from since on and reports
// whether one has been published.
func (c *Controller) probeFinds(ctx context.Context, now time.Time, pilot MetricQuery, since time.Time) bool {
	off, _ := c.offset()
	end := now.Add(off).Truncate(metricPeriod)
	if !end.After(since) {
		return false
	}
	series, err := c.opts.Metrics.Fetch(ctx, []MetricQuery{pilot}, since, end)
	if err != nil {
		return false // the tick the probes lead to reads, and reports, again
	}
	for _, pt := range series[pilot.ID].Points {
		if !pt.Time.Before(since) {
			return true
		}
	}
	return false
}
