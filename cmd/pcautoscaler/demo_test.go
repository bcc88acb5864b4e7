package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
		row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(id) + `\s+\d+\.\d\s+\d+\.\d\d\s+\d+%\s+\d+\.\d\s+\d+%\s*$`)
		require.Regexp(t, row, summary, "summary row for %s", id)
	}
	require.Regexp(t, `(?m)^Tue 06:00Z to 06:\d\dZ simulated\. Oracle:`, summary)
}
