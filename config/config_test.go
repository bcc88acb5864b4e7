package config

import (
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestDefaultMatchesDesign(t *testing.T) {
	c := Default()
	require.Equal(t, 60*time.Second, c.Interval.Duration)
	require.Equal(t, ":9102", c.Listen)
	require.Equal(t, Log{Level: "info", Format: "json"}, c.Log)
	require.Equal(t, AWS{LambdaRPS: 10, CloudWatchProtocol: "cbor", CloudWatchMetrics: "derived", Workers: 8,
		MetricsMaxLag: Duration{5 * time.Minute}, MetricsProbe: Duration{10 * time.Second}, StartupTimeout: Duration{2 * time.Minute}}, c.AWS)
	require.InDelta(t, 0.0000041667, c.Pricing.PCPricePerGBSecond, 1e-15)
	require.Equal(t, Policy{
		Statistic:          "Maximum",
		TargetUtilization:  0.70,
		ScaleInRatio:       0.90,
		ScaleOutDatapoints: 2,
		ScaleInDatapoints:  5,
		ScaleOutCooldown:   Duration{0},
		ScaleInCooldown:    Duration{5 * time.Minute},
		MaxScaleInStep:     Step{Percent: 50},
		MaxScaleOutStep:    Step{},
		MissingData:        "idle",
		IdleAfter:          Duration{30 * time.Minute},
		Min:                1,
		Max:                100,
		Predict:            "periodic",
		PredictLead:        Duration{3 * time.Minute},
		PredictLookback:    Duration{3 * time.Hour},
		OnForeignChange:    "override",
		YieldFor:           Duration{30 * time.Minute},
		WeightedAlarmAfter: Duration{30 * time.Minute},
	}, c.Defaults)
	require.Equal(t, "normal", c.Mode)
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
	require.Equal(t, Step{Percent: 50}, checkout.MaxScaleInStep, "inherited from defaults")
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
	require.Equal(t, 5, search.ScaleInDatapoints, "inherited from defaults")
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

// TestExampleDocumentsEveryField requires config.example.yaml to set every
// key of the config types at least once, each with a comment somewhere.
func TestExampleDocumentsEveryField(t *testing.T) {
	data, err := os.ReadFile("../config.example.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	root := doc.Content[0]

	// keys[section][key] = commented
	keys := map[string]map[string]bool{}
	var walk func(section string, n *yaml.Node)
	walk = func(section string, n *yaml.Node) {
		switch n.Kind {
		case yaml.MappingNode:
			if keys[section] == nil {
				keys[section] = map[string]bool{}
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				commented := k.LineComment != "" || k.HeadComment != "" || v.LineComment != ""
				keys[section][k.Value] = keys[section][k.Value] || commented
				walk(k.Value, v)
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				walk(section, item)
			}
		}
	}
	walk("", root)

	sections := map[string]reflect.Type{
		"":           reflect.TypeFor[Config](),
		"log":        reflect.TypeFor[Log](),
		"aws":        reflect.TypeFor[AWS](),
		"pricing":    reflect.TypeFor[Pricing](),
		"ha":         reflect.TypeFor[HA](),
		"kubernetes": reflect.TypeFor[HAKubernetes](),
		"dynamodb":   reflect.TypeFor[HADynamoDB](),
		"defaults":   reflect.TypeFor[Policy](),
		"targets":    reflect.TypeFor[Target](),
		"schedules":  reflect.TypeFor[ScheduleSpec](),
		"discover":   reflect.TypeFor[Discover](),
	}
	for section, typ := range sections {
		for _, f := range fieldsOf(typ) {
			if section == "targets" && slices.ContainsFunc(fieldsOf(reflect.TypeFor[Policy]()), func(p field) bool { return p.name == f.name }) {
				continue // documented under defaults; targets show a few overrides
			}
			commented, ok := keys[section][f.name]
			require.True(t, ok, "config.example.yaml does not set %s.%s", section, f.name)
			require.True(t, commented, "config.example.yaml sets %s.%s without a comment", section, f.name)
		}
	}
}
