package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Start-up tolerates what the loop tolerates (issue 12): throttling, 5xx
// and network errors of the start-up checks are retried with backoff up to
// aws.startup_timeout; a missing function or alias disables that target
// and the others run. What waiting cannot fix fails at once: a missing
// permission, a request Lambda calls invalid, credentials that cannot be
// had.

// Log keys of the start-up.
const (
	keyAttempt  = "attempt"
	keyRetryIn  = "retry_in"
	keyGiveUpAt = "give_up_at"
	keyDisabled = "disabled"
)

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
// the checks go on with the next one; a reload or a restart brings it back.
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
				d.logger.Error("target disabled at start-up: its function or alias does not exist; the others run "+
					"(reload or restart once it exists)", controller.KeyTarget, id.String(),
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

// disable takes the disabled targets out of the loop (through the AAS
// guard, which keeps the managed set) and out of telemetry.
func (d *daemon) disable(targets []controller.Target, disabled map[controller.TargetID]bool) error {
	var kept []controller.Target
	for _, t := range targets {
		if !disabled[t.ID] {
			kept = append(kept, t)
		}
	}
	set := d.ctrl.SetTargets
	if d.aas != nil {
		set = d.aas.SetTargets
	}
	if err := set(kept); err != nil {
		return err
	}
	d.ids = idsOf(kept)
	d.metrics.SetTargets(d.ids)
	d.metrics.SetDisabled(len(disabled))
	return nil
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
