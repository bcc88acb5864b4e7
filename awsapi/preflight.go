package awsapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Preflight checks, at start-up, each IAM permission the loop's reads need
// once, so a missing one fails at once, naming the action and resource,
// instead of on the first scaling decision: GetAccountSettings, then on one
// target GetProvisionedConcurrencyConfig (a missing config is fine),
// GetFunction and ListProvisionedConcurrencyConfigs, and GetAlias on the
// first alias among the targets. That is at most PreflightCalls calls whatever the number of
// targets; the rest — a function deleted since the config was written, a
// policy scoped to fewer functions — is learned as the loop runs, from each
// target's own reads, inside the budget. Writes (Put, Delete) cannot be
// tried without changing something. Every problem is reported
// (errors.Join), each a *PreflightError; a missing function or a wrong
// endpoint shows up too.
func (l *Lambda) Preflight(ctx context.Context, targets []controller.TargetID) error {
	var errs []error
	seen := map[string]bool{}
	check := func(err error) {
		if err == nil {
			return
		}
		err = explain(err)
		// One cause, one line: credentials that cannot be had (an
		// AssumeRole denied) fail every call the same way.
		if msg := err.Error(); !seen[msg] {
			seen[msg] = true
			errs = append(errs, err)
		}
	}
	_, err := l.accountUnreserved(ctx)
	check(err)
	if len(targets) == 0 {
		return errors.Join(errs...)
	}
	id := targets[0]
	fn, res := aws.String(id.Function), id.String()
	_, err = l.GetPC(ctx, id)
	check(err)
	check(l.getFn.Call(ctx, OpGetFunction, res, func(ctx context.Context) error {
		_, err := l.api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: fn, Qualifier: aws.String(id.Qualifier)})
		return err
	}))
	check(l.caller.Call(ctx, OpListPC, id.Function, func(ctx context.Context) error {
		_, err := l.api.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: fn, MaxItems: aws.Int32(1)})
		return err
	}))
	for _, a := range targets {
		if isVersion(a.Qualifier) {
			continue
		}
		check(l.caller.Call(ctx, OpGetAlias, a.String(), func(ctx context.Context) error {
			_, err := l.api.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(a.Function), Name: aws.String(a.Qualifier)})
			return err
		}))
		break
	}
	return errors.Join(errs...)
}

// PreflightCalls bounds the calls Preflight makes, whatever the number of
// targets; one of them (GetFunction) is on its own quota.
const PreflightCalls = 5

// PreflightError names what an operator must fix. It unwraps to the *Error.
type PreflightError struct{ Err *Error }

func (e *PreflightError) Error() string {
	where := ""
	if e.Err.Resource != "" {
		where = " on " + e.Err.Resource
	}
	code := ErrorCode(e.Err.Err)
	if code == "" {
		code = e.Err.Err.Error()
	}
	switch e.Err.Class {
	case ClassAccessDenied:
		return fmt.Sprintf("missing IAM permission %s%s: %s", e.Err.Op, where, code)
	case ClassNotFound:
		return fmt.Sprintf("%s%s: not found (check the function and qualifier): %s", e.Err.Op, where, code)
	default:
		return fmt.Sprintf("%s%s failed at start-up (%s): %v", e.Err.Op, where, e.Err.Class, e.Err.Err)
	}
}

func (e *PreflightError) Unwrap() error { return e.Err }

// explain turns a Caller error into a PreflightError.
func explain(err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return &PreflightError{Err: ae}
	}
	return err
}
