package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deployScenario: api:live (version 1) has PC 40 and a load of ~10
// concurrent (100/s × 100 ms), so nothing spills until a deploy; canary is
// weighted; other has PC on its version 1. Allocation: 10 environments/s
// after a 60 s preparation, so 40 take 64 s.
const deployScenario = `
seed: 3
allocation: {prep_delay: 60s, rate_per_minute: 600, decrease_delay: 10s}
functions:
  - name: api
    versions: 3
    aliases:
      - {name: live, version: "1"}
      - {name: canary, version: "2", routing: {"1": 0.2}}
      - {name: spare, version: "3"}
    provisioned: {live: 40}
    loads:
      - {qualifier: live, kind: constant, rate: 6000, duration_ms: 100}
  - name: other
    versions: 2
    aliases: [{name: live, version: "2"}]
    provisioned: {"1": 5}
`

const apiARN = "arn:aws:lambda:us-east-1:123456789012:function:api"

func strp(s string) *string { return &s }

func weights(v string, wt float64) *AliasRoutingConfig {
	return &AliasRoutingConfig{AdditionalVersionWeights: map[string]float64{v: wt}}
}

func TestAliasOperationErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, w *World)
		call      func(w *World) error
		status    int
		code, msg string
	}{
		{name: "create numeric name", status: 400, code: CodeValidation,
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "7", FunctionVersion: "1"})
				return err
			},
			msg: "1 validation error detected: Value '7' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"},
		{name: "create without version", status: 400, code: CodeValidation,
			call: func(w *World) error { _, err := w.CreateAlias("api", CreateAliasInput{Name: "blue"}); return err }},
		{name: "create malformed version", status: 400, code: CodeValidation,
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "v2"})
				return err
			}},
		{name: "create on an unknown version", status: 404, code: CodeResourceNotFound, msg: "Function not found: " + apiARN + ":9",
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "9"})
				return err
			}},
		{name: "create on an unknown function", status: 404, code: CodeResourceNotFound,
			call: func(w *World) error {
				_, err := w.CreateAlias("nope", CreateAliasInput{Name: "blue", FunctionVersion: "1"})
				return err
			}},
		{name: "create existing", status: 409, code: CodeResourceConflict, msg: "Alias already exists: " + apiARN + ":live",
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "live", FunctionVersion: "2"})
				return err
			}},
		{name: "create with two weights", status: 400, code: CodeInvalidParameter, msg: "Number of items in AdditionalVersionWeights cannot be greater than 1",
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "1",
					RoutingConfig: &AliasRoutingConfig{AdditionalVersionWeights: map[string]float64{"2": 0.1, "3": 0.1}}})
				return err
			}},
		{name: "create with a weight above 1", status: 400, code: CodeValidation,
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "1", RoutingConfig: weights("2", 1.5)})
				return err
			}},
		{name: "create weighting its own version", status: 400, code: CodeInvalidParameter,
			msg: "Invalid function version 2. Function version 2 is already included in routing configuration.",
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "2", RoutingConfig: weights("2", 0.5)})
				return err
			}},
		{name: "create weighted on $LATEST", status: 400, code: CodeInvalidParameter, msg: "$LATEST is not supported for an alias pointing to more than 1 version",
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "$LATEST", RoutingConfig: weights("2", 0.5)})
				return err
			}},
		{name: "create weighting a non-version", status: 400, code: CodeValidation,
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "1", RoutingConfig: weights("live", 0.5)})
				return err
			}},
		{name: "create weighting an unknown version", status: 404, code: CodeResourceNotFound, msg: "Function not found: " + apiARN + ":9",
			call: func(w *World) error {
				_, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "1", RoutingConfig: weights("9", 0.5)})
				return err
			}},
		{name: "update an unknown alias", status: 404, code: CodeResourceNotFound, msg: "Alias not found: " + apiARN + ":ghost",
			call: func(w *World) error {
				_, err := w.UpdateAlias("api", "ghost", UpdateAliasInput{FunctionVersion: "2"})
				return err
			}},
		{name: "update with a stale revision", status: 412, code: CodePreconditionFailed,
			msg: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
			call: func(w *World) error {
				_, err := w.UpdateAlias("api", "live", UpdateAliasInput{FunctionVersion: "2", RevisionId: "stale"})
				return err
			}},
		{name: "update onto the version its weights name", status: 400, code: CodeInvalidParameter,
			msg: "Invalid function version 1. Function version 1 is already included in routing configuration.",
			call: func(w *World) error {
				_, err := w.UpdateAlias("api", "canary", UpdateAliasInput{FunctionVersion: "1"})
				return err
			}},
		{name: "update a provisioned alias onto $LATEST", status: 400, code: CodeInvalidParameter,
			msg: "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
			call: func(w *World) error {
				_, err := w.UpdateAlias("api", "live", UpdateAliasInput{FunctionVersion: "$LATEST"})
				return err
			}},
		{name: "update a provisioned alias onto a provisioned version", status: 409, code: CodeResourceConflict,
			msg: "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
			setup: func(t *testing.T, w *World) {
				_, err := w.PutProvisionedConcurrency("api", "3", 5)
				require.NoError(t, err)
			},
			call: func(w *World) error {
				_, err := w.UpdateAlias("api", "live", UpdateAliasInput{FunctionVersion: "3"})
				return err
			}},
		{name: "update a long description", status: 400, code: CodeValidation,
			call: func(w *World) error {
				_, err := w.UpdateAlias("api", "live", UpdateAliasInput{Description: strp(fmt.Sprintf("%0300d", 0))})
				return err
			}},
		{name: "delete a missing alias is fine",
			call: func(w *World) error { return w.DeleteAlias("api", "ghost") }},
		{name: "delete a malformed name", status: 400, code: CodeValidation,
			call: func(w *World) error { return w.DeleteAlias("api", "12") }},
		{name: "delete on a qualified name", status: 400, code: CodeInvalidParameter,
			call: func(w *World) error { return w.DeleteAlias("api:live", "live") }},
		{name: "publish with a stale revision", status: 412, code: CodePreconditionFailed,
			call: func(w *World) error {
				_, err := w.PublishVersion("api", PublishVersionInput{RevisionId: "stale"})
				return err
			}},
		{name: "publish other code", status: 400, code: CodeInvalidParameter,
			msg: "CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST (47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=). Please try again with the CodeSHA256 in $LATEST.",
			call: func(w *World) error {
				_, err := w.PublishVersion("api", PublishVersionInput{CodeSha256: "abc"})
				return err
			}},
		{name: "put on a weighted alias", status: 400, code: CodeInvalidParameter, msg: "Alias with weights can not be used with Provisioned Concurrency",
			call: func(w *World) error { _, err := w.PutProvisionedConcurrency("api", "canary", 5); return err }},
		{name: "delete on a weighted alias", status: 400, code: CodeInvalidParameter, msg: "Alias with weights can not be used with Provisioned Concurrency",
			call: func(w *World) error { return w.DeleteProvisionedConcurrency("api", "canary") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, deployScenario)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			err := tt.call(w)
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			requireAPIError(t, err, tt.status, tt.code, tt.msg)
		})
	}
}

