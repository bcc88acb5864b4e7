package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

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

// maxTickErrors: a tick's error names this many failures in full and
// counts the rest by class, so the "tick incomplete" line and /readyz stay
// short when every one of 10,000 targets fails (errors.Is and As still see
// each).
const maxTickErrors = 3

type tickError struct{ errs []error }

// tickErr joins a tick's errors, bounded (nil when there are none).
func tickErr(errs []error) error {
	if len(errs) <= maxTickErrors {
		return errors.Join(errs...)
	}
	return &tickError{errs: errs}
}

func (e *tickError) Unwrap() []error { return e.errs }

func (e *tickError) Error() string {
	n := map[ErrorClass]int{}
	for _, err := range e.errs[maxTickErrors:] {
		n[errClass(err)]++
	}
	classes := slices.Sorted(maps.Keys(n))
	counts := make([]string, len(classes))
	for i, c := range classes {
		counts[i] = fmt.Sprintf("%s %d", c, n[c])
	}
	var b strings.Builder
	for _, err := range e.errs[:maxTickErrors] {
		b.WriteString(err.Error())
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "and %d more (%s)", len(e.errs)-maxTickErrors, strings.Join(counts, ", "))
	return b.String()
}
