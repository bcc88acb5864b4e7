package config

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultMatchesDesign(t *testing.T) {
	c := Default()
	require.Equal(t, 60*time.Second, c.Interval.Duration)
	require.Equal(t, ":9102", c.Listen)
	require.Equal(t, Log{Level: "info", Format: "json"}, c.Log)
	require.Equal(t, AWS{LambdaRPS: 10, CloudWatchProtocol: "cbor", Workers: 8}, c.AWS)
	require.InDelta(t, 0.0000041667, c.Pricing.PCPricePerGBSecond, 1e-15)
	require.Equal(t, Policy{
		Statistic:          "Maximum",
		TargetUtilization:  0.70,
		ScaleInRatio:       0.90,
		ScaleOutDatapoints: 2,
		ScaleInDatapoints:  15,
		ScaleOutCooldown:   Duration{0},
		ScaleInCooldown:    Duration{5 * time.Minute},
		MaxScaleInStep:     Step{Percent: 25},
		MaxScaleOutStep:    Step{},
		MissingData:        "idle",
		IdleAfter:          Duration{30 * time.Minute},
		Min:                1,
		Max:                100,
	}, c.Defaults)
	require.Empty(t, c.Targets)
}

func TestExampleLoads(t *testing.T) {
	c, err := Load("../config.example.yaml")
	require.NoError(t, err)
	require.Len(t, c.Targets, 3)

	checkout, search, report := c.Targets[0], c.Targets[1], c.Targets[2]
	require.Equal(t, "checkout-api", checkout.Function)
	require.Equal(t, "live", checkout.Qualifier)
	require.Equal(t, 5, checkout.Min)
	require.Equal(t, 400, checkout.Max)
	require.Equal(t, 0.70, checkout.TargetUtilization, "inherited from defaults")
	require.Equal(t, Step{Percent: 25}, checkout.MaxScaleInStep, "inherited from defaults")
	require.Len(t, checkout.Schedules, 1)
	bh := checkout.Schedules[0]
	require.Equal(t, "business-hours", bh.Name)
	require.Equal(t, "0 8 * * MON-FRI", bh.Cron)
	require.Equal(t, "Europe/Berlin", bh.Timezone)
	require.Equal(t, 10*time.Hour, bh.Duration.Duration)
	require.Equal(t, 5*time.Minute, bh.Lead.Duration)
	require.NotNil(t, bh.Floor)
	require.Equal(t, 50, *bh.Floor)
	require.Nil(t, bh.Ceiling)

	require.Equal(t, "search-api", search.Function)
	require.Equal(t, StatMaximum, search.Statistic)
	require.Equal(t, 1, search.ScaleOutDatapoints, "override")
	require.Equal(t, 10*time.Minute, search.ScaleInCooldown.Duration, "override")
	require.Equal(t, 15, search.ScaleInDatapoints, "inherited from defaults")
	require.Equal(t, 1, search.Min, "inherited from defaults")

	require.Equal(t, "report-worker", report.Function)
	require.Equal(t, "prod", report.Qualifier)
	require.Equal(t, MissingHold, report.MissingData, "override")
	require.Equal(t, MissingIdle, c.Defaults.MissingData)
	require.Len(t, report.Schedules, 2)
	require.Equal(t, "America/New_York", report.Schedules[0].Timezone)
	require.Equal(t, 80, *report.Schedules[0].Floor)
	require.Nil(t, report.Schedules[1].Floor)
	require.Equal(t, 20, *report.Schedules[1].Ceiling)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	require.ErrorIs(t, err, os.ErrNotExist)
}
