package sim

import (
	"maps"
	"strings"
)

// GetFunction: a version's configuration, the function's reserved
// concurrency and its tags in one call. Lambda gives it a quota of its own
// (AWS-FACTS §3: 100 rps, outside the 15 rps shared by the other control-
// plane operations), which account.get_function_rps models.

const opGetFunction = "GetFunction"

// DefaultGetFunctionRPS is AWS's GetFunction quota (AWS-FACTS §3).
const DefaultGetFunctionRPS = 100

// FunctionCodeLocation is GetFunction's Code member.
type FunctionCodeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

// FunctionConcurrency is GetFunction's Concurrency member.
type FunctionConcurrency struct {
	ReservedConcurrentExecutions int `json:"ReservedConcurrentExecutions"`
}

// GetFunctionView is the GetFunction response. Concurrency is absent when
// the function has no reservation, Tags when it has no tags.
type GetFunctionView struct {
	Configuration FunctionView         `json:"Configuration"`
	Code          FunctionCodeLocation `json:"Code"`
	Concurrency   *FunctionConcurrency `json:"Concurrency,omitempty"`
	Tags          map[string]string    `json:"Tags,omitempty"`
}

// GetFunction returns the configuration of qualifier's version (an alias
// resolves to its version; "" means $LATEST), the function's reserved
// concurrency and its tags. A missing function or qualifier is 404
// ResourceNotFoundException naming the qualified ARN, as
// GetFunctionConfiguration answers.
func (w *World) GetFunction(fn, qualifier string) (GetFunctionView, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, q, aerr := w.lookup(fn, qualifier)
	if aerr != nil {
		return GetFunctionView{}, aerr
	}
	if q == "" {
		q = "$LATEST"
	}
	if !f.hasQualifier(q) {
		return GetFunctionView{}, w.errFunctionNotFound(f.name, q)
	}
	out := GetFunctionView{
		Configuration: w.functionView(f, f.versionOf(q)),
		Code: FunctionCodeLocation{
			RepositoryType: "S3",
			// A presigned URL in AWS; nothing is served behind this one.
			Location: "https://code.sim.invalid/" + w.sc.AccountID + "/" + f.name + "/" + strings.ReplaceAll(f.versionOf(q), "$", ""),
		},
	}
	if f.reserved != nil {
		out.Concurrency = &FunctionConcurrency{ReservedConcurrentExecutions: *f.reserved}
	}
	if len(f.tags) > 0 {
		out.Tags = maps.Clone(f.tags)
	}
	return out, nil
}
