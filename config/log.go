package config

import (
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
)

// Log keys of the effective-config summary.
const (
	keyRegion             = "region"
	keyInterval           = "interval"
	keyListen             = "listen"
	keyDryRun             = "dry_run"
	keyMode               = "mode"
	keyStartupTimeout     = "startup_timeout"
	keyLogLevel           = "log_level"
	keyLogFormat          = "log_format"
	keyLambdaRPS          = "lambda_rps"
	keyCloudWatchProtocol = "cloudwatch_protocol"
	keyCloudWatchMetrics  = "cloudwatch_metrics"
	keyEndpoint           = "endpoint"
	keyWorkers            = "workers"
	keyMetricsMaxLag      = "metrics_max_lag"
	keyMetricsProbe       = "metrics_probe"
	keyHA                 = "ha"
	keyDefaults           = "defaults"
	keyTargets            = "targets"
	keyDiscover           = "discover"
	keyAccounts           = "accounts"
)

// LogValue summarises the effective config for one start-up log line: the
// global settings, the defaults, and per target only what it overrides.
func (c *Config) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	targets := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		targets[i] = targetSummary(t, c.Defaults)
	}
	return slog.GroupValue(
		slog.String(keyRegion, c.Region),
		slog.String(keyInterval, c.Interval.String()),
		slog.String(keyListen, c.Listen),
		slog.Bool(keyDryRun, c.DryRun),
		slog.String(keyMode, c.Mode),
		slog.String(keyLogLevel, c.Log.Level),
		slog.String(keyLogFormat, c.Log.Format),
		slog.Float64(keyLambdaRPS, c.AWS.LambdaRPS),
		slog.String(keyCloudWatchProtocol, c.AWS.CloudWatchProtocol),
		slog.String(keyCloudWatchMetrics, c.AWS.CloudWatchMetrics),
		slog.String(keyEndpoint, redactURL(c.AWS.Endpoint)),
		slog.Int(keyWorkers, c.AWS.Workers),
		slog.String(keyMetricsMaxLag, c.AWS.MetricsMaxLag.String()),
		slog.String(keyMetricsProbe, c.AWS.MetricsProbe.String()),
		slog.String(keyStartupTimeout, c.AWS.StartupTimeout.String()),
		slog.String(keyHA, c.HA.summary()),
		slog.String(keyDefaults, policyDiff(c.Defaults, nil)),
		slog.Any(keyTargets, targets),
		slog.String(keyDiscover, discoverSummary(c.Discover)),
		slog.Any(keyAccounts, accountsSummary(c)),
	)
}

// accountsSummary renders each accounts[] entry on one line: name, role,
// region, budget, targets (as targetSummary) and discovery.
func accountsSummary(c *Config) []string {
	out := make([]string, 0, len(c.Accounts))
	for _, a := range c.Accounts {
		parts := []string{a.Name}
		if a.RoleARN != "" {
			parts = append(parts, "role_arn="+a.RoleARN)
		}
		if a.ExternalID != "" {
			parts = append(parts, "external_id=set") // not a secret, but not needed in logs
		}
		if a.Region != "" {
			parts = append(parts, "region="+a.Region)
		}
		if a.Endpoint != "" {
			parts = append(parts, "endpoint="+redactURL(a.Endpoint))
		}
		if a.LambdaRPS != 0 {
			parts = append(parts, fmt.Sprintf("lambda_rps=%v", a.LambdaRPS))
		}
		ts := make([]string, len(a.Targets))
		for i, t := range a.Targets {
			ts[i] = targetSummary(t, c.Defaults)
		}
		parts = append(parts, "targets=["+strings.Join(ts, ", ")+"]")
		if a.Discover != nil {
			parts = append(parts, "discover=("+discoverSummary(a.Discover)+")")
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// discoverSummary renders "tags=k=v|v,k qualifier=q interval=5m rps=1
// schedules=a,b"; "" without discovery.
func discoverSummary(d *Discover) string {
	if d == nil {
		return ""
	}
	var filters []string
	for _, k := range sortedKeys(d.Tags) {
		if len(d.Tags[k]) == 0 {
			filters = append(filters, k)
			continue
		}
		filters = append(filters, k+"="+strings.Join(d.Tags[k], "|"))
	}
	parts := []string{"tags=" + strings.Join(filters, ","), "qualifier=" + d.Qualifier,
		"interval=" + d.Interval.String(), fmt.Sprintf("rps=%v", d.RPS)}
	if len(d.Schedules) > 0 {
		names := make([]string, len(d.Schedules))
		for i, s := range d.Schedules {
			names[i] = s.Name
		}
		parts = append(parts, "schedules="+strings.Join(names, ","))
	}
	return strings.Join(parts, " ")
}

// targetSummary renders "fn:qualifier key=value …" with the keys that differ
// from the defaults and the schedule names.
func targetSummary(t Target, defaults Policy) string {
	parts := []string{t.Function + ":" + t.Qualifier}
	if diff := policyDiff(t.Policy, &defaults); diff != "" {
		parts = append(parts, diff)
	}
	if len(t.Schedules) > 0 {
		names := make([]string, len(t.Schedules))
		for i, s := range t.Schedules {
			names[i] = s.Name
		}
		parts = append(parts, "schedules="+strings.Join(names, ","))
	}
	return strings.Join(parts, " ")
}

// policyDiff renders p as "key=value …" in file order, only keys that differ
// from base (all keys when base is nil).
func policyDiff(p Policy, base *Policy) string {
	pv := reflect.ValueOf(p)
	var parts []string
	for _, f := range fieldsOf(pv.Type()) {
		val := pv.FieldByIndex(f.index)
		if base != nil && val.Equal(reflect.ValueOf(*base).FieldByIndex(f.index)) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", f.name, val.Interface()))
	}
	return strings.Join(parts, " ")
}

// redactURL hides a password an endpoint URL might carry.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
