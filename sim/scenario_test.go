package sim

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadScenarioFull(t *testing.T) {
	sc, err := LoadScenario("testdata/scenario-full.yaml")
	require.NoError(t, err)
	require.Equal(t, int64(42), sc.Seed)
	require.Equal(t, "eu-west-1", sc.Region)
	require.Equal(t, 90*time.Second, sc.Allocation.PrepDelay.Duration)
	require.Equal(t, 2*time.Minute, sc.Metrics.PublishDelay.Duration)
	require.Equal(t, 30*time.Second, sc.Metrics.PublishJitter.Duration)
	require.Len(t, sc.Functions, 2)
	require.Equal(t, 128, sc.Functions[1].MemoryMB, "default memory")
	require.Equal(t, map[string]float64{"3": 0.05}, sc.Functions[0].Aliases[1].Routing)
	require.Equal(t, "200", sc.Functions[0].Tags["pcautoscaler/max"])
	require.Equal(t, 5.0, sc.Account.TaggingRPS)
	require.Equal(t, 50.0, sc.Account.getFunctionRPS())
	require.Equal(t, WeightedFail, sc.Deploys.WeightedExistingConfig)
	require.Len(t, sc.Deploys.Script, 4)
	require.Equal(t, 10*time.Minute, sc.Deploys.Script[0].PromoteAfter.Duration)
	require.True(t, sc.Deploys.Script[3].ClearWeights)
	require.Len(t, sc.Faults, 7)
	require.Equal(t, FaultUnavailable, sc.Faults[6].Kind)
	require.Equal(t, "*", sc.Faults[3].Op, "default op")
	require.Equal(t, 2*time.Second, sc.Faults[0].RetryAfter.Duration)

	w, err := NewWorld(sc, NewVirtualClock(t0))
	require.NoError(t, err)
	fc, err := w.GetFunctionConfiguration("arn:aws:lambda:eu-west-1:210987654321:function:orders", "live")
	require.NoError(t, err)
	require.Equal(t, 1769, fc.MemorySize)
}

