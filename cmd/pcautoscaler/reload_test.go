package main

import (
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// TestReloadTelemetrySeries: a reload that adds and drops targets creates
// the new targets' series (target_state included) and deletes the old
// ones'; the registry's target count follows. No AWS call is needed.
func TestReloadTelemetrySeries(t *testing.T) {
	const head = "aws: {endpoint: \"http://127.0.0.1:1\"}\n"
	parse := func(targets string) *config.Config {
		cfg, err := config.Parse([]byte(head + "targets:\n" + targets))
		require.NoError(t, err)
		return cfg
	}
	cfg := parse("  - {function: checkout-api, qualifier: live}\n  - {function: search-api, qualifier: live}\n")
	awsCfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")}
	fl, err := wireFleet(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: slog.New(slog.DiscardHandler),
		clock: controller.SystemClock{}, serverClock: controller.FixedOffset(0)}, nil)
	require.NoError(t, err)

	for _, tc := range []struct {
		name       string
		targets    string
		want, gone []string
	}{
		{"add one", "  - {function: checkout-api, qualifier: live}\n  - {function: search-api, qualifier: live}\n  - {function: report-worker, qualifier: prod}\n",
			[]string{"checkout-api", "search-api", "report-worker"}, nil},
		{"drop two", "  - {function: report-worker, qualifier: prod}\n",
			[]string{"report-worker"}, []string{"checkout-api", "search-api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := fl.reconfigure(parse(tc.targets))
			require.NoError(t, err)
			families, err := fl.registry.Gather()
			require.NoError(t, err)
			series := map[string]map[string]bool{} // metric → functions
			for _, f := range families {
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "function" {
							if series[f.GetName()] == nil {
								series[f.GetName()] = map[string]bool{}
							}
							series[f.GetName()][l.GetValue()] = true
						}
					}
				}
			}
			for _, name := range []string{"pcautoscaler_pc_requested", "pcautoscaler_target_state", "pcautoscaler_scaling_decisions_total"} {
				for _, fn := range tc.want {
					require.True(t, series[name][fn], "%s has no series of %s", name, fn)
				}
				for _, fn := range tc.gone {
					require.False(t, series[name][fn], "%s keeps a series of dropped %s", name, fn)
				}
			}
			require.NoError(t, testutil.GatherAndCompare(fl.registry, strings.NewReader(
				"# HELP pcautoscaler_targets Targets (function aliases or versions) under management.\n"+
					"# TYPE pcautoscaler_targets gauge\npcautoscaler_targets "+strconv.Itoa(len(tc.want))+"\n"), "pcautoscaler_targets"))
		})
	}
}
