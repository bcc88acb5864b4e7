package backtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/schedule"
)

// Policy names.
const (
	PolicyOurs   = "ours"
	PolicyAAS    = "aas"
	PolicyStatic = "static"
	PolicyOracle = "oracle"
)

// AllPolicies is the default --policies, in report order.
var AllPolicies = []string{PolicyOurs, PolicyAAS, PolicyStatic, PolicyOracle}

// Defaults of the options the CLI shows.
const (
	DefaultPricePerGBSecond = 0.0000041667 // us-east-1 x86 provisioned concurrency
	DefaultMemoryMB         = 1024
	DefaultMinInvocations   = 10000
	DefaultMinActive        = 0.5
	DefaultSeed             = 1
	DefaultPublishDelay     = 120 * time.Second
	DefaultPublishJitter    = 30 * time.Second
	DefaultPrepDelay        = 90 * time.Second
	DefaultWarmup           = time.Hour
	DefaultAASTarget        = 0.70
	DefaultAASScaleInStep   = 0.10
	// Qualifier is the alias every replayed function is served through.
	Qualifier = "live"
	// MetricsPerTarget is what the metrics package requests per target and
	// GetMetricData call: utilization, spillover, concurrent executions and
	// invocations. The HTTP-path test checks it against metrics' own count.
	MetricsPerTarget = 4
)

// Options mirrors `pcautoscaler backtest`'s flags one to one.
type Options struct {
	Trace          string   // --trace: Azure 2019 invocations CSV or minute,invocations,avg_duration_ms CSV
	Durations      string   // --durations: Azure durations CSV (Average ms by HashFunction)
	Functions      []string // --function (repeatable): HashFunction prefixes
	Top            int      // --top: the N busiest functions by total invocations
	Burstiest      int      // --burstiest: the N burstiest (coefficient of variation per minute)
	MinInvocations float64  // --min-invocations: floor on total invocations for --burstiest
	MinActive      float64  // --min-active: fraction of minutes with invocations --burstiest requires
	DurationMS     float64  // --duration-ms: duration of functions without one
	ScalePeak      float64  // --scale-peak: rescale so the busiest minute's mean concurrency is N
	Policies       []string // --policies
	Config         string   // --config: pcautoscaler config; a target named like the function (hash or prefix) overrides its defaults
	Seed           int64    // --seed
	Out            string   // --out: directory for report.csv, report.md and the charts; "" writes nothing
	MemoryMB       int      // --memory-mb: for $
	Price          float64  // --price: USD per GB-second of PC
	Minutes        int      // --minutes: replay only the first N minutes (0: all)
	Workers        int      // --workers: parallel replays (0: GOMAXPROCS)

	// The simulated account's delays (0: the default; negative: none).
	PublishDelay  time.Duration // --publish-delay: a minute's metrics appear this long after it ends (120s)
	PublishJitter time.Duration // --publish-jitter: plus 0..this per function and minute, seeded (30s)
	PrepDelay     time.Duration // --prep-delay: before a Put's environments start to be allocated (90s)
	// Warmup is replayed from PC = 1 for ours and aas and not scored (0: the
	// default 1h; negative: none, ours and aas start at the first minute's
	// peak / 0.7).
	Warmup time.Duration // --warmup
	// AASTarget is aas' TargetValue (0: 0.70); its AlarmLow is 0.9 of it.
	AASTarget float64 // --aas-target
	// AASScaleInStep is the largest fraction of PC one aas scale-in removes
	// (0: 0.10; ≥ 1: the whole proportional cut), an assumption (aas.go).
	AASScaleInStep float64 // --aas-scale-in-step
	// SweepTargets runs ours (target_utilization) and aas (aas-target) at
	// each value — aas only up to 0.9, the most AAS takes — and writes
	// frontier.csv, frontier_functions.csv and frontier.png.
	SweepTargets []float64 // --sweep-targets
	// Wire is how ours reaches the world: WireDirect (default) or WireSDK.
	Wire string // --wire
	// NoCharts skips the PNGs (report.csv, report.md and frontier.csv are
	// still written).
	NoCharts bool // --no-charts

	// Not flags.
	Progress io.Writer    // progress bar or lines; nil: none
	Logger   *slog.Logger // the controller's logger; nil: discard
}

// UsageError is a bad option: the CLI exits 2 on it.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, args ...any) error { return &UsageError{fmt.Errorf(format, args...)} }

