package controller

import "errors"

// ErrorClass is what the loop reacts to in a failed call: a small enum the
// controller owns. The AWS boundary (awsapi, metrics) classifies by code in
// one place and hands the class over through ClassifiedError.
type ErrorClass string

const (
	ClassThrottled    ErrorClass = "throttled"     // back off for Retry-After (or an interval)
	ClassConflict     ErrorClass = "conflict"      // another operation in progress: next tick
	ClassInvalid      ErrorClass = "invalid"       // the value was refused: remembered, not repeated
	ClassNotFound     ErrorClass = "not_found"     // function or alias missing: slow retry
	ClassAccessDenied ErrorClass = "access_denied" // a permission is missing
	ClassServer       ErrorClass = "server"        // AWS failed: retried next tick
	ClassError        ErrorClass = "error"         // anything else
	// ClassWeighted: the alias has routing weights (a deploy shifting
	// traffic): no PC change is possible until they are gone.
	ClassWeighted ErrorClass = "weighted"
	// ClassNotLeader: the store's own write gate refused after the write
	// waited at the rate limiter (the lease was lost meanwhile): nothing
	// was sent, and nothing is learned about the target.
	ClassNotLeader ErrorClass = ResultNotLeader
)

// errClass is the class of a ClassifiedError in err's chain, else
// ClassError.
func errClass(err error) ErrorClass {
	var ce ClassifiedError
	if errors.As(err, &ce) {
		return ErrorClass(ce.ErrorClass())
	}
	return ClassError
}