func TestAliasLifecycle(t *testing.T) {
	w, clk := newTestWorld(t, deployScenario)
	clk.Advance(time.Minute)

	v, err := w.PublishVersion("api", PublishVersionInput{Description: "build 42", RevisionId: mustLatest(t, w).RevisionId})
	require.NoError(t, err)
	require.Equal(t, "4", v.Version)
	require.Equal(t, apiARN+":4", v.FunctionArn)
	require.Equal(t, "build 42", v.Description)
	require.Equal(t, t0.Add(time.Minute).Format("2006-01-02T15:04:05.000-0700"), v.LastModified)
	versions, _, err := w.ListVersions("api", "", 0)
	require.NoError(t, err)
	require.Len(t, versions, 5) // $LATEST, 1..4

	a, err := w.CreateAlias("api", CreateAliasInput{Name: "blue", FunctionVersion: "4", Description: "next", RoutingConfig: weights("3", 0.5)})
	require.NoError(t, err)
	require.Equal(t, AliasView{AliasArn: apiARN + ":blue", Name: "blue", FunctionVersion: "4", Description: "next",
		RoutingConfig: weights("3", 0.5), RevisionId: a.RevisionId}, a)

	// Updates change only what they name; an empty routing config clears.
	b, err := w.UpdateAlias("api", "blue", UpdateAliasInput{Description: strp("now"), RevisionId: a.RevisionId})
	require.NoError(t, err)
	require.Equal(t, weights("3", 0.5), b.RoutingConfig)
	require.NotEqual(t, a.RevisionId, b.RevisionId)
	c, err := w.UpdateAlias("api", "blue", UpdateAliasInput{FunctionVersion: "2", RoutingConfig: &AliasRoutingConfig{}})
	require.NoError(t, err)
	require.Equal(t, "2", c.FunctionVersion)
	require.Nil(t, c.RoutingConfig)
	require.Equal(t, "now", c.Description)

	byVersion, _, err := w.ListAliasesByVersion("api", "2", "", 0)
	require.NoError(t, err)
	var names []string
	for _, a := range byVersion {
		names = append(names, a.Name)
	}
	require.Equal(t, []string{"blue", "canary"}, names)

	require.NoError(t, w.DeleteAlias("api", "blue"))
	_, err = w.GetAlias("api", "blue")
	requireAPIError(t, err, 404, CodeResourceNotFound, "Cannot find alias arn: "+apiARN+":blue")

	var log []string
	for _, r := range w.DeployLog() {
		log = append(log, fmt.Sprintf("%s %s %s %s %v %s %s", r.Time.Sub(t0), r.Op, r.Alias, r.Version, r.Weights, r.Result, r.Caller))
	}
	require.Equal(t, []string{
		"1m0s PublishVersion  4 map[] ok direct",
		"1m0s CreateAlias blue 4 map[3:0.5] ok direct",
		"1m0s UpdateAlias blue 4 map[3:0.5] ok direct",
		"1m0s UpdateAlias blue 2 map[] ok direct",
		"1m0s DeleteAlias blue  map[] ok direct",
	}, log)
}

