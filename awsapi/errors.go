package awsapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Error classes: the only vocabulary the controller and telemetry see. They
// match controller.ClassifiedError.
const (
	ClassOK           = "ok" // Classify(nil), for telemetry labels
	ClassThrottled    = "throttled"
	ClassConflict     = "conflict"
	ClassInvalid      = "invalid"
	ClassNotFound     = "not_found"
	ClassAccessDenied = "access_denied"
	ClassServer       = "server"
	ClassError        = "error"
	// ClassWeighted: the alias has routing weights (a deploy shifting
	// traffic); Lambda refuses PC changes until they are gone. Not a limit.
	ClassWeighted = "weighted"
	// ClassNotLeader: the write gate (WithWriteGate) refused a Put or Delete
	// after its wait for the bucket; nothing was sent. The same word as the
	// controller's own refusal, controller.ResultNotLeader.
	ClassNotLeader = controller.ResultNotLeader
)

// weightedMessage is the one error told apart by its message: Lambda answers
// a Put on a weighted alias with the same code as a limit refusal
// (InvalidParameterValueException: "Alias with weights can not be used
// with Provisioned Concurrency", AWS-FACTS §3.3), and the two need opposite
// reactions (wait for the deploy vs. learn the limit).
const weightedMessage = "alias with weights"

// Classes lists every class Classify can return, so telemetry can pre-create
// its series.
func Classes() []string {
	return []string{ClassOK, ClassThrottled, ClassConflict, ClassInvalid, ClassNotFound,
		ClassAccessDenied, ClassServer, ClassError, ClassWeighted, ClassNotLeader}
}

// Error is an AWS call's failure, classified. It implements
// controller.ClassifiedError.
type Error struct {
	Op       string        // IAM action, e.g. "lambda:PutProvisionedConcurrencyConfig"
	Resource string        // function[:qualifier] the call was about; "" for account-wide calls
	Class    string        // one of the Class* constants
	Wait     time.Duration // the server's Retry-After; 0 when absent
	Err      error
}

func (e *Error) Error() string {
	where := e.Op
	if e.Resource != "" {
		where += " " + e.Resource
	}
	return fmt.Sprintf("%s: %s: %v", where, e.Class, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorClass returns the class (controller.ClassifiedError).
func (e *Error) ErrorClass() string { return e.Class }

// RetryAfter returns the server's Retry-After (controller.ClassifiedError).
func (e *Error) RetryAfter() time.Duration { return e.Wait }

// Classify names the class of any error: "ok" for nil, the class of an
// *Error, otherwise the class derived from the AWS error code. It looks at a
// message only for the weighted alias (see weightedMessage).
func Classify(err error) string {
	if err == nil {
		return ClassOK
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Class
	}
	return classify(err)
}

// ErrorCode returns the AWS error code inside err ("" if there is none).
func ErrorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// wrap classifies err from op on resource; nil stays nil.
func wrap(op Op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return &Error{Op: op.Action(), Resource: resource, Class: classify(err), Wait: retryAfter(err), Err: err}
}

func classify(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassError
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		c := classifyCode(api.ErrorCode())
		if c == ClassInvalid && strings.Contains(strings.ToLower(api.ErrorMessage()), weightedMessage) {
			return ClassWeighted
		}
		if c != "" {
			return c
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == 429:
			return ClassThrottled
		case s >= 500:
			return ClassServer
		}
	}
	return ClassError
}

// classifyCode maps an AWS error code to a class; "" when unknown. The
// SDK's own lists come first: every code its retryer treats as throttling
// (DynamoDB's ProvisionedThroughputExceededException for the lease, among
// others) is throttled here too, and its retryable timeouts are server
// errors, so start-up retries them as it does a 5xx.
func classifyCode(code string) string {
	if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
		return ClassThrottled
	}
	if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
		return ClassServer
	}
	switch code {
	case "TooManyRequests": // beside the SDK's list
		return ClassThrottled
	case "ResourceConflictException", "ResourceInUseException":
		return ClassConflict
	case "InvalidParameterValueException", "InvalidParameterValue", "InvalidParameterCombination",
		"InvalidParameterCombinationException", "ValidationError", "ValidationException",
		"MissingParameter", "InvalidRequestContentException",
		"InvalidParameterException", "PaginationTokenExpiredException": // the Tagging API's
		return ClassInvalid
	case "ResourceNotFoundException", "ProvisionedConcurrencyConfigNotFoundException",
		"ResourceNotFound":
		return ClassNotFound
	case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken",
		"ExpiredTokenException", "InvalidSignatureException", "SignatureDoesNotMatch",
		"MissingAuthenticationToken":
		return ClassAccessDenied
	case "ServiceException", "InternalFailure", "InternalServiceError", "InternalServiceFault",
		"ServiceUnavailable", "ServiceUnavailableException", "InternalError",
		"InternalServiceException": // the Tagging API's
		return ClassServer
	}
	switch {
	case strings.HasPrefix(code, "AccessDenied"), strings.HasSuffix(code, "NotAuthorized"),
		strings.HasSuffix(code, "NotAuthorizedException"):
		return ClassAccessDenied
	}
	return ""
}

// retryAfter reads Lambda's Retry-After (the SDK ignores it).
func retryAfter(err error) time.Duration {
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || tm.RetryAfterSeconds == nil {
		return 0
	}
	s, perr := strconv.ParseFloat(strings.TrimSpace(*tm.RetryAfterSeconds), 64)
	if perr != nil || !(s > 0 && s <= 3600) { // also rejects NaN
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// isNotFoundCode reports whether err carries exactly this code.
func hasCode(err error, code string) bool { return ErrorCode(err) == code }
