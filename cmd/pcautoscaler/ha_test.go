package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/ha"
)

// preflightElector answers Preflight from errs in turn, then nil; any
// other call panics (the embedded nil interface).
type preflightElector struct {
	ha.Elector
	errs  []error
	calls int
}

func (e *preflightElector) Preflight(context.Context) error {
	e.calls++
	if e.calls <= len(e.errs) {
		return e.errs[e.calls-1]
	}
	return nil
}

// TestElectorPreflightRetried: the lease's start-up read is retried as the
// Lambda and CloudWatch checks are: throttling until it passes, within
// aws.startup_timeout; past it, errGaveUp; access denied at once.
func TestElectorPreflightRetried(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}
	for _, tc := range []struct {
		name    string
		errs    []error
		timeout time.Duration
		wantErr error // nil: passes
		denied  bool
		calls   int
		retries int
	}{
		{name: "throttled twice, then passes", errs: []error{throttled, throttled}, timeout: 5 * time.Minute, calls: 3, retries: 2},
		{name: "throttled past the timeout", errs: []error{throttled, throttled, throttled, throttled, throttled, throttled, throttled},
			timeout: 3 * time.Second, wantErr: errGaveUp, calls: 3, retries: 2},
		{name: "access denied at once", errs: []error{denied}, timeout: time.Hour, denied: true, calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &jumpClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
			logs := &lineBuffer{}
			e := &preflightElector{errs: tc.errs}
			err := electorPreflight(context.Background(), e, clk, newLogger(logs, "info", "json"), tc.timeout)
			switch {
			case tc.denied:
				require.Error(t, err)
				require.NotErrorIs(t, err, errGaveUp)
				require.Equal(t, awsapi.ClassAccessDenied, awsapi.Classify(err))
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			default:
				require.NoError(t, err)
			}
			require.Equal(t, tc.calls, e.calls)
			retries := logLines(t, logs, startupRetryMsg)
			require.Len(t, retries, tc.retries, logs.String())
			for _, r := range retries {
				require.Equal(t, "WARN", r["level"])
				require.Equal(t, awsapi.ClassThrottled, r[controller.KeyErrorClass])
			}
		})
	}
}