func mustLatest(t *testing.T, w *World) FunctionView {
	t.Helper()
	v, err := w.GetFunctionConfiguration("api", "")
	require.NoError(t, err)
	return v
}

// spillDelta runs the world for d and returns the target's invocations,
// on-PC invocations and spillover (Stats' count of those run on demand)
// during it.
func spillDelta(w *World, clk *VirtualClock, key string, d time.Duration) (inv, onPC, spill int64) {
	before := w.Stats().Targets[key]
	clk.Advance(d)
	after := w.Stats().Targets[key]
	return after.Invocations - before.Invocations, after.ProvisionedInvocations - before.ProvisionedInvocations, after.Spillover - before.Spillover
}

func TestAliasMoveReallocatesPC(t *testing.T) {
	w, clk := newTestWorld(t, deployScenario)
	inv, _, spill := spillDelta(w, clk, "api:live", 10*time.Minute)
	require.Positive(t, inv)
	require.Zero(t, spill, "PC 40 covers ~10 concurrent")

	_, err := w.UpdateAlias("api", "live", UpdateAliasInput{FunctionVersion: "2"})
	require.NoError(t, err)
	pc, err := w.GetProvisionedConcurrency("api", "live")
	require.NoError(t, err)
	require.Equal(t, PCView{Requested: 40, Status: "IN_PROGRESS", LastModified: t0.Format(LastModifiedLayout), Modified: t0}, pc,
		"deallocated from the old version, nothing yet on the new; LastModified is the last Put's")

	// The old version is free for a config of its own; the new one is taken.
	_, err = w.PutProvisionedConcurrency("api", "2", 5)
	requireAPIError(t, err, 409, CodeResourceConflict, "Version is pointed by a Provisioned Concurrency alias")
	_, err = w.PutProvisionedConcurrency("api", "1", 5)
	require.NoError(t, err)

	// Until the allocation is done (60 s + 40 at 10/s) every invocation spills.
	inv, onPC, spill := spillDelta(w, clk, "api:live", 61*time.Second)
	require.Equal(t, inv, spill)
	require.Zero(t, onPC)
	pc, err = w.GetProvisionedConcurrency("api", "live")
	require.NoError(t, err)
	require.Equal(t, []any{"IN_PROGRESS", 10, 0}, []any{pc.Status, pc.Allocated, pc.Available})

	_, _, _ = spillDelta(w, clk, "api:live", 3*time.Second)
	pc, err = w.GetProvisionedConcurrency("api", "live")
	require.NoError(t, err)
	require.Equal(t, []any{"READY", 40, 40}, []any{pc.Status, pc.Allocated, pc.Available})
	inv, onPC, spill = spillDelta(w, clk, "api:live", 10*time.Minute)
	require.Zero(t, spill)
	require.Equal(t, inv, onPC)
}

