package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/ha"
)

// electorStopTimeout bounds the release of the lease at shutdown.
const electorStopTimeout = 15 * time.Second

// haGate is the controller's write gate: wire builds the controller before
// the elector exists (the elector registers on the daemon's registry), so
// the gate refuses until set.
type haGate struct {
	mu sync.RWMutex
	e  ha.Elector
}

var errNoElector = errors.New("leader election has not started")

// The store abandons a write at the gate's WriteDeadline only if the gate
// has one: keep it.
var _ awsapi.WriteDeadliner = (*haGate)(nil)

func (g *haGate) MayWrite(ctx context.Context) error {
	g.mu.RLock()
	e := g.e
	g.mu.RUnlock()
	if e == nil {
		return errNoElector
	}
	return e.MayWrite(ctx)
}

// WriteDeadline is the elector's (awsapi abandons a write then); before
// the elector exists MayWrite refuses, and nothing is in flight.
func (g *haGate) WriteDeadline() time.Time {
	g.mu.RLock()
	e := g.e
	g.mu.RUnlock()
	if e == nil {
		return time.Now()
	}
	return e.WriteDeadline()
}

func (g *haGate) set(e ha.Elector) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.e = e
}

// newElector builds the ha block's backend on the daemon's registry and
// call observer. The election runs on the process's own monotonic clock,
// never the simulator's (--sim-clock): leases are about processes.
func newElector(h config.HA, awsCfg aws.Config, logger *slog.Logger, d *daemon) (ha.Elector, error) {
	o := ha.Options{
		Identity: h.Identity,
		Timings: ha.Timings{LeaseDuration: h.LeaseDuration.Duration, RenewDeadline: h.RenewDeadline.Duration,
			RetryPeriod: h.RetryPeriod.Duration},
		Logger:  logger.With("component", "leader_election"),
		Metrics: ha.NewMetrics(d.registry),
	}
	switch h.Backend {
	case config.HAKube:
		return ha.NewKubernetes(o, ha.KubernetesOptions{Namespace: h.Kubernetes.Namespace, Name: h.Kubernetes.Name})
	case config.HADynamo:
		// aws.endpoint sends Lambda and CloudWatch to one URL (a simulator);
		// the lease table is found by AWS_ENDPOINT_URL_DYNAMODB or
		// AWS_ENDPOINT_URL, else AWS's own endpoint.
		ddbCfg := awsCfg.Copy()
		ddbCfg.BaseEndpoint = nil
		return ha.NewDynamoDB(o, ha.DynamoDBOptions{Table: h.DynamoDB.Table, Key: h.DynamoDB.Key,
			Client: dynamodb.NewFromConfig(ddbCfg), Observer: d.metrics})
	case config.HANone, "":
		return ha.NewNone(o), nil
	}
	return nil, fmt.Errorf("ha.backend: unknown backend %q", h.Backend)
}

// electorPreflight is the lease's start-up read, retried as the Lambda and
// CloudWatch checks are (startupRetry): throttling, 5xx and network errors
// up to aws.startup_timeout on the loop's clock; a missing permission or
// table fails at once.
func electorPreflight(ctx context.Context, e ha.Elector, clock controller.Clock, logger *slog.Logger, timeout time.Duration) error {
	return startupRetry(ctx, clock, logger, timeout, "start-up check of leader election", e.Preflight)
}

// startElector runs e in the background on a context of its own: the
// lease is released only after the controller stopped (stop), so no write
// of this replica can still be in flight when a follower takes over.
func startElector(e ha.Elector, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := e.Run(ctx)
		if ctx.Err() == nil {
			logger.Error("leader election ended: this replica no longer writes", keyError, fmt.Sprint(err))
		}
		done <- err
	}()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				logger.Error("leader election failed", keyError, err)
			}
		case <-time.After(electorStopTimeout):
			logger.Warn("leader election did not stop in time; a follower takes over after lease_duration")
		}
	}
}
