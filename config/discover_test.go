package config

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

const discoverYAML = `
defaults:
  max: 100
discover:
  tags:
    pcautoscaler/managed: "true"
    team: [payments, search]
    env:
  qualifier: live
  schedules:
    - {name: business-hours, cron: "0 8 * * MON-FRI", timezone: Europe/Berlin, duration: 10h, floor: 20}
    - {name: night-cap, cron: "@daily", duration: 6h, ceiling: 5}
`

func discoverConfig(t *testing.T) *Config {
	t.Helper()
	cfg, err := Parse([]byte(discoverYAML))
	require.NoError(t, err)
	return cfg
}

func TestParseDiscover(t *testing.T) {
	cfg := discoverConfig(t)
	require.Empty(t, cfg.Targets, "discovery alone is a valid config")
	d := cfg.Discover
	require.NotNil(t, d)
	require.Equal(t, map[string]TagValues{
		"pcautoscaler/managed": {"true"},
		"team":                 {"payments", "search"},
		"env":                  nil, // any value
	}, d.Tags)
	require.Equal(t, "live", d.Qualifier)
	require.Equal(t, DefaultDiscoverInterval, d.Interval.Duration)
	require.InDelta(t, DefaultDiscoverRPS, d.RPS, 0)
	require.Len(t, d.Schedules, 2)
	require.Equal(t, "UTC", d.Schedules[1].Timezone)

	noDiscover, err := Parse([]byte(oneTarget))
	require.NoError(t, err)
	require.Nil(t, noDiscover.Discover)
}

func TestDiscoverProblems(t *testing.T) {
	_, err := Parse([]byte(`
discover:
  tags: {}
  qualifier: $LATEST
  interval: 10s
  rps: 50
  schedules:
    - {name: "two words", cron: "@daily", duration: 1h, floor: 1}
    - {cron: "@daily", duration: 1h}
`))
	require.Error(t, err)
	require.Equal(t, strings.Join([]string{
		`discover.tags: at least one tag filter is required (e.g. pcautoscaler/managed: "true"); without one every function of the account would be managed (line 3)`,
		`discover.qualifier: "$LATEST" is not allowed (use an alias or a published version) (line 4)`,
		`discover.interval: 10s is out of range (30s <= value <= 24h) (line 5)`,
		`discover.rps: 50 is out of range (0 < value <= 10 GetResources calls per second) (line 6)`,
		`discover.schedules[0].name: "two words" cannot be written in a tag (letters, digits and . : _ = + - @ /) (line 8)`,
		`discover.schedules[1].name: is required (functions name it in their pcautoscaler/schedules tag) (line 9)`,
		`discover.schedules[1]: needs a floor and/or a ceiling (line 9)`,
	}, "\n"), err.Error())

	_, err = Parse([]byte("discover:\n  tags:\n    aws:cloudformation:stack-name: x\n    team: {a: b}\n"))
	require.EqualError(t, err, strings.Join([]string{
		`discover.tags.aws:cloudformation:stack-name: tag keys starting with "aws:" are reserved for AWS (line 3)`,
		`discover.tags.team: want a tag value or a list of them, got a mapping (line 4)`,
	}, "\n"))
}

