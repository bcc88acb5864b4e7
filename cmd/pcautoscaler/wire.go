package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/schedule"
	"github.com/pcautoscaler/pcautoscaler/telemetry"
)

// daemon is everything `run`, `plan` and `demo` wire together: the real
// clients, the controller and the daemon's own telemetry.
type daemon struct {
	ctrl      *controller.Controller
	lambda    *awsapi.Lambda
	source    *metrics.Source
	metrics   *telemetry.Metrics
	readiness *telemetry.Readiness
	registry  *prometheus.Registry
	ids       []controller.TargetID
	// serverClock is AWS's clock as the loop sees it: measured from the
	// clients' responses, or the one wireOptions gave.
	serverClock controller.ServerClock
}

type wireOptions struct {
	cfg    *config.Config
	awsCfg aws.Config
	logger *slog.Logger
	clock  controller.Clock
	dryRun bool
	extra  controller.Recorder // demo's decision printer; may be nil
	// serverClock: nil measures AWS's clock from the Date header of every
	// Lambda and CloudWatch response (awsapi.ServerClock on clock); a
	// simulator that shares clock passes controller.FixedOffset(0), since
	// its Date headers are wall time, not the shared simulated time.
	serverClock controller.ServerClock
	// gate is asked before every write (leader election, `run`); nil: write.
	gate controller.WriteGate
}

func wire(o wireOptions) (*daemon, error) {
	cfg := o.cfg
	targets, ids, err := controllerTargets(cfg)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	ver, rev, gov := buildInfo() // the revision build.sh stamped when Go's VCS stamp is absent
	m := telemetry.NewMetrics(reg, ids, telemetry.BuildInfo{Version: ver, Revision: rev, GoVersion: gov})
	memory := map[controller.TargetID]int{}
	for _, t := range cfg.Targets {
		memory[controller.TargetID{Function: t.Function, Qualifier: t.Qualifier}] = t.MemoryMB
	}
	m.SetPricing(cfg.Pricing.PCPricePerGBSecond, memory)
	ready := telemetry.NewReadiness(cfg.Interval.Duration, o.clock.Now)
	m.AttachReadiness(ready)

	// The bucket runs on the loop's clock: 10 rps of simulated time in a demo.
	lamOpts := []awsapi.Option{awsapi.WithObserver(m), awsapi.WithClock(o.clock)}
	srcOpts := []metrics.Option{metrics.WithObserver(m), metrics.WithClock(o.clock)}
	serverClock := o.serverClock
	if serverClock == nil {
		measured := awsapi.NewServerClock(o.clock)
		lamOpts = append(lamOpts, awsapi.WithServerClock(measured))
		srcOpts = append(srcOpts, metrics.WithServerClock(measured))
		serverClock = measured
	}
	lam := awsapi.NewLambda(o.awsCfg, cfg.AWS.LambdaRPS, lamOpts...)
	switch cfg.AWS.CloudWatchMetrics {
	case config.MetricsDerived:
		srcOpts = append(srcOpts, metrics.WithDerivedUtilization(lam.Allocated))
	case config.MetricsCompact:
		srcOpts = append(srcOpts, metrics.WithCompact())
	}
	src, err := metrics.New(o.awsCfg, cfg.AWS.CloudWatchProtocol, srcOpts...)
	if err != nil {
		return nil, fmt.Errorf("aws.cloudwatch_protocol: %w", err)
	}
	var rec controller.Recorder = m
	if o.extra != nil {
		rec = controller.Tee(m, o.extra)
	}
	ctrl, err := controller.New(controller.Options{
		Targets:  targets,
		Store:    lam,
		Metrics:  src,
		Clock:    o.clock,
		Logger:   o.logger,
		Recorder: rec,
		DryRun:   o.dryRun,
		Workers:  cfg.AWS.Workers,
		Interval: cfg.Interval.Duration,

		LambdaRPS:     cfg.AWS.LambdaRPS,
		ServerClock:   serverClock,
		MetricsMaxLag: cfg.AWS.MetricsMaxLag.Duration,
		MetricsProbe:  metricsProbe(cfg.AWS.MetricsProbe.Duration),
		Gate:          o.gate,
	})
	if err != nil {
		return nil, err
	}
	return &daemon{ctrl: ctrl, lambda: lam, source: src, metrics: m, readiness: ready, registry: reg, ids: ids,
		serverClock: serverClock}, nil
}

// metricsProbe maps aws.metrics_probe (0 = off) to controller.Options
// (0 = the default, negative = off).
func metricsProbe(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// controllerTargets compiles each target's schedule once and adapts it to
// the controller's Bounds.
func controllerTargets(cfg *config.Config) ([]controller.Target, []controller.TargetID, error) {
	var (
		targets []controller.Target
		ids     []controller.TargetID
	)
	for _, t := range cfg.Targets {
		s, err := schedule.Compile(t.Schedules)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%s schedules: %w", t.Function, t.Qualifier, err)
		}
		id := controller.TargetID{Function: t.Function, Qualifier: t.Qualifier}
		targets = append(targets, controller.Target{ID: id, Policy: t.Policy, Bounds: boundsOf(s)})
		ids = append(ids, id)
	}
	return targets, ids, nil
}

func boundsOf(s *schedule.Schedule) func(time.Time) controller.Bounds {
	return func(now time.Time) controller.Bounds {
		st := s.Active(now)
		return controller.Bounds{Floor: st.Floor, HasFloor: st.HasFloor, Ceiling: st.Ceiling, HasCeiling: st.HasCeiling}
	}
}

// preflight makes one cheap read per service so a missing IAM permission or a
// wrong endpoint stops the daemon at once, naming the action.
func (d *daemon) preflight(ctx context.Context) error {
	if err := d.lambda.Preflight(ctx, d.ids); err != nil {
		return err
	}
	return d.source.Preflight(ctx)
}

func newTelemetryServer(d *daemon, addr string, logger *slog.Logger) *http.Server {
	return telemetry.NewServer(addr, d.registry, d.readiness.Ready, logger)
}
