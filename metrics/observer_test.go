package metrics

import (
	"sync"
	"time"
)

// countingObserver records what the Source reports.
type countingObserver struct {
	mu        sync.Mutex
	calls     []string
	requested int
}

func (o *countingObserver) ObserveCall(service, operation, code string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, service+" "+operation+" "+code)
}

func (o *countingObserver) MetricsRequested(n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requested += n
}

func (o *countingObserver) metrics() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requested
}

func (o *countingObserver) callList() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}
