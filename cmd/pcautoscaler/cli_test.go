package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const exampleConfig = "../../config.example.yaml"

// runCLI runs the command line in process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStdout []string
		wantStderr []string
	}{
		{name: "no arguments", args: nil, want: exitUsage, wantStderr: []string{"usage: pcautoscaler <command>", "validate", "demo"}},
		{name: "help", args: []string{"help"}, want: exitOK, wantStderr: []string{"usage: pcautoscaler <command>"}},
		{name: "unknown command", args: []string{"scale"}, want: exitUsage, wantStderr: []string{`unknown command "scale"`, "usage:"}},
		{name: "bad flag", args: []string{"validate", "--confgi", exampleConfig}, want: exitUsage, wantStderr: []string{"flag provided but not defined: -confgi"}},
		{name: "stray argument", args: []string{"validate", "--config", exampleConfig, "extra"}, want: exitUsage, wantStderr: []string{"unexpected arguments: extra"}},
		{name: "config file as an argument", args: []string{"validate", exampleConfig}, want: exitUsage,
			wantStderr: []string{"unexpected arguments: " + exampleConfig, "did you mean: pcautoscaler validate --config " + exampleConfig}},
		{name: "command help", args: []string{"run", "-h"}, want: exitOK, wantStderr: []string{"-config file", "-sim-clock URL", "-listen address", "-log-level level"}},
		{name: "plan help", args: []string{"plan", "-h"}, want: exitOK, wantStderr: []string{"-config file", "-config-env variable", "-sim-clock URL"}},
		{name: "run bad --log-level", args: []string{"run", "--config", exampleConfig, "--log-level", "verbose"}, want: exitUsage,
			wantStderr: []string{`--log-level "verbose": want one of debug, info, warn, error`}},
		{name: "validate example", args: []string{"validate", "--config", exampleConfig}, want: exitOK, wantStdout: []string{exampleConfig + ": OK (3 targets, discovery by tags)"}},
		{name: "validate accounts example", args: []string{"validate", "--config", "../../config.accounts.example.yaml"}, want: exitOK,
			wantStdout: []string{": OK (2 targets, discovery by tags in 1 account, 1 more account)"}},
		{name: "schedule shows accounts and discover windows", args: []string{"schedule", "--config", exampleConfig, "--days", "1", "--from", "2026-11-23"},
			want: exitOK, wantStdout: []string{"report-worker:prod  Mon 2026-11-23 01:15 EST", "discover.schedules business-hours  Mon 2026-11-23 08:00 CET"}},
		{name: "schedule names an account's targets", args: []string{"schedule", "--config", "../../config.accounts.example.yaml", "--days", "1"},
			want: exitOK, wantStdout: []string{"prod-eu/checkout-api:live  no scheduled windows"}},
		{name: "validate without --config", args: []string{"validate"}, want: exitUsage, wantStderr: []string{"--config is required"}},
		{name: "validate missing file", args: []string{"validate", "--config", "testdata/no-such.yaml"}, want: exitUsage, wantStderr: []string{"testdata/no-such.yaml", "no such file"}},
		{name: "schedule bad --days", args: []string{"schedule", "--config", exampleConfig, "--days", "0"}, want: exitUsage, wantStderr: []string{"--days 0 is out of range"}},
		{name: "schedule bad --from", args: []string{"schedule", "--config", exampleConfig, "--from", "tomorrow"}, want: exitUsage,
			wantStderr: []string{`--from "tomorrow": want an RFC 3339 time such as 2026-11-23T08:00:00Z`, "or a date such as 2026-11-23"}},
		{name: "sim bad speed", args: []string{"sim", "--speed", "0"}, want: exitUsage, wantStderr: []string{"--speed 0: must be a number above 0"}},
		{name: "sim NaN speed", args: []string{"sim", "--speed", "NaN"}, want: exitUsage, wantStderr: []string{"--speed NaN: must be a number above 0"}},
		{name: "sim bad start", args: []string{"sim", "--start", "tomorrow"}, want: exitUsage, wantStderr: []string{`--start "tomorrow": want an RFC 3339 time`}},
		{name: "sim missing scenario", args: []string{"sim", "--scenario", "testdata/no-such.yaml"}, want: exitUsage, wantStderr: []string{"no-such.yaml"}},
		{name: "demo bad speed", args: []string{"demo", "--speed", "-1"}, want: exitUsage, wantStderr: []string{"must be positive"}},
		{name: "demo bad start", args: []string{"demo", "--start", "tomorrow"}, want: exitUsage, wantStderr: []string{"--start"}},
		{name: "run with a broken config", args: []string{"run", "--config", "testdata/bad-config.yaml"}, want: exitUsage, wantStderr: []string{"7 problems; nothing started"}},
		{name: "plan without --config", args: []string{"plan"}, want: exitUsage, wantStderr: []string{"--config is required"}},
		{name: "run bad --listen", args: []string{"run", "--config", exampleConfig, "--listen", "bad"}, want: exitUsage,
			wantStderr: []string{`run: --listen: listen: "bad" is not host:port`}},
		{name: "validate help", args: []string{"validate", "-h"}, want: exitOK, wantStderr: []string{"-config file", "-config-env variable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			require.Equal(t, tc.want, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.wantStdout {
				require.Contains(t, stdout, s)
			}
			for _, s := range tc.wantStderr {
				require.Contains(t, stderr, s)
			}
		})
	}
	// The placeholders are words, not the back-quoted text of a sentence.
	for _, cmd := range []string{"run", "plan", "validate", "schedule", "sim", "healthcheck"} {
		_, _, stderr := runCLI(t, cmd, "-h")
		require.NotContains(t, stderr, "pcautoscaler sim\n", cmd)
		require.NotRegexp(t, `(?m)^\s+-\S+ string$`, stderr, "%s: a flag without a placeholder name", cmd)
	}
	// The wrong error is not reported for a good value.
	_, _, stderr := runCLI(t, "sim", "--speed", "0", "--start", "2026-11-24T06:00:00Z")
	require.NotContains(t, stderr, "--start")
}