func TestWeightedExistingConfig(t *testing.T) {
	tests := []struct {
		mode           string
		status         string
		allocated      int
		onPC, onDemand float64 // expected shares of the alias's invocations while weighted
	}{
		// keep: the config serves version 1; the 25% on version 2 runs on demand.
		{mode: WeightedKeep, status: "READY", allocated: 40, onPC: 0.75, onDemand: 0.25},
		// fail: the config is FAILED with nothing allocated: all of it runs on demand.
		{mode: WeightedFail, status: "FAILED", allocated: 0, onPC: 0, onDemand: 1},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			w, clk := newTestWorld(t, deployScenario+"deploys: {weighted_existing_config: "+tt.mode+"}\n")
			clk.Advance(time.Minute)
			_, err := w.UpdateAlias("api", "live", UpdateAliasInput{RoutingConfig: weights("2", 0.25)})
			require.NoError(t, err)
			pc, err := w.GetProvisionedConcurrency("api", "live")
			require.NoError(t, err)
			require.Equal(t, tt.status, pc.Status)
			require.Equal(t, tt.allocated, pc.Allocated)
			if tt.mode == WeightedFail {
				require.Equal(t, StatusReasonWeighted, pc.StatusReason)
			}

			inv, onPC, onDemand := spillDelta(w, clk, "api:live", 30*time.Minute)
			require.InDelta(t, tt.onPC, float64(onPC)/float64(inv), 0.02)
			require.InDelta(t, tt.onDemand, float64(onDemand)/float64(inv), 0.02)

			_, err = w.PutProvisionedConcurrency("api", "live", 50)
			requireAPIError(t, err, 400, CodeInvalidParameter, "Alias with weights can not be used with Provisioned Concurrency")

			// Clearing the weights leaves the config as it is; a Put works again.
			_, err = w.UpdateAlias("api", "live", UpdateAliasInput{RoutingConfig: &AliasRoutingConfig{}})
			require.NoError(t, err)
			pc, err = w.GetProvisionedConcurrency("api", "live")
			require.NoError(t, err)
			require.Equal(t, tt.status, pc.Status)
			got, err := w.PutProvisionedConcurrency("api", "live", 50)
			require.NoError(t, err)
			require.Equal(t, tt.allocated, got.Allocated)
		})
	}
}