func TestLoadScenarioErrors(t *testing.T) {
	_, err := LoadScenario("testdata/missing.yaml")
	require.ErrorContains(t, err, "no such file")

	_, err = LoadScenario("testdata/scenario-bad.yaml")
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"scenario testdata/scenario-bad.yaml: ",
		`account.unreserved_min: must be between 0 and concurrent_executions (100), got 200`,
		`functions[0].name: "bad name!" must be 1 to 64 letters, digits, - or _`,
		`functions[0].memory_mb: must be from 128 to 10240, got 64`,
		`functions[0].loads[0].qualifier: "live" is not $LATEST, a version or an alias of bad name!`,
		`functions[0].loads[0].duration_ms: must be more than 0 and at most 900000 (15 minutes), got 0`,
		`functions[0].loads[0].kind: "wave" is not one of constant, diurnal, step, bursts, trace`,
	} {
		require.Contains(t, msg, want)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	fn := "functions:\n  - name: f\n    versions: 2\n    aliases: [{name: live, version: \"2\"}, {name: w, version: \"2\", routing: {\"1\": 0.5}}]\n"
	tests := []struct {
		name string
		yml  string
		want string // substring of the error
	}{
		{name: "empty", yml: "", want: "empty scenario"},
		{name: "unknown key", yml: "seeed: 1\n", want: `seeed: unknown key (did you mean "seed"?) (line 1)`},
		{name: "unknown nested key", yml: "account: {concurrency: 5}\n", want: "account.concurrency: unknown key (allowed: concurrent_executions"},
		{name: "two documents", yml: "seed: 1\n---\nseed: 2\n", want: "only one YAML document is allowed"},
		{name: "bare number duration", yml: "metrics: {publish_delay: 60}\n", want: `metrics.publish_delay: invalid duration "60" (want a number with a unit: 90s, 5m, 1h30m) (line 1)`},
		{name: "bad duration", yml: "allocation: {prep_delay: soon}\n", want: `allocation.prep_delay: invalid duration "soon"`},
		{name: "wrong type", yml: "seed: abc\n", want: `seed: want a whole number, got "abc"`},
		{name: "region", yml: "region: mars\n", want: `region: "mars" is not a region name`},
		{name: "account id", yml: "account_id: \"12\"\n", want: "account_id: \"12\" must be 12 digits"},
		{name: "negative publish jitter", yml: "metrics: {publish_jitter: -1s}\n", want: "metrics.publish_jitter: must not be negative"},
		{name: "bare number jitter", yml: "metrics: {publish_jitter: 30}\n", want: `metrics.publish_jitter: invalid duration "30"`},
		{name: "negative prep delay", yml: "allocation: {prep_delay: -1s}\n", want: "allocation.prep_delay: must not be negative"},
		{name: "rate", yml: "allocation: {rate_per_minute: -5}\n", want: "allocation.rate_per_minute: must be at least 1, got -5"},
		{name: "duplicate function", yml: "functions: [{name: a}, {name: a}]\n", want: `functions[1].name: "a" is already the name of functions[0]`},
		{name: "versions", yml: "functions: [{name: a, versions: 5000}]\n", want: "functions[0].versions: must be from 1 to 1000, got 5000"},
		{name: "negative reserved", yml: "functions: [{name: a, reserved: -1}]\n", want: "functions[0].reserved: must not be negative"},
		{name: "numeric alias", yml: "functions: [{name: a, aliases: [{name: \"7\", version: \"1\"}]}]\n", want: `functions[0].aliases[0].name: "7" must be`},
		{name: "alias to missing version", yml: "functions: [{name: a, aliases: [{name: x, version: \"3\"}]}]\n", want: `functions[0].aliases[0].version: "3" is not $LATEST or a version from 1 to 1`},
		{name: "duplicate alias", yml: "functions: [{name: a, aliases: [{name: x, version: \"1\"}, {name: x, version: \"1\"}]}]\n", want: `aliases[1].name: "x" is defined twice`},
		{name: "routing weight", yml: "functions: [{name: a, versions: 2, aliases: [{name: x, version: \"2\", routing: {\"1\": 1.5}}]}]\n", want: "routing.1: weight must be from 0 to 1, got 1.5"},
		{name: "routing to own version", yml: "functions: [{name: a, versions: 2, aliases: [{name: x, version: \"2\", routing: {\"2\": 0.5}}]}]\n", want: "other than the alias's own"},
		{name: "PC on an alias of LATEST", yml: "functions: [{name: a, aliases: [{name: dev, version: $LATEST}], provisioned: {dev: 5}}]\n", want: "functions[0].provisioned.dev: Provisioned Concurrency Configs cannot be applied to unpublished function versions."},
		{name: "control plane rps", yml: "account: {control_plane_rps: -1}\n", want: "account.control_plane_rps: must be from 0 (no limit) to 1e6, got -1"},
		{name: "PC on LATEST", yml: "functions: [{name: a, provisioned: {$LATEST: 5}}]\n", want: "functions[0].provisioned.$LATEST: Provisioned Concurrency Configs cannot be applied to unpublished function versions."},
		{name: "PC on weighted alias", yml: fn + "    provisioned: {w: 5}\n", want: "functions[0].provisioned.w: Alias with weights can not be used with Provisioned Concurrency"},
		{name: "PC twice on a version", yml: fn + "    provisioned: {live: 5, \"2\": 5}\n", want: `version 2 already has provisioned concurrency through "2"`},
		{name: "PC below one", yml: fn + "    provisioned: {live: 0}\n", want: "functions[0].provisioned.live: must be at least 1, got 0"},
		{name: "PC on unknown qualifier", yml: fn + "    provisioned: {ghost: 5}\n", want: `"ghost" is not a version or alias of f`},
		{name: "PC above reserved", yml: "functions: [{name: a, reserved: 10, provisioned: {\"1\": 11}}]\n", want: "functions[0].provisioned: totals 11, more than reserved concurrency 10"},
		{name: "reserved too large", yml: "functions: [{name: a, reserved: 950}]\n", want: "reserved concurrency totals 950, leaving 50 unreserved, below account.unreserved_min 100"},
		{name: "PC into the unreserved minimum", yml: "functions: [{name: a, provisioned: {\"1\": 901}}]\n", want: "provisioned concurrency on functions without reserved concurrency totals 901"},
		{name: "duplicate load", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: constant, duration_ms: 10}, {qualifier: \"1\", kind: constant, duration_ms: 10}]}]\n", want: `loads[1].qualifier: "1" already has a load`},
		{name: "long duration", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: constant, duration_ms: 900001}]}]\n", want: "duration_ms: must be more than 0 and at most 900000"},
		{name: "negative rate", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: constant, duration_ms: 10, rate: -1}]}]\n", want: "loads[0].rate: must be a number from 0 to 1e+09, got -1"},
		{name: "NaN rate", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: constant, duration_ms: 10, rate: .nan}]}]\n", want: "loads[0].rate: must be a number from 0 to 1e+09, got NaN"},
		{name: "diurnal peak_at", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: diurnal, duration_ms: 10, peak_at: \"25:00\"}]}]\n", want: `peak_at: "25:00" must be a local time HH:MM`},
		{name: "diurnal timezone", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: diurnal, duration_ms: 10, peak_at: \"12:00\", timezone: Mars/Olympus}]}]\n", want: `timezone: "Mars/Olympus" is not an IANA time zone`},
		{name: "step without steps", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: step, duration_ms: 10}]}]\n", want: "loads[0].steps: a step load needs at least one step"},
		{name: "bursts wider than period", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: bursts, duration_ms: 10, every: 5m, width: 10m}]}]\n", want: "bursts need 0 < width (10m0s) < every (5m0s)"},
		{name: "trace empty", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: trace, duration_ms: 10}]}]\n", want: "loads[0].per_minute: a trace load needs invocations per minute"},
		{name: "trace negative", yml: "functions: [{name: a, loads: [{qualifier: \"1\", kind: trace, duration_ms: 10, per_minute: [1, -2]}]}]\n", want: "per_minute[1]: must be a number from 0 to 1e+09, got -2"},
		{name: "fault kind", yml: "faults: [{kind: meteor}]\n", want: `faults[0].kind: "meteor" is not one of throttle`},
		{name: "outage op", yml: "faults: [{kind: unavailable, op: Invoke}]\n", want: `faults[0].op: "Invoke" is not "*" or a simulated operation`},
		{name: "fault op", yml: "faults: [{kind: throttle, op: PutPC}]\n", want: `faults[0].op: "PutPC" is not "*" or a simulated operation`},
		{name: "fault probability", yml: "faults: [{kind: throttle, probability: 2}]\n", want: "faults[0].probability: must be from 0 to 1, got 2"},
		{name: "fault window", yml: "faults: [{kind: throttle, from: 2h, until: 1h}]\n", want: "faults[0].until: must be after from (2h0m0s), got 1h0m0s"},
		{name: "latency fault without latency", yml: "faults: [{kind: latency}]\n", want: "faults[0].latency: a latency fault needs a positive latency"},
		{name: "fault on unknown function", yml: "faults: [{kind: metric_gap, function: ghost}]\n", want: `faults[0].function: "ghost" is not a function of this scenario`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.yml))
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseScenarioCollectsEveryProblem(t *testing.T) {
	_, err := ParseScenario([]byte("region: x\naccount_id: y\nfaults: [{kind: nope}]\n"))
	require.Error(t, err)
	require.Len(t, strings.Split(err.Error(), "\n"), 3)
}

