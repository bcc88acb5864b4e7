package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// TestLeasePreflightRetriesADynamoDBThrottle: DynamoDB throttles with an
// HTTP 400 and its own code (ProvisionedThroughputExceededException); the
// lease's start-up read retries it within aws.startup_timeout like every
// other throttle, through the real client.
func TestLeasePreflightRetriesADynamoDBThrottle(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if hits.Add(1) <= 6 { // every SDK attempt of the first two checks
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"throughput exceeded"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	client := dynamodb.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer: func() aws.Retryer { // the SDK's 3 attempts, without its real-time backoff
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		}})
	e, err := ha.NewDynamoDB(ha.Options{Identity: "a"}, ha.DynamoDBOptions{Table: "t", Key: "k", Client: client})
	require.NoError(t, err)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	// The start-up backoff waits on the jump clock: retried, in no real time.
	clk := &jumpClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	require.NoError(t, electorPreflight(context.Background(), e, clk, logger, time.Minute))
	require.Greater(t, hits.Load(), int64(6))
	require.Contains(t, logs.String(), "error_class=throttled")
}

// deadlineElector is an elector whose lease protects writes until until.
type deadlineElector struct {
	ha.Elector
	until time.Time
}

func (e deadlineElector) MayWrite(context.Context) error { return nil }
func (e deadlineElector) WriteDeadline() time.Time       { return e.until }

// TestHAGateWriteDeadline: the daemon's gate hands the store its elector's
// write deadline; before the elector is set it refuses and nothing may be
// in flight.
func TestHAGateWriteDeadline(t *testing.T) {
	g := &haGate{}
	require.ErrorIs(t, g.MayWrite(context.Background()), errNoElector)
	require.False(t, g.WriteDeadline().After(time.Now()))
	g.set(ha.NewNone(ha.Options{}))
	require.True(t, g.WriteDeadline().IsZero(), "one replica: no limit")
	until := time.Now().Add(12 * time.Second)
	g.set(deadlineElector{until: until})
	require.Equal(t, until, g.WriteDeadline())
}
