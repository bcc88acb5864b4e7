package telemetry

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Services whose answers /readyz requires by default.
const (
	ServiceLambda     = "lambda"
	ServiceCloudWatch = "cloudwatch"
)

// Readiness backs /readyz: ready when a tick succeeded within the last three
// intervals and every required AWS service answered a call within them.
// "Answered" is per call, not "the last call": with many targets one
// function's missing permission would otherwise make readiness flap with
// the order of concurrent calls.
type Readiness struct {
	interval time.Duration
	now      func() time.Time
	required []string

	mu          sync.Mutex
	lastSuccess time.Time
	lastErr     error
	answered    map[string]time.Time // service → last call it answered
	failed      map[string]time.Time // service → last call that failed
}

// StaleIntervals is how many tick intervals may pass without a successful
// tick before the daemon reports not ready.
const StaleIntervals = 3

// NewReadiness takes the tick interval, the loop's clock (controller.Clock.Now
// in the daemon, so a demo's accelerated clock works) and the services that
// must answer; none given means lambda and cloudwatch.
func NewReadiness(interval time.Duration, now func() time.Time, services ...string) *Readiness {
	if len(services) == 0 {
		services = []string{ServiceLambda, ServiceCloudWatch}
	}
	return &Readiness{interval: interval, now: now, required: services,
		answered: map[string]time.Time{}, failed: map[string]time.Time{}}
}

// Ticked has controller.Recorder's signature, so the loop can feed it directly
// or through Metrics.AttachReadiness.
func (r *Readiness) Ticked(start time.Time, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.lastErr = err
		return
	}
	r.lastSuccess = start.Add(took)
	r.lastErr = nil
}

// ServiceOK records whether a call to service was answered (see Answered).
func (r *Readiness) ServiceOK(service string, ok bool) {
	now := r.now()
	r.mu.Lock()
	if ok {
		r.answered[service] = now
	} else {
		r.failed[service] = now
	}
	r.mu.Unlock()
}

// Ready returns nil when ready, else an error saying why not.
func (r *Readiness) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	now := r.now()
	limit := StaleIntervals * r.interval
	switch {
	case r.lastSuccess.IsZero() && r.lastErr != nil:
		errs = append(errs, fmt.Errorf("no successful tick yet; last tick failed: %w", r.lastErr))
	case r.lastSuccess.IsZero():
		errs = append(errs, errors.New("no successful tick yet"))
	default:
		if age := now.Sub(r.lastSuccess); age > limit {
			msg := fmt.Sprintf("last successful tick %s ago, more than %d intervals of %s",
				age.Round(time.Second), StaleIntervals, r.interval)
			if r.lastErr != nil {
				msg += "; last tick failed: " + r.lastErr.Error()
			}
			errs = append(errs, errors.New(msg))
		}
	}
	for _, s := range r.required {
		answered, failed := r.answered[s], r.failed[s]
		var why string
		switch {
		case answered.IsZero():
			why = s + " has not answered yet"
		case now.Sub(answered) > limit:
			why = fmt.Sprintf("%s has not answered for %s", s, now.Sub(answered).Round(time.Second))
		default:
			continue
		}
		if failed.After(answered) {
			why += " (calls fail: see aws_api_calls_total and the log)"
		}
		errs = append(errs, errors.New(why))
	}
	return errors.Join(errs...)
}
