package main

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/sim"
)

// TestStartupFailures: problems found before the loop starts end the
// process at once with exit 1 and a line saying what to fix.
func TestStartupFailures(t *testing.T) {
	isolateAWS(t)
	world, err := sim.NewWorld(sim.DefaultScenario(), sim.RealClock{})
	require.NoError(t, err)
	srv := httptest.NewServer(simMux(world, sim.RealClock{}, 1, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	dead := httptest.NewServer(nil)
	deadURL := dead.URL
	dead.Close()

	// A target the simulated account doesn't have: plan shows it as
	// unobserved; run disables it and runs the other (TestStartupTolerates).
	t.Setenv("PCAS_TEST_MISSING", `
aws: {endpoint: "`+srv.URL+`"}
targets:
  - {function: no-such-function, qualifier: live}
  - {function: checkout-api, qualifier: live}
`)
	// Only targets the account doesn't have: nothing to manage.
	t.Setenv("PCAS_TEST_ALL_MISSING", `
aws: {endpoint: "`+srv.URL+`"}
targets:
  - {function: no-such-function, qualifier: live}
  - {function: no-such-either, qualifier: live}
`)
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
		wantStdout []string
	}{
		{name: "run: simulator clock unreachable",
			args:       []string{"run", "--config", "testdata/e2e-config.yaml", "--sim-clock", deadURL, "--listen", "127.0.0.1:0"},
			wantStderr: []string{"cannot read the simulator's clock"}},
		{name: "plan: simulator clock unreachable",
			args:       []string{"plan", "--config", "testdata/e2e-config.yaml", "--sim-clock", deadURL},
			wantStderr: []string{"plan:"}},
		{name: "run: not a simulator clock",
			args:       []string{"run", "--config", "testdata/e2e-config.yaml", "--sim-clock", srv.URL + "/_sim/stats?", "--listen", "127.0.0.1:0"},
			wantStderr: []string{"cannot read the simulator's clock"}},
		{name: "run: every target missing",
			args: []string{"run", "--config-env", "PCAS_TEST_ALL_MISSING", "--listen", "127.0.0.1:0", "--log-format", "text"},
			wantStderr: []string{"target disabled at start-up", "target=no-such-function:live", "target=no-such-either:live",
				"nothing to manage, exiting"}},
		{name: "plan: a target that can't be observed",
			args:       []string{"plan", "--config-env", "PCAS_TEST_MISSING"},
			wantStderr: []string{"1 target could not be observed"},
			wantStdout: []string{"checkout-api:live", "no-such-function:live  -"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			require.Equal(t, exitRuntime, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.wantStderr {
				require.Contains(t, stderr, s)
			}
			for _, s := range tc.wantStdout {
				require.Contains(t, stdout, s)
			}
		})
	}
	// Nothing was written while failing.
	require.Zero(t, world.Stats().APICalls["PutProvisionedConcurrencyConfig"])
}
