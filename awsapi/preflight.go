package awsapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Preflight makes cheap reads at start-up, so a missing IAM permission fails
// at once, naming the action and resource, instead of on the first scaling
// decision: GetAccountSettings once, GetProvisionedConcurrencyConfig for
// every target (a missing config is fine; this also primes Allocated), and
// each other read the loop makes — GetFunctionConcurrency,
// ListProvisionedConcurrencyConfigs, GetFunctionConfiguration, GetAlias —
// once, on the first target. Writes (Put, Delete) cannot be tried without
// changing something. Every problem is reported (errors.Join), each a
// *PreflightError; a missing function or a wrong endpoint shows up too.
// All calls go through the bucket: at 10 rps, 1,000 targets take ~100 s.
func (l *Lambda) Preflight(ctx context.Context, targets []controller.TargetID) error {
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, explain(err))
		}
	}
	_, err := l.accountUnreserved(ctx)
	check(err)
	for _, id := range targets {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		_, err := l.GetPC(ctx, id)
		check(err)
	}
	if len(targets) == 0 {
		return errors.Join(errs...)
	}
	id := targets[0]
	fn, res := aws.String(id.Function), id.String()
	check(l.caller.Call(ctx, OpGetConcurrency, res, func(ctx context.Context) error {
		_, err := l.api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: fn})
		return err
	}))
	check(l.caller.Call(ctx, OpListPC, id.Function, func(ctx context.Context) error {
		_, err := l.api.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: fn, MaxItems: aws.Int32(1)})
		return err
	}))
	check(l.caller.Call(ctx, OpGetFunctionConfig, res, func(ctx context.Context) error {
		_, err := l.api.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: fn, Qualifier: aws.String(id.Qualifier)})
		return err
	}))
	if !isVersion(id.Qualifier) {
		check(l.caller.Call(ctx, OpGetAlias, res, func(ctx context.Context) error {
			_, err := l.api.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: fn, Name: aws.String(id.Qualifier)})
			return err
		}))
	}
	return errors.Join(errs...)
}

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