func TestDefaultScenario(t *testing.T) {
	sc := DefaultScenario()
	require.NoError(t, sc.Validate())
	out, err := sc.YAML()
	require.NoError(t, err)
	again, err := ParseScenario(out)
	require.NoError(t, err, "the default scenario must round-trip through YAML:\n%s", out)
	require.Equal(t, sc, again)

	// The three demo targets with peaks between 50 and 300 concurrency.
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	for _, tt := range []struct{ fn, q string }{{"checkout-api", "live"}, {"search-api", "live"}, {"report-worker", "prod"}} {
		var load *Load
		for i := range sc.Functions {
			if sc.Functions[i].Name == tt.fn {
				load = &sc.Functions[i].Loads[0]
			}
		}
		require.NotNil(t, load, tt.fn)
		require.Equal(t, tt.q, load.Qualifier)
		tr := NewTraffic(*load, sc.Seed, start)
		peak := 0
		for i := range int64(86400) {
			_, c := tr.Second(i)
			peak = max(peak, c)
		}
		require.GreaterOrEqual(t, peak, 50, tt.fn)
		require.LessOrEqual(t, peak, 300, tt.fn)
	}
}

func TestExampleScenarioFileMatchesDefault(t *testing.T) {
	// testdata/default.yaml documents the default scenario for users.
	data, err := os.ReadFile("testdata/default.yaml")
	require.NoError(t, err)
	sc, err := ParseScenario(data)
	require.NoError(t, err)
	require.Equal(t, DefaultScenario(), sc)
}

