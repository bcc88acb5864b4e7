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
// intervals and every required AWS service answered its last call.
type Readiness struct {
	interval time.Duration
	now      func() time.Time
	required []string

	mu          sync.Mutex
	lastSuccess time.Time
	lastErr     error
	services    map[string]bool // last call answered?
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
	return &Readiness{interval: interval, now: now, required: services, services: map[string]bool{}}
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

// ServiceOK records whether the service's last call was answered.
func (r *Readiness) ServiceOK(service string, ok bool) {
	r.mu.Lock()
	r.services[service] = ok
	r.mu.Unlock()
}

// Ready returns nil when ready, else an error saying why not.
func (r *Readiness) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	switch {
	case r.lastSuccess.IsZero() && r.lastErr != nil:
		errs = append(errs, fmt.Errorf("no successful tick yet; last tick failed: %w", r.lastErr))
	case r.lastSuccess.IsZero():
		errs = append(errs, errors.New("no successful tick yet"))
	default:
		if age := r.now().Sub(r.lastSuccess); age > StaleIntervals*r.interval {
			msg := fmt.Sprintf("last successful tick %s ago, more than %d intervals of %s",
				age.Round(time.Second), StaleIntervals, r.interval)
			if r.lastErr != nil {
				msg += "; last tick failed: " + r.lastErr.Error()
			}
			errs = append(errs, errors.New(msg))
		}
	}
	for _, s := range r.required {
		ok, seen := r.services[s]
		switch {
		case !seen:
			errs = append(errs, fmt.Errorf("%s has not answered yet", s))
		case !ok:
			errs = append(errs, fmt.Errorf("%s: last call failed", s))
		}
	}
	return errors.Join(errs...)
}