func TestPlural(t *testing.T) {
	require.Equal(t, "1 target", plural(1, "target", "targets"))
	require.Equal(t, "0 targets", plural(0, "target", "targets"))
	require.Equal(t, "2 problems", plural(2, "problem", "problems"))
	t.Setenv("PCAS_TEST_ONE", "targets:\n  - {function: checkout-api, qualifier: live, min: 9, max: 3}\n")
	code, _, stderr := runCLI(t, "run", "--config-env", "PCAS_TEST_ONE")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "$PCAS_TEST_ONE: 1 problem; nothing started")
	// validate reads the same form (a config injected from SSM).
	code, _, stderr = runCLI(t, "validate", "--config-env", "PCAS_TEST_ONE")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "$PCAS_TEST_ONE: 1 problem; nothing started")
	t.Setenv("PCAS_TEST_TWO", "targets:\n  - {function: checkout-api, qualifier: live}\n")
	code, stdout, _ := runCLI(t, "validate", "--config-env", "PCAS_TEST_TWO")
	require.Equal(t, exitOK, code)
	require.Equal(t, "$PCAS_TEST_TWO: OK (1 target)\n", stdout)
}

func TestScheduleFromDate(t *testing.T) {
	code, byDate, stderr := runCLI(t, "schedule", "--config", exampleConfig, "--days", "2", "--from", "2026-11-23")
	require.Equal(t, exitOK, code, stderr)
	code, byTime, stderr := runCLI(t, "schedule", "--config", exampleConfig, "--days", "2", "--from", "2026-11-23T00:00:00Z")
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, byTime, byDate, "a date is its midnight UTC")
}

