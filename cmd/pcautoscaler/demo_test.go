package main

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/backtest"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// TestDemo runs the demo for half a simulated hour at 600x (about three
// real seconds): the built-in simulator and config, the real controller
// through the real SDK clients over loopback.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("demo runs for a few real seconds; skipped with -short")
	}
	isolateAWS(t) // the demo must not need (or use) anything from the environment
	code, stdout, stderr := runCLI(t, "demo", "--speed", "600", "--duration", "30m", "--listen", "127.0.0.1:0")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	require.Regexp(t, `(?m)^pcautoscaler demo: simulated AWS on http://127\.0\.0\.1:\d+, metrics on http://127\.0\.0\.1:\d+/metrics$`, stdout)
	require.Contains(t, stdout, "3 targets, 600x speed")

	// Decision lines: "Tue 06:03Z  search-api:live  25 →  43  spillover  spillover 30 in the last period".
	decision := regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\dZ\s+(\S+)\s+(\d+) → +(\d+)\s+(\S+)\s+\S`)
	scaled := map[string]bool{}
	for _, l := range strings.Split(stdout, "\n") {
		if m := decision.FindStringSubmatch(l); m != nil {
			from, _ := strconv.Atoi(m[3])
			to, _ := strconv.Atoi(m[4])
			require.NotEqual(t, from, to, "a decision line is a change: %q", l)
			scaled[m[2]] = true
		}
	}
	require.NotEmpty(t, scaled, "no decision lines in:\n%s", stdout)

	// The summary table: one row per target, numbers in every column.
	header := strings.Index(stdout, "PC-hours")
	require.Positive(t, header, stdout)
	summary := stdout[header:]
	for _, id := range []string{"checkout-api:live", "search-api:live", "report-worker:prod"} {
		// ours PC-hours, spillover %, util; aas PC-hours, spillover %; oracle PC-hours, util.
		row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(id) + `\s+\d+\.\d\s+\d+\.\d\d\s+\d+%\s+\d+\.\d\s+\d+\.\d\d\s+\d+\.\d\s+\d+%\s*$`)
		require.Regexp(t, row, summary, "summary row for %s", id)
	}
	require.Regexp(t, `(?m)^Tue 06:00Z to 06:\d\dZ simulated; metrics published 2m0s after their minute plus 0–30s, allocation after 1m30s of preparation\.$`, summary)
	require.Contains(t, summary, "aas: Application Auto Scaling target tracking")

	// The README's excerpt cannot go stale: each of its lines has the shape
	// (numbers aside) of a line this run printed.
	shapes := map[string]bool{}
	for _, l := range strings.Split(stdout, "\n") {
		shapes[demoShape(l)] = true
	}
	for _, l := range readmeDemoExcerpt(t) {
		require.True(t, shapes[demoShape(l)], "README's demo line is not one the demo prints now:\n%s\n(run `go run ./cmd/pcautoscaler demo --duration 1h` and paste its lines)", l)
	}
}

// demoShape is a demo line with every number (and date) as # and spaces
// collapsed: the wording, reasons and columns, not the values of one run.
func demoShape(l string) string {
	l = regexp.MustCompile(`\d+`).ReplaceAllString(l, "#")
	return strings.Join(strings.Fields(l), " ")
}

// readmeDemoExcerpt returns the lines of the README's demo code block ("…"
// and blank lines left out).
func readmeDemoExcerpt(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	s := string(raw)
	i := strings.Index(s, "## What the demo shows")
	require.Positive(t, i)
	s = s[i:]
	open := strings.Index(s, "```\n")
	require.Positive(t, open)
	s = s[open+4:]
	end := strings.Index(s, "```")
	require.Positive(t, end)
	var out []string
	for _, l := range strings.Split(s[:end], "\n") {
		if strings.TrimSpace(l) != "" && strings.TrimSpace(l) != "…" {
			out = append(out, l)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// The demo's delay flags set the built-in scenario's delays; a --scenario
// file keeps its own unless a flag is given.
func TestDemoDelays(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		builtIn               bool
		set                   map[string]bool
		publish, jitter, prep time.Duration
	}{
		{name: "built-in: the flags (their defaults)", builtIn: true, publish: 120 * time.Second, jitter: 30 * time.Second, prep: 90 * time.Second},
		{name: "file: its own", publish: 60 * time.Second, jitter: 0, prep: 60 * time.Second},
		{name: "file with --publish-jitter", set: map[string]bool{"publish-jitter": true}, publish: 60 * time.Second, jitter: 30 * time.Second, prep: 60 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := sim.DefaultScenario() // 60 s, 0 s, 60 s
			applyDemoDelays(sc, tc.builtIn, tc.set, backtest.DefaultPublishDelay, backtest.DefaultPublishJitter, backtest.DefaultPrepDelay)
			require.Equal(t, tc.publish, sc.Metrics.PublishDelay.Duration)
			require.Equal(t, tc.jitter, sc.Metrics.PublishJitter.Duration)
			require.Equal(t, tc.prep, sc.Allocation.PrepDelay.Duration)
		})
	}
}

