package telemetry

import (
	"bytes"
	"fmt"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// runPromtool runs promtool with args in dir, feeding stdin, and fails the
// test with promtool's output when it exits non-zero.
func runPromtool(t *testing.T, dir string, stdin []byte, args ...string) string {
	t.Helper()
	promtool := testenv.Program(t, "promtool")
	cmd := exec.CommandContext(t.Context(), promtool, args...)
	cmd.Dir = dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

func TestPromtoolRules(t *testing.T) {
	dir := filepath.Dir(alertsFile)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "check rules", args: []string{"check", "rules", "alerts.yaml"}, want: fmt.Sprintf("SUCCESS: %d rules found", alertRuleCount(t))},
		{name: "test rules", args: []string{"test", "rules", "alerts_test.yaml"}, want: "SUCCESS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, runPromtool(t, dir, nil, tc.args...), tc.want)
		})
	}
}

// TestPromtoolCheckMetrics lints a live scrape of the sample registry:
// naming, units, help texts, counter suffixes.
func TestPromtoolCheckMetrics(t *testing.T) {
	reg, _ := newSampleRegistry()
	srv := httptest.NewServer(Handler(reg, nil, nil))
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/metrics", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), "pcautoscaler_pc_requested")

	out := runPromtool(t, "", body, "check", "metrics")
	require.Empty(t, strings.TrimSpace(out), "promtool check metrics found problems")
}

// TestPromtoolCheckDashboardQueries makes every dashboard query a recording
// rule so promtool parses it: a PromQL typo in the dashboard fails here.
func TestPromtoolCheckDashboardQueries(t *testing.T) {
	d, _ := readDashboard(t)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range dashboardExprs(d) {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: e})
	}
	file := map[string]any{"groups": []map[string]any{{"name": "dashboard", "rules": rules}}}
	raw, err := yaml.Marshal(file)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboard_rules.yaml"), raw, 0o600))
	out := runPromtool(t, dir, nil, "check", "rules", "dashboard_rules.yaml")
	require.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(rules)))
}
