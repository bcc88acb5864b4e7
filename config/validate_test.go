package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func intp(n int) *int { return &n }

// validConfig is the smallest config Validate accepts, with one schedule.
func validConfig() Config {
	c := Default()
	t := Target{Function: "fn", Qualifier: "live", Policy: c.Defaults}
	t.Schedules = []ScheduleSpec{{
		Name: "day", Cron: "0 8 * * MON-FRI", Timezone: "Europe/Berlin",
		Duration: Duration{10 * time.Hour}, Lead: Duration{5 * time.Minute}, Floor: intp(10),
	}}
	c.Targets = []Target{t}
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // nil: valid
	}{
		{name: "minimal config is valid", mutate: func(*Config) {}},
		{
			name: "limits at their edges are valid",
			mutate: func(c *Config) {
				c.Interval = Duration{MinInterval}
				c.AWS.LambdaRPS = 15
				c.AWS.Endpoint = "https://lambda.example.test:8443/prefix"
				c.Region = "us-gov-west-1"
				c.Listen = "127.0.0.1:0"
				tg := &c.Targets[0]
				tg.ScaleOutDatapoints, tg.ScaleInDatapoints = 1, 60
				tg.MaxScaleInStep, tg.MaxScaleOutStep = Step{Percent: 100}, Step{Percent: 1000}
				tg.Min, tg.AllowZero, tg.Max = 0, true, 1
				tg.MemoryMB = 10240
				tg.Schedules[0].Floor = intp(1)
				tg.Schedules[0].Duration = Duration{MaxScheduleOpen}
				tg.Schedules[0].Lead = Duration{MaxScheduleLead - time.Second}
				tg.Schedules = append(tg.Schedules, ScheduleSpec{
					Name: "cap", Cron: "@daily", Duration: Duration{time.Hour}, Ceiling: intp(1),
				})
			},
		},
		{
			name: "a ceiling below min is allowed (the controller reports the target constrained)",
			mutate: func(c *Config) {
				c.Targets[0].Min = 5
				c.Targets[0].Schedules[0].Floor, c.Targets[0].Schedules[0].Ceiling = nil, intp(2)
			},
		},
		{
			name:   "empty time zone is UTC",
			mutate: func(c *Config) { c.Targets[0].Schedules[0].Timezone = "" },
		},
		{
			name:   "an interval of an hour would wait an hour for its first tick",
			mutate: func(c *Config) { c.Interval = Duration{time.Hour} },
			want:   []string{"interval: 1h is out of range (10s <= value <= 5m)"},
		},
		{
			name:   "zero interval from a hand-built config",
			mutate: func(c *Config) { c.Interval = Duration{} },
			want:   []string{"interval: 0s is out of range (10s <= value <= 5m)"},
		},
		{
			name:   "listen port out of range",
			mutate: func(c *Config) { c.Listen = ":70000" },
			want:   []string{`listen: ":70000" is not host:port (e.g. ":9102" or "127.0.0.1:9102")`},
		},
		{
			name:   "endpoint without host",
			mutate: func(c *Config) { c.AWS.Endpoint = "http://" },
			want:   []string{`aws.endpoint: "http://" is not an http(s) URL (e.g. http://127.0.0.1:4566)`},
		},
		{
			name:   "metrics_max_lag unset in a hand-built config",
			mutate: func(c *Config) { c.AWS.MetricsMaxLag = Duration{} },
			want:   []string{"aws.metrics_max_lag: 0s is out of range (1m <= value <= 1h)"},
		},
		{
			name:   "metrics_max_lag above an hour",
			mutate: func(c *Config) { c.AWS.MetricsMaxLag = Duration{61 * time.Minute} },
			want:   []string{"aws.metrics_max_lag: 1h1m is out of range (1m <= value <= 1h)"},
		},
		{
			name:   "startup_timeout above an hour",
			mutate: func(c *Config) { c.AWS.StartupTimeout = Duration{2 * time.Hour} },
			want:   []string{"aws.startup_timeout: 2h is out of range (0s = no retries, or value <= 1h)"},
		},
		{
			name:   "startup_timeout off",
			mutate: func(c *Config) { c.AWS.StartupTimeout = Duration{} },
		},
		{
			name:   "unknown mode",
			mutate: func(c *Config) { c.Mode = "audit" },
			want:   []string{`mode: "audit" is not one of normal, shadow`},
		},
		{
			name:   "weighted_alarm_after below a minute",
			mutate: func(c *Config) { c.Defaults.WeightedAlarmAfter = Duration{30 * time.Second} },
			want:   []string{"defaults.weighted_alarm_after: 30s is out of range (1m <= value <= 168h)"},
		},
		{
			name:   "metrics_probe off",
			mutate: func(c *Config) { c.AWS.MetricsProbe = Duration{} },
		},
		{
			name:   "metrics_probe below a second",
			mutate: func(c *Config) { c.AWS.MetricsProbe = Duration{500 * time.Millisecond} },
			want:   []string{"aws.metrics_probe: 500ms is out of range (0s = off, or 1s <= value <= interval 1m)"},
		},
		{
			name: "metrics_probe longer than the interval",
			mutate: func(c *Config) {
				c.Interval = Duration{30 * time.Second}
				c.AWS.MetricsProbe = Duration{31 * time.Second}
			},
			want: []string{"aws.metrics_probe: 31s is out of range (0s = off, or 1s <= value <= interval 30s)"},
		},
		{
			name: "a bad interval is not blamed on the probe",
			mutate: func(c *Config) {
				c.Interval = Duration{5 * time.Second}
				c.AWS.MetricsProbe = Duration{8 * time.Second}
			},
			want: []string{"interval: 5s is out of range (10s <= value <= 5m)"},
		},
		{
			name:   "lambda_rps zero",
			mutate: func(c *Config) { c.AWS.LambdaRPS = 0 },
			want:   []string{"aws.lambda_rps: 0 is out of range (0 < value <= 15; Lambda allows 15 requests per second across all control-plane APIs)"},
		},
		{
			name: "step with both forms",
			mutate: func(c *Config) {
				c.Defaults.MaxScaleOutStep = Step{Absolute: 3, Percent: 10}
				c.Targets[0].MaxScaleOutStep = c.Defaults.MaxScaleOutStep
			},
			want: []string{"defaults.max_scale_out_step: set an absolute count or a percentage, not both"},
		},
		{
			name:   "scale-out percent above 1000",
			mutate: func(c *Config) { c.Targets[0].MaxScaleOutStep = Step{Percent: 1001} },
			want:   []string{"targets[0].max_scale_out_step: 1001% is out of range (0% < percentage <= 1000%)"},
		},
		{
			name:   "negative cooldown on a target",
			mutate: func(c *Config) { c.Targets[0].ScaleOutCooldown = Duration{-time.Second} },
			want:   []string{"targets[0].scale_out_cooldown: -1s is out of range (value >= 0s)"},
		},
		{
			name: "bad defaults inherited by every target are reported once",
			mutate: func(c *Config) {
				c.Defaults.Statistic = "Median"
				c.Defaults.IdleAfter = Duration{}
				for range 3 {
					c.Targets = append(c.Targets, Target{Function: "fn", Qualifier: "v" + strings.Repeat("1", len(c.Targets)), Policy: c.Defaults})
				}
			},
			want: []string{
				`defaults.statistic: "Median" is not one of Maximum, Average`,
				"defaults.idle_after: 0s is out of range (value > 0s, e.g. 30m)",
			},
		},
		{
			name: "a target's own bad value is reported at the target",
			mutate: func(c *Config) {
				c.Targets[0].Statistic = "Median"
			},
			want: []string{`targets[0].statistic: "Median" is not one of Maximum, Average`},
		},
		{
			name: "max lowered below an inherited min is reported at max",
			mutate: func(c *Config) {
				c.Defaults.Min = 20
				c.Targets[0].Min = 20
				c.Targets[0].Max = 10
				c.Targets[0].Schedules[0].Floor = intp(5)
			},
			want: []string{"targets[0].max: 10 is less than min 20"},
		},
		{
			name: "min 0 inherited from defaults that allow zero, target withdraws allow_zero",
			mutate: func(c *Config) {
				c.Defaults.Min, c.Defaults.AllowZero = 0, true
				c.Targets[0].Min = 0
			},
			want: []string{"targets[0].min: 0 is only allowed with allow_zero: true (desired 0 deletes the provisioned concurrency config)"},
		},
		{
			name:   "function with spaces",
			mutate: func(c *Config) { c.Targets[0].Function = "my function" },
			want:   []string{`targets[0].function: "my function" is not a function name or ARN (letters, digits, - and _; ARNs also :)`},
		},
		{
			name:   "function written name:alias",
			mutate: func(c *Config) { c.Targets[0].Function = "my-fn:live" },
			want:   []string{`targets[0].function: "my-fn:live" includes a qualifier (put it in qualifier instead)`},
		},
		{
			name:   "malformed ARN",
			mutate: func(c *Config) { c.Targets[0].Function = "arn:aws:lambda:us-east-1:123456789012:fn" },
			want:   []string{`targets[0].function: "arn:aws:lambda:us-east-1:123456789012:fn" is not a function name or ARN (letters, digits, - and _; ARNs also :)`},
		},
		{
			name:   "missing function",
			mutate: func(c *Config) { c.Targets[0].Function = "" },
			want:   []string{"targets[0].function: is required (a function name, partial ARN or full ARN)"},
		},
		{
			name:   "qualifier longer than 128",
			mutate: func(c *Config) { c.Targets[0].Qualifier = strings.Repeat("a", 129) },
			want:   []string{`targets[0].qualifier: "` + strings.Repeat("a", 129) + `" is not an alias or version (letters, digits, - and _, at most 128 characters)`},
		},
		{
			name: "partial ARN and name of the same function are duplicates",
			mutate: func(c *Config) {
				c.Targets = append(c.Targets, Target{Function: "123456789012:function:fn", Qualifier: "live", Policy: c.Defaults})
			},
			want: []string{"targets[1]: duplicates targets[0] (fn:live)"},
		},
		{
			name: "same function, other qualifier is fine",
			mutate: func(c *Config) {
				c.Targets = append(c.Targets, Target{Function: "fn", Qualifier: "canary", Policy: c.Defaults})
			},
		},
		{
			name:   "floor above inherited max",
			mutate: func(c *Config) { c.Targets[0].Schedules[0].Floor = intp(101) },
			want:   []string{"targets[0].schedules[0].floor: 101 is greater than max 100"},
		},
		{
			name:   "no targets",
			mutate: func(c *Config) { c.Targets = nil },
			want:   []string{"targets: at least one target is required (or a discover block)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "want *ValidationError, got %T: %v", err, err)
			got := make([]string, len(verr.Problems))
			for i, p := range verr.Problems {
				require.Zero(t, p.Line, "Validate alone knows no lines")
				got[i] = p.String()
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseCron(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		wantErr string
	}{
		{name: "five fields", spec: "0 8 * * MON-FRI"},
		{name: "descriptor", spec: "@daily"},
		{name: "surrounding space", spec: "  30 1 * * *  "},
		{name: "TZ without a space must not panic", spec: "TZ=Europe/Berlin", wantErr: "set the time zone with the timezone key, not TZ= or CRON_TZ="},
		{name: "every", spec: "@every 5m", wantErr: "@every is not supported (windows need wall-clock start times; want 5 fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly)"},
		{name: "seconds field", spec: "0 0 8 * * *", wantErr: "expected exactly 5 fields, found 6: [0 0 8 * * *] (want 5 fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly)"},
		{name: "unknown descriptor", spec: "@fortnightly", wantErr: "unrecognized descriptor: @fortnightly (want 5 fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly)"},
		{name: "empty", spec: " ", wantErr: "empty expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseCron(tt.spec)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.False(t, s.Next(cronProbe).IsZero())
		})
	}
}
