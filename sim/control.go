package sim

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
)

// pcConfig is one provisioned-concurrency config and its allocation, kept
// as the facts of the last Put so its state at any time is a pure function:
//
//   - increase (n above what was available): IN_PROGRESS; nothing happens
//     for the preparation delay, then environments are allocated at
//     rate_per_minute. Allocated counts them as they come; Available keeps
//     the old allocation until the whole request is done ("you can't access
//     any of those environments until Lambda completely finishes allocating
//     them" — AWS-FACTS §3.2; what Available shows meanwhile is
//     unconfirmed, this is our choice). Then READY with all three equal to
//     n, or FAILED (injected) with the old allocation and StatusReason
//     FUNCTION_ERROR_INIT_FAILURE.
//   - decrease or same value: Allocated and Available drop to n at once,
//     IN_PROGRESS for decrease_delay, then READY.
//
// An alias move (deploy.go) is an increase from 0 on the new version; with
// weighted_existing_config: fail, added weights fail it at once.
type pcConfig struct {
	qualifier string
	requested int
	old       int // available before this Put (or alias move)
	putAt     time.Time
	readyAt   time.Time
	failed    bool
	reason    string // StatusReason of a failure; "" = FUNCTION_ERROR_INIT_FAILURE
	modified  time.Time
	stats     *TargetStats
}

type pcState struct {
	status    string
	reason    string
	allocated int
	available int
}

func (pc *pcConfig) state(t time.Time, sc *Scenario) pcState {
	if !t.Before(pc.readyAt) {
		if pc.failed {
			reason := pc.reason
			if reason == "" {
				reason = StatusReasonInitFailure
			}
			return pcState{status: "FAILED", reason: reason, allocated: pc.old, available: pc.old}
		}
		return pcState{status: "READY", allocated: pc.requested, available: pc.requested}
	}
	if pc.requested <= pc.old {
		return pcState{status: "IN_PROGRESS", allocated: pc.requested, available: pc.requested}
	}
	allocated := pc.old
	if since := t.Sub(pc.putAt) - sc.Allocation.PrepDelay.Duration; since > 0 {
		done := int(since.Seconds() * float64(sc.Allocation.RatePerMinute) / 60)
		allocated = min(pc.requested, pc.old+done)
	}
	return pcState{status: "IN_PROGRESS", allocated: allocated, available: pc.old}
}

func (pc *pcConfig) view(t time.Time, sc *Scenario) PCView {
	st := pc.state(t, sc)
	return PCView{
		Requested:    pc.requested,
		Available:    st.available,
		Allocated:    st.allocated,
		Status:       st.status,
		StatusReason: st.reason,
		LastModified: pc.modified.UTC().Format(LastModifiedLayout),
		Modified:     pc.modified.UTC(),
	}
}

// splitFunctionRef accepts a name, "name:qualifier", a partial ARN
// ("123456789012:function:name[:q]") or a full ARN and returns the name and
// the qualifier it carries, if any. Malformed input returns the input as
// the name, which then isn't found.
func splitFunctionRef(ref string) (name, qualifier string) {
	f, _, ok := awsname.ParseFunction(ref)
	if !ok {
		return ref, ""
	}
	return f.Name, f.Qualifier
}

// errors, with Lambda's codes and messages (AWS-FACTS §3.3).

func errInvalid(msg string) *APIError {
	return &APIError{Status: 400, Code: CodeInvalidParameter, Message: msg, Type: TypeUser}
}

func errConflict(msg string) *APIError {
	return &APIError{Status: 409, Code: CodeResourceConflict, Message: msg, Type: TypeUser}
}

func (w *World) errFunctionNotFound(name, qualifier string) *APIError {
	arn := w.functionARN(name)
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return &APIError{Status: 404, Code: CodeResourceNotFound, Message: "Function not found: " + arn, Type: TypeUser}
}

func errPCNotFound() *APIError {
	return &APIError{Status: 404, Code: CodePCConfigNotFound, Message: "No Provisioned Concurrency Config found for this function", Type: TypeUser}
}

// lookup resolves a function reference; qualifier "" takes the one carried
// by the reference. An account or region that isn't ours is not found.
func (w *World) lookup(ref, qualifier string) (*function, string, *APIError) {
	name, q := splitFunctionRef(ref)
	if f, form, ok := awsname.ParseFunction(ref); ok && (form == awsname.FormARN && f.Region != w.sc.Region ||
		form != awsname.FormName && f.Account != w.sc.AccountID) {
		return nil, "", w.errFunctionNotFound(name, "")
	}
	if qualifier == "" {
		qualifier = q
	}
	f := w.funcs[name]
	if f == nil {
		return nil, "", w.errFunctionNotFound(name, "")
	}
	return f, qualifier, nil
}