func TestScriptedDeploys(t *testing.T) {
	type check struct {
		at        time.Duration
		version   string
		weights   map[string]float64
		status    string
		available int
	}
	tests := []struct {
		name   string
		script string
		checks []check
		log    []string
	}{
		{
			name:   "canary promoted",
			script: `{at: 10m, function: api, alias: live, weights: {"2": 0.1}, promote_after: 5m}`,
			checks: []check{
				{at: 9 * time.Minute, version: "1", status: "READY", available: 40},
				{at: 12 * time.Minute, version: "1", weights: map[string]float64{"2": 0.1}, status: "READY", available: 40},
				{at: 15*time.Minute + 30*time.Second, version: "2", status: "IN_PROGRESS", available: 0},
				{at: 16*time.Minute + 5*time.Second, version: "2", status: "READY", available: 40},
			},
			log: []string{"10m0s UpdateAlias 1 map[2:0.1] ok scenario", "15m0s UpdateAlias 2 map[] ok scenario"},
		},
		{
			name:   "canary rolled back",
			script: `{at: 10m, function: api, alias: live, weights: {"2": 0.1}, clear_after: 5m}`,
			checks: []check{
				{at: 16 * time.Minute, version: "1", status: "READY", available: 40},
			},
			log: []string{"10m0s UpdateAlias 1 map[2:0.1] ok scenario", "15m0s UpdateAlias 1 map[] ok scenario"},
		},
		{
			name:   "weights left on, then cleared",
			script: `{at: 10m, function: api, alias: live, weights: {"3": 0.5}}, {at: 1h, function: api, alias: live, clear_weights: true}`,
			checks: []check{
				{at: 59 * time.Minute, version: "1", weights: map[string]float64{"3": 0.5}, status: "READY", available: 40},
				{at: time.Hour, version: "1", status: "READY", available: 40},
			},
			log: []string{"10m0s UpdateAlias 1 map[3:0.5] ok scenario", "1h0m0s UpdateAlias 1 map[] ok scenario"},
		},
		{
			name:   "plain move at the second it is due",
			script: `{at: 90s, function: api, alias: live, to_version: "3"}`,
			checks: []check{
				{at: 89 * time.Second, version: "1", status: "READY", available: 40},
				{at: 90 * time.Second, version: "3", status: "IN_PROGRESS", available: 0},
			},
			log: []string{"1m30s UpdateAlias 3 map[] ok scenario"},
		},
		{
			name:   "a step Lambda refuses is logged and skipped",
			script: `{at: 1m, function: other, alias: live, weights: {"2": 0.5}}, {at: 2m, function: api, alias: live, to_version: "$LATEST"}`,
			checks: []check{{at: 3 * time.Minute, version: "1", status: "READY", available: 40}},
			log: []string{
				"1m0s UpdateAlias  map[2:0.5] InvalidParameterValueException scenario",
				"2m0s UpdateAlias $LATEST map[] InvalidParameterValueException scenario",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, clk := newTestWorld(t, deployScenario+"deploys:\n  script: ["+tt.script+"]\n")
			for _, c := range tt.checks {
				clk.Set(t0.Add(c.at))
				a, err := w.GetAlias("api", "live")
				require.NoError(t, err)
				var got map[string]float64
				if a.RoutingConfig != nil {
					got = a.RoutingConfig.AdditionalVersionWeights
				}
				require.Equal(t, c.version, a.FunctionVersion, "at %s", c.at)
				require.Equal(t, c.weights, got, "at %s", c.at)
				pc, err := w.GetProvisionedConcurrency("api", "live")
				require.NoError(t, err)
				require.Equal(t, []any{c.status, c.available}, []any{pc.Status, pc.Available}, "at %s", c.at)
			}
			var log []string
			for _, r := range w.DeployLog() {
				log = append(log, fmt.Sprintf("%s %s %s %v %s %s", r.Time.Sub(t0), r.Op, r.Version, r.Weights, r.Result, r.Caller))
			}
			require.Equal(t, tt.log, log)
		})
	}
}

