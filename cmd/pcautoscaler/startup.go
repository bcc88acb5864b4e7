package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Start-up tolerates what the loop tolerates (issue 12): throttling, 5xx
// and network errors of the start-up checks are retried with backoff up to
// aws.startup_timeout; a missing function or alias disables that target
// and the others run, and the disabled ones are looked for again every
// disabledRecheck until they exist (recheckDisabled). What waiting cannot
// fix fails at once: a missing permission, a request Lambda calls invalid,
// credentials that cannot be had.

// Log keys of the start-up.
const (
	keyAttempt  = "attempt"
	keyRetryIn  = "retry_in"
	keyGiveUpAt = "give_up_at"
	keyDisabled = "disabled"
)

// disabledRecheck is how often the targets disabled at start-up are looked
// for again. Fixed, not the loop's interval: an alias a deploy pipeline
// creates minutes after the daemon started is managed within minutes,
// while each look costs awsapi.PreflightCalls calls per disabled target
// from the shared aws.lambda_rps budget, for a state that changes rarely.
const disabledRecheck = 5 * time.Minute

// Start-up backoff: doubling from startupBackoffMin to startupBackoffMax, or
// the server's Retry-After when it asks for longer.
const (
	startupBackoffMin = time.Second
	startupBackoffMax = 30 * time.Second
)

// errNothingToManage: every target the start-up checked was missing and no
// discovery can add one.
var errNothingToManage = errors.New("every configured target's function or alias is missing: nothing to manage " +
	"(check the names, the qualifiers and the region)")

// errGaveUp marks a start-up check still failing when aws.startup_timeout
// ran out (or with retries off).
var errGaveUp = errors.New("gave up")

// startupRetryable reports whether waiting may fix err: the throttled and
// server classes of awsapi.Classify, and a request that never got an answer
// (connection refused or reset, DNS, timeouts), which the loop retries next
// tick and which awsapi classifies as a plain error.
func startupRetryable(err error) bool {
	switch awsapi.Classify(err) {
	case awsapi.ClassThrottled, awsapi.ClassServer:
		return true
	case awsapi.ClassError:
		if errors.Is(err, context.Canceled) {
			return false
		}
		var send *smithyhttp.RequestSendError
		var ne net.Error
		var quota ratelimit.QuotaExceededError // the SDK's own retry budget, spent by the errors above
		return errors.As(err, &send) || errors.As(err, &ne) || errors.As(err, &quota)
	}
	return false
}

