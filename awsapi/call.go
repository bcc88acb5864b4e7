package awsapi

import (
	"context"
	"errors"
	"fmt"
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
	return c.callGated(ctx, op, resource, false, nil, fn)
}

// callGated is Call for a write (write true): once the bucket lets it go,
// gate (nil: none) is asked, and a refusal sends nothing (see gateRefused).
// The SDK's retries of the request ask it again (meterRetries).
func (c *Caller) callGated(ctx context.Context, op Op, resource string, write bool, gate controller.WriteGate, fn func(context.Context) error) error {
	if c.bucket != nil {
		if err := c.bucket.Wait(ctx); err != nil {
			return wrap(op, resource, err)
		}
	}
	info := &callInfo{bucket: c.bucket, gate: gate, op: op, resource: resource}
	if err := info.mayWrite(ctx); err != nil {
		return err // not sent: nothing to observe, nothing learned about the bucket
	}
	cctx, cancel, until := callContext(ctx, write, gate, c.bucket != nil)
	defer cancel()
	if !until.IsZero() && !until.After(time.Now()) {
		// The lease ended between the gate's yes and now: nothing is sent.
		return &Error{Op: op.Action(), Resource: resource, Class: ClassNotLeader,
			Err: fmt.Errorf("%w: the lease protects no write any more", errLeaseOver)}
	}
	if !write && c.bucket != nil {
		info.attemptTimeout = readTimeout // each attempt, after its wait for the bucket (meterRetries)
	}
	start := c.clock.Now()
	err := fn(context.WithValue(cctx, callInfoKey{}, info))
	if err != nil && !until.IsZero() && cctx.Err() != nil && ctx.Err() == nil {
		// Sent, perhaps applied: the next read of the config tells.
		err = fmt.Errorf("abandoned at %s, the end of what the lease protects (between renew_deadline and lease_duration "+
			"after its last renewal), so that no write of this replica lands once another may lead: %w",
			until.UTC().Format(time.RFC3339Nano), err)
	}
	err = wrap(op, resource, err)
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

// readTimeout bounds a call that is not a gated write (the reads, and the
// lease's own DynamoDB calls): an answer takes well under a second, and an
// endpoint that accepts connections but never answers would otherwise cost
// 3 attempts × the response-header timeout (a minute) per call, for every
// target of a tick. It bounds the whole call, the SDK's retries included,
// except on a Caller with a bucket (Lambda): there a retry may wait for the
// bucket (a Retry-After pause lasts up to a minute), so each attempt gets
// readTimeout after its wait. Failed, a read is retried next tick.
var readTimeout = 10 * time.Second // a var: tests shorten it

// WriteDeadliner is implemented by a write gate whose yes holds only for a
// while (ha's electors: the lease, and the daemon's gate in front of them):
// a write it let through is abandoned at WriteDeadline (zero: no limit).
type WriteDeadliner interface {
	WriteDeadline() time.Time
}

// errLeaseOver: a write's lease deadline passed before it was sent.
var errLeaseOver = errors.New("not the leader")

// callContext bounds a call once the bucket let it go: a read by
// readTimeout unless bucketed (then per attempt, see readTimeout), a write
// by its gate's write deadline (until; zero when the gate has none: the
// controller's own write timeout applies).
func callContext(ctx context.Context, write bool, gate controller.WriteGate, bucketed bool) (_ context.Context, _ context.CancelFunc, until time.Time) {
	switch g, ok := gate.(WriteDeadliner); {
	case !write && !bucketed:
		c, cancel := context.WithTimeout(ctx, readTimeout)
		return c, cancel, time.Time{}
	case write && ok:
		if until = g.WriteDeadline(); !until.IsZero() {
			c, cancel := context.WithDeadline(ctx, until)
			return c, cancel, until
		}
	}
	return ctx, func() {}, time.Time{}
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
	// attemptTimeout bounds each attempt after its wait (0: none).
	attemptTimeout time.Duration
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
