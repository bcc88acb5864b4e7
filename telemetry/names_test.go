package telemetry

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/shadow"
)

const (
	alertsFile    = "../deploy/prometheus/alerts.yaml"
	dashboardFile = "../deploy/grafana/dashboard.json"
)

var metricNameRE = regexp.MustCompile(`pcautoscaler_[a-z_]+`)

// exportedNames gathers the family names of the sample registry.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	reg, _ := newSampleRegistry()
	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, n := range shadow.Names() { // mode shadow's series (registered by cmd)
		names[n] = true
	}
	return names
}

// unknownNames returns names in text that the registry doesn't export,
// allowing a histogram's _bucket/_sum/_count series.
func unknownNames(text string, exported map[string]bool) []string {
	var unknown []string
	seen := map[string]bool{}
	for _, n := range metricNameRE.FindAllString(text, -1) {
		if seen[n] {
			continue
		}
		seen[n] = true
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && exported[b] {
				base = b
			}
		}
		if !exported[base] {
			unknown = append(unknown, n)
		}
	}
	sort.Strings(unknown)
	return unknown
}

func TestUnknownNamesDetects(t *testing.T) {
	exported := map[string]bool{"pcautoscaler_a_seconds": true, "pcautoscaler_b_total": true}
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "all known", text: `rate(pcautoscaler_b_total[5m]) and pcautoscaler_a_seconds_bucket`},
		{name: "typo", text: `pcautoscaler_b_totl + pcautoscaler_a_seconds`, want: []string{"pcautoscaler_b_totl"}},
		{name: "suffix on a non-histogram", text: `pcautoscaler_c_count`, want: []string{"pcautoscaler_c_count"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, unknownNames(tc.text, exported))
		})
	}
}

// alertRules is the part of a Prometheus rule file the tests read.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// alertRuleCount is how many rules the alerts file holds.
func alertRuleCount(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var rules alertRules
	require.NoError(t, yaml.Unmarshal(raw, &rules))
	n := 0
	for _, g := range rules.Groups {
		n += len(g.Rules)
	}
	return n
}

func TestAlertsUseOnlyExportedNames(t *testing.T) {
	raw, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var rules alertRules
	require.NoError(t, yaml.Unmarshal(raw, &rules))
	require.NotEmpty(t, rules.Groups)
	exported := exportedNames(t)
	var exprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "every rule is an alert")
			require.NotEmpty(t, r.For, r.Alert)
			require.Contains(t, []string{"warning", "critical"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.NotEmpty(t, r.Annotations["description"], r.Alert)
			exprs = append(exprs, r.Expr)
		}
	}
	require.Empty(t, unknownNames(string(raw), exported), "names in %s", alertsFile)
	require.Empty(t, unknownNames(strings.Join(exprs, "\n"), exported))
}

// dashboard is the part of the Grafana JSON the tests read.
type dashboard struct {
	SchemaVersion int    `json:"schemaVersion"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashPanel `json:"panels"`
}

type dashPanel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *dsRef      `json:"datasource"`
	Targets    []dsTarget  `json:"targets"`
	Panels     []dashPanel `json:"panels"` // rows
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dsTarget struct {
	Expr       string `json:"expr"`
	Datasource *dsRef `json:"datasource"`
}

func readDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	return d, raw
}

// dashboardExprs returns every panel query with Grafana variables replaced so
// the result is plain PromQL.
func dashboardExprs(d dashboard) []string {
	r := strings.NewReplacer("$function", ".*", "$qualifier", ".*", "$__rate_interval", "5m", "$__interval", "1m")
	var out []string
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out = append(out, r.Replace(tg.Expr))
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func TestDashboard(t *testing.T) {
	d, raw := readDashboard(t)
	require.GreaterOrEqual(t, d.SchemaVersion, 36)
	require.Equal(t, "pcautoscaler", d.UID)

	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	require.Equal(t, map[string]string{"datasource": "datasource", "function": "query", "qualifier": "query"}, vars)

	ids := map[int]bool{}
	var queries int
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			require.False(t, ids[p.ID], "panel id %d repeats", p.ID)
			ids[p.ID] = true
			if p.Type != "row" {
				require.NotNil(t, p.Datasource, p.Title)
				require.Equal(t, dsRef{Type: "prometheus", UID: "${datasource}"}, *p.Datasource, p.Title)
				require.NotEmpty(t, p.Targets, p.Title)
			}
			for _, tg := range p.Targets {
				require.NotEmpty(t, tg.Expr, p.Title)
				queries++
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	require.Positive(t, queries)

	exported := exportedNames(t)
	require.Empty(t, unknownNames(string(raw), exported), "names in %s", dashboardFile)

	// The panels: demand vs PC, utilization, floors/ceilings,
	// decisions, spillover, AWS API calls and errors, spend, freshness.
	all := strings.Join(dashboardExprs(d), "\n")
	for _, n := range []string{"pcautoscaler_demand_concurrency", "pcautoscaler_pc_requested", "pcautoscaler_pc_allocated",
		"pcautoscaler_pc_desired", "pcautoscaler_utilization_ratio", "pcautoscaler_pc_effective_min",
		"pcautoscaler_pc_effective_max", "pcautoscaler_scaling_decisions_total", "pcautoscaler_spillover_invocations",
		"pcautoscaler_aws_api_calls_total", "pcautoscaler_pc_cost_dollars_per_hour",
		// freshness: stalls, CloudWatch's lag and delay, AWS's clock
		"pcautoscaler_target_stalled", "pcautoscaler_target_state", "pcautoscaler_metrics_watermark_lag_seconds", "pcautoscaler_metrics_publish_delay_seconds",
		"pcautoscaler_metrics_publish_delay_distribution_seconds_bucket", "pcautoscaler_clock_offset_seconds"} {
		require.Contains(t, all, n)
	}
}

func TestDeployFilesExist(t *testing.T) {
	for _, f := range []string{alertsFile, dashboardFile, filepath.Join(filepath.Dir(alertsFile), "alerts_test.yaml")} {
		_, err := os.Stat(f)
		require.NoError(t, err, f)
	}
}

// TestAlertLabelValuesExist catches a rule matching a label value the daemon
// never exports (e.g. an AWS error code where awsapi exports classes).
func TestAlertLabelValuesExist(t *testing.T) {
	raw, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	known := map[string][]string{
		LabelCode:   awsapi.Classes(),
		LabelStatus: configStatuses,
		LabelResult: append([]string{TickOK, TickError}, actionResults...),
		LabelState:  targetStateNames(),
	}
	re := regexp.MustCompile(`\b(code|status|result|state)\s*=\s*"([^"]*)"`)
	matches := re.FindAllStringSubmatch(string(raw), -1)
	require.NotEmpty(t, matches)
	for _, m := range matches {
		require.Contains(t, known[m[1]], m[2], "%s in %s", m[0], alertsFile)
	}
}

func targetStateNames() []string {
	var out []string
	for _, s := range controller.TargetStates() {
		out = append(out, string(s))
	}
	return out
}