func TestValidateListsEveryProblem(t *testing.T) {
	code, stdout, stderr := runCLI(t, "validate", "--config", "testdata/bad-config.yaml")
	require.Equal(t, exitUsage, code)
	require.Empty(t, stdout)
	// One line per problem, each naming the file, its YAML path and line.
	want := []string{
		"interval:",
		"aws.lambda_rps:",
		"defaults.target_utilization:",
		"targets[0].min:",
		"targets[1].qualifier:",
		"targets[1].schedules[0].cron:",
		"targets[1].schedules[0].timezone:",
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	require.Len(t, lines, len(want)+1, stderr)
	for i, path := range want {
		require.True(t, strings.HasPrefix(lines[i], "testdata/bad-config.yaml: "+path), "line %d: %q, want YAML path %s", i, lines[i], path)
		require.Regexp(t, `\(line \d+\)$`, lines[i])
	}
	require.Equal(t, "testdata/bad-config.yaml: 7 problems; nothing started", lines[len(want)])
}

func TestSchedulePreview(t *testing.T) {
	code, stdout, stderr := runCLI(t, "schedule", "--config", exampleConfig, "--days", "7", "--from", "2026-11-23T00:00:00Z")
	require.Equal(t, exitOK, code, stderr)

	var checkout []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "checkout-api:live ") {
			checkout = append(checkout, l)
		}
	}
	// 2026-11-23 is a Monday; Berlin is on CET (UTC+1) all that week. The
	// floor opens with its 5-minute lead at 07:55 every weekday.
	for _, day := range []string{"Mon 2026-11-23", "Tue 2026-11-24", "Wed 2026-11-25", "Thu 2026-11-26", "Fri 2026-11-27"} {
		re := regexp.MustCompile(`^checkout-api:live\s+` + day + ` 07:55 CET\s+\(06:55 UTC\)\s+floor 50\s+ceiling none\s+business-hours$`)
		n := 0
		for _, l := range checkout {
			if re.MatchString(l) {
				n++
			}
		}
		require.Equal(t, 1, n, "want one business-hours opening on %s in:\n%s", day, strings.Join(checkout, "\n"))
	}
	for _, l := range checkout {
		require.NotContains(t, l, "Sat ", "no weekend entries for checkout-api")
		require.NotContains(t, l, "Sun ", "no weekend entries for checkout-api")
	}
	require.Contains(t, stdout, "search-api:live  no scheduled windows")
	require.Contains(t, stdout, "report-worker:prod")
}

func TestConfigEnv(t *testing.T) {
	good := `
targets:
  - {function: checkout-api, qualifier: live}
`
	bad := `
targets:
  - {function: checkout-api, qualifier: $LATEST, min: 9, max: 3}
`
	t.Setenv("PCAS_TEST_GOOD", good)
	t.Setenv("PCAS_TEST_BAD", bad)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr []string
	}{
		{name: "both --config and --config-env", args: []string{"run", "--config", exampleConfig, "--config-env", "PCAS_TEST_GOOD"}, want: exitUsage,
			wantStderr: []string{"use either --config or --config-env, not both"}},
		{name: "plan: both", args: []string{"plan", "--config", exampleConfig, "--config-env", "PCAS_TEST_GOOD"}, want: exitUsage,
			wantStderr: []string{"use either --config or --config-env, not both"}},
		{name: "variable not set", args: []string{"run", "--config-env", "PCAS_TEST_UNSET_VARIABLE"}, want: exitUsage,
			wantStderr: []string{"environment variable PCAS_TEST_UNSET_VARIABLE is not set"}},
		{name: "problems name the variable and YAML paths", args: []string{"run", "--config-env", "PCAS_TEST_BAD"}, want: exitUsage,
			wantStderr: []string{"$PCAS_TEST_BAD: targets[0].qualifier:", "$PCAS_TEST_BAD: targets[0].min:", "$PCAS_TEST_BAD: 2 problems; nothing started"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			require.Equal(t, tc.want, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.wantStderr {
				require.Contains(t, stderr, s)
			}
		})
	}
	// The good variable loads (plan against a simulator: TestPlanAgainstSimulator).
	cfg, ok := loadConfigFrom("", "PCAS_TEST_GOOD", &bytes.Buffer{})
	require.True(t, ok)
	require.Len(t, cfg.Targets, 1)
	require.Equal(t, "checkout-api", cfg.Targets[0].Function)
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := runCLI(t, "version")
	require.Equal(t, exitOK, code, stderr)
	require.Regexp(t, `^pcautoscaler dev \(revision \S+, go\S+\)\n$`, stdout)
}

