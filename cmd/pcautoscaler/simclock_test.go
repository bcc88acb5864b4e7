package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// newSimServer serves the default scenario on clk (reported at speed) on
// 127.0.0.1.
func newSimServer(t *testing.T, clk controller.Clock, speed float64) (*httptest.Server, *sim.World) {
	t.Helper()
	world, err := sim.NewWorld(sim.DefaultScenario(), clk)
	require.NoError(t, err)
	srv := httptest.NewServer(simMux(world, clk, speed, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv, world
}

// logRecord is one JSON log line of the daemon.
type logRecord struct {
	Level   string         `json:"level"`
	Msg     string         `json:"msg"`
	SimTime string         `json:"sim_time"`
	Fields  map[string]any `json:"-"`
}

func parseLog(t *testing.T, stderr string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var r logRecord
		require.NoError(t, json.Unmarshal([]byte(l), &r), "every log line is JSON: %q", l)
		require.NoError(t, json.Unmarshal([]byte(l), &r.Fields))
		out = append(out, r)
	}
	return out
}

func find(recs []logRecord, msg string) (logRecord, bool) {
	for _, r := range recs {
		if r.Msg == msg {
			return r, true
		}
	}
	return logRecord{}, false
}

// warnsNaming returns the Warn lines that mention s.
func warnsNaming(recs []logRecord, s string) []string {
	var out []string
	for _, r := range recs {
		if r.Level == "WARN" && strings.Contains(r.Msg, s) {
			out = append(out, r.Msg)
		}
	}
	return out
}

// missingTargetConfig has only targets the simulated account lacks, so
// `run` stops at its start-up check (nothing to manage), after the
// "starting" line and the clock check: the test needs no signal and no
// timing.
const missingTargetConfig = `
targets:
  - {function: no-such-function, qualifier: live}
  - {function: no-such-either, qualifier: live}
`

// TestRunComparesClocks: at start-up `run` compares its clock with the
// endpoint's and says in one Warn line, naming the fix, when they differ.
func TestRunComparesClocks(t *testing.T) {
	now := time.Now().UTC()
	datedServer := func(t *testing.T, skew time.Duration) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
			http.NotFound(w, nil)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name     string
		endpoint func(t *testing.T) string
		simClock bool   // run with --sim-clock <endpoint>
		want     string // in the one Warn naming --sim-clock; "" = no such Warn
	}{
		{name: "accelerated simulator, daemon on wall time",
			endpoint: func(t *testing.T) string { srv, _ := newSimServer(t, sim.NewScaledClock(now, 60), 60); return srv.URL },
			want:     "is a pcautoscaler sim running at 60x while this daemon runs on wall time"},
		{name: "accelerated simulator, daemon on its clock",
			endpoint: func(t *testing.T) string { srv, _ := newSimServer(t, sim.NewScaledClock(now, 60), 60); return srv.URL },
			simClock: true},
		{name: "real-time simulator",
			endpoint: func(t *testing.T) string { srv, _ := newSimServer(t, sim.RealClock{}, 1); return srv.URL }},
		{name: "real-time simulator started elsewhere in time",
			endpoint: func(t *testing.T) string {
				srv, _ := newSimServer(t, sim.NewScaledClock(now.Add(-2*time.Hour), 1), 1)
				return srv.URL
			},
			want: "whose clock is -2h0m"},
		{name: "real-time simulator started elsewhere in time, daemon on its clock",
			endpoint: func(t *testing.T) string {
				srv, _ := newSimServer(t, sim.NewScaledClock(now.Add(-2*time.Hour), 1), 1)
				return srv.URL
			},
			simClock: true},
		{name: "an emulator whose Date is 2 hours ahead",
			endpoint: func(t *testing.T) string { return datedServer(t, 2*time.Hour) },
			want:     "dates its answers 2h0m"},
		{name: "an emulator whose Date agrees",
			endpoint: func(t *testing.T) string { return datedServer(t, 0) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			url := tc.endpoint(t)
			t.Setenv("AWS_ENDPOINT_URL", url)
			t.Setenv("PCAS_TEST_MISSING", missingTargetConfig)
			args := []string{"run", "--config-env", "PCAS_TEST_MISSING", "--listen", "127.0.0.1:0", "--log-format", "json"}
			if tc.simClock {
				args = append(args, "--sim-clock", url)
			}
			code, stdout, stderr := runCLI(t, args...)
			require.Equal(t, exitRuntime, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			recs := parseLog(t, stderr)
			_, ok := find(recs, "starting")
			require.True(t, ok, stderr)
			warns := warnsNaming(recs, "--sim-clock")
			if tc.want == "" {
				require.Empty(t, warns, stderr)
				return
			}
			require.Len(t, warns, 1, stderr)
			require.Contains(t, warns[0], tc.want)
			require.Contains(t, warns[0], "--sim-clock "+url, "the Warn names the fix")
		})
	}
}

// TestRunStartingLine: the "starting" line shows the settings in force
// (flags over the file) and the endpoint the clients use; with --sim-clock
// every line carries sim_time.
func TestRunStartingLine(t *testing.T) {
	isolateAWS(t)
	start := time.Date(2026, 11, 24, 6, 55, 0, 0, time.UTC)
	srv, _ := newSimServer(t, sim.NewScaledClock(start, 60), 60)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("PCAS_TEST_MISSING", "log: {level: warn, format: text}\n"+missingTargetConfig)
	code, stdout, stderr := runCLI(t, "run", "--config-env", "PCAS_TEST_MISSING", "--listen", "127.0.0.1:0",
		"--log-level", "info", "--log-format", "json", "--sim-clock", srv.URL)
	require.Equal(t, exitRuntime, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	recs := parseLog(t, stderr) // JSON: the flag won over the file's text
	starting, ok := find(recs, "starting")
	require.True(t, ok, "info is logged: the flag won over the file's warn\n%s", stderr)
	require.Equal(t, srv.URL, starting.Fields["endpoint"], "AWS_ENDPOINT_URL is the endpoint in use")
	cfg, ok := starting.Fields["config"].(map[string]any)
	require.True(t, ok, stderr)
	require.Equal(t, "info", cfg["log_level"])
	require.Equal(t, "json", cfg["log_format"])
	require.Equal(t, srv.URL, cfg["endpoint"])
	for _, r := range recs {
		st, err := time.Parse(time.RFC3339Nano, r.SimTime)
		require.NoError(t, err, "sim_time on %q", r.Msg)
		require.False(t, st.Before(start), "sim_time %s is the simulator's time, from %s", st, start)
		require.True(t, st.Before(start.Add(24*time.Hour)), "sim_time %s", st)
	}
	_, ok = find(recs, "start-up: nothing to manage, exiting (a daemon with no target would only hide the mistake)")
	require.True(t, ok, stderr)
}

func TestRunEndpointsLogged(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "http://user:secret@127.0.0.1:1")
	got := endpointsOf(awsConfigWithBase("http://127.0.0.1:2"))
	require.Equal(t, []any{"endpoint", "http://127.0.0.1:2", "lambda_endpoint", "http://user:xxxxx@127.0.0.1:1"}, got.logAttrs())
	require.Equal(t, []string{"http://user:secret@127.0.0.1:1", "http://127.0.0.1:2"}, got.custom())

	t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "")
	got = endpointsOf(awsConfigWithBase(""))
	require.Equal(t, []any{"endpoint", "aws"}, got.logAttrs())
	require.Empty(t, got.custom(), "AWS's own endpoints are not probed")
}

