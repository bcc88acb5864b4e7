package telemetry

import "time"

// CodeOK is the code label of a successful AWS call.
const CodeOK = "ok"

// ObserveCall records one AWS API call: service ("lambda", "cloudwatch"),
// operation (e.g. "GetMetricData"), code ("ok" or the AWS error code) and its
// duration. It also tells an attached Readiness whether the service answered.
func (m *Metrics) ObserveCall(service, operation, code string, took time.Duration) {
	if code == "" {
		code = CodeOK
	}
	m.mu.Lock()
	code = m.boundCode(code)
	r := m.readiness
	m.mu.Unlock()
	m.apiCalls.WithLabelValues(service, operation, code).Inc()
	m.apiDuration.WithLabelValues(service, operation).Observe(took.Seconds())
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

// boundCode caps the distinct code values; m.mu must be held.
func (m *Metrics) boundCode(code string) string {
	if _, ok := m.codes[code]; ok {
		return code
	}
	if len(m.codes) >= maxCodes {
		return OtherCode
	}
	m.codes[code] = struct{}{}
	return code
}

// answeredCodes are AWS error codes that prove the service is reachable,
// authenticated us and is working: it refused this one request for a reason
// of its own (throttling, a conflict, a bad value, a missing function).
// Access denied, server errors and transport failures are not in the list.
var answeredCodes = map[string]bool{
	CodeOK:                      true,
	"TooManyRequestsException":  true,
	"ThrottlingException":       true,
	"Throttling":                true,
	"ResourceConflictException": true,
	"ResourceNotFoundException": true,
	"ProvisionedConcurrencyConfigNotFoundException": true,
	"InvalidParameterValueException":                true,
	"InvalidParameterValue":                         true,
	"InvalidParameterCombination":                   true,
	"InvalidNextToken":                              true,
	"LimitExceededException":                        true,
	"LimitExceeded":                                 true,
}

// Answered reports whether code shows the service answered usefully; the
// readiness check wants both AWS services to do so.
func Answered(code string) bool { return answeredCodes[code] }
