package sim

import (
	"fmt"
	"strconv"
	"time"
)

// DeploysSpec is how deploys meet provisioned concurrency, and a script of
// alias updates the world makes by itself (so a test or the fault suite can
// run a canary without a client).
type DeploysSpec struct {
	// WeightedExistingConfig is what becomes of an alias's PC config when
	// routing weights are added to the alias, which AWS does not document:
	// keep (default: it stays, serving the alias's own version) or fail (it
	// turns FAILED with its environments gone until a new Put). Assumed.
	WeightedExistingConfig string       `yaml:"weighted_existing_config,omitempty"`
	Script                 []DeploySpec `yaml:"script,omitempty"`
}

// DeploySpec is one scripted UpdateAlias at offset At from the start:
// ToVersion moves the alias, Weights sets its routing, ClearWeights clears
// it. PromoteAfter later moves the alias to the weighted version and
// clears the weights (a canary that succeeds, as CodeDeploy ends it);
// ClearAfter later only clears them (one rolled back). A step Lambda
// refuses at its time is skipped and logged in DeployLog with its error.
type DeploySpec struct {
	At           Duration           `yaml:"at"`
	Function     string             `yaml:"function"`
	Alias        string             `yaml:"alias"`
	ToVersion    string             `yaml:"to_version,omitempty"`
	Weights      map[string]float64 `yaml:"weights,omitempty"`
	ClearWeights bool               `yaml:"clear_weights,omitempty"`
	PromoteAfter Duration           `yaml:"promote_after,omitempty"`
	ClearAfter   Duration           `yaml:"clear_after,omitempty"`
}

func validateDeploys(p *problems, sc *Scenario) {
	switch sc.Deploys.WeightedExistingConfig {
	case WeightedKeep, WeightedFail:
	default:
		p.add("deploys.weighted_existing_config", "%q is not keep or fail", sc.Deploys.WeightedExistingConfig)
	}
	byName := map[string]*FunctionSpec{}
	for i := range sc.Functions {
		byName[sc.Functions[i].Name] = &sc.Functions[i]
	}
	for i, d := range sc.Deploys.Script {
		dp := fmt.Sprintf("deploys.script[%d]", i)
		if d.At.Duration < 0 || d.At.Duration%time.Second != 0 {
			p.add(dp+".at", "must be a whole number of seconds from 0, got %s", d.At.Duration)
		}
		f := byName[d.Function]
		if f == nil {
			p.add(dp+".function", "%q is not a function of this scenario", d.Function)
			continue
		}
		var own string // the alias's version in the scenario
		for _, a := range f.Aliases {
			if a.Name == d.Alias {
				own = a.Version
			}
		}
		if own == "" {
			p.add(dp+".alias", "%q is not an alias of %s", d.Alias, d.Function)
		}
		version := func(v string) bool {
			n, err := strconv.Atoi(v)
			return err == nil && n >= 1 && n <= f.Versions && strconv.Itoa(n) == v
		}
		if d.ToVersion != "" && d.ToVersion != "$LATEST" && !version(d.ToVersion) {
			p.add(dp+".to_version", "%q is not $LATEST or a version from 1 to %d", d.ToVersion, f.Versions)
		}
		if len(d.Weights) > 1 {
			p.add(dp+".weights", "Lambda routes to at most one additional version, got %d", len(d.Weights))
		}
		for v, wt := range d.Weights {
			if !version(v) || v == d.ToVersion {
				p.add(dp+".weights", "%q is not a version from 1 to %d other than to_version", v, f.Versions)
			}
			if !(wt >= 0 && wt <= 1) {
				p.add(dp+".weights."+v, "weight must be from 0 to 1, got %v", wt)
			}
		}
		switch {
		case d.ClearWeights && len(d.Weights) > 0:
			p.add(dp+".clear_weights", "clears the weights that weights sets: give one of them")
		case d.ToVersion == "" && len(d.Weights) == 0 && !d.ClearWeights:
			p.add(dp, "changes nothing: give to_version, weights or clear_weights")
		}
		for _, after := range []struct {
			key string
			d   time.Duration
		}{{"promote_after", d.PromoteAfter.Duration}, {"clear_after", d.ClearAfter.Duration}} {
			switch {
			case after.d < 0 || after.d%time.Second != 0:
				p.add(dp+"."+after.key, "must be a positive whole number of seconds, got %s", after.d)
			case after.d > 0 && len(d.Weights) == 0:
				p.add(dp+"."+after.key, "needs weights to end")
			}
		}
		if d.PromoteAfter.Duration > 0 && d.ClearAfter.Duration > 0 {
			p.add(dp, "promote_after and clear_after both end the weights: give one of them")
		}
	}
}

// validateTags applies TagResource's rules to a scenario's tags.
func validateTags(p *problems, path string, tags map[string]string) {
	if msg := tagsProblem(tags); msg != "" {
		p.add(path, "%s", msg)
	}
}