// PutProvisionedConcurrency is PutProvisionedConcurrencyConfig, written in
// the write log by CallerDirect. The checks run in the order a request meets
// them: input validation, the function, the qualifier, an operation in
// progress, the version's other config, then the reserved-concurrency and
// account limits.
func (w *World) PutProvisionedConcurrency(fn, qualifier string, n int) (PCView, error) {
	return w.PutProvisionedConcurrencyAs(CallerDirect, fn, qualifier, n)
}

// PutProvisionedConcurrencyAs is PutProvisionedConcurrency on behalf of
// caller, as the write log names it (e.g. a test playing another writer).
func (w *World) PutProvisionedConcurrencyAs(caller, fn, qualifier string, n int) (PCView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, err := w.putPCLocked(w.sync(), fn, qualifier, n)
	rec := newWriteRecord(opPutPC, caller, fn, qualifier, n)
	rec.Result = resultOf(err)
	w.logWriteLocked(rec)
	return v, err
}

func (w *World) putPCLocked(now time.Time, fn, qualifier string, n int) (PCView, error) {
	if n < 1 {
		return PCView{}, errInvalid(fmt.Sprintf("1 validation error detected: Value '%d' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1", n))
	}
	f, q, aerr := w.lookup(fn, qualifier)
	if aerr != nil {
		return PCView{}, aerr
	}
	if q == "" {
		return PCView{}, errInvalid("1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null")
	}
	if !f.hasQualifier(q) {
		return PCView{}, w.errFunctionNotFound(f.name, q)
	}
	if f.versionOf(q) == "$LATEST" { // $LATEST itself or an alias pointing at it
		return PCView{}, errInvalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	if f.weighted(q) {
		return PCView{}, errWeightedAlias()
	}
	old := f.pcs[q]
	if old != nil && old.state(now, w.sc).status == "IN_PROGRESS" {
		return PCView{}, errConflict("A previous request is being processed. Please try again shortly")
	}
	if k := f.pcOnVersion(f.versionOf(q), q); k != "" {
		if _, isAlias := f.aliases[q]; isAlias {
			return PCView{}, errProvisionedVersion()
		}
		return PCView{}, errConflict("Version is pointed by a Provisioned Concurrency alias")
	}
	otherPC := f.pcTotal
	if old != nil {
		otherPC -= old.requested
	}
	if f.reserved != nil {
		if n > *f.reserved-otherPC {
			return PCView{}, errInvalid("Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
		}
	} else if w.unreservedLocked()-w.unreservedPCLocked(f, q)-n < w.sc.Account.UnreservedMin {
		return PCView{}, errInvalid(fmt.Sprintf("Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", w.sc.Account.UnreservedMin))
	}
	prev := 0
	if old != nil {
		prev = old.state(now, w.sc).available
	}
	pc := &pcConfig{qualifier: q, requested: n, old: prev, modified: now}
	w.allocate(f, pc, now)
	w.setPC(f, pc)
	return pc.view(now, w.sc), nil
}

// allocate starts pc's allocation at now, from pc.old environments to
// pc.requested: an increase waits prep_delay and then comes at
// rate_per_minute (and may be injected to fail); a decrease is done at
// once and stays IN_PROGRESS for decrease_delay.
func (w *World) allocate(f *function, pc *pcConfig, now time.Time) {
	pc.putAt, pc.failed, pc.reason = now, false, ""
	if pc.requested > pc.old {
		need := time.Duration(float64(pc.requested-pc.old) * 60 / float64(w.sc.Allocation.RatePerMinute) * float64(time.Second))
		pc.readyAt = now.Add(w.sc.Allocation.PrepDelay.Duration + need.Round(time.Second))
		if pc.readyAt.Equal(now) {
			pc.readyAt = now.Add(time.Second)
		}
		pc.failed = w.allocationFails(f.name, pc.qualifier, now)
		return
	}
	pc.readyAt = now.Add(w.sc.Allocation.DecreaseDelay.Duration)
}

// pcOnVersion names the config, other than except's, that serves version
// v (on v itself or on an alias pointing at it), or "".
func (f *function) pcOnVersion(v, except string) string {
	for _, k := range f.pcOrder {
		if k != except && f.versionOf(k) == v {
			return k
		}
	}
	return ""
}

// weighted reports whether q is an alias with routing weights.
func (f *function) weighted(q string) bool {
	a := f.aliases[q]
	return a != nil && len(a.routing) > 0
}

func errWeightedAlias() *APIError {
	return errInvalid("Alias with weights can not be used with Provisioned Concurrency")
}

func errProvisionedVersion() *APIError {
	return errConflict("Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
}

// GetProvisionedConcurrency is GetProvisionedConcurrencyConfig.
func (w *World) GetProvisionedConcurrency(fn, qualifier string) (PCView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	f, q, aerr := w.lookup(fn, qualifier)
	if aerr != nil {
		return PCView{}, aerr
	}
	if q != "" && !f.hasQualifier(q) {
		return PCView{}, w.errFunctionNotFound(f.name, q)
	}
	pc := f.pcs[q]
	if pc == nil {
		return PCView{}, errPCNotFound()
	}
	return pc.view(now, w.sc), nil
}

// DeleteProvisionedConcurrency is DeleteProvisionedConcurrencyConfig,
// written in the write log by CallerDirect; the environments go at once. A
// config still IN_PROGRESS gives 409.
func (w *World) DeleteProvisionedConcurrency(fn, qualifier string) error {
	return w.DeleteProvisionedConcurrencyAs(CallerDirect, fn, qualifier)
}

// DeleteProvisionedConcurrencyAs is DeleteProvisionedConcurrency on behalf
// of caller, as the write log names it.
func (w *World) DeleteProvisionedConcurrencyAs(caller, fn, qualifier string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.deletePCLocked(w.sync(), fn, qualifier)
	rec := newWriteRecord(opDeletePC, caller, fn, qualifier, 0)
	rec.Result = resultOf(err)
	w.logWriteLocked(rec)
	return err
}

func (w *World) deletePCLocked(now time.Time, fn, qualifier string) error {
	f, q, aerr := w.lookup(fn, qualifier)
	if aerr != nil {
		return aerr
	}
	if q != "" && !f.hasQualifier(q) {
		return w.errFunctionNotFound(f.name, q)
	}
	if f.weighted(q) { // "can't manage" PC on a weighted alias: Delete too (assumed)
		return errWeightedAlias()
	}
	pc := f.pcs[q]
	if pc == nil {
		return errPCNotFound()
	}
	if pc.state(now, w.sc).status == "IN_PROGRESS" {
		return errConflict("The resource already exists, or another operation is in progress.")
	}
	w.deletePC(f, q)
	return nil
}

// paginate returns the page of names starting at marker (a name; "" for
// the first page) and the next marker.
func paginate(names []string, marker string, maxItems, defMax, limit int) ([]string, string, *APIError) {
	if maxItems <= 0 {
		maxItems = defMax
	}
	if maxItems > limit {
		maxItems = limit
	}
	i := 0
	if marker != "" {
		i = sort.SearchStrings(names, marker)
		if i == len(names) || names[i] != marker {
			return nil, "", errInvalid("Invalid marker: " + marker)
		}
	}
	end := min(len(names), i+maxItems)
	next := ""
	if end < len(names) {
		next = names[end]
	}
	return names[i:end], next, nil
}

// ListProvisionedConcurrency is ListProvisionedConcurrencyConfigs
// (MaxItems 1..50, default 50); items carry the qualified FunctionArn.
func (w *World) ListProvisionedConcurrency(fn, marker string, maxItems int) ([]PCView, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return nil, "", aerr
	}
	page, next, aerr := paginate(f.pcOrder, marker, maxItems, 50, 50)
	if aerr != nil {
		return nil, "", aerr
	}
	out := make([]PCView, 0, len(page))
	for _, q := range page {
		v := f.pcs[q].view(now, w.sc)
		v.FunctionArn = w.functionARN(f.name) + ":" + q
		out = append(out, v)
	}
	return out, next, nil
}

// GetFunctionConcurrency returns the reserved concurrency, nil when none.
func (w *World) GetFunctionConcurrency(fn string) (*int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return nil, aerr
	}
	if f.reserved == nil {
		return nil, nil
	}
	r := *f.reserved
	return &r, nil
}

// PutFunctionConcurrency sets reserved concurrency. It must cover the
// function's PC and leave the account's unreserved pool (the limit minus
// every reservation minus the PC of functions without one) at least
// unreserved_min: the pool Puts of PC draw from stays consistent.
func (w *World) PutFunctionConcurrency(fn string, n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	if n < 0 {
		return errInvalid(fmt.Sprintf("1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", n))
	}
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return aerr
	}
	free := w.unreservedLocked() - w.unreservedPC
	if f.reserved != nil {
		free += *f.reserved
	} else {
		free += f.pcTotal // its PC moves into its reservation
	}
	if free-n < w.sc.Account.UnreservedMin {
		return errInvalid(fmt.Sprintf("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", w.sc.Account.UnreservedMin))
	}
	if n < f.pcTotal {
		return errInvalid(fmt.Sprintf("Specified ReservedConcurrentExecutions for function is less than the function's provisioned concurrency [%d].", f.pcTotal))
	}
	w.setReserved(f, &n)
	f.revision++
	return nil
}

