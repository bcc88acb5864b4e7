package backtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// commaList is a comma-separated flag; setting it replaces the default.
type commaList []string

func (c *commaList) String() string { return strings.Join(*c, ",") }
func (c *commaList) Set(v string) error {
	*c = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*c = append(*c, p)
		}
	}
	return nil
}

// FlagSet binds every backtest flag to o, with the defaults set in o.
func FlagSet(o *Options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.Policies = append([]string(nil), AllPolicies...)
	fs.StringVar(&o.Trace, "trace", "", "invocations `CSV`: Azure 2019 (HashOwner,HashApp,HashFunction,Trigger,1..1440, or invitro's HashFunction,HashApp,HashOwner,minute_1..) or minute,invocations,avg_duration_ms")
	fs.StringVar(&o.Durations, "durations", "", "Azure 2019 durations `CSV` (Average ms by HashFunction)")
	fs.Var((*stringList)(&o.Functions), "function", "replay functions whose hash starts with `PREFIX` (repeatable)")
	fs.IntVar(&o.Top, "top", 0, "replay the `N` busiest functions by total invocations")
	fs.IntVar(&o.Burstiest, "burstiest", 0, "replay the `N` burstiest functions (coefficient of variation of invocations per minute)")
	fs.Float64Var(&o.MinInvocations, "min-invocations", DefaultMinInvocations, "--burstiest considers only functions with at least `N` invocations in the trace")
	fs.Float64Var(&o.MinActive, "min-active", DefaultMinActive, "--burstiest considers only functions with invocations in at least this `fraction` of minutes")
	fs.Float64Var(&o.DurationMS, "duration-ms", 0, "execution time in `ms` of functions without one from --durations or the trace")
	fs.Float64Var(&o.ScalePeak, "scale-peak", 0, "rescale counts so the busiest minute's mean concurrency (invocations/60 × duration) is `N`; 0 keeps them")
	fs.Var((*commaList)(&o.Policies), "policies", "comma-separated `list` of ours, aas, static, oracle")
	fs.StringVar(&o.Config, "config", "", "pcautoscaler config `FILE` for ours: a target whose function is a hash prefix overrides its defaults")
	fs.Int64Var(&o.Seed, "seed", DefaultSeed, "arrival model `seed`; same seed, same report")
	fs.StringVar(&o.Out, "out", "", "`DIR` for report.csv, report.md and a PNG per function")
	fs.IntVar(&o.MemoryMB, "memory-mb", DefaultMemoryMB, "function memory in `MB` for the $ column")
	fs.Float64Var(&o.Price, "price", DefaultPricePerGBSecond, "PC price in `USD` per GB-second")
	fs.IntVar(&o.Minutes, "minutes", 0, "replay only the first `N` minutes (0: the whole trace)")
	fs.IntVar(&o.Workers, "workers", 0, "parallel replays and charts (0: one per CPU)")
	fs.DurationVar(&o.PublishDelay, "publish-delay", DefaultPublishDelay, "simulated CloudWatch publishes a minute's metrics this `duration` after it ends (0: at once)")
	fs.DurationVar(&o.PublishJitter, "publish-jitter", DefaultPublishJitter, "plus a seeded delay of 0 up to this `duration`, per function and minute (0: none)")
	fs.DurationVar(&o.PrepDelay, "prep-delay", DefaultPrepDelay, "simulated Lambda prepares for this `duration` before allocating a Put's environments")
	fs.DurationVar(&o.Warmup, "warmup", DefaultWarmup, "replay this `duration` first from PC = 1 for ours and aas, unscored (0: none; both then start at the first minute's peak / 0.7)")
	fs.Float64Var(&o.AASTarget, "aas-target", DefaultAASTarget, "aas TargetValue (`0.1-0.9`); its scale-in alarm is 0.9 of it")
	fs.Float64Var(&o.AASScaleInStep, "aas-scale-in-step", DefaultAASScaleInStep, "largest `fraction` of PC one aas scale-in removes (an assumption: AWS documents only \"smaller periodic steps\"; 1: the whole proportional cut)")
	fs.Var((*floatList)(&o.SweepTargets), "sweep-targets", "comma-separated `targets` (0.1 to below 1): run ours (target_utilization) and aas (aas-target) at each (aas up to 0.9, AAS's range), write frontier.csv, frontier_functions.csv and frontier.png")
	fs.StringVar(&o.Wire, "wire", WireDirect, "how ours reaches the simulated account: direct (the daemon clients' answers, straight from the simulator) or sdk (the daemon's aws-sdk-go-v2 clients over its HTTP handler in memory, ~20x slower)")
	fs.BoolVar(&o.NoCharts, "no-charts", false, "skip the PNGs")
	return fs
}

// floatList is a comma-separated list of numbers.
type floatList []float64

func (f *floatList) String() string {
	parts := make([]string, len(*f))
	for i, v := range *f {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (f *floatList) Set(v string) error {
	*f = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		x, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", p)
		}
		*f = append(*f, x)
	}
	return nil
}

// Command is `pcautoscaler backtest ARGS`: it parses flags, runs, prints
// the totals and where the report went. Exit codes: 0 ok, 1 runtime
// failure, 2 usage or input error.
func Command(args []string, stdout, stderr io.Writer) int {
	var o Options
	fs := FlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "backtest: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	o.FlagZeros()
	o.Progress = stderr
	if os.Getenv("GOGC") == "" {
		// A replay allocates a lot of short-lived garbage and keeps little
		// (a day of one function is a few MB): collecting at 4× the live
		// heap instead of 2× saves about a tenth of the CPU.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		if _, ok := errors.AsType[*UsageError](err); ok {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stdout, "%-8s %10s %10s %12s %10s %6s\n", "policy", "PC-hours", "$", "spillover%", "util", "puts")
	for _, t := range rep.Totals {
		fmt.Fprintf(stdout, "%-8s %10.1f %10.2f %12.3f %10.3f %6d\n", t.Policy, t.PCHours, t.CostUSD, t.SpilloverPct, t.MeanUtilization, t.PutCalls)
	}
	if f := rep.Frontier; f != nil {
		fmt.Fprintf(stdout, "\nfrontier (%s)\n%-8s %6s %10s %12s %6s\n", FrontierHeader, "policy", "target", "PC-hours", "spillover%", "puts")
		for _, p := range f.Points {
			fmt.Fprintf(stdout, "%-8s %6.2f %10.1f %12.3f %6d\n", p.Policy, p.Target, p.PCHours, p.SpilloverPct, p.PutCalls)
		}
		ref := "AAS-" + ff(o.aasTarget(), 2)
		le := map[bool]string{true: "≤ "}
		if f.SpillAtRefOK {
			fmt.Fprintf(stdout, "ours' spillover at %s's PC-hours (%.1f): %s%.3f%% (%s: %.3f%%)\n", ref, f.Ref.PCHours, le[f.SpillAtRefBound], f.SpillAtRef, ref, f.Ref.SpilloverPct)
		}
		if f.PCHAtRefOK {
			fmt.Fprintf(stdout, "ours' PC-hours at %s's spillover (%.3f%%): %s%.1f (%s: %.1f)\n", ref, f.Ref.SpilloverPct, le[f.PCHAtRefBound], f.PCHAtRef, ref, f.Ref.PCHours)
		}
	}
	if o.Out != "" {
		charts := len(rep.Functions)
		if o.NoCharts {
			charts = 0
		}
		fmt.Fprintf(stdout, "wrote %s/report.csv, report.md and %d charts\n", o.Out, charts)
	}
	return 0
}
