package backtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// writeBurstTrace writes a plain trace: 600/min (concurrency ~10 at 1 s),
// a burst of 6000/min for burst minutes at minute 30, then 600/min again.
func writeBurstTrace(t *testing.T, minutes, burst int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("minute,invocations,avg_duration_ms\n")
	for m := range minutes {
		n := 600
		if m >= 30 && m < 30+burst {
			n = 6000
		}
		fmt.Fprintf(&b, "%d,%d,1000\n", m, n)
	}
	p := filepath.Join(t.TempDir(), "burst.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func byPolicy(rep *Report) map[string]Result {
	out := map[string]Result{}
	for _, r := range rep.Results {
		out[r.Policy] = r
	}
	return out
}

func TestRunBaselines(t *testing.T) {
	trace := writeBurstTrace(t, 90, 10)
	rep, err := Run(context.Background(), Options{Trace: trace, Policies: []string{PolicyAAS, PolicyStatic, PolicyOracle}, Seed: 7, Warmup: -1})
	require.NoError(t, err)
	r := byPolicy(rep)
	require.Len(t, r, 3)
	for _, p := range []string{PolicyAAS, PolicyStatic, PolicyOracle} {
		require.Greater(t, r[p].Invocations, int64(0), p)
		require.Equal(t, r[PolicyOracle].Invocations, r[p].Invocations, "every policy sees the same arrivals: %s", p)
	}
	require.Zero(t, r[PolicyOracle].Spillover, "oracle covers every second")
	require.Zero(t, r[PolicyStatic].Spillover, "static holds the peak")
	require.Less(t, r[PolicyOracle].PCHours, r[PolicyStatic].PCHours)
	require.Greater(t, r[PolicyAAS].Spillover, int64(0), "AAS needs 3 datapoints and a minute of allocation: the burst spills")
	require.Greater(t, r[PolicyAAS].PutCalls, 0)
	require.InDelta(t, 120, r[PolicyAAS].CWMetricsPerTargetHour, 1e-9)
	require.NotEmpty(t, r[PolicyAAS].Episodes)
	require.Greater(t, r[PolicyOracle].MeanUtilization, r[PolicyStatic].MeanUtilization)
}

func TestRunWritesOutputs(t *testing.T) {
	trace := writeBurstTrace(t, 40, 5)
	out := t.TempDir()
	// A one-point sweep: the function's chart and frontier.png are drawn
	// at the same time.
	_, err := Run(context.Background(), Options{Trace: trace, Policies: []string{PolicyAAS, PolicyOracle}, Out: out, Warmup: -1,
		SweepTargets: []float64{0.7}, Workers: 2})
	require.NoError(t, err)
	csv, err := os.ReadFile(filepath.Join(out, "report.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Equal(t, CSVHeader, lines[0])
	require.Len(t, lines, 3)
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| policy | PC-hours | $ |")
	for _, name := range []string{"burst.csv.png", "frontier.png"} {
		png, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), name)
	}
}

func TestRunDeterministic(t *testing.T) {
	trace := writeBurstTrace(t, 60, 6)
	run := func(seed int64) (string, string) {
		out := t.TempDir()
		_, err := Run(context.Background(), Options{Trace: trace, Seed: seed, Out: out, Workers: 2, Warmup: -1, NoCharts: true})
		require.NoError(t, err)
		c, err := os.ReadFile(filepath.Join(out, "report.csv"))
		require.NoError(t, err)
		m, err := os.ReadFile(filepath.Join(out, "report.md"))
		require.NoError(t, err)
		return string(c), string(m)
	}
	c1, m1 := run(11)
	c2, m2 := run(11)
	require.Equal(t, c1, c2)
	require.Equal(t, m1, m2)
	c3, _ := run(12)
	require.NotEqual(t, c1, c3, "another seed draws other arrivals")
}

func TestCommandExitCodes(t *testing.T) {
	trace := writeBurstTrace(t, 20, 2)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{name: "ok", args: []string{"--trace", trace, "--policies", "static,oracle", "--warmup", "0"}, code: 0},
		{name: "warm-up longer than the trace", args: []string{"--trace", trace}, code: 2, stderr: "--warmup 1h0m0s leaves nothing to score"},
		{name: "aas target out of AAS's range", args: []string{"--trace", trace, "--warmup", "0", "--aas-target", "0.95"}, code: 2, stderr: "--aas-target 0.95"},
		{name: "sweep target of 1", args: []string{"--trace", trace, "--warmup", "0", "--sweep-targets", "0.5,1"}, code: 2, stderr: "--sweep-targets 1: each at least 0.1 and below 1"},
		{name: "sweep target below AAS's range", args: []string{"--trace", trace, "--warmup", "0", "--sweep-targets", "0.05"}, code: 2, stderr: "--sweep-targets 0.05"},
		{name: "sweep target not a number", args: []string{"--trace", trace, "--sweep-targets", "0.5,x"}, code: 2, stderr: `"x" is not a number`},
		{name: "unknown wire", args: []string{"--trace", trace, "--warmup", "0", "--wire", "tcp"}, code: 2, stderr: `--wire "tcp"`},
		{name: "missing trace flag", args: []string{}, code: 2, stderr: "--trace is required"},
		{name: "unknown policy", args: []string{"--trace", trace, "--policies", "ours,hpa"}, code: 2, stderr: `"hpa" is not one of`},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, stderr: "flag provided but not defined"},
		{name: "missing file", args: []string{"--trace", filepath.Join(t.TempDir(), "none.csv")}, code: 2, stderr: "no such file"},
		{name: "bad config", args: []string{"--trace", trace, "--config", trace}, code: 2},
		{name: "no function matches", args: []string{"--trace", trace, "--function", "zz"}, code: 2, stderr: "--function zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Command(tc.args, &stdout, &stderr)
			require.Equal(t, tc.code, code, stderr.String())
			require.Contains(t, stderr.String(), tc.stderr)
			if tc.code == 0 {
				require.Contains(t, stdout.String(), "oracle")
			}
		})
	}
}