// withDefaults fills the options left at zero.
func (o Options) withDefaults() Options {
	if len(o.Policies) == 0 {
		o.Policies = slices.Clone(AllPolicies)
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = DefaultMemoryMB
	}
	if o.Price == 0 {
		o.Price = DefaultPricePerGBSecond
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Wire == "" {
		o.Wire = WireDirect
	}
	return o
}

// orDefault is d for 0, none (0) for a negative value, else v.
func orDefault(v, d time.Duration) time.Duration {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}

func (o Options) publishDelay() time.Duration { return orDefault(o.PublishDelay, DefaultPublishDelay) }
func (o Options) publishJitter() time.Duration {
	return orDefault(o.PublishJitter, DefaultPublishJitter)
}
func (o Options) prepDelay() time.Duration {
	// The simulator reads a zero preparation as its own default (60s).
	return max(orDefault(o.PrepDelay, DefaultPrepDelay), time.Nanosecond)
}
func (o Options) warmupMinutes() int { return int(orDefault(o.Warmup, DefaultWarmup) / time.Minute) }
func (o Options) aasTarget() float64 {
	if o.AASTarget == 0 {
		return DefaultAASTarget
	}
	return o.AASTarget
}
func (o Options) aasScaleInStep() float64 {
	if o.AASScaleInStep == 0 {
		return DefaultAASScaleInStep
	}
	return o.AASScaleInStep
}

// FlagZeros turns a flag given as 0 (none) into the negative value that
// means none in Options, where 0 means the default.
func (o *Options) FlagZeros() {
	for _, d := range []*time.Duration{&o.PublishDelay, &o.PublishJitter, &o.PrepDelay, &o.Warmup} {
		if *d == 0 {
			*d = -1
		}
	}
}

func (o Options) validate() error {
	var errs []error
	if o.Trace == "" {
		errs = append(errs, errors.New("--trace is required"))
	}
	for _, p := range o.Policies {
		if !slices.Contains(AllPolicies, p) {
			errs = append(errs, fmt.Errorf("--policies: %q is not one of %s", p, strings.Join(AllPolicies, ",")))
		}
	}
	seen := map[string]bool{}
	for _, p := range o.Policies {
		if seen[p] {
			errs = append(errs, fmt.Errorf("--policies: %q twice", p))
		}
		seen[p] = true
	}
	if o.Top < 0 || o.Burstiest < 0 || o.Minutes < 0 {
		errs = append(errs, errors.New("--top, --burstiest and --minutes must be ≥ 0"))
	}
	if o.DurationMS < 0 || o.ScalePeak < 0 || o.MemoryMB < 0 || o.Price < 0 || o.MinInvocations < 0 || o.MinActive < 0 || o.MinActive > 1 {
		errs = append(errs, errors.New("--duration-ms, --scale-peak, --memory-mb, --price and --min-invocations must be ≥ 0, --min-active in [0,1]"))
	}
	if o.MemoryMB > 0 && (o.MemoryMB < 128 || o.MemoryMB > 10240) {
		errs = append(errs, fmt.Errorf("--memory-mb %d: Lambda allows 128 to 10240", o.MemoryMB))
	}
	if o.Warmup > 0 && o.Warmup%time.Minute != 0 {
		errs = append(errs, fmt.Errorf("--warmup %s: whole minutes", o.Warmup))
	}
	if t := o.aasTarget(); t < aasMinTarget || t > aasMaxTarget {
		errs = append(errs, fmt.Errorf("--aas-target %g: AAS takes 0.1 to 0.9", t))
	}
	if o.AASScaleInStep < 0 {
		errs = append(errs, errors.New("--aas-scale-in-step must be > 0"))
	}
	for _, t := range o.SweepTargets {
		if t < aasMinTarget || t >= 1 {
			errs = append(errs, fmt.Errorf("--sweep-targets %g: each at least 0.1 and below 1 (aas runs only up to 0.9, AAS's range)", t))
		}
	}
	if o.Wire != WireDirect && o.Wire != WireSDK {
		errs = append(errs, fmt.Errorf("--wire %q: direct or sdk", o.Wire))
	}
	if len(errs) > 0 {
		return &UsageError{errors.Join(errs...)}
	}
	return nil
}

// Run replays the selected functions under each policy and, with Out set,
// writes report.csv, report.md and one chart per function there.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	fns, err := loadFunctions(o)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	if o.Config != "" {
		c, err := config.Load(o.Config)
		if err != nil {
			return nil, &UsageError{err}
		}
		cfg = *c
	}

	reps := make([]*replay, len(fns))
	for i, f := range fns {
		p, matched := cfg.Defaults, false
		var sched *schedule.Schedule
		if t := targetFor(cfg, f.ID); t != nil {
			p, matched = t.Policy, true
			s, err := schedule.Compile(t.Schedules)
			if err != nil {
				return nil, &UsageError{fmt.Errorf("--config: target %s schedules: %w", t.Function, err)}
			}
			sched = s
		}
		reps[i] = newReplay(f, o, p, matched)
		if w := o.warmupMinutes(); w >= reps[i].minutes {
			return nil, usagef("--warmup %s leaves nothing to score of %s's %d minutes", time.Duration(w)*time.Minute, short(f.ID), reps[i].minutes)
		}
		reps[i].sched = sched
		reps[i].cwMode, reps[i].cwProtocol = cfg.AWS.CloudWatchMetrics, cfg.AWS.CloudWatchProtocol
		reps[i].maxLag = cfg.AWS.MetricsMaxLag.Duration
		reps[i].probe = cfg.AWS.MetricsProbe.Duration
		if reps[i].probe <= 0 {
			reps[i].probe = -1 // metrics_probe: 0 is off; the controller's off is negative
		}
	}
	rep := &Report{Options: o}
	for _, r := range reps {
		rep.Functions = append(rep.Functions, r.info)
	}

	// Jobs: every function under every policy, then the sweep's ours and
	// aas at each target that is not the main run's own.
	type job struct {
		fi     int
		policy string
		target float64 // 0: the policy's own setting
		sweep  bool
	}
	var jobs []job
	for fi := range reps {
		for _, p := range o.Policies {
			jobs = append(jobs, job{fi: fi, policy: p})
		}
	}
	if len(o.SweepTargets) > 0 {
		for fi, r := range reps {
			for _, p := range []string{PolicyOurs, PolicyAAS} {
				for _, t := range o.SweepTargets {
					if slices.Contains(o.Policies, p) && sameTarget(t, r.mainTarget(p)) {
						continue // the main run's result stands for it
					}
					if p == PolicyAAS && t > aasMaxTarget {
						continue // AAS takes no target above 0.9: ours only
					}
					jobs = append(jobs, job{fi: fi, policy: p, target: t, sweep: true})
				}
			}
		}
	}
	results := make([]Result, len(jobs))
	queue := make(chan int)
	prog := newProgress(o.Progress, len(jobs))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(o.Workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				j := jobs[i]
				res, err := reps[j.fi].run(ctx, j.policy, j.target)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s under %s: %w", short(reps[j.fi].fn.ID), j.policy, err)
					}
					mu.Unlock()
					continue
				}
				results[i] = res
				prog.finished(reps[j.fi].fn.ID, j.policy)
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case queue <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, j := range jobs {
		if !j.sweep {
			rep.Results = append(rep.Results, results[i])
		} else {
			rep.Sweep = append(rep.Sweep, results[i])
		}
	}
	rep.Totals = totals(rep.Results, o.Policies, o.MemoryMB, o.Price)
	if len(o.SweepTargets) > 0 {
		rep.Frontier = frontier(reps, rep.Results, rep.Sweep, o)
	}
	if o.Out != "" {
		if err := rep.Write(o.Out); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// mainTarget is the target the main run used for ours or aas.
func (r *replay) mainTarget(policy string) float64 {
	if policy == PolicyAAS {
		return r.o.aasTarget()
	}
	return r.policy.TargetUtilization
}

func sameTarget(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// loadFunctions reads, selects, times and scales the functions to replay.
func loadFunctions(o Options) ([]Function, error) {
	f, err := os.Open(o.Trace)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("--trace: %w", err)}
	}
	defer f.Close()
	tr, err := ReadTrace(f, o.Trace)
	if err != nil {
		return nil, &UsageError{err}
	}
	fns, err := Select(tr, Selection{Prefixes: o.Functions, Top: o.Top, Burstiest: o.Burstiest, MinInvocations: o.MinInvocations, MinActive: o.MinActive})
	if err != nil {
		return nil, &UsageError{err}
	}
	var durs map[string]float64
	if o.Durations != "" {
		df, err := os.Open(o.Durations)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--durations: %w", err)}
		}
		defer df.Close()
		if durs, err = ReadDurations(df, o.Durations); err != nil {
			return nil, &UsageError{err}
		}
	}
	if err := ApplyDurations(fns, durs, o.DurationMS); err != nil {
		return nil, &UsageError{err}
	}
	for i := range fns {
		if o.Minutes > 0 && len(fns[i].Counts) > o.Minutes {
			fns[i].Counts = fns[i].Counts[:o.Minutes]
		}
		if o.ScalePeak > 0 {
			fns[i] = ScalePeak(fns[i], o.ScalePeak)
		}
	}
	return fns, nil
}

