package backtest

import (
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// noWait is the virtual clock with waits that end at once: the daemon's
// token bucket must not hold virtual time still (nothing would advance it).
type noWait struct{ *sim.VirtualClock }

func (n noWait) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- n.Now()
	return ch
}

// metricCount is a metrics.Observer counting what CloudWatch would bill.
type metricCount struct {
	mu       sync.Mutex
	requests int
	calls    int
}

func (m *metricCount) ObserveCall(_, _, _ string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
}

func (m *metricCount) MetricsRequested(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests += n
}

func (m *metricCount) Requested() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// DaemonPorts are the daemon's own clients (awsapi.NewLambda, metrics.New
// in the given aws.cloudwatch_metrics mode, as cmd/pcautoscaler wires them)
// on aws-sdk-go-v2, talking to the world's HTTP handler; obs counts the
// metrics they request (nil: a fresh counter). With httpURL empty the requests are served in
// memory; else they go to that server.
func DaemonPorts(mode, protocol string, obs *metricCount, httpURL string) Ports {
	if obs == nil {
		obs = &metricCount{}
	}
	return func(w *sim.World, clk *sim.VirtualClock) (controller.PCStore, controller.MetricSource, func() int, error) {
		cfg := aws.Config{
			Region:      sim.DefaultRegion,
			Credentials: credentials.NewStaticCredentialsProvider("AKIDBACKTEST", "backtest", ""),
		}
		if httpURL == "" {
			cfg.BaseEndpoint = aws.String("http://sim.invalid") // never dialled: the transport serves it
			// The simulator's handler in memory: the whole wire path
			// (serialization, status codes, CBOR) without sockets, so a
			// day's replay stays fast; an injected outage is a transport error.
			cfg.HTTPClient = &http.Client{Transport: sim.Transport{Handler: sim.NewHandler(w, nil)}}
		} else {
			cfg.BaseEndpoint = aws.String(httpURL)
		}
		lam := awsapi.NewLambda(cfg, awsapi.DefaultLambdaRPS, awsapi.WithClock(noWait{clk}))
		opts := []metrics.Option{metrics.WithClock(noWait{clk}), metrics.WithObserver(obs)}
		switch mode {
		case config.MetricsDerived:
			opts = append(opts, metrics.WithDerivedUtilization(lam.Allocated))
		case config.MetricsCompact:
			opts = append(opts, metrics.WithCompact())
		}
		ms, err := metrics.New(cfg, protocol, opts...)
		if err != nil {
			return nil, nil, nil, err
		}
		return lam, ms, obs.Requested, nil
	}
}
