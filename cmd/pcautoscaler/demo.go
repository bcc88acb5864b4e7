package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/backtest"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

//go:embed demo.yaml
var demoConfig []byte

// demoStart is a Tuesday 01:00 in New York (07:00 in Berlin): within the
// default three simulated hours the Berlin business-hours floor opens, the
// New York batch window opens and closes, and search-api bursts three times.
const demoStart = "2026-11-24T06:00:00Z"

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	speed := fs.Float64("speed", 60, "simulated seconds per real second (60: an hour a minute)")
	duration := fs.Duration("duration", 3*time.Hour, "simulated time to run; Ctrl-C ends earlier")
	listen := fs.String("listen", "127.0.0.1:9102", "address for /metrics, /healthz, /readyz")
	cfgPath := fs.String("config", "", "config file (default: the built-in demo config)")
	scenario := fs.String("scenario", "", "simulator scenario (default: the built-in one)")
	start := fs.String("start", demoStart, "simulated start time, RFC 3339")
	logLevel := fs.String("log-level", "warn", "daemon log level (debug shows every hold)")
	publishDelay := fs.Duration("publish-delay", backtest.DefaultPublishDelay, "simulated CloudWatch publishes a minute's metrics this `duration` after it ends")
	publishJitter := fs.Duration("publish-jitter", backtest.DefaultPublishJitter, "plus a seeded delay of 0 up to this `duration`, per function and minute")
	prepDelay := fs.Duration("prep-delay", backtest.DefaultPrepDelay, "simulated Lambda prepares for this `duration` before allocating a Put's environments")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *publishDelay < 0 || *publishJitter < 0 || *prepDelay < 0 {
		fmt.Fprintln(stderr, "demo: --publish-delay, --publish-jitter and --prep-delay must be ≥ 0")
		return exitUsage
	}
	if *speed <= 0 || *duration <= 0 {
		fmt.Fprintln(stderr, "demo: --speed and --duration must be positive")
		return exitUsage
	}
	t0, err := parseStart(*start, time.Time{})
	if err != nil {
		fmt.Fprintf(stderr, "demo: --start: %v\n", err)
		return exitUsage
	}
	var cfg *config.Config
	if *cfgPath != "" {
		c, ok := loadConfig(*cfgPath, stderr)
		if !ok {
			return exitUsage
		}
		cfg = c
	} else if cfg, err = config.Parse(demoConfig); err != nil {
		fmt.Fprintf(stderr, "demo: built-in config: %v\n", err)
		return exitRuntime
	}
	sc, ok := loadScenario(*scenario, stderr)
	if !ok {
		return exitUsage
	}
	// The delays apply to the built-in scenario; a --scenario file keeps its
	// own unless a flag is given.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	applyDemoDelays(sc, *scenario == "", set, *publishDelay, *publishJitter, *prepDelay)
	logger := newLogger(stderr, *logLevel, "text")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The simulator, on loopback, on an accelerated clock.
	clk := sim.NewScaledClock(t0, *speed)
	world, err := sim.NewWorld(sc, clk)
	if err != nil {
		fmt.Fprintf(stderr, "demo: scenario: %v\n", err)
		return exitUsage
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	simSrv := &http.Server{Handler: simMux(world, clk, *speed, logger), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close() // the daemon has stopped by then; nothing to drain
	endpoint := "http://" + simLn.Addr().String()

	// The real daemon, through the real SDK clients, against it. Static
	// credentials: the simulator doesn't check them, and the demo must never
	// reach a real account whatever the environment says.
	awsCfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("demo", "demo", ""),
		BaseEndpoint: aws.String(endpoint),
		AppID:        awsapi.ReplicaAppID(),
	}
	printer := newDecisionPrinter(stdout, clk)
	// The simulator runs on clk itself: AWS's clock is ours, exactly.
	d, err := wire(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: clk, extra: printer,
		serverClock: controller.FixedOffset(0)})
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "demo: --listen: %v\n", err)
		return exitRuntime
	}
	srv := newTelemetryServer(d, *listen, logger)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("telemetry server stopped", keyError, err)
		}
	}()
	defer shutdownServer(srv, logger)

	fmt.Fprintf(stdout, "pcautoscaler demo: simulated AWS on %s, metrics on http://%s/metrics\n", endpoint, ln.Addr())
	fmt.Fprintf(stdout, "%d targets, %gx speed (%s simulated ≈ %s real); Ctrl-C ends early\n\n",
		len(cfg.Targets), *speed, *duration, (time.Duration(float64(*duration) / *speed)).Round(time.Second))

	runCtx, cancel := context.WithTimeout(ctx, time.Duration(float64(*duration) / *speed))
	defer cancel()
	if err := d.preflight(runCtx); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	if err := d.ctrl.Run(runCtx); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return exitRuntime
	}
	world.AdvanceTo(clk.Now())
	fmt.Fprintln(stdout)
	end := clk.Now()
	aas, err := replayAAS(ctx, sc, cfg, t0, end)
	if err != nil {
		fmt.Fprintf(stderr, "demo: aas replay: %v\n", err)
	}
	writeDemoSummary(stdout, cfg, sc, world, aas, t0, end)
	return exitOK
}

// applyDemoDelays sets the simulated account's publication and preparation
// delays: always on the built-in scenario, on a --scenario file only for
// the flags given.
func applyDemoDelays(sc *sim.Scenario, builtIn bool, set map[string]bool, publish, jitter, prep time.Duration) {
	if builtIn || set["publish-delay"] {
		sc.Metrics.PublishDelay.Duration = publish
	}
	if builtIn || set["publish-jitter"] {
		sc.Metrics.PublishJitter.Duration = jitter
	}
	if builtIn || set["prep-delay"] {
		sc.Allocation.PrepDelay.Duration = max(prep, time.Nanosecond) // 0 would read as the simulator's default
	}
}

