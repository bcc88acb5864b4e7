package sim

import (
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"time"
)

// Aliases: GetAlias, ListAliases, CreateAlias, UpdateAlias and DeleteAlias
// with Lambda's checks and messages (LocalStack's AWS-parity ones where
// AWS-FACTS has none). What a change does to the alias's PC config and
// traffic is deploy.go's.

// Lambda operation names of the deploy operations.
const (
	opCreateAlias    = "CreateAlias"
	opUpdateAlias    = "UpdateAlias"
	opDeleteAlias    = "DeleteAlias"
	opPublishVersion = "PublishVersion"
)

var (
	modelAliasPattern   = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`) // and not all digits: (?!^[0-9]+$)([a-zA-Z0-9-_]+)
	modelVersionPattern = regexp.MustCompile(`^(\$LATEST|[0-9]+)$`)
	digitsPattern       = regexp.MustCompile(`^[0-9]+$`)
)

func errValidation(format string, args ...any) *APIError {
	return &APIError{Status: 400, Code: CodeValidation, Message: "1 validation error detected: " + fmt.Sprintf(format, args...), Type: TypeUser}
}

func errPrecondition() *APIError {
	return &APIError{Status: 412, Code: CodePreconditionFailed, Type: TypeUser,
		Message: "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"}
}

func (w *World) errAliasNotFound(f *function, name string) *APIError {
	return &APIError{Status: 404, Code: CodeResourceNotFound, Message: "Alias not found: " + w.functionARN(f.name) + ":" + name, Type: TypeUser}
}

// checkAliasName applies the model's constraints on an alias name.
func checkAliasName(name string) *APIError {
	switch {
	case len(name) < 1 || len(name) > 128:
		return errValidation("Value '%s' at 'name' failed to satisfy constraint: Member must have length between 1 and 128", name)
	case !modelAliasPattern.MatchString(name) || digitsPattern.MatchString(name):
		return errValidation("Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", name)
	}
	return nil
}

// checkAliasShape applies the model's constraints on a function version and
// a description, before anything is looked up.
func checkAliasShape(version string, description *string) *APIError {
	if version != "" && (len(version) > 1024 || !modelVersionPattern.MatchString(version)) {
		return errValidation("Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)", version)
	}
	if description != nil && len(*description) > 256 {
		return errValidation("Value '%s' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256", *description)
	}
	return nil
}

// checkRouting validates weights for an alias whose version is version, in
// the order LocalStack's parity tests found Lambda checks them.
func (w *World) checkRouting(f *function, version string, weights map[string]float64) *APIError {
	if len(weights) > 1 {
		return errInvalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	for k, wt := range weights { // at most one
		entry := "{" + k + "=" + strconv.FormatFloat(wt, 'f', -1, 64) + "}"
		if !(wt >= 0 && wt <= 1) {
			return errValidation("Value '%s' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]", entry)
		}
		if k == version {
			return errInvalid(fmt.Sprintf("Invalid function version %s. Function version %s is already included in routing configuration.", version, version))
		}
		if version == "$LATEST" {
			return errInvalid("$LATEST is not supported for an alias pointing to more than 1 version")
		}
		if len(k) > 1024 || !digitsPattern.MatchString(k) {
			return errValidation("Value '%s' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]", entry)
		}
		if !f.hasQualifier(k) {
			return w.errFunctionNotFound(f.name, k)
		}
	}
	return nil
}

func (w *World) aliasView(f *function, a *alias) AliasView {
	v := AliasView{
		AliasArn:        w.functionARN(f.name) + ":" + a.name,
		Name:            a.name,
		FunctionVersion: a.version,
		Description:     a.description,
		RevisionId:      revisionID(f.name+":"+a.name, a.revision),
	}
	if len(a.routing) > 0 {
		v.RoutingConfig = &AliasRoutingConfig{AdditionalVersionWeights: maps.Clone(a.routing)}
	}
	return v
}

// GetAlias returns an alias with its routing config.
func (w *World) GetAlias(fn, name string) (AliasView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return AliasView{}, aerr
	}
	a := f.aliases[name]
	if a == nil {
		return AliasView{}, &APIError{Status: 404, Code: CodeResourceNotFound, Message: "Cannot find alias arn: " + w.functionARN(f.name) + ":" + name, Type: TypeUser}
	}
	return w.aliasView(f, a), nil
}

// ListAliases lists a function's aliases by name (MaxItems ≤ 10000, default 50).
func (w *World) ListAliases(fn, marker string, maxItems int) ([]AliasView, string, error) {
	return w.ListAliasesByVersion(fn, "", marker, maxItems)
}

// ListAliasesByVersion is ListAliases with its FunctionVersion filter: only
// the aliases whose version is version ("" = all).
func (w *World) ListAliasesByVersion(fn, version, marker string, maxItems int) ([]AliasView, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	if aerr := checkAliasShape(version, nil); aerr != nil {
		return nil, "", aerr
	}
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return nil, "", aerr
	}
	names := sortedKeys(f.aliases)
	if version != "" {
		kept := names[:0]
		for _, n := range names {
			if f.aliases[n].version == version {
				kept = append(kept, n)
			}
		}
		names = kept
	}
	page, next, aerr := paginate(names, marker, maxItems, 50, 10000)
	if aerr != nil {
		return nil, "", aerr
	}
	out := make([]AliasView, 0, len(page))
	for _, n := range page {
		out = append(out, w.aliasView(f, f.aliases[n]))
	}
	return out, next, nil
}

// CreateAlias is CreateAlias, logged in the deploy log by CallerDirect.
func (w *World) CreateAlias(fn string, in CreateAliasInput) (AliasView, error) {
	return w.createAliasAs(CallerDirect, fn, in)
}

func (w *World) createAliasAs(caller, fn string, in CreateAliasInput) (AliasView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	v, err := w.createAliasLocked(fn, in)
	rec := DeployRecord{Op: opCreateAlias, Alias: in.Name, Version: in.FunctionVersion, Caller: caller}
	if in.RoutingConfig != nil {
		rec.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	w.logDeployLocked(now, fn, rec, v, err)
	return v, err
}

func (w *World) createAliasLocked(fn string, in CreateAliasInput) (AliasView, error) {
	if aerr := checkAliasName(in.Name); aerr != nil {
		return AliasView{}, aerr
	}
	if in.FunctionVersion == "" {
		return AliasView{}, errValidation("Value null at 'functionVersion' failed to satisfy constraint: Member must not be null")
	}
	if aerr := checkAliasShape(in.FunctionVersion, &in.Description); aerr != nil {
		return AliasView{}, aerr
	}
	f, q, aerr := w.lookup(fn, "")
	if aerr != nil {
		return AliasView{}, aerr
	}
	if q != "" {
		return AliasView{}, errQualified()
	}
	if !f.hasQualifier(in.FunctionVersion) {
		return AliasView{}, w.errFunctionNotFound(f.name, in.FunctionVersion)
	}
	if a := f.aliases[in.Name]; a != nil {
		return AliasView{}, errConflict("Alias already exists: " + w.functionARN(f.name) + ":" + in.Name)
	}
	var weights map[string]float64
	if in.RoutingConfig != nil && len(in.RoutingConfig.AdditionalVersionWeights) > 0 {
		weights = maps.Clone(in.RoutingConfig.AdditionalVersionWeights)
		if aerr := w.checkRouting(f, in.FunctionVersion, weights); aerr != nil {
			return AliasView{}, aerr
		}
	}
	a := &alias{name: in.Name, version: in.FunctionVersion, routing: weights, description: in.Description, revision: 1}
	f.aliases[a.name] = a
	f.routeGen++ // a load on this name runs again
	return w.aliasView(f, a), nil
}

// UpdateAlias is UpdateAlias, logged in the deploy log by CallerDirect. A
// new version moves the alias's PC config there (deploy.go).
func (w *World) UpdateAlias(fn, name string, in UpdateAliasInput) (AliasView, error) {
	return w.updateAliasAs(CallerDirect, fn, name, in)
}

func (w *World) updateAliasAs(caller, fn, name string, in UpdateAliasInput) (AliasView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	return w.updateAliasLogged(now, caller, fn, name, in)
}

func (w *World) updateAliasLogged(now time.Time, caller, fn, name string, in UpdateAliasInput) (AliasView, error) {
	v, err := w.updateAliasLocked(now, fn, name, in)
	rec := DeployRecord{Op: opUpdateAlias, Alias: name, Version: in.FunctionVersion, Caller: caller}
	if in.RoutingConfig != nil {
		rec.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	w.logDeployLocked(now, fn, rec, v, err)
	return v, err
}

func (w *World) updateAliasLocked(now time.Time, fn, name string, in UpdateAliasInput) (AliasView, error) {
	if aerr := checkAliasShape(in.FunctionVersion, in.Description); aerr != nil {
		return AliasView{}, aerr
	}
	f, q, aerr := w.lookup(fn, "")
	if aerr != nil {
		return AliasView{}, aerr
	}
	if q != "" {
		return AliasView{}, errQualified()
	}
	a := f.aliases[name]
	if a == nil {
		return AliasView{}, w.errAliasNotFound(f, name)
	}
	if in.RevisionId != "" && in.RevisionId != revisionID(f.name+":"+a.name, a.revision) {
		return AliasView{}, errPrecondition()
	}
	version := a.version
	if in.FunctionVersion != "" {
		if !f.hasQualifier(in.FunctionVersion) {
			return AliasView{}, w.errFunctionNotFound(f.name, in.FunctionVersion)
		}
		version = in.FunctionVersion
	}
	weights := a.routing
	if in.RoutingConfig != nil {
		weights = nil
		if len(in.RoutingConfig.AdditionalVersionWeights) > 0 {
			weights = maps.Clone(in.RoutingConfig.AdditionalVersionWeights)
		}
	}
	// The weights kept from before must suit a new version too.
	if aerr := w.checkRouting(f, version, weights); aerr != nil {
		return AliasView{}, aerr
	}
	if aerr := w.checkAliasMove(f, a, version); aerr != nil {
		return AliasView{}, aerr
	}
	old := *a
	a.version, a.routing = version, weights
	if in.Description != nil {
		a.description = *in.Description
	}
	a.revision++ // every update, as Lambda does
	f.routeGen++
	w.aliasChanged(f, &old, a, now)
	return w.aliasView(f, a), nil
}

// DeleteAlias is DeleteAlias, logged in the deploy log by CallerDirect. Its
// PC config goes with it; a missing alias is not an error (Lambda answers
// 204 and its model lists no ResourceNotFoundException for it).
func (w *World) DeleteAlias(fn, name string) error {
	return w.deleteAliasAs(CallerDirect, fn, name)
}

func (w *World) deleteAliasAs(caller, fn, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	err := w.deleteAliasLocked(fn, name)
	w.logDeployLocked(now, fn, DeployRecord{Op: opDeleteAlias, Alias: name, Caller: caller}, AliasView{}, err)
	return err
}

func (w *World) deleteAliasLocked(fn, name string) error {
	if aerr := checkAliasName(name); aerr != nil {
		return aerr
	}
	f, q, aerr := w.lookup(fn, "")
	if aerr != nil {
		return aerr
	}
	if q != "" {
		return errQualified()
	}
	if f.aliases[name] == nil {
		return nil
	}
	w.deletePC(f, name)
	delete(f.aliases, name)
	f.routeGen++
	return nil
}

func errQualified() *APIError {
	return errInvalid("This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
}