func TestTargetFromTags(t *testing.T) {
	cfg := discoverConfig(t)
	d := cfg.Discover
	for _, tc := range []struct {
		name     string
		tags     map[string]string
		check    func(t *testing.T, got Target)
		problems []string // "key: message"
	}{
		{name: "defaults and discover.qualifier", tags: map[string]string{"team": "payments", "pcautoscaler/managed": "true"},
			check: func(t *testing.T, got Target) {
				require.Equal(t, Target{Function: "orders", Qualifier: "live", Policy: cfg.Defaults}, got)
			}},
		{name: "every kind of value", tags: map[string]string{
			"pcautoscaler/qualifier":          "prod",
			"pcautoscaler/max":                "200",
			"pcautoscaler/min":                "3",
			"pcautoscaler/target_utilization": "0.6",
			"pcautoscaler/scale_in_cooldown":  "10m",
			"pcautoscaler/missing_data":       "hold",
			"pcautoscaler/allow_zero":         "true",
			"pcautoscaler/max_scale_in_step":  "25pct",
			"pcautoscaler/max_scale_out_step": "50",
			"pcautoscaler/schedules":          "business-hours  night-cap",
			"owner":                           "someone else's tag, ignored",
		}, check: func(t *testing.T, got Target) {
			require.Equal(t, "prod", got.Qualifier)
			require.Equal(t, 200, got.Max)
			require.Equal(t, 3, got.Min)
			require.InDelta(t, 0.6, got.TargetUtilization, 0)
			require.Equal(t, 10*time.Minute, got.ScaleInCooldown.Duration)
			require.Equal(t, MissingHold, got.MissingData)
			require.True(t, got.AllowZero)
			require.Equal(t, Step{Percent: 25}, got.MaxScaleInStep)
			require.Equal(t, Step{Absolute: 50}, got.MaxScaleOutStep)
			require.Equal(t, []ScheduleSpec{d.Schedules[0], d.Schedules[1]}, got.Schedules)
			require.Equal(t, cfg.Defaults.ScaleOutDatapoints, got.ScaleOutDatapoints, "untagged keys keep the defaults")
		}},
		{name: "every problem at once, by tag key", tags: map[string]string{
			"pcautoscaler/max":                "lots",
			"pcautoscaler/target_utilizaton":  "0.6",
			"pcautoscaler/qualifier":          "$LATEST",
			"pcautoscaler/schedules":          "business-hours weekend business-hours",
			"pcautoscaler/function":           "other",
			"pcautoscaler/scale_in_cooldown":  "10",
			"pcautoscaler/max_scale_in_step":  "0pct",
			"pcautoscaler/scale_in_ratio":     "",
			"pcautoscaler/scale_out_cooldown": "5m",
		}, problems: []string{
			`pcautoscaler/function: the function is the tagged resource; remove this tag`,
			`pcautoscaler/schedules: no schedule "weekend" in discover.schedules (have: business-hours, night-cap)`,
			`pcautoscaler/schedules: schedule "business-hours" is named twice`,
			`pcautoscaler/target_utilizaton: unknown tag key under pcautoscaler/ (did you mean "target_utilization"?)`,
			`pcautoscaler/max: want a whole number, got "lots"`,
			`pcautoscaler/max_scale_in_step: invalid step "0%" (write 0 for unlimited)`,
			`pcautoscaler/scale_in_cooldown: invalid duration "10" (want a number with a unit: 90s, 5m, 1h30m)`,
		}},
		{name: "ranges and cross-field rules as in the file", tags: map[string]string{
			"pcautoscaler/qualifier":          "$LATEST",
			"pcautoscaler/target_utilization": "1.5",
			"pcautoscaler/min":                "150",
			"pcautoscaler/schedules":          "business-hours",
			"pcautoscaler/max":                "10",
		}, problems: []string{
			`pcautoscaler/qualifier: "$LATEST" is not allowed (use an alias or a published version)`,
			`pcautoscaler/target_utilization: 1.5 is out of range (0 < value < 1)`,
			`pcautoscaler/min: 150 is greater than max 10`,
			`pcautoscaler/schedules: schedule "business-hours": floor: 20 is greater than max 10`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problems := cfg.TargetFromTags(d, "orders", tc.tags)
			var ps []string
			for _, p := range problems {
				ps = append(ps, p.Path+": "+p.Message)
			}
			require.Equal(t, tc.problems, ps)
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}

	t.Run("no qualifier anywhere", func(t *testing.T) {
		noQ := *d
		noQ.Qualifier = ""
		_, problems := cfg.TargetFromTags(&noQ, "orders", map[string]string{"team": "search"})
		require.Equal(t, []Problem{{Path: "pcautoscaler/qualifier",
			Message: "no qualifier: tag the function pcautoscaler/qualifier=<alias or version> or set discover.qualifier"}}, problems)
	})
}

// FuzzTargetFromTags: any tags give a target or problems, never a panic;
// a target without problems passes Validate as a file's target would, and
// every problem names a key of the grammar.
func FuzzTargetFromTags(f *testing.F) {
	for _, seed := range [][2]string{
		{"pcautoscaler/max", "200"}, {"pcautoscaler/qualifier", "live"}, {"pcautoscaler/schedules", "business-hours"},
		{"pcautoscaler/max_scale_in_step", "25pct"}, {"pcautoscaler/min", "-1"}, {"pcautoscaler/", ""},
		{"pcautoscaler/idle_after", "1h"}, {"pcautoscaler/statistic", "[a, b]"}, {"pcautoscaler/max", "{a: 1}"},
		{"pcautoscaler/predict_lookback", "*x"}, {"pcautoscaler/target_utilization", ".nan"},
	} {
		f.Add(seed[0], seed[1], "pcautoscaler/min", "2")
	}
	cfg, err := Parse([]byte(discoverYAML))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		tags := map[string]string{k1: v1, k2: v2}
		got, problems := cfg.TargetFromTags(cfg.Discover, "orders", tags)
		for _, p := range problems {
			if !strings.HasPrefix(p.Path, TagPrefix) || p.Message == "" {
				t.Fatalf("problem %+v does not name a tag key", p)
			}
			if _, ok := tags[p.Path]; !ok {
				t.Fatalf("problem %+v names a key the function does not have", p)
			}
		}
		if len(problems) > 0 {
			return
		}
		file := Config(*cfg)
		file.Targets = []Target{got}
		if err := file.Validate(); err != nil && utf8.ValidString(got.Qualifier) {
			t.Fatalf("tags %v gave a target without problems that Validate refuses: %v", tags, err)
		}
	})
}
