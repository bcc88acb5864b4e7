package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Results passed to Recorder.Acted besides the error classes.
const (
	ResultOK     = "ok"
	ResultDryRun = "dry_run"
	// ResultNotLeader: the write gate refused (a follower replica).
	ResultNotLeader = "not_leader"
)

// refusalRetries bounds the extra Puts one tick makes after a refusal.
const refusalRetries = 3

type job struct {
	t         Target
	d         Decision
	failed    bool // the config was FAILED: this write is a retry
	allocated int  // allocated PC when decided
}

// actAll carries out the decisions through the worker pool. Once ctx ends
// no new write starts; writes already started finish (see act).
func (c *Controller) actAll(ctx context.Context, now time.Time, jobs []job) {
	sem := make(chan struct{}, c.opts.Workers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		if !acquire(ctx, sem) {
			c.logs[j.t.ID].Info("shutting down: change not started", KeyFrom, j.d.Current, KeyTo, j.d.Desired,
				KeyReason, string(j.d.Reason))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.act(ctx, now, j)
		}()
	}
	wg.Wait()
}

// act writes one decision. The write runs on a context detached from ctx's
// cancellation, bounded by writeTimeout, so a shutdown never abandons a Put
// half-way and never leaves the loop's memory behind Lambda's state.
func (c *Controller) act(ctx context.Context, now time.Time, j job) {
	id, d := j.t.ID, j.d
	log := c.logs[id]
	if c.opts.DryRun {
		log.Info("would scale", KeyFrom, d.Current, KeyTo, d.Desired, KeyAllocated, j.allocated, KeyReason, string(d.Reason),
			KeyDirection, string(d.Direction), KeyUtilization, d.Utilization, KeyDetail, d.Detail, KeyDryRun, true)
		c.rec.Acted(id, d, ResultDryRun)
		return
	}
	notLeader := func(err error) {
		log.Info("not writing: this replica may not write now", KeyFrom, d.Current, KeyTo, d.Desired,
			KeyReason, string(d.Reason), KeyError, err.Error())
		c.rec.Acted(id, d, ResultNotLeader)
	}
	if g := c.opts.Gate; g != nil {
		if err := g.MayWrite(ctx); err != nil {
			notLeader(err)
			return
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	var pc PCConfig
	var err error
	for try := 0; ; try++ {
		switch d.Action {
		case ActPut:
			pc, err = c.opts.Store.PutPC(wctx, id, d.Desired)
		case ActDelete:
			err = c.opts.Store.DeletePC(wctx, id)
		default:
			return
		}
		if err == nil {
			break
		}
		if errClass(err) == ClassNotLeader { // the store's gate, after the rate limiter
			notLeader(err)
			return
		}
		c.writeFailed(ctx, now, j, err)
		// Refused on the way up for a limit: a refusal is answered at once
		// and changes nothing, so bisect toward the largest accepted value
		// within this tick, a few Puts at most.
		next := d.Current + (d.Desired-d.Current)/2
		if errClass(err) != ClassInvalid || d.Direction != DirOut || try >= refusalRetries || next <= d.Current ||
			ctx.Err() != nil {
			return
		}
		d.Detail = fmt.Sprintf("Lambda refused %d: trying %d", d.Desired, next)
		d.Desired, d.Constrained = next, true
		j.d = d
	}
	c.update(id, func(st *targetState) { c.wrote(st, j, pc, now) })
	log.Info("scaled", KeyFrom, d.Current, KeyTo, d.Desired, KeyAllocated, j.allocated, KeyReason, string(d.Reason),
		KeyDirection, string(d.Direction), KeyUtilization, d.Utilization, KeyDetail, d.Detail,
		KeyConstrained, d.Constrained, KeyDryRun, false)
	c.rec.Acted(id, d, ResultOK)
}

// writeFailed reacts to a Put/Delete error by its class; never fatal.
func (c *Controller) writeFailed(ctx context.Context, now time.Time, j job, err error) {
	id, d := j.t.ID, j.d
	log := c.logs[id].With(KeyFrom, d.Current, KeyTo, d.Desired, KeyAllocated, j.allocated, KeyReason, string(d.Reason),
		KeyError, err.Error())
	class := errClass(err)
	c.update(id, func(st *targetState) { c.writeRefused(st, j, err, now) })
	switch class {
	case ClassThrottled:
		log.Warn("Lambda throttled the change: backing off", KeyErrorClass, class, KeyRetryAfter, retryAfter(err).String())
	case ClassConflict:
		log.Warn("another operation is in progress: retrying next tick", KeyErrorClass, class)
	case ClassInvalid:
		log.Warn("Lambda rejected the value: marked constrained, not repeated", KeyErrorClass, class)
	case ClassNotFound:
		log.Warn("function or alias not found: retrying slowly", KeyErrorClass, class,
			KeyUntil, now.Add(c.notFoundRetry()).UTC().Format(time.RFC3339))
	default:
		class = ClassError
		log.Error("change failed", KeyErrorClass, class)
	}
	c.rec.Acted(id, d, string(class))
}

// logCallError logs a failed read by class; quiet during shutdown and when
// it repeats the last read's failure (the stall Warn, /readyz and
// aws_calls_total carry a lasting one: an outage is not a line per target
// and tick).
func (c *Controller) logCallError(ctx context.Context, id TargetID, msg string, err error, now time.Time, repeat bool) {
	log := c.logs[id]
	class := errClass(err)
	switch {
	case ctx.Err() != nil, repeat:
		log.Debug(msg, KeyError, err.Error(), KeyErrorClass, class)
	case class == ClassThrottled:
		log.Warn(msg+": backing off", KeyError, err.Error(), KeyErrorClass, class, KeyRetryAfter, retryAfter(err).String())
	case class == ClassNotFound:
		log.Warn(msg+": retrying slowly", KeyError, err.Error(), KeyErrorClass, class,
			KeyUntil, now.Add(c.notFoundRetry()).UTC().Format(time.RFC3339))
	default:
		log.Error(msg, KeyError, err.Error(), KeyErrorClass, class)
	}
}

func retryAfter(err error) time.Duration {
	var ce ClassifiedError
	if errors.As(err, &ce) {
		return ce.RetryAfter()
	}
	return 0
}