// A --config target named like the function (a prefix of its ID) gives ours
// its settings and its schedules: a floor for the whole day keeps PC at
// least there, the defaults' max no longer applies.
func TestRunConfigTargetAndSchedule(t *testing.T) {
	trace := writeBurstTrace(t, 60, 6)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`defaults:
  statistic: Maximum
targets:
  - function: burst
    qualifier: live
    min: 1
    max: 500
    schedules:
      - name: all-day
        cron: "0 0 * * *"
        duration: 24h
        floor: 150
`), 0o644))
	tests := []struct {
		name      string
		config    string
		minPCHour float64
	}{
		{name: "defaults", config: "", minPCHour: 0},
		{name: "target with an all-day floor of 150", config: cfg, minPCHour: 150 * 59.0 / 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{Trace: trace, Policies: []string{PolicyOurs}, Config: tc.config, Warmup: -1})
			require.NoError(t, err)
			r := byPolicy(rep)[PolicyOurs]
			require.GreaterOrEqual(t, r.PCHours, tc.minPCHour)
			if tc.config != "" {
				require.Zero(t, r.Spillover, "a floor of 150 covers a burst of ~100")
			}
		})
	}
}

// The flags' defaults are the realistic account issue 13 asks for.
func TestFlagDefaults(t *testing.T) {
	var o Options
	fs := FlagSet(&o, new(bytes.Buffer))
	require.NoError(t, fs.Parse(nil))
	require.Equal(t, 120*time.Second, o.PublishDelay)
	require.Equal(t, 30*time.Second, o.PublishJitter)
	require.Equal(t, 90*time.Second, o.PrepDelay)
	require.Equal(t, time.Hour, o.Warmup)
	require.InDelta(t, 0.70, o.AASTarget, 1e-12)
	require.Empty(t, o.SweepTargets)
	require.Equal(t, WireDirect, o.Wire)

	require.NoError(t, fs.Parse([]string{"--sweep-targets", "0.5,0.6,0.7,0.8,0.9", "--publish-jitter", "0", "--warmup", "0"}))
	o.FlagZeros()
	require.Equal(t, []float64{0.5, 0.6, 0.7, 0.8, 0.9}, o.SweepTargets)
	require.Zero(t, o.publishJitter(), "0 on the command line is none, not the default")
	require.Zero(t, o.warmupMinutes())
	require.Equal(t, 120*time.Second, o.publishDelay())
}

