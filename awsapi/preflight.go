package awsapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Preflight makes one cheap read per action class at start-up, so a missing
// IAM permission fails at once, naming the action and resource, instead of
// on the first scaling decision. It reads GetAccountSettings once and, per
// target, GetProvisionedConcurrencyConfig (a missing config is fine) and
// GetFunctionConcurrency. Every problem is reported (errors.Join); errors
// other than access denied are reported too (a missing function, a wrong
// endpoint), each as an *Error.
func (l *Lambda) Preflight(ctx context.Context, targets []controller.TargetID) error {
	var errs []error
	if _, err := l.accountUnreserved(ctx); err != nil {
		errs = append(errs, explain(err))
	}
	for _, id := range targets {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if _, err := l.GetPC(ctx, id); err != nil {
			errs = append(errs, explain(err))
		}
		err := l.caller.Call(ctx, OpGetConcurrency, id.String(), func(ctx context.Context) error {
			_, err := l.api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(id.Function)})
			return err
		})
		if err != nil {
			errs = append(errs, explain(err))
		}
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
