package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/aas"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

// TestAASRefusalSurvivesReload: an alias moto's Application Auto Scaling
// scales is refused at start-up and stays refused when a reload (no
// discover:) sets the targets again; one Error line in all.
func TestAASRefusalSurvivesReload(t *testing.T) {
	moto := testenv.MotoEndpoint(t)
	_, path := auditWorld(t) // the simulator over HTTP; svc:live and svc:beta have PC
	t.Setenv("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", moto)
	asc := applicationautoscaling.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), HTTPClient: testenv.LoopbackHTTPClient(t)})
	ctx := context.Background()
	_, err := asc.RegisterScalableTarget(ctx, &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aas.Namespace, ScalableDimension: aas.Dimension,
		ResourceId: aws.String("function:svc:beta"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(10)})
	require.NoError(t, err)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data = append(data, []byte("  - {function: svc, qualifier: beta, min: 1, max: 10}\n")...)
	cfg, err := config.Parse(data)
	require.NoError(t, err)
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	awsCfg, err := loadAWSConfig(ctx, cfg, logger)
	require.NoError(t, err)
	fl, err := wireFleet(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: controller.SystemClock{},
		serverClock: controller.FixedOffset(0), ctx: ctx}, nil)
	require.NoError(t, err)
	d := fl.primary()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.startAAS(cctx)
	live := []controller.TargetID{{Function: "svc", Qualifier: "live"}}
	require.Equal(t, live, idsOf(d.ctrl.Targets()))

	_, _, err = fl.reconfigure(cfg)
	require.NoError(t, err)
	require.Equal(t, live, idsOf(d.ctrl.Targets()), "the reload kept the refusal")
	require.Equal(t, 1, strings.Count(logs.String(), `"level":"ERROR"`), logs.String())
	require.Contains(t, logs.String(), `"aas_resource_id":"function:svc:beta"`)
}

// TestPlanLeavesOutAASAlias: plan shows what run would do, so an alias
// moto's Application Auto Scaling scales is not planned, and says why.
func TestPlanLeavesOutAASAlias(t *testing.T) {
	moto := testenv.MotoEndpoint(t)
	_, path := auditWorld(t)
	t.Setenv("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", moto)
	asc := applicationautoscaling.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), HTTPClient: testenv.LoopbackHTTPClient(t)})
	_, err := asc.RegisterScalableTarget(context.Background(), &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace: aas.Namespace, ScalableDimension: aas.Dimension,
		ResourceId: aws.String("function:svc:beta"), MinCapacity: aws.Int32(1), MaxCapacity: aws.Int32(10)})
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(data, []byte("  - {function: svc, qualifier: beta, min: 1, max: 10}\n")...), 0o600))

	code, stdout, stderr := runCLI(t, "plan", "--config", path)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Contains(t, stdout, "svc:live")
	require.NotContains(t, stdout, "svc:beta")
	require.Contains(t, stderr, "refusing to manage this alias")
	require.Contains(t, stderr, "function:svc:beta")
}
