package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/aas"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

// TestAASRefusalEndToEnd: the built binary against the simulator (Lambda,
// CloudWatch) and moto_server's Application Auto Scaling, where
// burst-api:live is a scalable target. The daemon says so at Error, starts
// with report-worker:prod only, and never writes burst-api:live, even
// through its burst (simulated minutes 5 to 11).
func TestAASRefusalEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary; skipped with -short")
	}
	moto := testenv.MotoEndpoint(t)
	bin := buildBinary(t)
	deadline := time.Now().Add(e2eDeadline)
	start, err := time.Parse(time.RFC3339, e2eStart)
	require.NoError(t, err)
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, "")

	asc := applicationautoscaling.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: creds,
		BaseEndpoint: aws.String(moto), HTTPClient: testenv.LoopbackHTTPClient(t)})
	_, err = asc.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aas.Namespace, ScalableDimension: aas.Dimension,
		ResourceId: aws.String("function:burst-api:live"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(40),
	})
	require.NoError(t, err)

	simProc := startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", "testdata/e2e-scenario.yaml",
		"--speed", e2eSpeed, "--start", e2eStart, "--log-level", "warn")
	simURL := simProc.simURL(t, deadline)
	daemon := startChild(t, "run", bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL,
		"AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING="+moto),
		"run", "--config", "testdata/e2e-config.yaml", "--sim-clock", simURL,
		"--listen", "127.0.0.1:0", "--log-format", "json")

	type rec struct {
		Level      string `json:"level"`
		Msg        string `json:"msg"`
		Target     string `json:"target"`
		ResourceID string `json:"aas_resource_id"`
		Targets    *int   `json:"targets"`
	}
	records := func() []rec {
		var out []rec
		for _, l := range daemon.stderr.Lines() {
			var r rec
			if json.Unmarshal([]byte(l), &r) == nil {
				out = append(out, r)
			}
		}
		return out
	}
	daemon.waitFor(t, "controller started", deadline, func() (string, bool) {
		for _, r := range records() {
			if r.Msg == "controller started" {
				return "", true
			}
		}
		return "", false
	})
	var refused, started *rec
	for _, r := range records() {
		switch {
		case r.Level == "ERROR" && r.Target == "burst-api:live":
			refused = &r
		case r.Msg == "controller started":
			started = &r
		}
	}
	require.NotNil(t, refused, "no Error line for burst-api:live")
	require.Equal(t, "function:burst-api:live", refused.ResourceID)
	require.Contains(t, refused.Msg, "coexist_with_aas: true")
	require.NotNil(t, started.Targets)
	require.Equal(t, 1, *started.Targets, "the loop starts with report-worker:prod only")

	// Past the burst (minute 11) plus time to react: burst-api:live keeps
	// the scenario's PC, nothing of ours touched it.
	lam := lambda.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: creds, BaseEndpoint: aws.String(simURL)})
	daemon.waitFor(t, "simulated minute 14", deadline, func() (string, bool) {
		code, body := httpGet(t, simURL+simClockPath)
		var c simClockJSON
		return "", code == http.StatusOK && json.Unmarshal([]byte(body), &c) == nil && c.Now.After(start.Add(14*time.Minute))
	})
	out, err := lam.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("burst-api"), Qualifier: aws.String("live")})
	require.NoError(t, err)
	require.Equal(t, int32(1), aws.ToInt32(out.RequestedProvisionedConcurrentExecutions), "burst-api:live was scaled")
	for _, r := range records() {
		require.False(t, r.Target == "burst-api:live" && r.Msg == "scaled", "a write for the refused alias: %+v", r)
	}
}