// DeleteFunctionConcurrency removes the reservation.
func (w *World) DeleteFunctionConcurrency(fn string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return aerr
	}
	w.setReserved(f, nil)
	f.revision++
	return nil
}

// AccountSettings is GetAccountSettings.
func (w *World) AccountSettings() AccountView {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	return AccountView{
		AccountLimit: AccountLimit{
			TotalCodeSize:                  80530636800,
			CodeSizeUnzipped:               262144000,
			CodeSizeZipped:                 52428800,
			ConcurrentExecutions:           w.sc.Account.ConcurrentExecutions,
			UnreservedConcurrentExecutions: w.unreservedLocked(),
		},
		AccountUsage: AccountUsage{TotalCodeSize: int64(len(w.funcs)) * simCodeSize, FunctionCount: int64(len(w.funcs))},
	}
}

const simCodeSize = 1 << 20

func (w *World) functionView(f *function, version string) FunctionView {
	arn := w.functionARN(f.name)
	if version != "$LATEST" {
		arn += ":" + version
	}
	modified, description := f.created, "simulated by pcautoscaler"
	if n, err := strconv.Atoi(version); err == nil {
		if p, ok := f.published[n]; ok { // published while the world runs
			modified, description = p.at, p.description
		}
	}
	return FunctionView{
		FunctionName:     f.name,
		FunctionArn:      arn,
		Runtime:          "provided.al2023",
		Role:             fmt.Sprintf("arn:aws:iam::%s:role/%s-role", w.sc.AccountID, f.name),
		Handler:          "bootstrap",
		CodeSize:         simCodeSize,
		Description:      description,
		Timeout:          30,
		MemorySize:       f.memoryMB,
		LastModified:     modified.UTC().Format("2006-01-02T15:04:05.000-0700"),
		CodeSha256:       "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		Version:          version,
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{"x86_64"},
		RevisionId:       revisionID(f.name+":"+version, f.revision),
	}
}