// The delays reach the simulated account; the oracle keeps its instant
// allocation.
func TestScenarioDelays(t *testing.T) {
	trace := writeBurstTrace(t, 70, 2)
	for _, tc := range []struct {
		o                     Options
		publish, jitter, prep time.Duration
	}{
		{o: Options{}, publish: 120 * time.Second, jitter: 30 * time.Second, prep: 90 * time.Second},
		{o: Options{PublishDelay: 60 * time.Second, PublishJitter: -1, PrepDelay: 60 * time.Second}, publish: 60 * time.Second, prep: 60 * time.Second},
	} {
		o := tc.o
		o.Trace = trace
		o = o.withDefaults()
		fns, err := loadFunctions(o)
		require.NoError(t, err)
		sc := newReplay(fns[0], o, config.DefaultPolicy(), false).scenario(1)
		require.Equal(t, tc.publish, sc.Metrics.PublishDelay.Duration)
		require.Equal(t, tc.jitter, sc.Metrics.PublishJitter.Duration)
		require.Equal(t, tc.prep, sc.Allocation.PrepDelay.Duration)
	}
}

// With a warm-up every policy that scales starts from PC = 1, the warm-up
// is not scored (minutes, Puts, metrics), and the charts still get it.
func TestRunWarmup(t *testing.T) {
	var b strings.Builder
	b.WriteString("minute,invocations,avg_duration_ms\n")
	for m := range 100 {
		fmt.Fprintf(&b, "%d,%d,1000\n", m, 1200) // concurrency ~20 all along
	}
	trace := filepath.Join(t.TempDir(), "flat.csv")
	require.NoError(t, os.WriteFile(trace, []byte(b.String()), 0o644))

	warm, err := Run(context.Background(), Options{Trace: trace, Seed: 2, Warmup: 40 * time.Minute, Policies: []string{PolicyOurs, PolicyAAS, PolicyOracle}})
	require.NoError(t, err)
	cold, err := Run(context.Background(), Options{Trace: trace, Seed: 2, Warmup: -1, Policies: []string{PolicyOurs, PolicyAAS, PolicyOracle}})
	require.NoError(t, err)
	w, c := byPolicy(warm), byPolicy(cold)
	for _, p := range []string{PolicyOurs, PolicyAAS} {
		require.Equal(t, 40, w[p].Warmup)
		require.Len(t, w[p].PC, 100, "charts get every minute")
		require.InDelta(t, 1, w[p].PC[0], 0.01, "%s starts from PC = 1", p)
		require.Greater(t, c[p].PC[0], 20.0, "%s without warm-up starts at the first minute's peak / 0.7", p)
		require.Greater(t, w[p].Invocations, int64(0))
		require.Less(t, w[p].Invocations, c[p].Invocations, "40 of 100 minutes not scored")
		require.Greater(t, c[p].SpilloverPct+1, w[p].SpilloverPct, "%s has found its level by minute 40", p)
	}
	require.Less(t, w[PolicyOracle].PutCalls, c[PolicyOracle].PutCalls, "Puts of the warm-up are not counted")
}

