package awsapi

import (
	"context"
	"errors"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// CallObserver sees every AWS call: service and operation as in Op, code the
// call's class ("ok" or an error class, see Classes), took the time the call
// itself took (waiting for the bucket excluded). Telemetry implements it;
// implementations must be cheap and safe for concurrent use.
type CallObserver interface {
	ObserveCall(service, operation, code string, took time.Duration)
}

// Caller runs SDK calls: it waits for the bucket (when there is one), times
// the call, classifies its error into an *Error, feeds throttling back into
// the bucket and reports to the observer. Every SDK call of the daemon goes
// through a Caller, named by an Op.
type Caller struct {
	bucket   *Bucket // nil: unlimited (CloudWatch has its own, far larger quota)
	observer CallObserver
	clock    controller.Clock
}

// NewCaller returns a Caller. bucket and observer may be nil; clock nil means
// wall time.
func NewCaller(bucket *Bucket, observer CallObserver, clock controller.Clock) *Caller {
	if clock == nil {
		clock = WallClock{}
	}
	return &Caller{bucket: bucket, observer: observer, clock: clock}
}

// Call runs fn as op about resource ("" for account-wide calls). The error is
// nil or an *Error.
func (c *Caller) Call(ctx context.Context, op Op, resource string, fn func(context.Context) error) error {
	return c.callGated(ctx, op, resource, nil, fn)
}

// callGated is Call for a write: once the bucket lets it go, gate (nil:
// none) is asked, and a refusal sends nothing (see gateRefused). The SDK's
// retries of the request ask it again (meterRetries).
func (c *Caller) callGated(ctx context.Context, op Op, resource string, gate controller.WriteGate, fn func(context.Context) error) error {
	if c.bucket != nil {
		if err := c.bucket.Wait(ctx); err != nil {
			return wrap(op, resource, err)
		}
	}
	info := &callInfo{bucket: c.bucket, gate: gate, op: op, resource: resource}
	if err := info.mayWrite(ctx); err != nil {
		return err // not sent: nothing to observe, nothing learned about the bucket
	}
	start := c.clock.Now()
	err := wrap(op, resource, fn(context.WithValue(ctx, callInfoKey{}, info)))
	took := c.clock.Now().Sub(start)
	class := Classify(err)
	if c.bucket != nil {
		switch class {
		case ClassThrottled:
			var wait time.Duration
			var ae *Error
			if errors.As(err, &ae) {
				wait = ae.Wait
			}
			c.bucket.Throttled(wait)
		case ClassOK:
			c.bucket.Succeeded()
		}
	}
	if c.observer != nil {
		c.observer.ObserveCall(op.Service(), op.Name(), class, took)
	}
	return err
}

// callInfoKey carries a call's *callInfo to the SDK middleware.
type callInfoKey struct{}

// callInfo is what the SDK middleware needs of the Caller's call: the
// bucket its retries wait on, and the write gate they ask.
type callInfo struct {
	bucket   *Bucket
	gate     controller.WriteGate
	op       Op
	resource string
}

// mayWrite asks the gate (nil, or no gate: yes).
func (ci *callInfo) mayWrite(ctx context.Context) error {
	if ci == nil || ci.gate == nil {
		return nil
	}
	if err := ci.gate.MayWrite(ctx); err != nil {
		return &Error{Op: ci.op.Action(), Resource: ci.resource, Class: ClassNotLeader, Err: err}
	}
	return nil
}

// WallClock is real time: controller.SystemClock, the one definition.
type WallClock = controller.SystemClock