func TestDeleteAliasTakesItsConfigAndTraffic(t *testing.T) {
	w, clk := newTestWorld(t, deployScenario)
	clk.Advance(time.Minute)
	require.NoError(t, w.DeleteAlias("api", "live"))
	_, err := w.GetProvisionedConcurrency("api", "live")
	requireAPIError(t, err, 404, CodeResourceNotFound, "")
	before := w.AccountSettings()
	inv, _, _ := spillDelta(w, clk, "api:live", 5*time.Minute)
	require.Zero(t, inv, "invoking a deleted alias fails")
	require.Equal(t, before, w.AccountSettings())

	// Created again, the alias runs its load again (without PC).
	_, err = w.CreateAlias("api", CreateAliasInput{Name: "live", FunctionVersion: "2"})
	require.NoError(t, err)
	inv, onPC, _ := spillDelta(w, clk, "api:live", 5*time.Minute)
	require.Positive(t, inv)
	require.Zero(t, onPC)
}

func TestDeployScenarioValidation(t *testing.T) {
	tests := []struct {
		name, deploys, want string
	}{
		{name: "mode", deploys: "{weighted_existing_config: drop}", want: `deploys.weighted_existing_config: "drop" is not keep or fail`},
		{name: "function", deploys: `{script: [{at: 1m, function: nope, alias: live, to_version: "2"}]}`, want: `deploys.script[0].function: "nope" is not a function of this scenario`},
		{name: "alias", deploys: `{script: [{at: 1m, function: api, alias: ghost, to_version: "2"}]}`, want: `deploys.script[0].alias: "ghost" is not an alias of api`},
		{name: "version", deploys: `{script: [{at: 1m, function: api, alias: live, to_version: "7"}]}`, want: `deploys.script[0].to_version: "7" is not $LATEST or a version from 1 to 3`},
		{name: "fractional at", deploys: `{script: [{at: 1500ms, function: api, alias: live, to_version: "2"}]}`, want: `deploys.script[0].at: must be a whole number of seconds from 0, got 1.5s`},
		{name: "nothing", deploys: `{script: [{at: 1m, function: api, alias: live}]}`, want: `deploys.script[0]: changes nothing: give to_version, weights or clear_weights`},
		{name: "weights on to_version", deploys: `{script: [{at: 1m, function: api, alias: live, to_version: "2", weights: {"2": 0.1}}]}`, want: `deploys.script[0].weights: "2" is not a version from 1 to 3 other than to_version`},
		{name: "weight", deploys: `{script: [{at: 1m, function: api, alias: live, weights: {"2": 2}}]}`, want: `deploys.script[0].weights.2: weight must be from 0 to 1, got 2`},
		{name: "two weights", deploys: `{script: [{at: 1m, function: api, alias: live, weights: {"2": 0.1, "3": 0.1}}]}`, want: `deploys.script[0].weights: Lambda routes to at most one additional version, got 2`},
		{name: "promote without weights", deploys: `{script: [{at: 1m, function: api, alias: live, to_version: "2", promote_after: 5m}]}`, want: `deploys.script[0].promote_after: needs weights to end`},
		{name: "promote and clear", deploys: `{script: [{at: 1m, function: api, alias: live, weights: {"2": 0.1}, promote_after: 5m, clear_after: 5m}]}`, want: `deploys.script[0]: promote_after and clear_after both end the weights`},
		{name: "clear and set", deploys: `{script: [{at: 1m, function: api, alias: live, weights: {"2": 0.1}, clear_weights: true}]}`, want: `deploys.script[0].clear_weights: clears the weights that weights sets`},
		{name: "unknown key", deploys: `{script: [{at: 1m, function: api, alias: live, version: "2"}]}`, want: "deploys.script[0].version: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(deployScenario + "deploys: " + tt.deploys + "\n"))
			require.ErrorContains(t, err, tt.want)
		})
	}
}