// --sweep-targets runs ours and aas at each target, reuses the main run
// where it used the same one, and writes frontier.csv and report.md's two
// numbers (frontier.png: TestRunWritesOutputs).
func TestRunSweep(t *testing.T) {
	trace := writeBurstTrace(t, 60, 6)
	out := t.TempDir()
	rep, err := Run(context.Background(), Options{Trace: trace, Seed: 4, Warmup: -1, Out: out, Workers: 2, NoCharts: true,
		Policies: []string{PolicyOurs, PolicyAAS}, SweepTargets: []float64{0.5, 0.7, 0.9}})
	require.NoError(t, err)
	require.Len(t, rep.Sweep, 4, "0.7 is the main run's for both")
	f := rep.Frontier
	require.Len(t, f.Points, 6)
	main := byPolicy(rep)
	for _, p := range f.Points {
		if sameTarget(p.Target, 0.7) {
			require.InDelta(t, main[p.Policy].PCHours, p.PCHours, 1e-9, p.Policy)
		}
	}
	ours := f.Policy(PolicyOurs)
	require.Greater(t, ours[0].PCHours, ours[2].PCHours, "a higher target holds less PC")
	require.True(t, f.HasRef)
	require.InDelta(t, main[PolicyAAS].PCHours, f.Ref.PCHours, 1e-9)

	csvData, err := os.ReadFile(filepath.Join(out, "frontier.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csvData)), "\n")
	require.Equal(t, "policy,target,pc_hours,spillover_pct,put_calls", lines[0])
	require.Len(t, lines, 7)
	require.True(t, strings.HasPrefix(lines[1], "ours,0.50,"), lines[1])
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "ours' spillover at AAS-0.70's PC-hours")
	require.Contains(t, string(md), "ours' PC-hours at AAS-0.70's spillover")
	_, err = os.Stat(filepath.Join(out, "frontier.png"))
	require.True(t, os.IsNotExist(err), "--no-charts")

	// Function by function: every sweep target, and one chosen per function
	// within ours' PC-hours at its own target.
	fnData, err := os.ReadFile(filepath.Join(out, "frontier_functions.csv"))
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(fnData)), "\n")
	require.Equal(t, PerFunctionHeader, rows[0])
	require.Len(t, rows, 1+3*len(rep.Functions))
	chosen := 0
	for _, r := range rows[1:] {
		if strings.HasSuffix(r, ",1") {
			chosen++
		}
	}
	require.Equal(t, len(rep.Functions), chosen)
	require.True(t, f.Functions.OK)
	require.LessOrEqual(t, f.Functions.PCHours, main[PolicyOurs].PCHours+1e-9)
	require.LessOrEqual(t, f.Functions.SpilloverPct, main[PolicyOurs].SpilloverPct+1e-9)
	require.Contains(t, string(md), "one target per function")
}

// Above 0.9 (AAS takes 0.1 to 0.9) the sweep runs ours only: its frontier
// reaches further, and aas' has no point there.
func TestRunSweepAboveAASRange(t *testing.T) {
	trace := writeBurstTrace(t, 60, 6)
	rep, err := Run(context.Background(), Options{Trace: trace, Seed: 4, Warmup: -1, Out: t.TempDir(), Workers: 2, NoCharts: true,
		Policies: []string{PolicyOurs, PolicyAAS}, SweepTargets: []float64{0.7, 0.95}})
	require.NoError(t, err)
	require.Len(t, rep.Sweep, 1, "ours at 0.95; 0.7 is the main run's")
	require.Equal(t, PolicyOurs, rep.Sweep[0].Policy)
	f := rep.Frontier
	require.Len(t, f.Policy(PolicyOurs), 2)
	require.Len(t, f.Policy(PolicyAAS), 1)
	ours := f.Policy(PolicyOurs)
	require.Greater(t, ours[0].PCHours, ours[1].PCHours, "a higher target holds less PC")
}

func TestInterpolate(t *testing.T) {
	pts := []FrontierPoint{ // by target: PC-hours falls, spillover rises
		{Target: 0.5, PCHours: 300, SpilloverPct: 1},
		{Target: 0.7, PCHours: 200, SpilloverPct: 3},
		{Target: 0.9, PCHours: 100, SpilloverPct: 9},
	}
	pch := func(p FrontierPoint) float64 { return p.PCHours }
	spill := func(p FrontierPoint) float64 { return p.SpilloverPct }
	for _, tc := range []struct {
		at        float64
		x, y      func(FrontierPoint) float64
		want      float64
		reachable bool
	}{
		{at: 250, x: pch, y: spill, want: 2, reachable: true},
		{at: 200, x: pch, y: spill, want: 3, reachable: true},
		{at: 150, x: pch, y: spill, want: 6, reachable: true},
		{at: 6, x: spill, y: pch, want: 150, reachable: true},
		{at: 400, x: pch, y: spill, reachable: false}, // (frontier() bounds it: every point is cheaper)
		{at: 0.5, x: spill, y: pch, reachable: false},
	} {
		got, ok := interpolate(pts, tc.at, tc.x, tc.y)
		require.Equal(t, tc.reachable, ok, "at %g", tc.at)
		if ok {
			require.InDelta(t, tc.want, got, 1e-9, "at %g", tc.at)
		}
	}
}