// knownFlappers are the demo's targets that miss the no-flapping goal on
// today's controller, and why (BENCHMARKS.md, "Flapping on the demo"). The
// test reports their count; remove an entry once the controller change it
// names has landed, and the goal applies to it too.
var knownFlappers = map[string]string{}

// The demo's config on the demo's scenario at the default delays, three
// simulated hours on a virtual clock: no target scales in and then out again
// within 15 minutes more than once per simulated hour (issue 13), and AAS
// replayed on the same arrivals acts too.
func TestDemoNoFlapping(t *testing.T) {
	cfg, err := config.Parse(demoConfig)
	require.NoError(t, err)
	start, err := time.Parse(time.RFC3339, demoStart)
	require.NoError(t, err)
	const hours = 3
	run := func(policy string) backtest.ScenarioResult {
		sc := sim.DefaultScenario()
		applyDemoDelays(sc, true, nil, backtest.DefaultPublishDelay, backtest.DefaultPublishJitter, backtest.DefaultPrepDelay)
		res, err := backtest.ReplayScenario(context.Background(), sc, cfg, start, hours*time.Hour, policy, nil)
		require.NoError(t, err)
		return res
	}
	ours := run(backtest.PolicyOurs)
	for _, tg := range cfg.Targets {
		id := controller.TargetID{Function: tg.Function, Qualifier: tg.Qualifier}
		changes := ours.Changes[id]
		require.NotEmpty(t, changes, "%s: ours acts", id)
		require.Len(t, ours.Minutes[id], hours*60)
		flaps := backtest.Flaps(changes, 15*time.Minute)
		if why, known := knownFlappers[id.String()]; known {
			t.Logf("%s: %d flaps in %d hours (known: %s)", id, flaps, hours, why)
			continue
		}
		t.Logf("%s: %d flaps in %d hours", id, flaps, hours) // BENCHMARKS.md "Flapping on the demo"
		require.LessOrEqual(t, flaps, hours, "%s flaps %d times in %d hours: %v", id, flaps, hours, changes)
	}
	aas := run(backtest.PolicyAAS)
	acted := 0
	for _, ch := range aas.Changes {
		acted += len(ch)
	}
	require.Positive(t, acted, "aas acts on the same arrivals")
}

func TestFlaps(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2026, 1, 5, 0, m, 0, 0, time.UTC) }
	changes := []backtest.Change{
		{At: at(0), From: 10, To: 20},  // out
		{At: at(5), From: 20, To: 15},  // in …
		{At: at(12), From: 15, To: 22}, // … out within 15 min: a flap
		{At: at(20), From: 22, To: 18}, // in …
		{At: at(40), From: 18, To: 25}, // … out after 20 min: not one
	}
	require.Equal(t, 1, backtest.Flaps(changes, 15*time.Minute))
}
