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
	return o
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
		reps[i].sched = sched
		reps[i].cwMode, reps[i].cwProtocol = cfg.AWS.CloudWatchMetrics, cfg.AWS.CloudWatchProtocol
	}
	rep := &Report{Options: o}
	for _, r := range reps {
		rep.Functions = append(rep.Functions, r.info)
	}

	type job struct{ fi, pi int }
	results := make([]Result, len(reps)*len(o.Policies))
	jobs := make(chan job)
	prog := newProgress(o.Progress, len(results))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(o.Workers, len(results)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res, err := reps[j.fi].run(ctx, o.Policies[j.pi])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s under %s: %w", short(reps[j.fi].fn.ID), o.Policies[j.pi], err)
					}
					mu.Unlock()
					continue
				}
				results[j.fi*len(o.Policies)+j.pi] = res
				prog.finished(reps[j.fi].fn.ID, o.Policies[j.pi])
			}
		}()
	}
feed:
	for fi := range reps {
		for pi := range o.Policies {
			select {
			case jobs <- job{fi, pi}:
			case <-ctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.Results = results
	rep.Totals = totals(results, o.Policies, o.MemoryMB, o.Price)
	if o.Out != "" {
		if err := rep.Write(o.Out); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

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

// Write puts report.csv, report.md and one PNG per function into dir.
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
	for _, f := range r.Functions {
		var rs []Result
		for _, x := range r.Results {
			if x.Function == f.ID {
				rs = append(rs, x)
			}
		}
		title := fmt.Sprintf("%s: %.0f ms, peak %d", short(f.ID), f.DurationMS, f.PeakConcurrency)
		if err := WriteChart(filepath.Join(dir, safeName(short(f.ID))+".png"), title, rs); err != nil {
			return err
		}
	}
	return nil
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
