package reliability

import (
	"context"
	"errors"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// skewClock is the daemon's clock: AWS's (the world's virtual clock) plus
// the scenario's skew.
type skewClock struct {
	world *sim.VirtualClock
	skew  time.Duration
}

func (c skewClock) Now() time.Time                         { return c.world.Now().Add(c.skew) }
func (c skewClock) After(d time.Duration) <-chan time.Time { return c.world.After(d) }

// lateOffset is a ServerClock that has measured nothing until knownAt (AWS
// time), then knows the offset exactly: a daemon whose first responses have
// not come back yet.
type lateOffset struct {
	world   *sim.VirtualClock
	knownAt time.Time
	offset  time.Duration
}

func (l lateOffset) ClockOffset() (time.Duration, bool) {
	if l.world.Now().Before(l.knownAt) {
		return 0, false
	}
	return l.offset, true
}

// daemonStore is the PCStore one daemon instance writes through. It keeps
// the harness's own write log (with Lambda's state just before each write,
// which the simulator's log does not carry) and delivers SIGTERM in the
// middle of a write when a Term event is armed.
type daemonStore struct {
	controller.PCStore
	d *daemon
}

func (s daemonStore) PutPC(ctx context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	var pc controller.PCConfig
	err := s.d.write(id, "Put", n, func() (err error) {
		pc, err = s.PCStore.PutPC(ctx, id, n)
		return err
	})
	return pc, err
}

var _ controller.LimitsCoster = daemonStore{}

// LimitsCalls forwards the in-process store's cost (controller.LimitsCoster).
func (s daemonStore) LimitsCalls(id controller.TargetID) int {
	return controller.LimitsCallsOf(s.PCStore, id)
}

func (s daemonStore) DeletePC(ctx context.Context, id controller.TargetID) error {
	return s.d.write(id, "Delete", 0, func() error { return s.PCStore.DeletePC(ctx, id) })
}

// partialMetrics answers every series incomplete inside the scenario's
// PartialData windows, as metrics.Source does for a PartialData answer.
type partialMetrics struct {
	controller.MetricSource
	d *daemon
}

func (m partialMetrics) Fetch(ctx context.Context, qs []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	res, err := m.MetricSource.Fetch(ctx, qs, start, end)
	if m.d.h.partialNow() {
		for id, s := range res {
			s.Complete = false
			res[id] = s
		}
	}
	return res, err
}

// resultOf is a write's result as the write log names it: ok, the error
// class (as the controller sees it) or the context error.
func resultOf(err error) string {
	if err == nil {
		return controller.ResultOK
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "context: " + err.Error()
	}
	var ce controller.ClassifiedError
	if errors.As(err, &ce) {
		return ce.ErrorClass()
	}
	return "error: " + err.Error()
}
