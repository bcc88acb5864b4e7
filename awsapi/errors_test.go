package awsapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ClassOK},
		{name: "lambda throttle", err: &types.TooManyRequestsException{Message: aws.String("Rate exceeded")}, want: ClassThrottled},
		{name: "cloudwatch throttle", err: &smithy.GenericAPIError{Code: "Throttling"}, want: ClassThrottled},
		{name: "throttling exception", err: &smithy.GenericAPIError{Code: "ThrottlingException"}, want: ClassThrottled},
		{name: "conflict", err: &types.ResourceConflictException{}, want: ClassConflict},
		{name: "invalid", err: &types.InvalidParameterValueException{}, want: ClassInvalid},
		{name: "cloudwatch invalid", err: &smithy.GenericAPIError{Code: "InvalidParameterValue"}, want: ClassInvalid},
		{name: "function not found", err: &types.ResourceNotFoundException{}, want: ClassNotFound},
		{name: "config not found", err: &types.ProvisionedConcurrencyConfigNotFoundException{}, want: ClassNotFound},
		{name: "access denied", err: &smithy.GenericAPIError{Code: "AccessDeniedException"}, want: ClassAccessDenied},
		{name: "access denied query", err: &smithy.GenericAPIError{Code: "AccessDenied"}, want: ClassAccessDenied},
		{name: "unrecognized client", err: &smithy.GenericAPIError{Code: "UnrecognizedClientException"}, want: ClassAccessDenied},
		{name: "not authorized suffix", err: &smithy.GenericAPIError{Code: "KMSNotAuthorized"}, want: ClassAccessDenied},
		{name: "service exception", err: &types.ServiceException{}, want: ClassServer},
		{name: "cloudwatch internal", err: &smithy.GenericAPIError{Code: "InternalServiceError"}, want: ClassServer},
		{name: "tagging throttle (400)", err: &smithy.GenericAPIError{Code: "ThrottledException"}, want: ClassThrottled},
		{name: "tagging invalid", err: &smithy.GenericAPIError{Code: "InvalidParameterException"}, want: ClassInvalid},
		{name: "tagging internal", err: &smithy.GenericAPIError{Code: "InternalServiceException"}, want: ClassServer},
		{name: "dynamodb throttle (400)", err: &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}, want: ClassThrottled},
		{name: "sdk retryable timeout", err: &smithy.GenericAPIError{Code: "RequestTimeoutException"}, want: ClassServer},
		{name: "unknown code", err: &smithy.GenericAPIError{Code: "EC2ThrottledException2"}, want: ClassError},
		{name: "message is never read", err: &smithy.GenericAPIError{Code: "Weird", Message: "Rate exceeded, throttling"}, want: ClassError},
		{name: "wrapped", err: fmt.Errorf("ctx: %w", &types.ResourceConflictException{}), want: ClassConflict},
		{name: "canceled", err: context.Canceled, want: ClassError},
		{name: "plain", err: errors.New("connection refused"), want: ClassError},
		{name: "already classified", err: &Error{Class: ClassInvalid, Err: errors.New("x")}, want: ClassInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Classify(tc.err))
			if tc.err != nil {
				require.Contains(t, Classes(), Classify(tc.err))
			}
		})
	}
}

// TestClassifyKnowsTheSDKsThrottles: a code the SDK's retryer counts as
// throttling is throttled here too (start-up retries it, telemetry says so).
func TestClassifyKnowsTheSDKsThrottles(t *testing.T) {
	for code := range retry.DefaultThrottleErrorCodes {
		require.Equal(t, ClassThrottled, Classify(&smithy.GenericAPIError{Code: code}), code)
	}
	for code := range retry.DefaultRetryableErrorCodes {
		require.Equal(t, ClassServer, Classify(&smithy.GenericAPIError{Code: code}), code)
	}
}

func TestWrapRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after *string
		want  time.Duration
	}{
		{name: "seconds", after: aws.String("2"), want: 2 * time.Second},
		{name: "fraction", after: aws.String("0.5"), want: 500 * time.Millisecond},
		{name: "absent", after: nil, want: 0},
		{name: "garbage", after: aws.String("soon"), want: 0},
		{name: "NaN", after: aws.String("NaN"), want: 0},
		{name: "negative", after: aws.String("-3"), want: 0},
		{name: "absurd", after: aws.String("86400"), want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wrap(OpGetPC, "f:q", &types.TooManyRequestsException{RetryAfterSeconds: tc.after})
			var ae *Error
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.want, ae.RetryAfter())
			require.Equal(t, ClassThrottled, ae.ErrorClass())
			require.Equal(t, "lambda:GetProvisionedConcurrencyConfig", ae.Op)
		})
	}
}

func TestActions(t *testing.T) {
	got := Actions()
	want := []Action{
		{Name: "cloudwatch:GetMetricData", Scopable: false},
		{Name: "dynamodb:DeleteItem", Scopable: true},
		{Name: "dynamodb:GetItem", Scopable: true},
		{Name: "dynamodb:PutItem", Scopable: true},
		{Name: "dynamodb:UpdateItem", Scopable: true},
		{Name: "lambda:DeleteProvisionedConcurrencyConfig", Scopable: true},
		{Name: "lambda:GetAccountSettings", Scopable: false},
		{Name: "lambda:GetAlias", Scopable: true},
		{Name: "lambda:GetFunction", Scopable: true},
		{Name: "lambda:GetProvisionedConcurrencyConfig", Scopable: true},
		{Name: "lambda:ListProvisionedConcurrencyConfigs", Scopable: true},
		{Name: "lambda:PutProvisionedConcurrencyConfig", Scopable: true},
		{Name: "sts:AssumeRole", Scopable: true},
		{Name: "tag:GetResources", Scopable: false},
	}
	require.Equal(t, want, got)
	got[0].Name = "mutated"
	require.Equal(t, want, Actions(), "Actions returns a copy")
}

func TestParseLastModified(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want time.Time
	}{
		{name: "lambda", in: "2019-11-21T19:32:12+0000", want: time.Date(2019, 11, 21, 19, 32, 12, 0, time.UTC)},
		{name: "millis", in: "2019-11-21T19:32:12.250+0000", want: time.Date(2019, 11, 21, 19, 32, 12, 250e6, time.UTC)},
		{name: "offset", in: "2019-11-21T20:32:12+0100", want: time.Date(2019, 11, 21, 19, 32, 12, 0, time.UTC)},
		{name: "rfc3339", in: "2019-11-21T19:32:12Z", want: time.Date(2019, 11, 21, 19, 32, 12, 0, time.UTC)},
		{name: "empty", in: "", want: time.Time{}},
		{name: "garbage", in: "yesterday", want: time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, parseLastModified(tc.in))
		})
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name, in, function, qualifier string
	}{
		{name: "bare", in: "checkout", function: "checkout"},
		{name: "partial ARN", in: "123456789012:function:checkout", function: "checkout"},
		{name: "full ARN", in: "arn:aws:lambda:us-east-1:123456789012:function:checkout", function: "checkout"},
		{name: "qualified ARN", in: "arn:aws:lambda:us-east-1:123456789012:function:checkout:live", function: "checkout", qualifier: "live"},
		{name: "name:qualifier", in: "x:function", function: "x", qualifier: "function"},
		{name: "not a reference", in: "a b:c", function: "a b:c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.function, FunctionName(tc.in))
			require.Equal(t, tc.qualifier, qualifierOf(tc.in))
		})
	}
}

func FuzzParsers(f *testing.F) {
	for _, s := range []string{"", "2019-11-21T19:32:12+0000", "arn:aws:lambda:us-east-1:1:function:f:q", ":::::function:", "function:", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = parseLastModified(s)
		_ = FunctionName(s)
		_ = qualifierOf(s)
		_ = isVersion(s)
		_ = classifyCode(s)
	})
}
