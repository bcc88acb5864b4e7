package config

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const oneTarget = "targets:\n  - function: fn\n    qualifier: live\n"

func TestParseOverrides(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{
			name: "target inherits built-in defaults",
			yaml: oneTarget,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, DefaultPolicy(), c.Targets[0].Policy)
				require.Equal(t, DefaultPolicy(), c.Defaults)
			},
		},
		{
			name: "target inherits defaults from the file",
			yaml: "defaults:\n  min: 3\n  scale_in_cooldown: 10m\n" + oneTarget,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 3, c.Targets[0].Min)
				require.Equal(t, 10*time.Minute, c.Targets[0].ScaleInCooldown.Duration)
				require.Equal(t, 100, c.Targets[0].Max, "untouched built-in default")
			},
		},
		{
			name: "defaults written after targets still apply",
			yaml: oneTarget + "defaults:\n  statistic: Average\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, StatAverage, c.Targets[0].Statistic)
			},
		},
		{
			name: "target keys override defaults, others inherit",
			yaml: "defaults:\n  max: 50\n  min: 2\n" + oneTarget + "    max: 80\n    max_scale_in_step: 10\n" +
				"  - function: other\n    qualifier: \"7\"\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 80, c.Targets[0].Max)
				require.Equal(t, 2, c.Targets[0].Min)
				require.Equal(t, Step{Absolute: 10}, c.Targets[0].MaxScaleInStep)
				require.Equal(t, 50, c.Targets[1].Max)
				require.Equal(t, Step{Percent: 50}, c.Targets[1].MaxScaleInStep)
				require.Equal(t, "7", c.Targets[1].Qualifier)
			},
		},
		{
			name: "an empty value keeps the default",
			yaml: "interval:\nlisten: null\n" + oneTarget + "    min:\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, DefaultInterval, c.Interval.Duration)
				require.Equal(t, DefaultListen, c.Listen)
				require.Equal(t, 1, c.Targets[0].Min)
			},
		},
		{
			name: "a numeric version qualifier reads as a string",
			yaml: "targets:\n  - function: fn\n    qualifier: 12\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "12", c.Targets[0].Qualifier)
			},
		},
		{
			name: "schedule time zone defaults to UTC",
			yaml: oneTarget + "    schedules:\n      - {name: n, cron: '@daily', duration: 1h, ceiling: 3}\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "UTC", c.Targets[0].Schedules[0].Timezone)
				require.Nil(t, c.Targets[0].Schedules[0].Floor)
				require.Equal(t, 3, *c.Targets[0].Schedules[0].Ceiling)
			},
		},
		{
			name: "merge keys share settings and own keys win",
			yaml: "targets:\n" +
				"  - &api {function: a, qualifier: live, min: 4, max: 40}\n" +
				"  - <<: *api\n    function: b\n    max: 60\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, "b", c.Targets[1].Function)
				require.Equal(t, "live", c.Targets[1].Qualifier)
				require.Equal(t, 4, c.Targets[1].Min)
				require.Equal(t, 60, c.Targets[1].Max)
			},
		},
		{
			name: "anchored defaults reused in a target",
			yaml: "defaults: &d {max: 30}\ntargets:\n  - <<: [{min: 2}, {min: 9, max: 8}, *d]\n    function: fn\n    qualifier: live\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 2, c.Targets[0].Min, "the first merged mapping wins")
				require.Equal(t, 8, c.Targets[0].Max, "the second merged mapping wins over the third")
				require.Equal(t, 30, c.Defaults.Max)
			},
		},
		{
			name: "zero step is unlimited",
			yaml: oneTarget + "    max_scale_in_step: 0\n    max_scale_out_step: 50%\n",
			check: func(t *testing.T, c *Config) {
				require.Equal(t, Step{}, c.Targets[0].MaxScaleInStep)
				require.Equal(t, Step{Percent: 50}, c.Targets[0].MaxScaleOutStep)
			},
		},
		{
			name: "freshness keys",
			yaml: "aws:\n  metrics_max_lag: 10m\n  metrics_probe: 15s\n" + oneTarget,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 10*time.Minute, c.AWS.MetricsMaxLag.Duration)
				require.Equal(t, 15*time.Second, c.AWS.MetricsProbe.Duration)
			},
		},
		{
			name: "probe 0 is off; empty keys keep the defaults",
			yaml: "aws:\n  metrics_max_lag:\n  metrics_probe: 0\n" + oneTarget,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, DefaultMetricsMaxLag, c.AWS.MetricsMaxLag.Duration)
				require.Zero(t, c.AWS.MetricsProbe.Duration)
			},
		},
		{
			name: "freshness bounds are inclusive; the probe may equal the interval",
			yaml: "interval: 30s\naws: {metrics_max_lag: 1h, metrics_probe: 30s}\n" + oneTarget,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, time.Hour, c.AWS.MetricsMaxLag.Duration)
				require.Equal(t, 30*time.Second, c.AWS.MetricsProbe.Duration)
			},
		},
		{
			name: "freshness keys through a merge key",
			yaml: "aws:\n  <<: {metrics_max_lag: 2m, metrics_probe: 1s}\n  metrics_probe: 5s\n" + oneTarget,
			check: func(t *testing.T, c *Config) {
				require.Equal(t, 2*time.Minute, c.AWS.MetricsMaxLag.Duration)
				require.Equal(t, 5*time.Second, c.AWS.MetricsProbe.Duration, "own key wins")
			},
		},
		{
			name: "empty schedules list reads as none",
			yaml: oneTarget + "    schedules: []\n",
			check: func(t *testing.T, c *Config) {
				require.Nil(t, c.Targets[0].Schedules)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "empty file",
			yaml: "",
			want: []string{"targets: at least one target is required (or a discover block)"},
		},
		{
			name: "comments only",
			yaml: "# nothing here\n",
			want: []string{"targets: at least one target is required (or a discover block)"},
		},
		{
			name: "unknown top-level key lists allowed keys",
			yaml: "xyz: &x {min: 7}\n" + oneTarget,
			want: []string{"xyz: unknown key (allowed: region, interval, listen, dry_run, mode, log, aws, ha, pricing, defaults, targets, discover, accounts) (line 1)"},
		},
		{
			name: "bad default reported once, not per inheriting target",
			yaml: "defaults:\n  scale_in_ratio: 2\ntargets:\n  - {function: a, qualifier: live}\n  - {function: b, qualifier: live}\n  - {function: c, qualifier: live}\n",
			want: []string{"defaults.scale_in_ratio: 2 is out of range (0 < value < 1) (line 2)"},
		},
		{
			name: "min 0 set in defaults, allow_zero set in a target: only the target is fine",
			yaml: "defaults:\n  min: 0\ntargets:\n  - {function: a, qualifier: live, allow_zero: true}\n  - {function: b, qualifier: live}\n",
			want: []string{"defaults.min: 0 is only allowed with allow_zero: true (desired 0 deletes the provisioned concurrency config) (line 2)"},
		},
		{
			name: "merge of itself",
			yaml: "targets:\n  - &t\n    <<: *t\n    function: fn\n    qualifier: live\n",
			want: []string{"targets[0]: merge key refers to its own mapping (line 2)"},
		},
		{
			name: "merge of a scalar",
			yaml: "targets:\n  - <<: 5\n    function: fn\n    qualifier: live\n",
			want: []string{"targets[0]: a merge key (<<) needs a mapping or a list of mappings, got a number (line 2)"},
		},
		{
			name: "non-string key",
			yaml: oneTarget + "    ? [a, b]\n    : 1\n",
			want: []string{"targets[0]: keys must be plain strings, got a list (line 4)"},
		},
		{
			name: "a whole-number field rejects a fraction",
			yaml: oneTarget + "    max: 2.5\n",
			want: []string{`targets[0].max: want a whole number, got "2.5" (line 4)`},
		},
		{
			name: "a string for a number",
			yaml: "defaults:\n  target_utilization: high\n" + oneTarget,
			want: []string{`defaults.target_utilization: want a number, got "high" (line 2)`},
		},
		{
			name: "NaN and infinity are out of range",
			yaml: "aws:\n  lambda_rps: .inf\ndefaults:\n  target_utilization: .nan\n" + oneTarget,
			want: []string{
				"aws.lambda_rps: +Inf is out of range (0 < value <= 15; Lambda allows 15 requests per second across all control-plane APIs) (line 2)",
				"defaults.target_utilization: NaN is out of range (0 < value < 1) (line 4)",
			},
		},
		{
			name: "qualified function ARN",
			yaml: "targets:\n  - function: arn:aws:lambda:us-east-1:123456789012:function:fn:live\n    qualifier: live\n",
			want: []string{`targets[0].function: "arn:aws:lambda:us-east-1:123456789012:function:fn:live" includes a qualifier (put it in qualifier instead) (line 2)`},
		},
		{
			name: "tab indentation",
			yaml: "targets:\n\t- function: fn\n",
			want: []string{"invalid YAML: found character that cannot start any token (line 2)"},
		},
		{
			name: "a tab indenting a key under a list item",
			yaml: "targets:\n  - function: fn\n\tqualifier: live\n",
			want: []string{"invalid YAML: found a tab character that violates indentation (line 3)"},
		},
		// yaml.v3 counts parser errors' lines from 0 and scanner errors'
		// from 1; every line here is the file's, from 1.
		{
			name: "flow mapping left open on line 2",
			yaml: "interval: 60s\nlog: {level: info\n",
			want: []string{"invalid YAML: did not find expected ',' or '}' (line 2)"},
		},
		{
			name: "flow sequence left open on line 2",
			yaml: "interval: 60s\nlog: [a\n",
			want: []string{"invalid YAML: did not find expected ',' or ']' (line 2)"},
		},
		{
			name: "unterminated string on line 2",
			yaml: "interval: 60s\nregion: \"us-east-1\n",
			want: []string{"invalid YAML: found unexpected end of stream (line 2)"},
		},
		{
			name: "mapping value on line 2",
			yaml: "interval: 60s\n  bad: x\n",
			want: []string{"invalid YAML: mapping values are not allowed in this context (line 2)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			require.Nil(t, c)
			require.Error(t, err)
			verr, ok := err.(*ValidationError)
			require.True(t, ok, "want *ValidationError, got %T: %v", err, err)
			got := make([]string, len(verr.Problems))
			for i, p := range verr.Problems {
				got[i] = p.String()
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// "Billion laughs" through merge keys: each target merges the previous
	// one nine times, so target 9 would expand to 9^9 keys.
	var b strings.Builder
	b.WriteString("targets:\n  - &m0 {function: fn0, qualifier: live}\n")
	for i := 1; i <= 9; i++ {
		prev := "*m" + strconv.Itoa(i-1)
		b.WriteString("  - &m" + strconv.Itoa(i) + " {<<: [" + strings.Repeat(prev+", ", 8) + prev + "], function: fn" + strconv.Itoa(i) + "}\n")
	}
	_, err := Parse([]byte(b.String()))
	require.Error(t, err)
	verr, ok := err.(*ValidationError)
	require.True(t, ok, "want *ValidationError, got %T", err)
	// One problem, not one "function is required" per target cut off.
	require.Len(t, verr.Problems, 1, "%v", err)
	require.Contains(t, err.Error(), "the file expands to more than 201340 YAML nodes")
	require.Contains(t, err.Error(), "YAML nodes through aliases (200000 + 10 per node written)")
}

// TestManyTargetsLoad: the node budget scales with the file, so 20,000
// explicit targets load (issue 10: a fixed 200,000-node cap refused them
// with 20,000 spurious "function is required" lines), with and without a
// merged anchor in every target; a bomb hidden in such a file is still
// refused.
func TestManyTargetsLoad(t *testing.T) {
	const n = 20_000
	gen := func(n int, merge bool, extra string) []byte {
		var b strings.Builder
		b.WriteString("defaults: &common\n  min: 2\n  max: 300\n  scale_in_cooldown: 10m\n  missing_data: hold\n")
		b.WriteString("targets:\n")
		for i := range n {
			fmt.Fprintf(&b, "  - function: fn-%05d\n    qualifier: live\n", i)
			if merge {
				b.WriteString("    <<: *common\n")
			} else {
				b.WriteString("    max: 200\n")
			}
		}
		b.WriteString(extra)
		return []byte(b.String())
	}
	t.Run("plain", func(t *testing.T) {
		cfg, err := Parse(gen(n, false, ""))
		require.NoError(t, err)
		require.Len(t, cfg.Targets, n)
		require.Equal(t, "fn-19999", cfg.Targets[n-1].Function)
		require.Equal(t, 200, cfg.Targets[n-1].Max)
	})
	t.Run("merged anchor", func(t *testing.T) {
		cfg, err := Parse(gen(n, true, ""))
		require.NoError(t, err)
		require.Len(t, cfg.Targets, n)
		require.Equal(t, 300, cfg.Targets[7].Max)
		require.Equal(t, "hold", cfg.Targets[7].MissingData)
	})
	t.Run("bomb in a big file", func(t *testing.T) {
		var bomb strings.Builder
		bomb.WriteString("  - &m0 {function: b0, qualifier: live}\n")
		for i := 1; i <= 12; i++ {
			prev := "*m" + strconv.Itoa(i-1)
			bomb.WriteString("  - &m" + strconv.Itoa(i) + " {<<: [" + strings.Repeat(prev+", ", 8) + prev + "], function: b" + strconv.Itoa(i) + "}\n")
		}
		_, err := Parse(gen(2_000, false, bomb.String()))
		require.Error(t, err)
		verr := err.(*ValidationError)
		require.Len(t, verr.Problems, 1, "%v", err)
		require.Contains(t, err.Error(), "YAML nodes through aliases")
	})
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{name: "seconds", in: "90s", want: 90 * time.Second},
		{name: "minutes", in: "5m", want: 5 * time.Minute},
		{name: "compound", in: "1h30m", want: 90 * time.Minute},
		{name: "bare zero", in: "0", want: 0},
		{name: "negative parses, Validate judges", in: "-5m", want: -5 * time.Minute},
		{name: "bare number", in: "90", wantErr: `invalid duration "90" (want a number with a unit: 90s, 5m, 1h30m)`},
		{name: "days are not Go syntax", in: "1d", wantErr: `invalid duration "1d" (want a number with a unit: 90s, 5m, 1h30m)`},
		{name: "empty", in: "", wantErr: `invalid duration "" (want a number with a unit: 90s, 5m, 1h30m)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Duration)
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want string
	}{
		{name: "zero", in: 0, want: "0s"},
		{name: "minutes", in: 5 * time.Minute, want: "5m"},
		{name: "hours", in: 168 * time.Hour, want: "168h"},
		{name: "mixed", in: 90 * time.Minute, want: "1h30m"},
		{name: "seconds kept", in: 61 * time.Second, want: "1m1s"},
		{name: "sub-second", in: 1500 * time.Millisecond, want: "1.5s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Duration{tt.in}.String())
			back, err := ParseDuration(tt.want)
			require.NoError(t, err)
			require.Equal(t, tt.in, back.Duration)
		})
	}
}

func TestParseStep(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Step
		wantErr string
	}{
		{name: "absolute", in: "10", want: Step{Absolute: 10}},
		{name: "percent", in: "25%", want: Step{Percent: 25}},
		{name: "fractional percent", in: "12.5%", want: Step{Percent: 12.5}},
		{name: "zero is unlimited", in: "0", want: Step{}},
		{name: "negative parses, Validate judges", in: "-3", want: Step{Absolute: -3}},
		{name: "zero percent", in: "0%", wantErr: `invalid step "0%" (write 0 for unlimited)`},
		{name: "fraction", in: "2.5", wantErr: `invalid step "2.5" (want a whole number such as 10, a percentage such as "25%", or 0 for unlimited)`},
		{name: "words", in: "ten", wantErr: `invalid step "ten" (want a whole number such as 10, a percentage such as "25%", or 0 for unlimited)`},
		{name: "NaN percent", in: "NaN%", wantErr: `invalid step "NaN%" (want a whole number such as 10, a percentage such as "25%", or 0 for unlimited)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStep(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			back, err := ParseStep(got.String())
			require.NoError(t, err)
			require.Equal(t, got, back, "String round-trips")
		})
	}
}

// TestMarshalRoundTrip writes the parsed example back as YAML and parses it
// again: the effective config must not change.
func TestMarshalRoundTrip(t *testing.T) {
	c, err := Load("../config.example.yaml")
	require.NoError(t, err)
	out, err := yaml.Marshal(c)
	require.NoError(t, err)
	again, err := Parse(out)
	require.NoError(t, err, "marshalled:\n%s", out)
	require.Equal(t, c, again)
}
