package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
)

// Problem is one thing wrong with a config, at a YAML path such as
// targets[1].schedules[0].cron. Line is the file line when known (Parse
// fills it; Validate alone cannot).
type Problem struct {
	Path    string
	Message string
	Line    int
}

// String renders "path: message (line N)".
func (p Problem) String() string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		s += " (line " + strconv.Itoa(p.Line) + ")"
	}
	return s
}

// ValidationError lists every problem of a config, one a line.
type ValidationError struct {
	File     string // set by Load
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
		if e.File != "" {
			lines[i] = e.File + ": " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// Limits checked by Validate.
const (
	MinInterval = 10 * time.Second
	// MaxInterval: a scale-out waits for the next tick (and the first
	// tick for the next multiple of the interval); past five minutes the
	// daemon would answer slower than AAS's three-minute alarms.
	MaxInterval     = 5 * time.Minute
	MaxLambdaRPS    = 15 // Lambda's control-plane limit, shared by every API
	MaxDatapoints   = 60
	MaxScheduleLead = 24 * time.Hour
	MaxScheduleOpen = 7 * 24 * time.Hour
	MinMemoryMB     = 128
	MaxMemoryMB     = 10240
	// Prediction: the lead covers tick, publication delay and allocation;
	// the lookback must hold at least three cycles of an hourly burst, and
	// every minute of it is a datapoint per target in each metric read.
	MaxPredictLead     = 30 * time.Minute
	MinPredictLookback = time.Hour
	MaxPredictLookback = 24 * time.Hour
	MaxScaleOutPct     = 1000 // scale-out may multiply by up to 11 a step
	MaxScaleInPct      = 100
	maxQualifierSize   = 128
	// Freshness: CloudWatch publication is commonly 1–3 minutes late and
	// "can be several minutes" (AWS-FACTS §4.1), so a max lag under a minute
	// would count unpublished minutes as quiet ones, and one above an hour
	// would hold decisions that long in an outage. A probe is one
	// GetMetricData query; more often than a second buys nothing, and past
	// the interval the next tick comes first.
	MinMetricsMaxLag = time.Minute
	MaxMetricsMaxLag = time.Hour
	MinMetricsProbe  = time.Second
)

var (
	qualifierRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// tagNameRE: what a schedule name may be to be written in a tag value
	// (AWS's tag characters, without the space that separates names).
	tagNameRE = regexp.MustCompile(`^[\p{L}\p{N}_.:/=+@-]{1,64}$`)
)

type validator struct{ problems []Problem }

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Validate checks every rule and reports all problems at once as a
// *ValidationError.
//
// A bad value in `defaults` is reported once, at defaults.X. A target's policy
// field is checked only where it differs from `defaults`: an inherited value
// is the defaults' problem. (A target that explicitly repeats a bad default
// is reported at defaults.X until that is fixed.) Cross-field rules (min <=
// max) are reported at the target when either side is its own.
func (c *Config) Validate() error {
	v := &validator{}
	v.top(c)
	v.policy("defaults", c.Defaults, nil)
	v.targets("targets", c.Targets, &c.Defaults)
	v.accounts(c)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// targets checks a list of targets at path (targets, accounts[i].targets):
// each target, and no function and qualifier twice.
func (v *validator) targets(path string, ts []Target, defaults *Policy) {
	seen := map[string]int{}
	for i, t := range ts {
		tp := path + "[" + strconv.Itoa(i) + "]"
		v.target(tp, t, defaults)
		if t.Function == "" || t.Qualifier == "" {
			continue
		}
		key := functionName(t.Function) + ":" + t.Qualifier
		if first, dup := seen[key]; dup {
			v.add(tp, "duplicates %s[%d] (%s:%s)", path[strings.LastIndexByte(path, '.')+1:], first, functionName(t.Function), t.Qualifier)
			continue
		}
		seen[key] = i
	}
}

func (v *validator) top(c *Config) {
	if c.Region != "" && !awsname.ValidRegion(c.Region) {
		v.add("region", "%q is not an AWS region name (e.g. us-east-1; leave it out to use the SDK's default chain)", c.Region)
	}
	if c.Interval.Duration < MinInterval || c.Interval.Duration > MaxInterval {
		v.add("interval", "%s is out of range (%s <= value <= %s)", c.Interval, Duration{MinInterval}, Duration{MaxInterval})
	}
	if !validListen(c.Listen) {
		v.add("listen", `%q is not host:port (e.g. ":9102" or "127.0.0.1:9102")`, c.Listen)
	}
	oneOf(v, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(v, "log.format", c.Log.Format, "json", "text")
	if !(c.AWS.LambdaRPS > 0 && c.AWS.LambdaRPS <= MaxLambdaRPS) {
		v.add("aws.lambda_rps", "%v is out of range (0 < value <= %d; Lambda allows %d requests per second across all control-plane APIs)", c.AWS.LambdaRPS, MaxLambdaRPS, MaxLambdaRPS)
	}
	oneOf(v, "aws.cloudwatch_protocol", c.AWS.CloudWatchProtocol, "cbor", "json", "query")
	oneOf(v, "aws.cloudwatch_metrics", c.AWS.CloudWatchMetrics, MetricsDerived, MetricsCompact, MetricsFull)
	if c.AWS.Endpoint != "" && !validEndpoint(c.AWS.Endpoint) {
		v.add("aws.endpoint", "%q is not an http(s) URL (e.g. http://127.0.0.1:4566)", c.AWS.Endpoint)
	}
	if c.AWS.Workers < 1 {
		v.add("aws.workers", "%d is out of range (value >= 1)", c.AWS.Workers)
	}
	if l := c.AWS.MetricsMaxLag.Duration; l < MinMetricsMaxLag || l > MaxMetricsMaxLag {
		v.add("aws.metrics_max_lag", "%s is out of range (%s <= value <= %s)", c.AWS.MetricsMaxLag, Duration{MinMetricsMaxLag}, Duration{MaxMetricsMaxLag})
	}
	// The probe is measured against a valid interval only: a bad interval
	// is its own problem, and the default probe fits every valid one.
	intervalOK := c.Interval.Duration >= MinInterval && c.Interval.Duration <= MaxInterval
	if p := c.AWS.MetricsProbe.Duration; p != 0 && (p < MinMetricsProbe || intervalOK && p > c.Interval.Duration) {
		v.add("aws.metrics_probe", "%s is out of range (0s = off, or %s <= value <= interval %s)", c.AWS.MetricsProbe, Duration{MinMetricsProbe}, c.Interval)
	}
	if t := c.AWS.StartupTimeout.Duration; t < 0 || t > time.Hour {
		v.add("aws.startup_timeout", "%s is out of range (0s = no retries, or value <= 1h)", c.AWS.StartupTimeout)
	}
	oneOf(v, "mode", c.Mode, ModeNormal, ModeShadow)
	v.ha(c.HA)
	if p := c.Pricing.PCPricePerGBSecond; !(p >= 0) || math.IsInf(p, 0) {
		v.add("pricing.pc_price_per_gb_second", "%v is out of range (value >= 0, USD)", p)
	}
	if len(c.Targets) == 0 && c.Discover == nil && len(c.Accounts) == 0 {
		v.add("targets", "at least one target is required (or a discover block)")
	}
	if c.Discover != nil {
		v.discover("discover", c.Discover)
	}
}

// policy checks p at prefix. base is the defaults a target inherited from,
// nil when p is the defaults.
func (v *validator) policy(prefix string, p Policy, base *Policy) {
	own := func(differs func(b *Policy) bool) bool { return base == nil || differs(base) }
	at := func(key string) string { return prefix + "." + key }

	if own(func(b *Policy) bool { return p.Statistic != b.Statistic }) {
		oneOf(v, at("statistic"), p.Statistic, StatMaximum, StatAverage)
	}
	if own(func(b *Policy) bool { return !sameFloat(p.TargetUtilization, b.TargetUtilization) }) && !(p.TargetUtilization > 0 && p.TargetUtilization < 1) {
		v.add(at("target_utilization"), "%v is out of range (0 < value < 1)", p.TargetUtilization)
	}
	if own(func(b *Policy) bool { return !sameFloat(p.ScaleInRatio, b.ScaleInRatio) }) && !(p.ScaleInRatio > 0 && p.ScaleInRatio < 1) {
		v.add(at("scale_in_ratio"), "%v is out of range (0 < value < 1)", p.ScaleInRatio)
	}
	if own(func(b *Policy) bool { return p.ScaleOutDatapoints != b.ScaleOutDatapoints }) {
		v.datapoints(at("scale_out_datapoints"), p.ScaleOutDatapoints)
	}
	if own(func(b *Policy) bool { return p.ScaleInDatapoints != b.ScaleInDatapoints }) {
		v.datapoints(at("scale_in_datapoints"), p.ScaleInDatapoints)
	}
	if own(func(b *Policy) bool { return p.ScaleOutCooldown != b.ScaleOutCooldown }) && p.ScaleOutCooldown.Duration < 0 {
		v.add(at("scale_out_cooldown"), "%s is out of range (value >= 0s)", p.ScaleOutCooldown)
	}
	if own(func(b *Policy) bool { return p.ScaleInCooldown != b.ScaleInCooldown }) && p.ScaleInCooldown.Duration < 0 {
		v.add(at("scale_in_cooldown"), "%s is out of range (value >= 0s)", p.ScaleInCooldown)
	}
	if own(func(b *Policy) bool { return !sameStep(p.MaxScaleInStep, b.MaxScaleInStep) }) {
		v.step(at("max_scale_in_step"), p.MaxScaleInStep, MaxScaleInPct)
	}
	if own(func(b *Policy) bool { return !sameStep(p.MaxScaleOutStep, b.MaxScaleOutStep) }) {
		v.step(at("max_scale_out_step"), p.MaxScaleOutStep, MaxScaleOutPct)
	}
	if own(func(b *Policy) bool { return p.MissingData != b.MissingData }) {
		oneOf(v, at("missing_data"), p.MissingData, MissingIdle, MissingHold)
	}
	if own(func(b *Policy) bool { return p.IdleAfter != b.IdleAfter }) && p.IdleAfter.Duration <= 0 {
		v.add(at("idle_after"), "%s is out of range (value > 0s, e.g. 30m)", p.IdleAfter)
	}
	if own(func(b *Policy) bool { return p.MemoryMB != b.MemoryMB }) && p.MemoryMB != 0 && (p.MemoryMB < MinMemoryMB || p.MemoryMB > MaxMemoryMB) {
		v.add(at("memory_mb"), "%d is out of range (0 to read it from Lambda, or %d <= value <= %d)", p.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	if own(func(b *Policy) bool { return p.Predict != b.Predict }) {
		oneOf(v, at("predict"), p.Predict, PredictPeriodic, PredictOff)
	}
	if own(func(b *Policy) bool { return p.PredictLead != b.PredictLead }) && (p.PredictLead.Duration < 0 || p.PredictLead.Duration > MaxPredictLead) {
		v.add(at("predict_lead"), "%s is out of range (0s <= value <= %s)", p.PredictLead, Duration{MaxPredictLead})
	}
	if own(func(b *Policy) bool { return p.PredictLookback != b.PredictLookback }) && (p.PredictLookback.Duration < MinPredictLookback || p.PredictLookback.Duration > MaxPredictLookback) {
		v.add(at("predict_lookback"), "%s is out of range (%s <= value <= %s)", p.PredictLookback, Duration{MinPredictLookback}, Duration{MaxPredictLookback})
	}

	if own(func(b *Policy) bool { return p.OnForeignChange != b.OnForeignChange }) {
		oneOf(v, at("on_foreign_change"), p.OnForeignChange, ForeignOverride, ForeignYield)
	}
	if own(func(b *Policy) bool { return p.YieldFor != b.YieldFor }) && (p.YieldFor.Duration <= 0 || p.YieldFor.Duration > 24*time.Hour) {
		v.add(at("yield_for"), "%s is out of range (0s < value <= 24h)", p.YieldFor)
	}
	if own(func(b *Policy) bool { return p.WeightedAlarmAfter != b.WeightedAlarmAfter }) && (p.WeightedAlarmAfter.Duration < time.Minute || p.WeightedAlarmAfter.Duration > 7*24*time.Hour) {
		v.add(at("weighted_alarm_after"), "%s is out of range (1m <= value <= 168h)", p.WeightedAlarmAfter)
	}

	ownMin := own(func(b *Policy) bool { return p.Min != b.Min })
	ownMax := own(func(b *Policy) bool { return p.Max != b.Max })
	ownZero := own(func(b *Policy) bool { return p.AllowZero != b.AllowZero })
	minOK, maxOK := true, true
	switch {
	case p.Min < 0:
		minOK = false
		if ownMin {
			v.add(at("min"), "%d is out of range (value >= 0)", p.Min)
		}
	case p.Min == 0 && !p.AllowZero:
		minOK = false
		if ownMin || ownZero {
			v.add(at("min"), "0 is only allowed with allow_zero: true (desired 0 deletes the provisioned concurrency config)")
		}
	}
	if p.Max < 1 {
		maxOK = false
		if ownMax {
			v.add(at("max"), "%d is out of range (value >= 1)", p.Max)
		}
	}
	if minOK && maxOK && p.Min > p.Max {
		switch {
		case ownMin:
			v.add(at("min"), "%d is greater than max %d", p.Min, p.Max)
		case ownMax:
			v.add(at("max"), "%d is less than min %d", p.Max, p.Min)
		}
	}
}

func (v *validator) datapoints(path string, n int) {
	if n < 1 || n > MaxDatapoints {
		v.add(path, "%d is out of range (1 <= value <= %d)", n, MaxDatapoints)
	}
}

func (v *validator) step(path string, s Step, maxPct float64) {
	switch {
	case s.Absolute != 0 && s.Percent != 0:
		v.add(path, "set an absolute count or a percentage, not both")
	case s.Absolute < 0:
		v.add(path, "%d is out of range (0 = unlimited, or a count >= 1)", s.Absolute)
	case s.Percent != 0 && !(s.Percent > 0 && s.Percent <= maxPct):
		v.add(path, "%s is out of range (0%% < percentage <= %v%%)", s, maxPct)
	}
}

func (v *validator) target(path string, t Target, defaults *Policy) {
	switch {
	case t.Function == "":
		v.add(path+".function", "is required (a function name, partial ARN or full ARN)")
	case !validFunctionRef(t.Function):
		v.add(path+".function", "%q is not a function name or ARN (letters, digits, - and _; ARNs also :)", t.Function)
	case functionQualified(t.Function):
		v.add(path+".function", "%q includes a qualifier (put it in qualifier instead)", t.Function)
	}
	if t.Qualifier == "" {
		v.add(path+".qualifier", "is required (an alias or a published version)")
	} else {
		v.qualifier(path+".qualifier", t.Qualifier)
	}
	v.policy(path, t.Policy, defaults)

	names := map[string]int{}
	for j, s := range t.Schedules {
		sp := path + ".schedules[" + strconv.Itoa(j) + "]"
		if s.Name == "" {
			v.add(sp+".name", "is required (it names the window in logs and the schedule preview)")
		} else if first, dup := names[s.Name]; dup {
			v.add(sp+".name", "%q is already used by schedules[%d]", s.Name, first)
		} else {
			names[s.Name] = j
		}
		v.schedule(sp, s, t.Max)
	}
}

// qualifier checks a qualifier that is set.
func (v *validator) qualifier(path, q string) {
	switch {
	case q == "$LATEST":
		v.add(path, `"$LATEST" is not allowed (use an alias or a published version)`)
	case !qualifierRE.MatchString(q) || len(q) > maxQualifierSize:
		v.add(path, "%q is not an alias or version (letters, digits, - and _, at most %d characters)", q, maxQualifierSize)
	}
}

func (v *validator) schedule(path string, s ScheduleSpec, max int) {
	if strings.TrimSpace(s.Cron) == "" {
		v.add(path+".cron", `is required (5 fields such as "0 8 * * MON-FRI", or a descriptor such as @daily)`)
	} else if sched, err := ParseCron(s.Cron); err != nil {
		v.add(path+".cron", "%q does not parse: %v", s.Cron, err)
	} else if sched.Next(cronProbe).IsZero() {
		v.add(path+".cron", "%q never fires (no such date)", s.Cron)
	}
	if _, err := LoadLocation(s.Timezone); err != nil {
		v.add(path+".timezone", "%v", err)
	}
	switch {
	case s.Duration.Duration == 0:
		v.add(path+".duration", "is required (how long the window stays open, e.g. 10h)")
	case s.Duration.Duration < 0 || s.Duration.Duration > MaxScheduleOpen:
		v.add(path+".duration", "%s is out of range (0s < value <= %s)", s.Duration, Duration{MaxScheduleOpen})
	}
	if s.Lead.Duration < 0 || s.Lead.Duration >= MaxScheduleLead {
		v.add(path+".lead", "%s is out of range (0s <= value < %s)", s.Lead, Duration{MaxScheduleLead})
	}
	if s.Floor == nil && s.Ceiling == nil {
		v.add(path, "needs a floor and/or a ceiling")
		return
	}
	floorOK := s.Floor != nil && *s.Floor >= 0
	if s.Floor != nil && *s.Floor < 0 {
		v.add(path+".floor", "%d is out of range (value >= 0)", *s.Floor)
	}
	if s.Ceiling != nil && *s.Ceiling < 1 {
		v.add(path+".ceiling", "%d is out of range (value >= 1)", *s.Ceiling)
	}
	switch {
	case floorOK && s.Ceiling != nil && *s.Ceiling >= 1 && *s.Floor > *s.Ceiling:
		v.add(path+".floor", "%d is greater than ceiling %d", *s.Floor, *s.Ceiling)
	case floorOK && max >= 1 && *s.Floor > max:
		v.add(path+".floor", "%d is greater than max %d", *s.Floor, max)
	}
}

// cronProbe starts the search for a first firing; robfig/cron looks five
// years ahead, which covers 29 February.
var cronProbe = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// LoadLocation loads a schedule's time zone as Validate checks it: "" is
// UTC, "Local" is refused (it would depend on the host).
func LoadLocation(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf(`"Local" is not allowed (name an IANA zone such as Europe/Berlin)`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

func oneOf(v *validator, path, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.add(path, "%q is not one of %s", got, strings.Join(allowed, ", "))
}

func validListen(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

func validEndpoint(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// functionName reduces a function name, partial ARN or full ARN to the name,
// so two spellings of one function are seen as duplicates.
func functionName(f string) string { return awsname.FunctionName(f) }

// functionQualified reports whether an ARN already names a qualifier
// (…:function:name:alias), which would conflict with the qualifier key.
func functionQualified(f string) bool {
	fn, _, ok := awsname.ParseFunction(f)
	return ok && fn.Qualifier != ""
}

// validFunctionRef: a name, partial ARN or full ARN (functionQualified
// reports a qualifier in it).
func validFunctionRef(f string) bool {
	_, _, ok := awsname.ParseFunction(f)
	return ok && len(f) <= 256
}

// sameFloat is == except that NaN equals NaN: an inherited NaN is the
// defaults' problem, not the target's.
func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameStep(a, b Step) bool { return a.Absolute == b.Absolute && sameFloat(a.Percent, b.Percent) }