func FuzzParseScenario(f *testing.F) {
	for _, p := range []string{"testdata/scenario-full.yaml", "testdata/scenario-bad.yaml", "testdata/default.yaml"} {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("seed: 1\nfunctions: [{name: a, loads: [{qualifier: \"1\", kind: bursts, duration_ms: 1e300, every: 1ns, width: 0s}]}]\n"))
	f.Add([]byte("functions: [{name: a, versions: 3, aliases: [{name: b, version: \"$LATEST\", routing: {\"2\": .nan}}]}]\n"))
	f.Add([]byte("faults: [{kind: throttle, probability: .inf, retry_after: 9999999h}]\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("functions: [{name: a, versions: 2, aliases: [{name: l, version: \"1\"}], provisioned: {l: 5}, tags: {k: v}, loads: [{qualifier: l, kind: constant, rate: 60, duration_ms: 100}]}]\n" +
		"deploys: {weighted_existing_config: fail, script: [{at: 30s, function: a, alias: l, weights: {\"2\": 0.5}, promote_after: 30s}, {at: 90s, function: a, alias: l, to_version: \"$LATEST\"}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario(data)
		if err != nil {
			return
		}
		// A scenario that validates must build a world that runs.
		w, err := NewWorld(sc, NewVirtualClock(t0))
		require.NoError(t, err)
		w.AdvanceTo(t0.Add(2 * time.Minute))
	})
}

func TestDefaultScenarioShapes(t *testing.T) {
	sc := DefaultScenario()
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) // a Monday, winter time
	load := func(fn string) *Traffic {
		for _, f := range sc.Functions {
			if f.Name == fn {
				return NewTraffic(f.Loads[0], sc.Seed, start)
			}
		}
		t.Fatalf("no function %s", fn)
		return nil
	}
	peak := func(tr *Traffic) string {
		best, at := -1.0, 0
		for m := range 1440 {
			if r := tr.RatePerMinute(int64(m * 60)); r > best {
				best, at = r, m
			}
		}
		return start.Add(time.Duration(at) * time.Minute).Format("15:04")
	}
	require.Equal(t, "12:00", peak(load("checkout-api")), "13:00 in Berlin is 12:00 UTC in winter")
	require.Equal(t, "07:30", peak(load("report-worker")), "02:30 in New York is 07:30 UTC in winter")

	// search-api: bursts shorter than the 3 datapoints AAS needs.
	tr := load("search-api")
	run, longest, bursts := 0, 0, 0
	for i := range int64(86400) {
		if tr.RatePerMinute(i) > 10000 {
			if run == 0 {
				bursts++
			}
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	require.Less(t, longest, 180)
	require.Equal(t, 32, bursts) // every 45 minutes from 00:10
}
