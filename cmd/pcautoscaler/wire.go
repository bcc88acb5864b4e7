package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pcautoscaler/pcautoscaler/aas"
	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/discover"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/shadow"
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
	// syncer re-discovers the discover: block's targets (nil without one);
	// run starts its loop.
	syncer *discover.Syncer
	// serverClock is AWS's clock as the loop sees it: measured from the
	// clients' responses, or the one wireOptions gave.
	serverClock controller.ServerClock
	// aas keeps aliases Application Auto Scaling scales out of ctrl's
	// targets: every change of the managed set goes through it (aas.go).
	aas *aas.Guard
	// managed is every change of the managed set, through aas (startup.go).
	managed *managedSet
	// The targets start-up disabled, until found again or a reload
	// (startup.go recheckDisabled); disabledGen counts the reloads that
	// reset them. disabledMu serialises a re-check's change with reload.go.
	disabledMu  sync.Mutex
	disabled    []controller.Target
	disabledGen uint64
	// shadow is mode shadow's ledger (shadow.go); nil otherwise.
	shadow *shadow.Store
	// What the start-up checks need (startup.go): their log, the loop's
	// clock and aws.startup_timeout.
	logger         *slog.Logger
	clock          controller.Clock
	startupTimeout time.Duration
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
	// simulator that shares clock passes controller.FixedOffset(0): its Date
	// headers carry that shared time, but only to the second and after a
	// round trip multiplied by its speed, so measuring would only add noise
	// to an offset known to be 0.
	serverClock controller.ServerClock
	// gate is asked before every write (leader election, `run`); nil: write.
	gate controller.WriteGate
	// ctx bounds the first discovery (discover:); nil is Background.
	ctx context.Context
	// reg is the registry to register on (a fleet's; nil: a new one) and
	// account the account label every series of this daemon carries
	// ("": none, a config without accounts:).
	reg     *prometheus.Registry
	account string
	// onMetrics sees the daemon's telemetry as soon as it exists (before
	// any AWS call): an account's assumed role reports its STS calls there.
	onMetrics func(*telemetry.Metrics)
}

func wire(o wireOptions) (*daemon, error) {
	cfg := o.cfg
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	targets, ids, err := controllerTargets(cfg)
	if err != nil {
		return nil, err
	}
	reg := o.reg
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var regr prometheus.Registerer = reg
	if o.account != "" {
		// One loop per account-Region on one registry: every series of
		// this one carries its account (functions may share names across
		// accounts; the budget, queue and ticks are per account).
		regr = prometheus.WrapRegistererWith(prometheus.Labels{telemetry.LabelAccount: o.account}, reg)
	}
	ver, rev, gov := buildInfo() // the revision build.sh stamped when Go's VCS stamp is absent
	m := telemetry.NewMetrics(regr, ids, telemetry.BuildInfo{Version: ver, Revision: rev, GoVersion: gov})
	if o.onMetrics != nil {
		o.onMetrics(m)
	}
	m.SetPricing(cfg.Pricing.PCPricePerGBSecond, memoryOf(cfg.Targets))
	ready := telemetry.NewReadiness(cfg.Interval.Duration, o.clock.Now)
	m.AttachReadiness(ready)

	// The bucket runs on the loop's clock: 10 rps of simulated time in a demo.
	// The gate is asked again after a write waited at the rate limiter:
	// the lease may have been lost meanwhile (the controller asks first).
	lamOpts := []awsapi.Option{awsapi.WithObserver(m), awsapi.WithClock(o.clock), awsapi.WithWriteGate(o.gate)}
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

	// Discovery: the first one now, so the controller starts with what it
	// finds; then the syncer hands every change to the controller.
	var ctrl *controller.Controller
	var guard *aas.Guard
	var syncer *discover.Syncer
	managed := &managedSet{}
	if cfg.Discover != nil {
		apply := func(ts []controller.Target, cfgs []config.Target) error {
			if ctrl == nil { // the first discovery, before the controller exists
				targets = ts
				return nil
			}
			if err := managed.set(ts); err != nil {
				return err
			}
			m.SetTargets(idsOf(ts))
			for id, mb := range memoryOf(cfgs) {
				m.SetMemory(id, mb)
			}
			return nil
		}
		finder := discover.NewSource(o.awsCfg, cfg.Discover, discover.WithObserver(m), discover.WithClock(o.clock))
		syncer, err = discover.NewSyncer(discover.SyncerOptions{Config: cfg, Discover: cfg.Discover, Explicit: cfg.Targets,
			Lister: finder, Apply: apply, Logger: o.logger, Recorder: m, Clock: o.clock})
		if err != nil {
			return nil, err
		}
		// A missing tag:GetResources permission stops the start-up at
		// once, as preflight names Lambda's; throttling, 5xx and network
		// errors are retried up to aws.startup_timeout (startup.go).
		if err := startupRetry(ctx, o.clock, o.logger, cfg.AWS.StartupTimeout.Duration, "first discovery", func(ctx context.Context) error {
			_, err := syncer.Sync(ctx)
			return err
		}); err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		m.SetTargets(idsOf(targets))
		for id, mb := range memoryOf(syncer.Configs()) {
			m.SetMemory(id, mb)
		}
		ids = idsOf(targets)
	}
	// With nothing found yet the loop idles; discovery adds targets as they
	// appear (SetTargets).
	initial := targets
	store, msrc, sh := shadowWrap(cfg, lam, src, o.clock) // mode shadow writes nothing
	ctrl, err = controller.New(controller.Options{
		Targets:  initial,
		Store:    store,
		Metrics:  msrc,
		Clock:    o.clock,
		Logger:   shadowLogger(cfg, o.logger),
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
	if len(targets) == 0 {
		if err := ctrl.SetTargets(nil); err != nil {
			return nil, err
		}
	}
	guard = newAASGuard(o, ctrl, m, targets)
	managed.apply, managed.wanted = guard.SetTargets, targets
	return &daemon{ctrl: ctrl, lambda: lam, source: src, metrics: m, readiness: ready, registry: reg, ids: ids,
		serverClock: serverClock, syncer: syncer, aas: guard, managed: managed, shadow: sh,
		logger: o.logger, clock: o.clock, startupTimeout: cfg.AWS.StartupTimeout.Duration}, nil
}

func idsOf(ts []controller.Target) []controller.TargetID {
	out := make([]controller.TargetID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func memoryOf(ts []config.Target) map[controller.TargetID]int {
	memory := map[controller.TargetID]int{}
	for _, t := range ts {
		memory[controller.TargetID{Function: t.Function, Qualifier: t.Qualifier}] = t.MemoryMB
	}
	return memory
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
// the controller's Bounds (discover.Compile).
func controllerTargets(cfg *config.Config) ([]controller.Target, []controller.TargetID, error) {
	var (
		targets []controller.Target
		ids     []controller.TargetID
	)
	for _, t := range cfg.Targets {
		ct, err := discover.Compile(t)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, ct)
		ids = append(ids, ct.ID)
	}
	return targets, ids, nil
}

func newTelemetryServer(d *daemon, addr string, logger *slog.Logger) *http.Server {
	return telemetry.NewServer(addr, d.registry, d.readiness.Ready, logger)
}
