package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// cmdPlan evaluates every target once, now, and prints current → desired and
// why. It reads from AWS and writes nothing.
func cmdPlan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	path := fs.String("config", "", "config `file` (YAML)")
	configEnv := fs.String("config-env", "", "read the config YAML from this environment `variable`")
	simClock := fs.String("sim-clock", "", "follow the clock of the pcautoscaler sim at this `URL`")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, ok := loadConfigFrom(*path, *configEnv, stderr)
	if !ok {
		return exitUsage
	}
	logger := newLogger(stderr, "warn", cfg.Log.Format)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var clock controller.Clock = controller.SystemClock{}
	var serverClock controller.ServerClock // nil: measured from AWS's responses
	if *simClock != "" {
		c, err := followSimClock(ctx, *simClock)
		if err != nil {
			fmt.Fprintf(stderr, "plan: %v\n", err)
			return exitRuntime
		}
		clock = c
		serverClock = controller.FixedOffset(0) // the simulator's time is ours
		logger = withSimTime(logger, clock)
	}
	awsCfg, err := loadAWSConfig(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return exitRuntime
	}
	checkEndpointClocks(ctx, logger, endpointsOf(awsCfg), clock, *simClock)
	fl, err := wireFleet(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: clock, dryRun: true,
		serverClock: serverClock, ctx: ctx}, accountLoader(logger))
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return exitRuntime
	}
	var rows []controller.PlanRow
	for i, d := range fl.daemons {
		if d.aas != nil {
			_ = d.aas.Check(ctx) // as run: an alias AAS scales is left out, at Error
		}
		accRows, err := d.ctrl.Plan(ctx, clock.Now())
		if err != nil && len(accRows) == 0 {
			fmt.Fprintf(stderr, "plan: %s%v\n", fl.label(i), err)
			return exitRuntime
		}
		for _, r := range accRows {
			if fl.names[i] != "" {
				r.ID.Function = fl.names[i] + "/" + r.ID.Function // the account, for the reader
			}
			rows = append(rows, r)
		}
	}
	failed := writePlan(stdout, rows)
	if failed > 0 {
		fmt.Fprintf(stderr, "plan: %s could not be observed\n", plural(failed, "target", "targets"))
		return exitRuntime
	}
	return exitOK
}

func writePlan(w io.Writer, rows []controller.PlanRow) (failed int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tCURRENT\tDESIRED\tACTION\tREASON\tBOUNDS\tDETAIL")
	for _, r := range rows {
		if r.Err != nil {
			failed++
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\terror\t-\t%v\n", r.ID, r.Err)
			continue
		}
		d := r.Decision
		status := string(r.PC.Status)
		if !r.PC.Exists {
			status = "none"
		}
		bounds := fmt.Sprintf("%d..%d", d.EffectiveMin, d.EffectiveMax)
		if d.Constrained {
			bounds += " (constrained)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", r.ID, status, d.Current, d.Desired, d.Action, d.Reason, bounds, d.Detail)
	}
	tw.Flush()
	return failed
}