// versionKeys lists "$LATEST" first, then the versions in numeric order.
func versionKeys(n int) []string {
	keys := []string{"$LATEST"}
	for v := 1; v <= n; v++ {
		keys = append(keys, strconv.Itoa(v))
	}
	return keys
}

// ListVersions is ListVersionsByFunction: $LATEST then each version, at
// most 50 a page.
func (w *World) ListVersions(fn, marker string, maxItems int) ([]FunctionView, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return nil, "", aerr
	}
	keys := versionKeys(f.versions)
	if maxItems <= 0 {
		maxItems = 50
	}
	// AWS: "returns a maximum of 50 items in each response, even if you set
	// the number higher" (MaxItems itself may be up to 10,000).
	maxItems = min(maxItems, 50)
	i := 0
	if marker != "" {
		i = -1
		for k, v := range keys {
			if v == marker {
				i = k
			}
		}
		if i < 0 {
			return nil, "", errInvalid("Invalid marker: " + marker)
		}
	}
	end := min(len(keys), i+maxItems)
	next := ""
	if end < len(keys) {
		next = keys[end]
	}
	out := make([]FunctionView, 0, end-i)
	for _, v := range keys[i:end] {
		out = append(out, w.functionView(f, v))
	}
	return out, next, nil
}

// ListFunctions lists every function's $LATEST configuration by name.
func (w *World) ListFunctions(marker string, maxItems int) ([]FunctionView, string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	// At most 50 a page whatever MaxItems (1..10,000) says, as AWS answers.
	page, next, aerr := paginate(w.order, marker, maxItems, 50, 50)
	if aerr != nil {
		return nil, "", aerr
	}
	out := make([]FunctionView, 0, len(page))
	for _, n := range page {
		out = append(out, w.functionView(w.funcs[n], "$LATEST"))
	}
	return out, next, nil
}

// GetFunctionConfiguration returns a version's configuration; an alias
// resolves to its version, no qualifier means $LATEST.
func (w *World) GetFunctionConfiguration(fn, qualifier string) (FunctionView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, q, aerr := w.lookup(fn, qualifier)
	if aerr != nil {
		return FunctionView{}, aerr
	}
	if q == "" {
		q = "$LATEST"
	}
	if !f.hasQualifier(q) {
		return FunctionView{}, w.errFunctionNotFound(f.name, q)
	}
	return w.functionView(f, f.versionOf(q)), nil
}

// revisionID is a stable UUID-shaped id for a resource revision.
func revisionID(key string, rev int) string {
	h := splitmix(uint64(rev))
	for _, c := range []byte(key) {
		h = splitmix(h ^ uint64(c))
	}
	g := splitmix(h)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(h), uint16(h>>32), uint16(h>>48), uint16(g), g>>16&0xffffffffffff)
}
