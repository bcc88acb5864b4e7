package telemetry

import (
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
)

// Metrics is the call observer of awsapi.Caller and metrics.Source (checked
// in a test, so this package doesn't build on metrics/).
var _ awsapi.CallObserver = (*Metrics)(nil)

// ObserveCall records one AWS API call: service ("lambda", "cloudwatch"),
// operation (e.g. "GetMetricData"), code (the call's class from awsapi:
// "ok", "throttled", "conflict", … — never a raw message) and its duration.
// It also tells an attached Readiness whether the service answered.
func (m *Metrics) ObserveCall(service, operation, code string, took time.Duration) {
	service, operation, code = validUTF8(service), validUTF8(operation), callCode(code)
	m.apiCalls.WithLabelValues(service, operation, code).Inc()
	m.apiDuration.WithLabelValues(service, operation).Observe(took.Seconds())
	m.mu.Lock()
	r := m.readiness
	m.mu.Unlock()
	if r != nil {
		r.ServiceOK(service, Answered(code))
	}
}

// MetricsRequested counts metrics asked of CloudWatch in one GetMetricData call.
func (m *Metrics) MetricsRequested(n int) {
	if n > 0 {
		m.cwMetricsReq.Add(float64(n))
	}
}

// precreateCalls creates the call series of every operation the daemon can
// make, so rates and ratios (the throttling alert) exist from the start.
func (m *Metrics) precreateCalls() {
	for _, a := range awsapi.Actions() {
		service, op, ok := strings.Cut(a.Name, ":")
		if !ok {
			continue
		}
		for _, c := range awsapi.Classes() {
			m.apiCalls.WithLabelValues(service, op, c)
		}
		m.apiDuration.WithLabelValues(service, op)
	}
}

// callCode keeps the code label bounded to awsapi's classes; "" is a success.
func callCode(code string) string {
	if code == "" {
		return awsapi.ClassOK
	}
	for _, c := range awsapi.Classes() {
		if code == c {
			return code
		}
	}
	return awsapi.ClassError
}

// Answered reports whether a call of this class shows the service reachable,
// authenticated and working: it answered, possibly refusing this one request
// for a reason of its own (throttling, a conflict, a bad value, a missing
// function). Access denied, server errors and transport failures don't count.
// /readyz wants both AWS services to have answered their last call.
func Answered(code string) bool {
	switch code {
	case awsapi.ClassOK, awsapi.ClassThrottled, awsapi.ClassConflict, awsapi.ClassInvalid, awsapi.ClassNotFound:
		return true
	}
	return false
}
