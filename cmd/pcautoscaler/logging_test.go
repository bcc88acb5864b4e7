package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

func TestWithSimTime(t *testing.T) {
	at := time.Date(2026, 11, 24, 6, 55, 0, 0, time.UTC)
	clk := sim.NewVirtualClock(at)
	var buf bytes.Buffer
	logger := withSimTime(newLogger(&buf, "info", "json"), clk).With("target", "checkout-api:live")
	logger.Info("scaled", "to", 150)
	clk.Advance(90 * time.Second)
	logger.Debug("not logged at info")
	logger.WithGroup("g").Warn("held", "why", "cooldown")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, buf.String())
	var first, second map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &second))
	require.Equal(t, "2026-11-24T06:55:00Z", first["sim_time"])
	require.Equal(t, "checkout-api:live", first["target"])
	require.EqualValues(t, 150, first["to"])
	require.NotEqual(t, first["time"], first["sim_time"], "time stays wall time")
	g, ok := second["g"].(map[string]any)
	require.True(t, ok, lines[1])
	require.Equal(t, "2026-11-24T06:56:30Z", g["sim_time"])
	require.Equal(t, "cooldown", g["why"])

	buf.Reset()
	withSimTime(newLogger(&buf, "info", "text"), clk).Info("scaled", "to", 150)
	require.Regexp(t, `level=INFO msg=scaled sim_time=2026-11-24T06:56:30\.000Z to=150\n$`, buf.String())
}

// TestSDKLogsThroughSlog: the SDK's own log lines (here the request log a
// client asks for with ClientLogMode) come out of the daemon's logger, in
// its format, not as "SDK … DEBUG" text on stderr.
func TestSDKLogsThroughSlog(t *testing.T) {
	isolateAWS(t)
	srv, _ := newSimServer(t, sim.RealClock{}, 1)
	var buf bytes.Buffer
	logger := newLogger(&buf, "debug", "json")
	cfg := &config.Config{Region: "us-east-1"}
	cfg.AWS.Endpoint = srv.URL
	awsCfg, err := loadAWSConfig(context.Background(), cfg, logger)
	require.NoError(t, err)
	// Given to the loader (config.WithLogger), so the chain's own lines
	// while loading go through it too; the loaded config carries it on.
	require.IsType(t, sdkLogger{}, awsCfg.Logger)
	client := lambda.NewFromConfig(awsCfg, func(o *lambda.Options) { o.ClientLogMode = aws.LogRequest })
	_, err = client.GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{})
	require.NoError(t, err)

	require.NotEmpty(t, buf.String())
	var sawRequest bool
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "every line is the daemon's JSON: %q", l)
		require.Equal(t, "aws-sdk", rec["component"])
		sawRequest = sawRequest || (rec["level"] == "DEBUG" && strings.Contains(rec["msg"].(string), "GET /2016-08-19/account-settings"))
	}
	require.True(t, sawRequest, buf.String())

	buf.Reset()
	sdkLogger{l: logger}.Logf(logging.Warn, "Response has no supported checksum. Not validating response payload.")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &rec))
	require.Equal(t, "WARN", rec["level"])
	require.Equal(t, "Response has no supported checksum. Not validating response payload.", rec["msg"])
}
