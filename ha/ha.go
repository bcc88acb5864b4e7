// Package ha elects the one replica that writes when several daemons run on
// one config. Three backends:
//
//   - kubernetes: a coordination.k8s.io Lease through client-go's
//     leaderelection (ReleaseOnCancel), on its own client and rate limit;
//   - dynamodb: one item taken by conditional writes; a follower takes it
//     over only after its Version stayed unchanged for a whole lease
//     measured on the follower's own monotonic clock (no clock is compared
//     across hosts: the awslabs amazon-dynamodb-lock-client approach);
//   - none: always leader (one replica).
//
// An Elector is the controller's WriteGate. Neither backend fences writes
// (Lambda's Put has no revision check), so the gate is asked right before
// each write and lets it through only while this replica holds the lease
// AND renewed it within renew_deadline on its own monotonic clock; a failed
// renewal closes it at once. A follower's lease cannot expire sooner than
// lease_duration after the leader's last successful renewal began, so
// lease_duration − renew_deadline (5 s by default) is the margin a write
// started at the last moment has to complete: the writer abandons it at
// WriteDeadline, halfway into that margin (the rest absorbs the request's
// transit and clock rates).
package ha

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Backends.
const (
	BackendNone       = "none"
	BackendKubernetes = "kubernetes"
	BackendDynamoDB   = "dynamodb"
)

// Backends lists the valid backend names.
func Backends() []string { return []string{BackendNone, BackendKubernetes, BackendDynamoDB} }

// Defaults: the timings Kubernetes controllers use (cluster-autoscaler,
// KEDA, karpenter).
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// ErrNotLeader is what MayWrite wraps when this replica may not write.
var ErrNotLeader = errors.New("not the leader")

// Elector runs an election in the background and gates writes on its outcome.
type Elector interface {
	// MayWrite returns nil only while this replica holds the lease and
	// renewed it within renew_deadline (controller.WriteGate).
	controller.WriteGate
	// WriteDeadline is when a write MayWrite lets through now must be
	// over (zero: no limit): the writer abandons it then.
	WriteDeadline() time.Time
	// Run campaigns until ctx ends, then stops writing and releases the
	// lease. Losing the lease does not end Run: the replica goes on as a
	// follower and campaigns again. It returns a non-nil error only when
	// the election cannot run at all. Cancel ctx only once no write is in
	// flight any more (after the controller stopped).
	Run(ctx context.Context) error
	// IsLeader reports whether this replica holds the lease now.
	IsLeader() bool
	// Identity is this replica's name in the lease.
	Identity() string
	// Backend is one of the Backend* names.
	Backend() string
	// Preflight makes one read of the lease so a missing permission or a
	// missing table stops the daemon at start-up, naming it.
	Preflight(ctx context.Context) error
}

// Timings of the lease. Zero fields take the defaults.
type Timings struct {
	// LeaseDuration: how long a follower waits, after it last saw the
	// lease change, before it takes the lease over.
	LeaseDuration time.Duration
	// RenewDeadline: the leader writes only while its last successful
	// renewal began less than this long ago; past it, it steps down.
	RenewDeadline time.Duration
	// RetryPeriod: how often the leader renews and a follower looks.
	RetryPeriod time.Duration
}

// WithDefaults fills zero fields with the defaults.
func (t Timings) WithDefaults() Timings {
	if t.LeaseDuration <= 0 {
		t.LeaseDuration = DefaultLeaseDuration
	}
	if t.RenewDeadline <= 0 {
		t.RenewDeadline = DefaultRenewDeadline
	}
	if t.RetryPeriod <= 0 {
		t.RetryPeriod = DefaultRetryPeriod
	}
	return t
}

// Validate checks retry_period < renew_deadline < lease_duration.
func (t Timings) Validate() error {
	var errs []error
	if t.RenewDeadline >= t.LeaseDuration {
		errs = append(errs, fmt.Errorf("renew_deadline (%s) must be less than lease_duration (%s)", t.RenewDeadline, t.LeaseDuration))
	}
	if t.RetryPeriod >= t.RenewDeadline {
		errs = append(errs, fmt.Errorf("retry_period (%s) must be less than renew_deadline (%s)", t.RetryPeriod, t.RenewDeadline))
	}
	return errors.Join(errs...)
}

// Options common to every backend.
type Options struct {
	// Identity names this replica in the lease; "" means DefaultIdentity().
	// Two replicas must never share one.
	Identity string
	Timings  Timings
	Logger   *slog.Logger // default: discard
	// Metrics receives pcautoscaler_leader and leader_changes_total; nil
	// records nothing (see NewMetrics).
	Metrics *Metrics
	// OnChange, when set, is called on every change of leadership, in
	// order, from the elector's goroutine: keep it short.
	OnChange func(leader bool)
}

// DefaultIdentity is "<host>-<pid>": unique per process, readable in the
// lease (in Kubernetes the host name is the pod name).
func DefaultIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "pcautoscaler"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// Log keys of this package: snake_case, fixed.
const (
	KeyBackend       = "backend"
	KeyIdentity      = "identity"
	KeyHolder        = "holder"
	KeyReason        = "reason"
	KeyError         = "error"
	KeyLeaseDuration = "lease_duration"
	KeyRenewDeadline = "renew_deadline"
	KeyRetryPeriod   = "retry_period"
	KeySinceRenew    = "since_renew"
	KeyLease         = "lease"
	KeyWaited        = "waited"
)