// TestVersionStampedRevision: a binary without Go's VCS stamp (test
// binaries have none, nor GOFLAGS=-buildvcs=false builds) reports the
// revision scripts/build.sh stamps into main.revision.
func TestVersionStampedRevision(t *testing.T) {
	saved := revision
	t.Cleanup(func() { revision = saved })
	revision = "abc1234"
	code, stdout, stderr := runCLI(t, "version")
	require.Equal(t, exitOK, code, stderr)
	require.Regexp(t, `^pcautoscaler dev \(revision abc1234, go\S+\)\n$`, stdout)
}

func TestHealthcheck(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		want       int
		wantStdout string
		wantStderr string
	}{
		{name: "healthy", status: http.StatusOK, want: exitOK, wantStdout: "ok\n"},
		{name: "unavailable", status: http.StatusServiceUnavailable, want: exitRuntime, wantStderr: "answered 503 Service Unavailable"},
		{name: "not found", status: http.StatusNotFound, want: exitRuntime, wantStderr: "answered 404 Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				paths <- r.URL.Path
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			code, stdout, stderr := runCLI(t, "healthcheck", "--url", srv.URL+"/healthz")
			require.Equal(t, tc.want, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Equal(t, "/healthz", <-paths)
			require.Equal(t, tc.wantStdout, stdout)
			require.Contains(t, stderr, tc.wantStderr)
		})
	}

	t.Run("nothing listening", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/healthz"
		srv.Close()
		code, _, stderr := runCLI(t, "healthcheck", "--url", url, "--timeout", "2s")
		require.Equal(t, exitRuntime, code)
		require.Contains(t, stderr, "healthcheck:")
	})
	t.Run("malformed URL", func(t *testing.T) {
		code, _, stderr := runCLI(t, "healthcheck", "--url", "http://[::1")
		require.Equal(t, exitUsage, code)
		require.Contains(t, stderr, "healthcheck:")
	})
}

// TestREADMECommandFlags: every flag the README gives a pcautoscaler command
// (the commands table, the walk-throughs) is one that command has.
func TestREADMECommandFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	cmds := commands()
	use := regexp.MustCompile(`pcautoscaler ([a-z]+)\b([^|` + "`" + `\n]*)`)
	flagRE := regexp.MustCompile(`(?:^|[\s\[])--([a-z][a-z0-9-]*)`)
	help := map[string]string{}
	checked := 0
	for _, m := range use.FindAllStringSubmatch(string(readme), -1) {
		name := m[1]
		if _, ok := cmds[name]; !ok {
			continue
		}
		if _, ok := help[name]; !ok {
			code, _, stderr := runCLI(t, name, "-h")
			require.Equal(t, exitOK, code, "%s -h", name)
			help[name] = stderr
		}
		for _, f := range flagRE.FindAllStringSubmatch(m[2], -1) {
			require.Regexp(t, `(?m)^\s+-`+regexp.QuoteMeta(f[1])+`\b`, help[name], "README: pcautoscaler %s --%s", name, f[1])
			checked++
		}
	}
	require.Greater(t, checked, 15, "the README's command lines were found")
}

// TestShadowReportNotInShadowMode: a daemon without /shadow answers 404;
// shadow-report says what that likely means, with no stray error value.
func TestShadowReportNotInShadowMode(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	code, _, stderr := runCLI(t, "shadow-report", "--url", srv.URL+"/shadow")
	require.Equal(t, exitRuntime, code)
	require.Contains(t, stderr, "answered 404 Not Found (is the daemon running with mode: shadow?)")
	require.NotContains(t, stderr, "<nil>")
}
