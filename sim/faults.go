package sim

import (
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"
)

// Faults are deterministic for the scenario's seed. Request faults
// (throttle, server_error, latency, conflict, unavailable) draw from one
// PCG stream per fault, so a given sequence of calls meets the same faults
// every run.
// World faults (failed_allocation, metric_gap, metric_delay) hash the seed
// with what they hit (function, qualifier, minute or Put time), so they do
// not depend on call order at all.

type faultState struct {
	spec FaultSpec
	prob float64
	idx  int
	seed int64
	rng  *rand.Rand
}

func newFaultState(fs FaultSpec, seed int64, idx int) *faultState {
	p := 1.0
	if fs.Probability != nil {
		p = *fs.Probability
	}
	return &faultState{
		spec: fs,
		prob: p,
		idx:  idx,
		seed: seed,
		rng:  rand.New(rand.NewPCG(uint64(seed), splitmix(uint64(idx)+1))),
	}
}

// activeAt reports whether the fault's window covers offset off from start.
func (f *faultState) activeAt(off time.Duration) bool {
	if off < f.spec.From.Duration {
		return false
	}
	return f.spec.Until.Duration <= 0 || off < f.spec.Until.Duration
}

// hits reports whether a world fault applies to (fn, q) for key, by hash.
func (f *faultState) hits(fn, q, key string) bool {
	if f.spec.Function != "" && f.spec.Function != fn {
		return false
	}
	if f.spec.Qualifier != "" && f.spec.Qualifier != q {
		return false
	}
	if f.prob >= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(f.seed, 10)))
	h.Write([]byte{0, byte(f.idx), byte(f.idx >> 8)})
	h.Write([]byte(fn + "\x00" + q + "\x00" + key))
	u := float64(splitmix(h.Sum64())>>11) / (1 << 53)
	return u < f.prob
}

// ErrUnavailable is what the in-process ports return during an injected
// outage (fault kind unavailable): a plain error, not an *APIError, so the
// controller treats it as it would a connection failure.
var ErrUnavailable = errors.New("sim: endpoint unavailable (injected outage)")

// outage reports whether an unavailable fault swallows this request of op:
// it is decided before Fault, as an endpoint that is down neither throttles
// nor spends the control-plane rate limit.
func (w *World) outage(op string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	off := w.clk.Now().Sub(w.start)
	for _, f := range w.faults {
		if f.spec.Kind != FaultUnavailable || (f.spec.Op != "*" && f.spec.Op != op) || !f.activeAt(off) {
			continue
		}
		if f.prob >= 1 || f.rng.Float64() < f.prob {
			return true
		}
	}
	return false
}

// cloudWatchOps are the operations answered in CloudWatch's error shapes.
var cloudWatchOps = map[string]bool{"GetMetricData": true, "PutMetricData": true, "ListMetrics": true, "GetMetricStatistics": true}

// Fault decides, for one request of operation op now, the added latency
// and the error to answer instead of the operation (nil: run it). The HTTP
// layer calls it once per request before the operation (after the outage
// check, which it does not include).
func (w *World) Fault(op string) (time.Duration, *APIError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.clk.Now()
	off := now.Sub(w.start)
	var latency time.Duration
	switch {
	case cloudWatchOps[op]:
	case op == opGetFunction: // GetFunction has its own quota (AWS-FACTS §3)
		if rps := w.sc.Account.getFunctionRPS(); rps > 0 && !w.getFn.take(now, rps) {
			return 0, &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 1}
		}
	case op == opGetResources: // the Tagging API has its own quota
		if rps := w.sc.Account.TaggingRPS; rps > 0 && !w.tagger.take(now, rps) {
			return 0, &APIError{Status: 400, Code: CodeTagThrottled, Message: "Rate exceeded", Type: TypeSender}
		}
	default:
		if rps := w.sc.Account.ControlPlaneRPS; rps > 0 && !w.bucket.take(now, rps) {
			return 0, &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 1}
		}
	}
	for _, f := range w.faults {
		switch f.spec.Kind {
		case FaultThrottle, FaultServerError, FaultLatency, FaultConflict:
		default:
			continue
		}
		if (f.spec.Op != "*" && f.spec.Op != op) || !f.activeAt(off) {
			continue
		}
		if f.prob < 1 && f.rng.Float64() >= f.prob {
			continue
		}
		if f.spec.Kind == FaultLatency {
			latency += f.spec.Latency.Duration
			continue
		}
		return latency, faultError(f.spec, op)
	}
	return latency, nil
}

func faultError(fs FaultSpec, op string) *APIError {
	cw := cloudWatchOps[op]
	switch fs.Kind {
	case FaultThrottle:
		secs := int((fs.RetryAfter.Duration + time.Second - 1) / time.Second)
		if cw {
			return &APIError{Status: 400, Code: CodeCWThrottling, Message: "Rate exceeded", Type: TypeSender, RetryAfterSeconds: secs}
		}
		return &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: secs}
	case FaultServerError:
		if cw {
			return &APIError{Status: 500, Code: CodeCWInternalService, Message: "Internal service error (injected)", Type: TypeReceiver}
		}
		return &APIError{Status: 500, Code: CodeServiceException, Message: "The service encountered an internal error (injected)", Type: TypeService}
	default: // conflict
		return &APIError{Status: 409, Code: CodeResourceConflict, Message: "The resource already exists, or another operation is in progress.", Type: TypeUser}
	}
}

// allocationFails reports whether a Put of (fn, q) at t ends FAILED.
func (w *World) allocationFails(fn, q string, t time.Time) bool {
	off := t.Sub(w.start)
	for _, f := range w.faults {
		if f.spec.Kind == FaultFailedAllocation && f.activeAt(off) && f.hits(fn, q, strconv.FormatInt(t.UnixNano(), 10)) {
			return true
		}
	}
	return false
}

// metricFaults reports whether (fn, q)'s minute m is dropped, and the extra
// publication delay injected for it.
func (w *World) metricFaults(fn, q string, m time.Time) (gap bool, delay time.Duration) {
	off := m.Sub(w.start)
	key := strconv.FormatInt(m.Unix(), 10)
	for _, f := range w.faults {
		switch f.spec.Kind {
		case FaultMetricGap:
			if f.activeAt(off) && f.hits(fn, q, key) {
				gap = true
			}
		case FaultMetricDelay:
			if f.activeAt(off) && f.hits(fn, q, key) {
				delay += f.spec.Latency.Duration
			}
		}
	}
	return gap, delay
}

// tokenBucket is a rate limit of the account (the Lambda control plane's,
// the Tagging API's) on the world's clock.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take refills at rps per second up to a burst of rps and spends one token.
func (b *tokenBucket) take(now time.Time, rps float64) bool {
	if b.last.IsZero() {
		b.tokens, b.last = rps, now
	}
	if now.After(b.last) {
		b.tokens = min(rps, b.tokens+now.Sub(b.last).Seconds()*rps)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