// errorList flattens errors.Join.
func errorList(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// startupRetry runs check until it succeeds, fails with an error waiting
// cannot fix, or timeout has passed on clock (the loop's: simulated time
// under --sim-clock, as the simulator's fault windows); each retry is a Warn
// line with the error's class. timeout 0: no retries.
func startupRetry(ctx context.Context, clock controller.Clock, logger *slog.Logger, timeout time.Duration,
	what string, check func(context.Context) error,
) error {
	start := clock.Now()
	giveUp := start.Add(timeout)
	backoff := startupBackoffMin
	for attempt := 1; ; attempt++ {
		err := check(ctx)
		if err == nil {
			return nil
		}
		errs := errorList(err)
		for _, e := range errs {
			if !startupRetryable(e) {
				return err // named by the caller; a permission does not appear by waiting
			}
		}
		wait := backoff
		for _, e := range errs {
			var ce controller.ClassifiedError
			if errors.As(e, &ce) && ce.RetryAfter() > wait {
				wait = ce.RetryAfter()
			}
		}
		now := clock.Now()
		if left := giveUp.Sub(now); wait > left {
			wait = left // a last attempt when the time is up
		}
		if timeout <= 0 || wait <= 0 {
			if timeout <= 0 {
				return fmt.Errorf("%s: %w (aws.startup_timeout is 0: not retried): %w", what, errGaveUp, err)
			}
			return fmt.Errorf("%s: %w after %d attempts in %s (aws.startup_timeout %s): %w",
				what, errGaveUp, attempt, now.Sub(start).Round(time.Second), timeout, err)
		}
		for _, e := range errs {
			logger.Warn("start-up check failed; retrying", keyAttempt, attempt, controller.KeyErrorClass, awsapi.Classify(e),
				keyError, e.Error(), keyRetryIn, wait.String(), keyGiveUpAt, giveUp.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-clock.After(wait):
		}
		backoff = min(2*backoff, startupBackoffMax)
	}
}

// missingTargets returns the targets among ids that a preflight error says
// are missing (not_found on the target, or on its function), and the
// errors left.
func missingTargets(err error, ids []controller.TargetID) (missing map[controller.TargetID]bool, rest []error) {
	missing = map[controller.TargetID]bool{}
	for _, e := range errorList(err) {
		var ae *awsapi.Error
		if awsapi.Classify(e) != awsapi.ClassNotFound || !errors.As(e, &ae) {
			rest = append(rest, e)
			continue
		}
		found := false
		for _, id := range ids {
			if ae.Resource == id.String() || (ae.Resource == id.Function && !strings.Contains(ae.Resource, ":")) {
				missing[id] = true
				found = true
				break // the first such target: the one Preflight checked
			}
		}
		if !found {
			rest = append(rest, e)
		}
	}
	return missing, rest
}

// preflight checks each permission the loop's reads need once (awsapi and
// metrics Preflight), so a missing one or a wrong endpoint stops the daemon
// at once, naming the action; discovery's was checked by its first run.
// Transient errors are retried up to aws.startup_timeout. A target whose
// function or alias is missing is disabled at Error — taken out of the
// loop, whose ticks would otherwise stay incomplete and /readyz 503 — and
// the checks go on with the next one; it is looked for again every
// disabledRecheck (recheckDisabled) and comes back by itself once it
// exists, or at a reload or a restart.
// Preflight looks at one target a round, so a missing target further down
// the list is learned by the loop's first read instead (a Warn, slow
// retries). errNothingToManage when every target is missing and there is
// no discovery.
func (d *daemon) preflight(ctx context.Context) error {
	targets := d.ctrl.Targets()
	ids := idsOf(targets)
	disabled := map[controller.TargetID]bool{}
	err := startupRetry(ctx, d.clock, d.logger, d.startupTimeout, "start-up check of Lambda", func(ctx context.Context) error {
		for {
			err := d.lambda.Preflight(ctx, ids)
			if err == nil {
				return nil
			}
			missing, rest := missingTargets(err, ids)
			if len(missing) == 0 {
				return err
			}
			kept := ids[:0:0]
			for _, id := range ids {
				if !missing[id] {
					kept = append(kept, id)
					continue
				}
				disabled[id] = true
				d.logger.Error(disabledMsg, controller.KeyTarget, id.String(),
					controller.KeyFunction, id.Function, controller.KeyQualifier, id.Qualifier, keyDisabled, true)
			}
			ids = kept
			if len(rest) > 0 {
				return errors.Join(rest...)
			}
			if len(ids) == 0 {
				return nil // every target checked is missing; the account-wide call answered
			}
		}
	})
	if err != nil {
		return err
	}
	if len(disabled) > 0 {
		if err := d.disable(targets, disabled); err != nil {
			return err
		}
		if len(ids) == 0 && d.syncer == nil {
			return errNothingToManage // the loop idles if another account runs
		}
	}
	if err := startupRetry(ctx, d.clock, d.logger, d.startupTimeout, "start-up check of CloudWatch", d.source.Preflight); err != nil {
		return err
	}
	d.startAAS(ctx) // never fatal; keeps checking until ctx ends
	return nil
}

// Log lines of a target disabled at start-up and of one found again.
var disabledMsg = "target disabled at start-up: its function or alias does not exist; the others run " +
	"(looked for again every " + disabledRecheck.String() + "; a reload or a restart brings it back too)"

const (
	enabledMsg       = "disabled target found again: its function or alias exists now; managed from the next tick"
	recheckFailedMsg = "re-check of the disabled targets failed; trying again next interval"
)

// disable takes the disabled targets out of the loop (through the AAS
// guard, which keeps the managed set) and out of telemetry, and keeps them
// for recheckDisabled.
func (d *daemon) disable(targets []controller.Target, disabled map[controller.TargetID]bool) error {
	var kept, off []controller.Target
	for _, t := range targets {
		if disabled[t.ID] {
			off = append(off, t)
		} else {
			kept = append(kept, t)
		}
	}
	if err := d.managed.set(kept); err != nil {
		return err
	}
	d.ids = idsOf(kept)
	d.metrics.SetTargets(d.ids)
	d.disabledMu.Lock()
	defer d.disabledMu.Unlock()
	d.disabled = off
	d.metrics.SetDisabled(len(disabled))
	return nil
}

// managedSet is every change of the managed set (start-up, discovery,
// reload, a disabled target found again): what is wanted before the AAS
// guard takes out the aliases AAS scales, so adding one keeps the rest.
type managedSet struct {
	mu     sync.Mutex
	wanted []controller.Target
	apply  func([]controller.Target) error // the AAS guard's SetTargets, else the controller's
}

func (m *managedSet) set(ts []controller.Target) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.apply(ts); err != nil {
		return err
	}
	m.wanted = slices.Clone(ts)
	return nil
}

// add applies the wanted set plus ts (those not in it already) and
// returns the new set's ids.
func (m *managedSet) add(ts []controller.Target) ([]controller.TargetID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := slices.Clone(m.wanted)
	for _, t := range ts {
		if !slices.ContainsFunc(next, func(w controller.Target) bool { return w.ID == t.ID }) {
			next = append(next, t)
		}
	}
	if err := m.apply(next); err != nil {
		return nil, err
	}
	m.wanted = next
	return idsOf(next), nil
}

// resetDisabledLocked forgets the disabled targets: a reload applied the whole
// config again. The caller holds d.disabledMu (reload.go), so a re-check
// answered meanwhile is dropped (disabledGen).
func (d *daemon) resetDisabledLocked() {
	d.disabled = nil
	d.disabledGen++
	d.metrics.SetDisabled(0)
}

// recheckDisabled looks for the targets disabled at start-up every
// disabledRecheck of the loop's clock, with start-up's Lambda Preflight
// (the shared aws.lambda_rps budget), until none is left or ctx ends.
func (d *daemon) recheckDisabled(ctx context.Context) {
	failing := false
	for {
		d.disabledMu.Lock()
		left := len(d.disabled)
		d.disabledMu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-d.clock.After(disabledRecheck):
		}
		failing = d.recheckOnce(ctx, failing)
	}
}