// leadership is the state every backend shares: whether this replica
// leads, when its last successful renewal began (monotonic), and whether
// the last renewal attempt failed.
type leadership struct {
	backend  string
	identity string
	timings  Timings
	log      *slog.Logger
	metrics  *Metrics
	onChange func(bool)

	changeMu sync.Mutex // serialises changes and their callbacks

	mu        sync.Mutex
	leader    bool
	renewedAt time.Time // start of the last successful acquire or renew (monotonic reading kept)
	renewErr  error     // set by a failed renewal attempt, cleared by the next success
	holder    string    // the leader last observed; "" when unknown or none
}

func newLeadership(backend string, o Options) (*leadership, error) {
	o.Timings = o.Timings.WithDefaults()
	if err := o.Timings.Validate(); err != nil {
		return nil, err
	}
	if o.Identity == "" {
		o.Identity = DefaultIdentity()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &leadership{backend: backend, identity: o.Identity, timings: o.Timings, metrics: o.Metrics, onChange: o.OnChange,
		log: o.Logger.With(KeyBackend, backend, KeyIdentity, o.Identity)}
	l.metrics.set(false)
	return l, nil
}

func (l *leadership) Identity() string { return l.identity }
func (l *leadership) Backend() string  { return l.backend }

// IsLeader reports whether this replica holds the lease.
func (l *leadership) IsLeader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leader
}

// MayWrite is the write gate: nil only while leader, the last renewal
// attempt succeeded, and it began less than renew_deadline ago.
func (l *leadership) MayWrite(context.Context) error {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.leader && l.holder != "" && l.holder != l.identity:
		return fmt.Errorf("%w: the lease is held by %s", ErrNotLeader, l.holder)
	case !l.leader:
		return fmt.Errorf("%w: this replica does not hold the lease", ErrNotLeader)
	case l.renewErr != nil:
		return fmt.Errorf("%w: the last lease renewal failed: %v", ErrNotLeader, l.renewErr)
	case l.renewedAt.IsZero():
		return fmt.Errorf("%w: the lease was never renewed", ErrNotLeader)
	}
	if since := now.Sub(l.renewedAt); since >= l.timings.RenewDeadline {
		return fmt.Errorf("%w: the lease was last renewed %s ago, renew_deadline is %s", ErrNotLeader,
			since.Round(time.Millisecond), l.timings.RenewDeadline)
	}
	return nil
}

// WriteDeadline is when a write the gate lets through now must be over:
// halfway between renew_deadline and lease_duration after the last
// successful renewal began. The gate closes at renew_deadline, and no
// follower takes over before a whole lease_duration has passed since then,
// so a write cut off at this time cannot land after another replica may
// lead (Lambda's Put has no fencing). Closed: now.
func (l *leadership) WriteDeadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leader || l.renewedAt.IsZero() {
		return time.Now()
	}
	t := l.timings
	return l.renewedAt.Add(t.RenewDeadline + (t.LeaseDuration-t.RenewDeadline)/2)
}

// renewed records a successful acquire or renewal that began at start.
func (l *leadership) renewed(start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if start.After(l.renewedAt) {
		l.renewedAt = start
	}
	l.renewErr = nil
}

// renewFailed closes the gate until the next successful renewal.
func (l *leadership) renewFailed(err error) {
	if err == nil {
		err = errors.New("renewal failed")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewErr = err
}

// sinceRenew is how long ago the last successful renewal began.
func (l *leadership) sinceRenew() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.renewedAt.IsZero() {
		return 0
	}
	return time.Since(l.renewedAt)
}

// observe records who leads as seen in the lease; logs a change.
func (l *leadership) observe(holder string) {
	l.mu.Lock()
	old := l.holder
	l.holder = holder
	l.mu.Unlock()
	if holder != old && holder != l.identity {
		if holder == "" {
			l.log.Info("the lease is free")
		} else {
			l.log.Info("another replica leads", KeyHolder, holder)
		}
	}
}

// become changes leadership (no-op when unchanged): metrics, one log line
// (Info on gain or a voluntary release, Warn on loss), then OnChange.
func (l *leadership) become(leader bool, reason string, voluntary bool) {
	l.changeMu.Lock()
	defer l.changeMu.Unlock()
	l.mu.Lock()
	if l.leader == leader {
		l.mu.Unlock()
		return
	}
	l.leader = leader
	since := time.Duration(0)
	if !l.renewedAt.IsZero() {
		since = time.Since(l.renewedAt)
	}
	if leader {
		l.holder = l.identity
	} else {
		if l.holder == l.identity {
			l.holder = ""
		}
		l.renewedAt = time.Time{}
	}
	l.mu.Unlock()
	l.metrics.set(leader)
	l.metrics.changed()
	switch {
	case leader:
		l.log.Info("this replica is now the leader: writes enabled", KeyReason, reason)
	case voluntary:
		l.log.Info("stepped down: writes stopped", KeyReason, reason)
	default:
		l.log.Warn("lost the lease: writes stopped; running on as a follower", KeyReason, reason,
			KeySinceRenew, since.Round(time.Millisecond).String())
	}
	if l.onChange != nil {
		l.onChange(leader)
	}
}

// callErrors logs a failing lease call once per streak, at Warn, and the
// recovery at Info, so a follower polling a broken store doesn't flood the
// log.
type callErrors struct {
	log     *slog.Logger
	failing bool
}

func (c *callErrors) failed(msg string, err error) {
	if c.failing {
		c.log.Debug(msg, KeyError, err.Error())
		return
	}
	c.failing = true
	c.log.Warn(msg, KeyError, err.Error())
}

func (c *callErrors) ok() {
	if c.failing {
		c.failing = false
		c.log.Info("the lease store answers again")
	}
}