// targetFor returns the config target ours runs a function as: the one
// whose function is the hash or the longest prefix of it (settings and
// schedules), else nil (the config's defaults, no schedules).
func targetFor(cfg config.Config, id string) *config.Target {
	var best *config.Target
	for i, t := range cfg.Targets {
		fn := strings.ToLower(t.Function)
		if strings.HasPrefix(strings.ToLower(id), fn) && (best == nil || len(fn) > len(best.Function)) {
			best = &cfg.Targets[i]
		}
	}
	return best
}

// Write puts report.csv, report.md and one PNG per function into dir, plus
// frontier.csv, frontier_functions.csv and frontier.png after a sweep.
// Charts are drawn in parallel (Options.Workers at a time).
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	write := func(name string, fn func(io.Writer) error) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		return f.Close()
	}
	if err := write("report.csv", r.WriteCSV); err != nil {
		return err
	}
	if err := write("report.md", r.WriteMarkdown); err != nil {
		return err
	}
	if r.Frontier != nil {
		if err := write("frontier.csv", r.Frontier.WriteCSV); err != nil {
			return err
		}
		if r.Frontier.Functions != nil {
			if err := write("frontier_functions.csv", r.Frontier.Functions.WriteCSV); err != nil {
				return err
			}
		}
	}
	if r.Options.NoCharts {
		return nil
	}
	type chart struct {
		path string
		draw func(path string) error
	}
	var charts []chart
	if r.Frontier != nil {
		title := fmt.Sprintf("Frontier: PC-hours against spillover, %d functions, %s", len(r.Functions), r.Options.delaysLabel())
		charts = append(charts, chart{filepath.Join(dir, "frontier.png"), func(p string) error {
			return WriteFrontierChart(p, title, r.Frontier, r.Options.aasTarget())
		}})
	}
	for _, f := range r.Functions {
		var rs []Result
		for _, x := range r.Results {
			if x.Function == f.ID {
				rs = append(rs, x)
			}
		}
		spec := ChartSpec{Results: rs, Start: f.Start,
			Title: fmt.Sprintf("%s: %.0f ms, per-second peak %d, CV %.1f; %s", short(f.ID), f.DurationMS, f.PeakConcurrency, f.Burstiness, r.Options.delaysLabel())}
		charts = append(charts, chart{filepath.Join(dir, safeName(short(f.ID))+".png"), func(p string) error { return WriteChart(p, spec) }})
	}
	errs := make([]error, len(charts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, r.Options.Workers))
	for i, c := range charts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = c.draw(c.path)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// delaysLabel is the simulated account's delays in a chart title.
func (o Options) delaysLabel() string {
	return fmt.Sprintf("metrics after %s + 0–%s, allocation after %s, warm-up %s", human(o.publishDelay()), human(o.publishJitter()),
		human(o.prepDelay()), human(time.Duration(o.warmupMinutes())*time.Minute))
}

// human writes 120s as "120 s", 1h as "1 h", 90m as "90 min".
func human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d == 0:
		return "0 s"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " h"
	case d%time.Minute == 0 && d > 5*time.Minute:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return strconv.Itoa(int(d/time.Second)) + " s"
}

// safeName keeps a file name to letters, digits, '-', '_' and '.'.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// simStart is where every replay begins: a Monday midnight UTC, so cron
// schedules in a --config line up with the trace's time of day (Azure minute
// 1 and plain minute 0 are 00:00).
var simStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func startOf(f Function) time.Time {
	off := f.StartMinute
	if f.Format == FormatAzure2019 && off > 0 {
		off-- // Azure headers count minutes from 1
	}
	return simStart.Add(time.Duration(off) * time.Minute)
}

func ceilDiv(x, target float64) int { return int(math.Ceil(x/target - 1e-9)) }
