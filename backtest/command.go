package backtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	fs.IntVar(&o.Workers, "workers", 0, "parallel replays (0: one per CPU)")
	return fs
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
	o.Progress = stderr
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
	if o.Out != "" {
		fmt.Fprintf(stdout, "wrote %s/report.csv, report.md and %d charts\n", o.Out, len(rep.Functions))
	}
	return 0
}