func TestClockMismatch(t *testing.T) {
	const u, other = "http://127.0.0.1:4566", "http://127.0.0.1:4567"
	sim60 := endpointClock{url: u, isSim: true, speed: 60, known: true, offset: 2 * time.Second, rtt: time.Millisecond}
	require.Contains(t, clockMismatch(sim60, ""), "restart with --sim-clock "+u)
	require.Empty(t, clockMismatch(sim60, u))
	far := sim60
	far.offset = 10 * time.Minute
	require.Contains(t, clockMismatch(far, other), "--sim-clock "+other+" and the endpoint "+u+" disagree by 10m0s")
	// At 600x a 20 ms round trip is 12 simulated seconds of uncertainty.
	slow := endpointClock{url: u, isSim: true, speed: 600, known: true, offset: 15 * time.Second, rtt: 20 * time.Millisecond}
	require.Empty(t, clockMismatch(slow, u))

	aws := endpointClock{url: u, known: true, offset: 30 * time.Second}
	require.Empty(t, clockMismatch(aws, ""), "within 60 s the loop corrects by the measured offset")
	aws.offset = -90 * time.Second
	require.Contains(t, clockMismatch(aws, ""), "-1m30s off our clock, beyond 1m0s")
	require.Contains(t, clockMismatch(aws, other), "--sim-clock is only for the endpoint's own simulator")
	require.Empty(t, clockMismatch(endpointClock{url: u}, ""), "no Date, nothing to say")
}

// TestSimClockFromStartedElsewhere: a real-time simulator started at another
// time (--start) is followed, not replaced by the wall clock.
func TestSimClockFromStartedElsewhere(t *testing.T) {
	start := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	srv, _ := newSimServer(t, sim.NewScaledClock(start, 1), 1)
	clk, err := simClockFrom(context.Background(), srv.URL)
	require.NoError(t, err)
	require.WithinDuration(t, start, clk.Now(), time.Hour, "the daemon follows the simulator's 06:00, not wall time")

	srv, _ = newSimServer(t, sim.RealClock{}, 1)
	clk, err = simClockFrom(context.Background(), srv.URL)
	require.NoError(t, err)
	require.Equal(t, controller.SystemClock{}, clk)
}

func awsConfigWithBase(base string) aws.Config {
	if base == "" {
		return aws.Config{}
	}
	return aws.Config{BaseEndpoint: aws.String(base)}
}
