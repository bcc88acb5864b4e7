package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/shadow"
)

// TestShadowEndToEnd: `run --shadow` (the built binary) through
// burst-api's burst on the simulator: no write reaches Lambda (its PC stays
// at the scenario's 1), /shadow books both sides, and shadow-report prints
// them. The figures' accuracy is shadow's TestShadowDay.
func TestShadowEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary; skipped with -short")
	}
	bin := buildBinary(t)
	deadline := time.Now().Add(e2eDeadline)
	start, err := time.Parse(time.RFC3339, e2eStart)
	require.NoError(t, err)
	simProc := startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", "testdata/e2e-scenario.yaml",
		"--speed", e2eSpeed, "--start", e2eStart, "--log-level", "warn")
	simURL := simProc.simURL(t, deadline)
	daemon := startChild(t, "run", bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL),
		"run", "--shadow", "--config", "testdata/e2e-config.yaml", "--sim-clock", simURL,
		"--listen", "127.0.0.1:0", "--log-format", "json")
	listen := daemon.waitFor(t, "listen address", deadline, func() (string, bool) {
		for _, l := range daemon.stderr.Lines() {
			var rec struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "serving /metrics /healthz /readyz" && rec.Listen != "" {
				return rec.Listen, true
			}
		}
		return "", false
	})
	daemon.waitFor(t, `a "scaled" line marked mode=shadow`, deadline, func() (string, bool) {
		for _, l := range daemon.stderr.Lines() {
			var rec struct{ Msg, Mode string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "scaled" {
				return "", rec.Mode == "shadow"
			}
		}
		return "", false
	})
	daemon.waitFor(t, "simulated minute 16", deadline, func() (string, bool) {
		code, body := httpGet(t, simURL+simClockPath)
		var c simClockJSON
		return "", code == http.StatusOK && json.Unmarshal([]byte(body), &c) == nil && c.Now.After(start.Add(16*time.Minute))
	})
	code, body := httpGet(t, "http://"+listen+shadow.Path+"?since=2h")
	require.Equal(t, http.StatusOK, code, body)
	var rep shadow.Report
	require.NoError(t, json.Unmarshal([]byte(body), &rep))
	rows := map[string]shadow.Row{}
	for _, r := range rep.Rows {
		rows[r.Target] = r
	}
	burst := rows["burst-api:live"]
	require.Greater(t, burst.PCTo.Sub(burst.PCFrom), 10*time.Minute, "PC booked by time, silent minutes too: %s", body)
	require.Greater(t, burst.Minutes, 3, "minutes with traffic: %s", body)
	require.Equal(t, 1, burst.TheirsNow, "Lambda's PC is untouched")
	require.Greater(t, burst.Ours.PCSeconds, burst.Theirs.PCSeconds, "ours scaled out for the burst: %s", body)

	code, metricsText := httpGet(t, "http://"+listen+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, metricsText, `pcautoscaler_shadow_pc_requested{function="burst-api",qualifier="live",side="theirs"} 1`)
	require.Contains(t, metricsText, `pcautoscaler_shadow_pc_seconds_total{function="burst-api",qualifier="live",side="ours"}`)

	lam := lambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(simURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, "")})
	out, err := lam.GetProvisionedConcurrencyConfig(context.Background(), &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("burst-api"), Qualifier: aws.String("live")})
	require.NoError(t, err)
	require.Equal(t, int32(1), aws.ToInt32(out.RequestedProvisionedConcurrentExecutions))

	var stdout, stderr bytes.Buffer
	rc := run([]string{"shadow-report", "--since", "2h", "--url", "http://" + listen + shadow.Path}, &stdout, &stderr)
	require.Equal(t, exitOK, rc, stderr.String())
	require.Regexp(t, `(?m)^\s*burst-api:live\s+\d+`, stdout.String())
	require.Contains(t, stdout.String(), "total")
	t.Logf("shadow-report:\n%s", stdout.String())
}
