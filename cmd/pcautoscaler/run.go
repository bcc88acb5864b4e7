package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/ha"
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

	keyEndpoint           = "endpoint"
	keyLambdaEndpoint     = "lambda_endpoint"
	keyCloudWatchEndpoint = "cloudwatch_endpoint"
)

type runFlags struct {
	config, configEnv, listen, logLevel, logFormat, simClock string
	dryRun, shadow                                           bool
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f runFlags
	fs.StringVar(&f.config, "config", "", "config `file` (YAML)")
	fs.StringVar(&f.configEnv, "config-env", "", "read the config YAML from this environment `variable` instead of a file")
	fs.BoolVar(&f.dryRun, "dry-run", false, "decide and log, but never write to Lambda (overrides dry_run in the config)")
	fs.BoolVar(&f.shadow, "shadow", false, "mode shadow: decide for every target, write nothing, record what the current controller set next to it (/shadow; overrides mode)")
	fs.StringVar(&f.listen, "listen", "", "`address` for /metrics, /healthz, /readyz (overrides listen in the config)")
	fs.StringVar(&f.logLevel, "log-level", "", "log `level`: debug | info | warn | error (overrides log.level)")
	fs.StringVar(&f.logFormat, "log-format", "", "log `format`: json | text (overrides log.format)")
	fs.StringVar(&f.simClock, "sim-clock", "", "follow the clock of the pcautoscaler sim at this `URL` (testing against an accelerated simulator only)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	for _, err := range []error{checkLogFlag("log-level", f.logLevel, logLevels), checkLogFlag("log-format", f.logFormat, logFormats)} {
		if err != nil {
			fmt.Fprintf(stderr, "run: %v\n", err)
			return exitUsage
		}
	}
	cfg, ok := loadConfigFrom(f.config, f.configEnv, stderr)
	if !ok {
		return exitUsage
	}
	if f.listen != "" {
		cfg.Listen = f.listen
		if err := cfg.Validate(); err != nil { // the file was valid: the flag is the problem
			fmt.Fprintf(stderr, "run: --listen: %v\n", err)
			return exitUsage
		}
	}
	if f.dryRun {
		cfg.DryRun = true
	}
	if f.shadow {
		cfg.Mode = config.ModeShadow
	}
	level, format := cfg.Log.Level, cfg.Log.Format
	if f.logLevel != "" {
		level = f.logLevel
	}
	if f.logFormat != "" {
		format = f.logFormat
	}
	// The settings in force, for the "starting" line.
	cfg.Log.Level, cfg.Log.Format = strings.ToLower(level), strings.ToLower(format)
	logger := newLogger(stderr, level, format)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the config (reload.go); caught from here on, so it
	// never kills the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var clock controller.Clock = controller.SystemClock{}
	var serverClock controller.ServerClock // nil: measured from AWS's responses
	if f.simClock != "" {
		c, err := followSimClock(ctx, f.simClock)
		if err != nil {
			logger.Error("cannot read the simulator's clock", keyError, err)
			return exitRuntime
		}
		clock = c
		serverClock = controller.FixedOffset(0) // the simulator's time is ours
		logger = withSimTime(logger, clock)
	}
	awsCfg, err := loadAWSConfig(ctx, cfg, logger)
	if err != nil {
		logger.Error("cannot load the AWS configuration", keyError, err)
		return exitRuntime
	}
	eps := endpointsOf(awsCfg)
	gate := &haGate{}
	fl, err := wireFleet(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: clock, dryRun: cfg.DryRun,
		serverClock: serverClock, gate: gate, ctx: ctx}, accountLoader(logger))
	if err != nil {
		logger.Error("cannot start", keyError, err)
		return exitRuntime
	}
	elector, err := newElector(cfg.HA, awsCfg, logger, fl.primary())
	if err != nil {
		logger.Error("cannot start leader election", keyError, err)
		return exitRuntime
	}
	gate.set(elector)
	// app_id is in every AWS request's User-Agent: it tells this replica's
	// calls (and writes) apart in CloudTrail and the simulator's write log.
	logged := *cfg
	logged.AWS.Endpoint = logURL(eps.base) // the one in use, AWS_ENDPOINT_URL included
	logger.Info("starting", append([]any{keyVersion, version, keyAppID, awsCfg.AppID, keyConfig, &logged, keyDryRun, cfg.DryRun},
		eps.logAttrs()...)...)
	checkEndpointClocks(ctx, logger, eps, clock, f.simClock)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		logger.Error("cannot listen", keyListen, cfg.Listen, keyError, err)
		return exitRuntime
	}
	srv := fl.telemetryServer(cfg.Listen, logger)
	srv.Handler = mountShadow(fl, srv.Handler, clock.Now) // /shadow in mode shadow
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("telemetry server stopped", keyError, err)
		}
	}()
	defer shutdownServer(srv, logger)
	logger.Info("serving /metrics /healthz /readyz", keyListen, ln.Addr().String())

	// /readyz answers 503 while this retries: readiness needs a tick.
	if code, ok := startupChecks(ctx, fl, elector, clock, logger, cfg.AWS.StartupTimeout.Duration); !ok {
		return code
	}
	// Followers run the same read-only ticks (warm state); losing the lease
	// closes the write gate at once and the replica goes on as a follower.
	// The lease is released only once the controllers stopped: no write of
	// ours is in flight when a follower takes over. One lease guards every
	// account-Region's loop of this process.
	stopElector := startElector(elector, logger)
	go newReloader(f, cfg, fl, fl.registry, logger).run(ctx, hup)
	err = fl.run(ctx) // every account-Region's loop (and discovery) until ctx ends
	stopElector()
	if err != nil {
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

// loadAWSConfig is awsapi.LoadAWSConfig for cfg with the SDK's own log lines
// sent through logger: those of loading the credential chain
// (config.WithLogger) and those of every call (aws.Config.Logger).
func loadAWSConfig(ctx context.Context, cfg *config.Config, logger *slog.Logger) (aws.Config, error) {
	return accountLoader(logger)(ctx, cfg.Region, cfg.AWS.Endpoint)
}

// accountLoader loads an accounts[] entry's SDK config as loadAWSConfig
// does the top level's.
func accountLoader(logger *slog.Logger) loadAccountAWS {
	return func(ctx context.Context, region, endpoint string) (aws.Config, error) {
		return awsapi.LoadAWSConfig(ctx, region, endpoint, awsconfig.WithLogger(sdkLogger{l: logger}))
	}
}

// awsEndpoint is logged for a service that talks to AWS's own endpoint.
const awsEndpoint = "aws"

// endpoints is where the clients send their calls, as the SDK resolves it:
// per service AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_CLOUDWATCH, else the
// base endpoint (aws.endpoint, else AWS_ENDPOINT_URL), else AWS's own ("").
// Endpoints set in a shared-config profile's services section are not seen
// here.
type endpoints struct{ base, lambda, cloudwatch string }

func endpointsOf(awsCfg aws.Config) endpoints {
	e := endpoints{base: aws.ToString(awsCfg.BaseEndpoint)}
	e.lambda, e.cloudwatch = e.base, e.base
	if ignore, _ := strconv.ParseBool(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); ignore {
		return e
	}
	if v := os.Getenv("AWS_ENDPOINT_URL_LAMBDA"); v != "" {
		e.lambda = v
	}
	if v := os.Getenv("AWS_ENDPOINT_URL_CLOUDWATCH"); v != "" {
		e.cloudwatch = v
	}
	return e
}

// logAttrs: endpoint, and a service's own when it differs; user info in a
// URL is redacted.
func (e endpoints) logAttrs() []any {
	attrs := []any{keyEndpoint, logURL(e.base)}
	if e.lambda != e.base {
		attrs = append(attrs, keyLambdaEndpoint, logURL(e.lambda))
	}
	if e.cloudwatch != e.base {
		attrs = append(attrs, keyCloudWatchEndpoint, logURL(e.cloudwatch))
	}
	return attrs
}

// custom lists the distinct endpoints other than AWS's own.
func (e endpoints) custom() []string {
	var out []string
	for _, u := range []string{e.lambda, e.cloudwatch} {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func logURL(s string) string {
	if s == "" {
		return awsEndpoint
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// checkEndpointClocks compares the daemon's clock with each custom
// endpoint's (a simulator's /_sim/clock, else its Date header) once at
// start-up and logs one Warn naming the fix when they disagree: a daemon on
// wall time against an accelerated simulator decides on the wrong minutes
// and says nothing else about it. AWS's own endpoints are measured on every
// call instead (awsapi.ServerClock; the loop warns above 5 s).
func checkEndpointClocks(ctx context.Context, logger *slog.Logger, eps endpoints, clock controller.Clock, simClock string) {
	for _, u := range eps.custom() {
		ec, err := probeEndpointClock(ctx, u, clock)
		if err != nil {
			logger.Debug("cannot read the endpoint's clock", keyEndpoint, logURL(u), keyError, err)
			continue
		}
		if msg := clockMismatch(ec, simClock); msg != "" {
			logger.Warn("CLOCKS DISAGREE: "+msg, keyEndpoint, logURL(u), controller.KeyClockOffset, ec.offset.Round(time.Second).String())
		}
	}
}

// startupChecks runs every account-Region's start-up checks, then leader
// election's. ok false: exit with code. A signal while they retry is a
// stop (exitOK), not a failure to blame on permissions.
func startupChecks(ctx context.Context, fl *fleet, elector ha.Elector, clock controller.Clock, logger *slog.Logger,
	timeout time.Duration,
) (code int, ok bool) {
	stopped := func() (int, bool) {
		logger.Info("stopped during the start-up checks")
		return exitOK, false
	}
	if err := fl.preflight(ctx); err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		logStartupFailure(logger, err)
		return exitRuntime, false
	}
	if err := electorPreflight(ctx, elector, clock, logger, timeout); err != nil {
		if ctx.Err() != nil {
			return stopped()
		}
		if errors.Is(err, errGaveUp) {
			logStartupFailure(logger, err)
		} else {
			logger.Error("start-up check failed; fix the permissions or endpoint named here", keyError, err)
		}
		return exitRuntime, false
	}
	return exitOK, true
}
