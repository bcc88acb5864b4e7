package backtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
	rep, err := Run(context.Background(), Options{Trace: trace, Policies: []string{PolicyAAS, PolicyStatic, PolicyOracle}, Seed: 7})
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
	_, err := Run(context.Background(), Options{Trace: trace, Policies: []string{PolicyAAS, PolicyOracle}, Out: out})
	require.NoError(t, err)
	csv, err := os.ReadFile(filepath.Join(out, "report.csv"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Equal(t, CSVHeader, lines[0])
	require.Len(t, lines, 3)
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| policy | PC-hours | $ |")
	png, err := os.ReadFile(filepath.Join(out, "burst.csv.png"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
}

func TestRunDeterministic(t *testing.T) {
	trace := writeBurstTrace(t, 60, 6)
	run := func(seed int64) (string, string) {
		out := t.TempDir()
		_, err := Run(context.Background(), Options{Trace: trace, Seed: seed, Out: out, Workers: 2})
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
		{name: "ok", args: []string{"--trace", trace, "--policies", "static,oracle"}, code: 0},
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
			rep, err := Run(context.Background(), Options{Trace: trace, Policies: []string{PolicyOurs}, Config: tc.config})
			require.NoError(t, err)
			r := byPolicy(rep)[PolicyOurs]
			require.GreaterOrEqual(t, r.PCHours, tc.minPCHour)
			if tc.config != "" {
				require.Zero(t, r.Spillover, "a floor of 150 covers a burst of ~100")
			}
		})
	}
}
