package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Log keys of the command layer (snake_case, fixed).
const (
	keyConfig  = "config"
	keyTargets = "targets"
	keyListen  = "listen"
	keyDryRun  = "dry_run"
	keyError   = "error"
	keyVersion = "version"
	keyAppID   = "app_id"
)

type runFlags struct {
	config, configEnv, listen, logLevel, logFormat, simClock string
	dryRun                                                   bool
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f runFlags
	fs.StringVar(&f.config, "config", "", "config file (YAML)")
	fs.StringVar(&f.configEnv, "config-env", "", "read the config YAML from this environment variable instead of a file")
	fs.BoolVar(&f.dryRun, "dry-run", false, "decide and log, but never write to Lambda (overrides dry_run in the config)")
	fs.StringVar(&f.listen, "listen", "", "address for /metrics, /healthz, /readyz (overrides listen in the config)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug | info | warn | error (overrides log.level)")
	fs.StringVar(&f.logFormat, "log-format", "", "json | text (overrides log.format)")
	fs.StringVar(&f.simClock, "sim-clock", "", "take the clock from a `pcautoscaler sim` at this URL (testing against an accelerated simulator only)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, ok := loadConfigFrom(f.config, f.configEnv, stderr)
	if !ok {
		return exitUsage
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.dryRun {
		cfg.DryRun = true
	}
	level, format := cfg.Log.Level, cfg.Log.Format
	if f.logLevel != "" {
		level = f.logLevel
	}
	if f.logFormat != "" {
		format = f.logFormat
	}
	logger := newLogger(stderr, level, format)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var clock controller.Clock = controller.SystemClock{}
	var serverClock controller.ServerClock // nil: measured from AWS's responses
	if f.simClock != "" {
		c, err := simClockFrom(ctx, f.simClock)
		if err != nil {
			logger.Error("cannot read the simulator's clock", keyError, err)
			return exitRuntime
		}
		clock = c
		serverClock = controller.FixedOffset(0) // the simulator's time is ours
	}
	awsCfg, err := awsapi.LoadAWSConfig(ctx, cfg.Region, cfg.AWS.Endpoint)
	if err != nil {
		logger.Error("cannot load the AWS configuration", keyError, err)
		return exitRuntime
	}
	d, err := wire(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: clock, dryRun: cfg.DryRun,
		serverClock: serverClock})
	if err != nil {
		logger.Error("cannot start", keyError, err)
		return exitRuntime
	}
	// app_id is in every AWS request's User-Agent: it tells this replica's
	// calls (and writes) apart in CloudTrail and the simulator's write log.
	logger.Info("starting", keyVersion, version, keyAppID, awsCfg.AppID, keyConfig, cfg, keyDryRun, cfg.DryRun)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		logger.Error("cannot listen", keyListen, cfg.Listen, keyError, err)
		return exitRuntime
	}
	srv := newTelemetryServer(d, cfg.Listen, logger)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("telemetry server stopped", keyError, err)
		}
	}()
	defer shutdownServer(srv, logger)
	logger.Info("serving /metrics /healthz /readyz", keyListen, ln.Addr().String())

	if err := d.preflight(ctx); err != nil {
		logger.Error("start-up check failed; fix the permissions or endpoint named here", keyError, err)
		return exitRuntime
	}
	if err := d.ctrl.Run(ctx); err != nil {
		logger.Error("controller stopped", keyError, err)
		return exitRuntime
	}
	logger.Info("stopped")
	return exitOK
}

func shutdownServer(srv *http.Server, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("telemetry server shutdown", keyError, err)
	}
}