// replayAAS replays the demo's scenario from t0 to end on a virtual clock
// under AAS target tracking (backtest's emulation) with each target's min,
// max and schedules: the same arrivals, AAS's decisions. Nil on error.
func replayAAS(ctx context.Context, sc *sim.Scenario, cfg *config.Config, t0, end time.Time) (map[controller.TargetID][]backtest.Minute, error) {
	data, err := sc.YAML()
	if err != nil {
		return nil, err
	}
	cp, err := sim.ParseScenario(data) // a world of its own
	if err != nil {
		return nil, err
	}
	res, err := backtest.ReplayScenario(context.WithoutCancel(ctx), cp, cfg, t0, end.Sub(t0), backtest.PolicyAAS, nil)
	if err != nil {
		return nil, err
	}
	return res.Minutes, nil
}

// decisionPrinter prints one readable line per change and per new kind of
// hold; telemetry has the full record.
type decisionPrinter struct {
	controller.NopRecorder
	w   io.Writer
	clk controller.Clock

	mu   sync.Mutex
	last map[controller.TargetID]controller.Reason
}

func newDecisionPrinter(w io.Writer, clk controller.Clock) *decisionPrinter {
	return &decisionPrinter{w: w, clk: clk, last: map[controller.TargetID]controller.Reason{}}
}

// notable holds are worth a line the first time they appear in a row.
var notableHolds = map[controller.Reason]bool{
	controller.ReasonCooldown: true, controller.ReasonMetricsMissing: true, controller.ReasonRejected: true,
	controller.ReasonFailedBackoff: true, controller.ReasonThrottled: true,
}

func (p *decisionPrinter) Observed(id controller.TargetID, pc controller.PCConfig, _ controller.Limits, d controller.Decision) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.last[id]
	p.last[id] = d.Reason
	if d.Action != controller.ActNone || !notableHolds[d.Reason] || prev == d.Reason {
		return
	}
	p.line(id, fmt.Sprintf("%4d   hold      %-17s %s", d.Current, d.Reason, d.Detail))
}

func (p *decisionPrinter) Acted(id controller.TargetID, d controller.Decision, result string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	arrow := "→"
	if result != "ok" && result != "dry_run" {
		arrow = "✗"
	}
	p.line(id, fmt.Sprintf("%4d %s %4d   %-17s %s", d.Current, arrow, d.Desired, d.Reason, d.Detail))
}

func (p *decisionPrinter) line(id controller.TargetID, s string) {
	fmt.Fprintf(p.w, "%s  %-20s %s\n", p.clk.Now().UTC().Format("Mon 15:04Z"), id, s)
}

// writeDemoSummary prints, per target, what the run cost and how much traffic
// spilled, next to AAS target tracking on the same arrivals (aas, nil when
// its replay failed) and the oracle: PC equal to each minute's peak
// concurrency, known in advance (the lower bound of cost at zero spillover).
func writeDemoSummary(w io.Writer, cfg *config.Config, sc *sim.Scenario, world *sim.World, aas map[controller.TargetID][]backtest.Minute, from, to time.Time) {
	durations := map[string]float64{}
	for _, f := range sc.Functions {
		for _, l := range f.Loads {
			durations[f.Name+":"+l.Qualifier] = l.DurationMS / 1000
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tPC-hours\tspillover %%\tmean util\taas PC-hours\taas spillover %%\toracle PC-hours\toracle util\t\n")
	for _, t := range cfg.Targets {
		id := t.Function + ":" + t.Qualifier
		var ours, oracle []backtest.Minute
		for _, m := range world.Minutes(t.Function, t.Qualifier) {
			if m.Start.Before(from) || m.Start.Add(time.Minute).After(to) { // whole minutes of this run only
				continue
			}
			ours = append(ours, backtest.Minute{Invocations: m.Invocations, Spillover: m.Spillover, PeakConcurrency: m.PeakConcurrency, PCAllocated: m.PCAllocated})
			oracle = append(oracle, backtest.Minute{Invocations: m.Invocations, PeakConcurrency: m.PeakConcurrency, PCAllocated: float64(m.PeakConcurrency)})
		}
		r := backtest.Measure(id, "ours", ours, durations[id], 0, 0)
		o := backtest.Measure(id, "oracle", oracle, durations[id], 0, 0)
		aasPCH, aasSpill := "-", "-"
		if ms, ok := aas[controller.TargetID{Function: t.Function, Qualifier: t.Qualifier}]; ok {
			a := backtest.Measure(id, "aas", ms[:min(len(ms), len(ours))], durations[id], 0, 0)
			aasPCH, aasSpill = fmt.Sprintf("%.1f", a.PCHours), fmt.Sprintf("%.2f", a.SpilloverPct)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.0f%%\t%s\t%s\t%.1f\t%.0f%%\t\n", id, r.PCHours, r.SpilloverPct, r.MeanUtilization*100,
			aasPCH, aasSpill, o.PCHours, o.MeanUtilization*100)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%s to %s simulated; metrics published %s after their minute plus 0–%s, allocation after %s of preparation.\n",
		from.UTC().Format("Mon 15:04Z"), to.UTC().Format("15:04Z"), sc.Metrics.PublishDelay.Duration, sc.Metrics.PublishJitter.Duration,
		sc.Allocation.PrepDelay.Duration.Round(time.Second))
	fmt.Fprintln(w, "aas: Application Auto Scaling target tracking at each target's target_utilization (backtest/aas.go) on the same arrivals, min/max and schedules as scheduled actions. Oracle: PC = each minute's peak concurrency, known in advance.")
}