// recheckOnce looks for each disabled target once and puts those that
// exist back into the managed set, one Info line each. A failed look (a
// throttle, a 5xx, the network; anything but not_found) is one Warn per
// streak of failed rounds: it reports whether this round failed.
func (d *daemon) recheckOnce(ctx context.Context, failing bool) bool {
	d.disabledMu.Lock()
	targets, gen := slices.Clone(d.disabled), d.disabledGen
	d.disabledMu.Unlock()
	var found []controller.Target
	var failed []error
	for _, t := range targets {
		id := []controller.TargetID{t.ID}
		err := d.lambda.Preflight(ctx, id) // one target a call: it checks the first only
		if ctx.Err() != nil {
			return failing
		}
		if err == nil {
			found = append(found, t)
			continue
		}
		if missing, rest := missingTargets(err, id); !missing[t.ID] || len(rest) > 0 {
			failed = append(failed, rest...)
		}
	}
	if len(failed) > 0 && !failing {
		for _, e := range failed {
			d.logger.Warn(recheckFailedMsg, controller.KeyErrorClass, awsapi.Classify(e), keyError, e.Error(),
				keyRetryIn, disabledRecheck.String())
		}
	}
	if len(found) == 0 {
		return len(failed) > 0
	}
	d.disabledMu.Lock()
	defer d.disabledMu.Unlock()
	if d.disabledGen != gen || ctx.Err() != nil {
		return false // a reload applied the whole config meanwhile, or shutting down
	}
	ids, err := d.managed.add(found)
	if err != nil {
		d.logger.Warn(recheckFailedMsg, keyError, err.Error(), keyRetryIn, disabledRecheck.String())
		return true
	}
	d.ids = ids
	d.metrics.SetTargets(ids)
	back := map[controller.TargetID]bool{}
	for _, t := range found {
		back[t.ID] = true
		d.logger.Info(enabledMsg, controller.KeyTarget, t.ID.String(),
			controller.KeyFunction, t.ID.Function, controller.KeyQualifier, t.ID.Qualifier, keyDisabled, false)
	}
	d.disabled = slices.DeleteFunc(d.disabled, func(t controller.Target) bool { return back[t.ID] })
	d.metrics.SetDisabled(len(d.disabled))
	return len(failed) > 0
}

// logStartupFailure says why the daemon exits: given up after retries,
// nothing to manage, or an error that is not retried and why.
func logStartupFailure(logger *slog.Logger, err error) {
	switch {
	case errors.Is(err, errNothingToManage):
		logger.Error("start-up: nothing to manage, exiting (a daemon with no target would only hide the mistake)", keyError, err)
	case errors.Is(err, errGaveUp):
		logger.Error("start-up check failed after retries; check the endpoint named here and the account's quotas", keyError, err)
	default:
		logger.Error("start-up check failed, not retried: a missing permission, a request Lambda calls invalid "+
			"or credentials that cannot be had do not get better by waiting; fix what is named here", keyError, err)
	}
}
