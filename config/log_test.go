package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLogValue(t *testing.T) {
	c, err := Load("../config.example.yaml")
	require.NoError(t, err)
	c.AWS.Endpoint = "http://user:secret@127.0.0.1:4566"

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("effective config", "config", c)
	var line struct {
		Config map[string]any `json:"config"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))

	got := line.Config
	require.Equal(t, "us-east-1", got["region"])
	require.Equal(t, "1m", got["interval"])
	require.Equal(t, "cbor", got["cloudwatch_protocol"])
	require.Equal(t, "5m", got["metrics_max_lag"])
	require.Equal(t, "10s", got["metrics_probe"])
	require.Equal(t, "http://user:xxxxx@127.0.0.1:4566", got["endpoint"])
	require.NotContains(t, buf.String(), "secret")
	require.Contains(t, got["defaults"], "statistic=Maximum target_utilization=0.7 scale_in_ratio=0.9 ")
	require.Equal(t, []any{
		"checkout-api:live min=5 max=400 schedules=business-hours",
		"search-api:live scale_out_datapoints=1 scale_in_cooldown=10m max=200",
		"report-worker:prod missing_data=hold min=2 max=150 schedules=nightly-reports,daytime-cap",
	}, got["targets"], "targets show only what they override")
	require.Equal(t, "tags=pcautoscaler/managed=true,team=payments|search qualifier=live interval=5m rps=1 schedules=business-hours", got["discover"])
}

func TestLogValueAccounts(t *testing.T) {
	c, err := Load("../config.accounts.example.yaml")
	require.NoError(t, err)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("effective config", "config", c)
	var line struct {
		Config map[string]any `json:"config"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, []any{"prod-eu role_arn=arn:aws:iam::444455556666:role/pcautoscaler external_id=set region=eu-west-1 lambda_rps=10 " +
		"targets=[checkout-api:live max=400] discover=(tags=pcautoscaler/managed=true qualifier=live interval=5m rps=1)"}, line.Config["accounts"])
}