func TestZoomWindow(t *testing.T) {
	n := 600
	r := Result{Policy: PolicyOurs, Spill: make([]int64, n), Demand: make([]int, n)}
	r.Spill[30] = 1000 // in the warm-up: never chosen
	r.Spill[400] = 50
	a, b := zoomWindow([]Result{r}, 60, n, 180)
	require.Equal(t, 180, b-a)
	require.True(t, a <= 400 && 400 < b, "[%d, %d) holds minute 400", a, b)
	require.GreaterOrEqual(t, a, 60)
	a, b = zoomWindow([]Result{r}, 0, 100, 180)
	require.Equal(t, [2]int{0, 100}, [2]int{a, b}, "shorter than the window: all of it")
}

// Beyond ours' frontier on its good side the numbers are bounds.
func TestFrontierBounds(t *testing.T) {
	reps := []*replay{{fn: Function{ID: "f"}}}
	res := func(p string, tgt, pch float64, spill int64) Result {
		return Result{Function: "f", Policy: p, Target: tgt, PCHours: pch, Invocations: 1000, Spillover: spill}
	}
	main := []Result{res(PolicyAAS, 0.7, 500, 50)}
	sweep := []Result{res(PolicyOurs, 0.5, 400, 1), res(PolicyOurs, 0.9, 300, 3), res(PolicyAAS, 0.5, 700, 20), res(PolicyAAS, 0.9, 300, 90)}
	f := frontier(reps, main, sweep, Options{SweepTargets: []float64{0.5, 0.9}})
	require.True(t, f.SpillAtRefOK && f.SpillAtRefBound)
	require.InDelta(t, 0.1, f.SpillAtRef, 1e-9, "at most ours' lowest spillover")
	require.True(t, f.PCHAtRefOK && f.PCHAtRefBound)
	require.InDelta(t, 300, f.PCHAtRef, 1e-9, "at most ours' fewest PC-hours")
	var b strings.Builder
	b.WriteString(f.markdown(0.7))
	require.Contains(t, b.String(), "ours' spillover at AAS-0.70's PC-hours: ≤ 0.100%")
}

// static computed from the arrivals is static simulated.
func TestStaticWithoutWorld(t *testing.T) {
	for _, warm := range []time.Duration{-1, 30 * time.Minute} {
		trace := writeBurstTrace(t, 70, 8)
		o := Options{Trace: trace, Seed: 9, Warmup: warm}.withDefaults()
		fns, err := loadFunctions(o)
		require.NoError(t, err)
		r := newReplay(fns[0], o, config.DefaultPolicy(), false)
		a, err := r.runStatic()
		require.NoError(t, err)
		b, err := r.runStaticWorld()
		require.NoError(t, err)
		require.Equal(t, b, a)
		require.Zero(t, a.Spillover)
	}
}

// oracle computed from the arrivals is oracle simulated.
func TestOracleWithoutWorld(t *testing.T) {
	for _, warm := range []time.Duration{-1, 30 * time.Minute} {
		trace := writeBurstTrace(t, 70, 8)
		o := Options{Trace: trace, Seed: 9, Warmup: warm}.withDefaults()
		fns, err := loadFunctions(o)
		require.NoError(t, err)
		r := newReplay(fns[0], o, config.DefaultPolicy(), false)
		a, err := r.runOracle()
		require.NoError(t, err)
		b, err := r.runOracleWorld()
		require.NoError(t, err)
		require.Equal(t, b, a)
		require.Zero(t, a.Spillover)
	}
}
