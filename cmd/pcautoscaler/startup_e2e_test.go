package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
)

const startupConfig = `interval: 60s
log: {level: info, format: json}
aws: {startup_timeout: 5m}   # simulated time under --sim-clock, as the faults' windows
defaults: {scale_in_datapoints: 3, scale_in_cooldown: 2m, max_scale_in_step: 0, idle_after: 10m}
targets:
  - {function: no-such-function, qualifier: live, min: 1, max: 100}
  - {function: burst-api, qualifier: no-such-alias, min: 1, max: 100}
  - {function: burst-api, qualifier: live, min: 1, max: 100}
  - {function: report-worker, qualifier: prod, min: 2, max: 50}
`

// TestStartupEndToEnd (issue 12): the built daemon starts into a 429 storm
// on GetAccountSettings and 5xx on GetMetricData (the simulator's fault
// injection, through the real SDK) with a missing function and a missing
// alias among four targets. It retries at Warn naming the class, /readyz
// says 503 meanwhile, the two missing targets are disabled at Error, and
// the other two are managed.
func TestStartupEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary; skipped with -short")
	}
	deadline := time.Now().Add(3 * time.Minute)
	bin := buildBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(startupConfig), 0o600))

	d, _, _, listen := startSimAndDaemon(t, bin, "testdata/startup-scenario.yaml", cfgPath, deadline)
	d.waitFor(t, "a start-up retry", deadline, func() (string, bool) { return logField(d, startupRetryMsg, "") })
	readyz := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/readyz", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The storm lasts 3 simulated minutes and the first retry is logged
	// within its first: still retrying now.
	require.Equal(t, http.StatusServiceUnavailable, readyz(), "not ready while start-up retries")

	decided := func(function string) bool {
		_, body := httpGetOK(listen)
		return counter(body, "pcautoscaler_scaling_decisions_total", `function="`+function+`"`) > 0
	}
	d.waitFor(t, "burst-api and report-worker decided", deadline, func() (string, bool) {
		return "", decided("burst-api") && decided("report-worker")
	})
	eventually(t, "/readyz ready", deadline, func() bool { return readyz() == http.StatusOK })
	require.False(t, d.exited())

	classes := map[string]int{}
	var disabled []string
	for _, l := range d.stderr.Lines() {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		switch rec["msg"] {
		case startupRetryMsg:
			require.Equal(t, "WARN", rec["level"])
			classes[rec["error_class"].(string)]++
		case disabledMsg:
			require.Equal(t, "ERROR", rec["level"])
			disabled = append(disabled, rec["target"].(string))
		}
	}
	require.Positive(t, classes["throttled"], "429s retried: %v", classes)
	require.Positive(t, classes["server"], "5xx retried: %v", classes)
	require.ElementsMatch(t, []string{"no-such-function:live", "burst-api:no-such-alias"}, disabled)
	_, body := httpGetOK(listen)
	require.NotContains(t, body, `qualifier="no-such-alias"`, "a disabled target's series are gone")
	require.Contains(t, body, "\npcautoscaler_targets_disabled 2\n")
	require.Contains(t, body, "\npcautoscaler_targets 2\n")
	t.Logf("start-up retries by class: %v", classes)
}

const recheckConfig = `interval: 60s
log: {level: info, format: json}
defaults: {scale_in_datapoints: 3, scale_in_cooldown: 2m, max_scale_in_step: 0, idle_after: 10m}
targets:   # start-up's Preflight looks at the first target: the missing one
  - {function: report-worker, qualifier: prod, min: 2, max: 50}
  - {function: burst-api, qualifier: live, min: 1, max: 100}
`

// TestDisabledTargetRecheckEndToEnd: report-worker's alias prod does not
// exist at start-up, so that target is disabled; the test then creates the
// alias in the simulator (CreateAlias, as a deploy pipeline would) and the
// daemon's re-check, every disabledRecheck of simulated time, finds it:
// one Info line, the disabled gauge back to 0, and its PC written to its
// min — without a reload or a restart.
func TestDisabledTargetRecheckEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary; skipped with -short")
	}
	deadline := time.Now().Add(e2eDeadline)
	bin := buildBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(recheckConfig), 0o600))

	// 60x: the 5-minute re-check is 5 real seconds.
	d, _, simURL, listen := startSimAndDaemon(t, bin, "testdata/recheck-scenario.yaml", cfgPath, deadline)
	d.waitFor(t, "report-worker:prod disabled", deadline, func() (string, bool) { return logField(d, disabledMsg, "") })
	d.waitFor(t, "burst-api decided", deadline, func() (string, bool) {
		_, body := httpGetOK(listen)
		return "", counter(body, "pcautoscaler_scaling_decisions_total", `function="burst-api"`) > 0
	})
	_, body := httpGetOK(listen)
	require.Contains(t, body, "\npcautoscaler_targets_disabled 1\n")

	ctx := context.Background()
	lam := lambda.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(simURL),
	})
	_, err := lam.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("report-worker"),
		Name: aws.String("prod"), FunctionVersion: aws.String("1")})
	require.NoError(t, err)

	requested := func() int {
		out, err := lam.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("report-worker"), Qualifier: aws.String("prod")})
		if err != nil {
			return 0
		}
		return int(aws.ToInt32(out.RequestedProvisionedConcurrentExecutions))
	}
	d.waitFor(t, "report-worker:prod written to its min", deadline, func() (string, bool) {
		return "", requested() == 2
	})
	eventually(t, "the disabled gauge at 0", deadline, func() bool {
		_, body := httpGetOK(listen)
		return strings.Contains(body, "\npcautoscaler_targets_disabled 0\n")
	})
	require.False(t, d.exited())

	var enabled []map[string]any
	for _, l := range d.stderr.Lines() {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == enabledMsg {
			enabled = append(enabled, rec)
		}
	}
	require.Len(t, enabled, 1, "one Info line for the target found again")
	require.Equal(t, "INFO", enabled[0]["level"])
	require.Equal(t, "report-worker:prod", enabled[0]["target"])
	require.Equal(t, "report-worker", enabled[0]["function"])
	require.Equal(t, "prod", enabled[0]["qualifier"])
	require.Equal(t, false, enabled[0]["disabled"])
	_, body = httpGetOK(listen)
	require.Contains(t, body, "\npcautoscaler_targets 2\n")
}
