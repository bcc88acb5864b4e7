package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// planRow is one parsed line of plan's table.
type planRow struct {
	status, current, desired, action, reason, bounds string
}

func parsePlan(t *testing.T, out string) map[string]planRow {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	require.Regexp(t, `^TARGET\s+STATUS\s+CURRENT\s+DESIRED\s+ACTION\s+REASON\s+BOUNDS\s+DETAIL$`, lines[0])
	rows := map[string]planRow{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 7, "short plan row %q", l)
		rows[f[0]] = planRow{status: f[1], current: f[2], desired: f[3], action: f[4], reason: f[5], bounds: f[6]}
	}
	return rows
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// stepClock is virtual time that moves only when someone waits on it, by
// as long as they wait: the token bucket's waits pass at once, and no real
// time passes between the test's checks of the simulated moment.
type stepClock struct{ *sim.VirtualClock }

func (c stepClock) After(d time.Duration) <-chan time.Time {
	ch := c.VirtualClock.After(d)
	c.Advance(d)
	return ch
}

// TestPlanAgainstSimulator runs `plan` in process against the simulator
// over HTTP through the real SDK clients, at a moment when two floor
// windows of the demo config are open, and checks it decides and writes
// nothing.
//
// plan follows the simulator's clock through --sim-clock, as it would
// against `pcautoscaler sim --speed`, except that here both share one
// stepClock: the moment is fixed, not a window of real time.
func TestPlanAgainstSimulator(t *testing.T) {
	isolateAWS(t)
	// Tuesday 2026-11-24 06:55Z. Until 08:00Z two floors of the demo config
	// are open: checkout-api's business-hours (08:00 Berlin, lead 5m: 150)
	// and report-worker's nightly-batch (02:00 New York, lead 10m: 120).
	start := time.Date(2026, 11, 24, 6, 55, 0, 0, time.UTC)
	windowsClose := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	clk := stepClock{sim.NewVirtualClock(start)}
	world, err := sim.NewWorld(sim.DefaultScenario(), clk)
	require.NoError(t, err)
	srv := httptest.NewServer(simMux(world, clk, 1, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	saved := followSimClock
	t.Cleanup(func() { followSimClock = saved })
	followSimClock = func(ctx context.Context, url string) (controller.Clock, error) {
		if _, err := saved(ctx, url); err != nil { // still the simulator's clock endpoint
			return nil, err
		}
		return clk, nil
	}

	cfgYAML := string(demoConfig) + "\naws:\n  endpoint: " + srv.URL + "\n"
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfgYAML), 0o600))
	t.Setenv("PCAS_TEST_PLAN_CONFIG", cfgYAML)

	before := map[string]sim.PCView{}
	for _, id := range [][2]string{{"checkout-api", "live"}, {"search-api", "live"}} {
		v, err := world.GetProvisionedConcurrency(id[0], id[1])
		require.NoError(t, err)
		before[id[0]] = v
	}
	_, err = world.GetProvisionedConcurrency("report-worker", "prod")
	require.Error(t, err, "report-worker:prod starts without provisioned concurrency")

	tests := []struct {
		name string
		args []string
	}{
		{name: "config file", args: []string{"plan", "--config", path, "--sim-clock", srv.URL}},
		{name: "config from the environment", args: []string{"plan", "--config-env", "PCAS_TEST_PLAN_CONFIG", "--sim-clock", srv.URL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			rows := parsePlan(t, stdout)
			require.Len(t, rows, 3, stdout)

			// Demand may ask for more than a floor (never less): the
			// bounds column shows the floor, desired is at least it.
			co := rows["checkout-api:live"]
			require.Equal(t, "READY", co.status, stdout)
			require.Equal(t, "20", co.current, stdout)
			require.Equal(t, "150..400", co.bounds, stdout)
			require.Equal(t, "put", co.action, stdout)
			require.GreaterOrEqual(t, atoi(t, co.desired), 150, stdout)
			rw := rows["report-worker:prod"]
			require.Equal(t, "none", rw.status, stdout)
			require.Equal(t, "0", rw.current, stdout)
			require.Equal(t, "120..140", rw.bounds, stdout)
			require.Equal(t, "put", rw.action, stdout)
			require.GreaterOrEqual(t, atoi(t, rw.desired), 120, stdout)
			require.LessOrEqual(t, atoi(t, rw.desired), 140, stdout)
			sa, ok := rows["search-api:live"]
			require.True(t, ok, stdout)
			require.Equal(t, "READY", sa.status)
			require.Equal(t, "25", sa.current)
			require.NotEmpty(t, sa.reason)
			require.Contains(t, []string{"put", "none"}, sa.action)

			// plan wrote nothing: the world is as it was, and no write
			// reached the simulator.
			for fn, v := range before {
				now, err := world.GetProvisionedConcurrency(fn, "live")
				require.NoError(t, err)
				require.Equal(t, v.Requested, now.Requested, fn)
				require.Equal(t, v.LastModified, now.LastModified, fn)
			}
			_, err := world.GetProvisionedConcurrency("report-worker", "prod")
			require.Error(t, err)
			t.Logf("simulated time moved by %s (the token bucket's waits)", clk.Now().Sub(start))
			require.True(t, clk.Now().Before(windowsClose), "the windows were open throughout: %s", clk.Now())
			calls := world.Stats().APICalls
			require.Zero(t, calls["PutProvisionedConcurrencyConfig"], "plan must not Put")
			require.Zero(t, calls["DeleteProvisionedConcurrencyConfig"], "plan must not Delete")
			require.NotZero(t, calls["GetProvisionedConcurrencyConfig"]["OK"], "plan read through the simulator")
			require.NotZero(t, calls["GetMetricData"]["OK"], "plan read metrics through the simulator")
		})
	}
}
