package sim

import (
	"maps"
	"sort"
	"strconv"
	"time"
)

// What a deploy does to provisioned concurrency. AWS documents one thing:
// "If you change the version that an alias points to, Lambda deallocates the
// provisioned concurrency from the old version and allocates it to the new
// version" (AWS-FACTS §6). So a move is an allocation from 0 on the new
// version, as a Put's increase is (prep_delay, then rate_per_minute): the
// config is IN_PROGRESS, its Available is 0 until it is done, and the
// alias's traffic spills meanwhile. Assumed beyond the docs (sim/README.md):
//
//   - LastModified stays the last Put's: a move is not a Put;
//   - a move onto $LATEST, or onto a version another config already
//     serves, is refused with the Put's message for that case;
//   - weights added to an alias that has a config: weighted_existing_config
//     keep (default) leaves the config as it is, serving the alias's own
//     version, while the weighted share runs on the other version (on its
//     own PC if it has a config, else on demand); fail makes the config
//     FAILED at once with its environments gone, until a new Put (which is
//     refused while the weights stand). Either way Put and Delete on the
//     alias are refused while it has weights.

// Values of deploys.weighted_existing_config.
const (
	WeightedKeep = "keep"
	WeightedFail = "fail"
)

// StatusReasonWeighted is the StatusReason of a config failed by weights
// (weighted_existing_config: fail); AWS's text, if any, is unknown.
const StatusReasonWeighted = "Alias with weights can not be used with Provisioned Concurrency"

// CallerScenario names the scenario's deploys script in the deploy log.
const CallerScenario = "scenario"

// checkAliasMove refuses a move of a's PC config onto version v that
// Lambda could not serve: $LATEST, or a version with another config.
func (w *World) checkAliasMove(f *function, a *alias, v string) *APIError {
	if f.pcs[a.name] == nil || v == a.version {
		return nil
	}
	if v == "$LATEST" {
		return errInvalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	if f.pcOnVersion(v, a.name) != "" {
		return errProvisionedVersion()
	}
	return nil
}

// aliasChanged applies an alias update (old → a) to the alias's PC config.
func (w *World) aliasChanged(f *function, old, a *alias, now time.Time) {
	pc := f.pcs[a.name]
	if pc == nil {
		return
	}
	fail := w.sc.Deploys.WeightedExistingConfig == WeightedFail
	switch {
	case fail && len(a.routing) > 0 && len(old.routing) == 0:
		next := *pc
		next.old, next.putAt, next.readyAt, next.failed, next.reason = 0, now, now, true, StatusReasonWeighted
		w.setPC(f, &next)
	case a.version != old.version && !(pc.failed && pc.reason == StatusReasonWeighted):
		next := *pc
		next.old = 0 // the new version has no environments yet
		w.allocate(f, &next, now)
		w.setPC(f, &next)
	}
}

// PublishVersion is PublishVersion: $LATEST becomes version n+1. The
// simulator has no code, so every call publishes (Lambda returns the last
// version when nothing changed since it; here $LATEST always has).
func (w *World) PublishVersion(fn string, in PublishVersionInput) (FunctionView, error) {
	return w.publishVersionAs(CallerDirect, fn, in)
}

func (w *World) publishVersionAs(caller, fn string, in PublishVersionInput) (FunctionView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	v, err := w.publishVersionLocked(now, fn, in)
	rec := DeployRecord{Op: opPublishVersion, Version: v.Version, Caller: caller}
	w.logDeployLocked(now, fn, rec, AliasView{}, err)
	return v, err
}

func (w *World) publishVersionLocked(now time.Time, fn string, in PublishVersionInput) (FunctionView, error) {
	if aerr := checkAliasShape("", &in.Description); aerr != nil {
		return FunctionView{}, aerr
	}
	f, q, aerr := w.lookup(fn, "")
	if aerr != nil {
		return FunctionView{}, aerr
	}
	if q != "" {
		return FunctionView{}, errQualified()
	}
	latest := w.functionView(f, "$LATEST")
	if in.RevisionId != "" && in.RevisionId != latest.RevisionId {
		return FunctionView{}, errPrecondition()
	}
	if in.CodeSha256 != "" && in.CodeSha256 != latest.CodeSha256 {
		return FunctionView{}, errInvalid("CodeSHA256 (" + in.CodeSha256 + ") is different from current CodeSHA256 in $LATEST (" + latest.CodeSha256 + "). Please try again with the CodeSHA256 in $LATEST.")
	}
	f.versions++
	f.published[f.versions] = publishedVersion{at: now, description: in.Description}
	return w.functionView(f, strconv.Itoa(f.versions)), nil
}

// DeployLog returns every alias change and publication answered so far
// (up to MaxWriteLog, the newest kept), oldest first. Served at
// GET /_sim/deploys.
func (w *World) DeployLog() []DeployRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]DeployRecord(nil), w.aliasLog...)
}

// logDeployLocked records one answered deploy operation at now: the alias
// as it is after a success, rec's request after a failure.
func (w *World) logDeployLocked(now time.Time, fn string, rec DeployRecord, after AliasView, err error) {
	rec.Time = now.UTC()
	rec.Function, _ = splitFunctionRef(fn)
	rec.Result = resultOf(err)
	if err == nil && after.Name != "" {
		rec.Version = after.FunctionVersion
		rec.Weights = nil
		if after.RoutingConfig != nil {
			rec.Weights = after.RoutingConfig.AdditionalVersionWeights
		}
	}
	rec.Weights = maps.Clone(rec.Weights)
	w.aliasLog = appendBounded(w.aliasLog, rec, MaxWriteLog)
}

// scriptedDeploy is one UpdateAlias of the scenario's deploys script.
type scriptedDeploy struct {
	at       time.Time
	function string
	alias    string
	in       UpdateAliasInput
}

// scriptDeploys expands the scenario's script into UpdateAlias calls in
// time order: each step, then its promotion (move to the weighted version
// and clear the weights, as CodeDeploy ends a canary) or its rollback
// (clear the weights), promote_after or clear_after later.
func scriptDeploys(sc *Scenario, start time.Time) []scriptedDeploy {
	var out []scriptedDeploy
	for _, d := range sc.Deploys.Script {
		at := start.Add(d.At.Duration)
		in := UpdateAliasInput{FunctionVersion: d.ToVersion}
		switch {
		case d.ClearWeights:
			in.RoutingConfig = &AliasRoutingConfig{}
		case len(d.Weights) > 0:
			in.RoutingConfig = &AliasRoutingConfig{AdditionalVersionWeights: maps.Clone(d.Weights)}
		}
		out = append(out, scriptedDeploy{at: at, function: d.Function, alias: d.Alias, in: in})
		if d.PromoteAfter.Duration > 0 {
			out = append(out, scriptedDeploy{at: at.Add(d.PromoteAfter.Duration), function: d.Function, alias: d.Alias,
				in: UpdateAliasInput{FunctionVersion: sortedKeys(d.Weights)[0], RoutingConfig: &AliasRoutingConfig{}}})
		}
		if d.ClearAfter.Duration > 0 {
			out = append(out, scriptedDeploy{at: at.Add(d.ClearAfter.Duration), function: d.Function, alias: d.Alias,
				in: UpdateAliasInput{RoutingConfig: &AliasRoutingConfig{}}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// applyScripted runs one scripted UpdateAlias at its time. One Lambda
// refuses is logged in the deploy log with its error and skipped.
func (w *World) applyScripted(d scriptedDeploy) {
	_, _ = w.updateAliasLogged(d.at, CallerScenario, d.function, d.alias, d.in)
}
