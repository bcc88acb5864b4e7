package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func requireAPIError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var aerr *APIError
	require.True(t, errors.As(err, &aerr), "want *APIError, got %v", err)
	require.Equal(t, status, aerr.Status)
	require.Equal(t, code, aerr.Code)
	if msg != "" {
		require.Equal(t, msg, aerr.Message)
	}
}

func TestPutProvisionedConcurrencyRules(t *testing.T) {
	tests := []struct {
		name      string
		fn, q     string
		n         int
		setup     func(t *testing.T, w *World)
		status    int
		code, msg string
	}{
		{name: "below one", fn: "api", q: "live", n: 0, status: 400, code: CodeInvalidParameter,
			msg: "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "negative", fn: "api", q: "live", n: -3, status: 400, code: CodeInvalidParameter},
		{name: "latest", fn: "api", q: "$LATEST", n: 5, status: 400, code: CodeInvalidParameter,
			msg: "Provisioned Concurrency Configs cannot be applied to unpublished function versions."},
		{name: "weighted alias", fn: "api", q: "canary", n: 5, status: 400, code: CodeInvalidParameter,
			msg: "Alias with weights can not be used with Provisioned Concurrency"},
		{name: "above reserved", fn: "capped", q: "live", n: 31, status: 400, code: CodeInvalidParameter,
			msg: "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function"},
		{name: "exactly reserved minus other qualifiers", fn: "capped", q: "live", n: 30},
		{name: "into the last unreserved", fn: "api", q: "live", n: 151, status: 400, code: CodeInvalidParameter,
			msg: "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."},
		{name: "up to the unreserved minimum", fn: "api", q: "live", n: 150}, // 1000 − 50 reserved − 700 PC on big − 100
		{name: "unknown function", fn: "nope", q: "live", n: 1, status: 404, code: CodeResourceNotFound,
			msg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{name: "unknown alias", fn: "api", q: "ghost", n: 1, status: 404, code: CodeResourceNotFound,
			msg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:api:ghost"},
		{name: "unknown version", fn: "api", q: "9", n: 1, status: 404, code: CodeResourceNotFound},
		{name: "missing qualifier", fn: "api", q: "", n: 1, status: 400, code: CodeInvalidParameter},
		{name: "full ARN", fn: "arn:aws:lambda:us-east-1:123456789012:function:api", q: "live", n: 5},
		{name: "partial ARN", fn: "123456789012:function:api", q: "live", n: 5},
		{name: "qualifier in the ARN", fn: "arn:aws:lambda:us-east-1:123456789012:function:api:live", q: "", n: 5},
		{name: "ARN of another account", fn: "arn:aws:lambda:us-east-1:999999999999:function:api", q: "live", n: 5,
			status: 404, code: CodeResourceNotFound},
		{name: "version directly", fn: "api", q: "2", n: 5},
		{name: "in progress", fn: "api", q: "live", n: 10, status: 409, code: CodeResourceConflict,
			msg: "A previous request is being processed. Please try again shortly",
			setup: func(t *testing.T, w *World) {
				_, err := w.PutProvisionedConcurrency("api", "live", 5)
				require.NoError(t, err)
			}},
		{name: "second alias on a provisioned version", fn: "api", q: "blue", n: 5, status: 409, code: CodeResourceConflict,
			msg: "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
			setup: func(t *testing.T, w *World) {
				_, err := w.PutProvisionedConcurrency("api", "live", 5)
				require.NoError(t, err)
			}},
		{name: "version pointed by a provisioned alias", fn: "api", q: "3", n: 5, status: 409, code: CodeResourceConflict,
			msg: "Version is pointed by a Provisioned Concurrency alias",
			setup: func(t *testing.T, w *World) {
				_, err := w.PutProvisionedConcurrency("api", "live", 5)
				require.NoError(t, err)
			}},
		{name: "account pool shared with other qualifiers", fn: "api", q: "old", n: 51, status: 400, code: CodeInvalidParameter,
			setup: func(t *testing.T, w *World) {
				_, err := w.PutProvisionedConcurrency("api", "2", 100)
				require.NoError(t, err)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, rulesScenario)
			if tt.setup != nil {
				tt.setup(t, w)
			}
			v, err := w.PutProvisionedConcurrency(tt.fn, tt.q, tt.n)
			if tt.code == "" {
				require.NoError(t, err)
				require.Equal(t, tt.n, v.Requested)
				require.Equal(t, "IN_PROGRESS", v.Status)
				return
			}
			requireAPIError(t, err, tt.status, tt.code, tt.msg)
		})
	}
}

func TestGetDeleteProvisionedConcurrencyErrors(t *testing.T) {
	tests := []struct {
		name   string
		fn, q  string
		delete bool
		status int
		code   string
		msg    string
	}{
		{name: "get missing config", fn: "api", q: "live", status: 404, code: CodePCConfigNotFound, msg: "No Provisioned Concurrency Config found for this function"},
		{name: "delete missing config", fn: "api", q: "live", delete: true, status: 404, code: CodePCConfigNotFound, msg: "No Provisioned Concurrency Config found for this function"},
		{name: "get unknown function", fn: "nope", q: "live", status: 404, code: CodeResourceNotFound},
		{name: "delete unknown function", fn: "nope", q: "live", delete: true, status: 404, code: CodeResourceNotFound},
		{name: "get unknown alias", fn: "api", q: "ghost", status: 404, code: CodeResourceNotFound},
		{name: "get existing", fn: "capped", q: "1"},
		{name: "delete existing", fn: "capped", q: "1", delete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, rulesScenario)
			var err error
			if tt.delete {
				err = w.DeleteProvisionedConcurrency(tt.fn, tt.q)
			} else {
				var v PCView
				v, err = w.GetProvisionedConcurrency(tt.fn, tt.q)
				if err == nil {
					require.Equal(t, PCView{Requested: 20, Available: 20, Allocated: 20, Status: "READY",
						LastModified: "2026-03-02T09:00:00+0000", Modified: t0}, v)
				}
			}
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			requireAPIError(t, err, tt.status, tt.code, tt.msg)
		})
	}
}

func TestAllocationStateMachine(t *testing.T) {
	// rate 600/min = 10 environments a second after a 60 s preparation.
	type want struct {
		after                           time.Duration
		status                          string
		requested, allocated, available int
	}
	tests := []struct {
		name  string
		first int // put first and let it settle; 0 = none
		put   int
		fail  bool
		steps []want
	}{
		{name: "new config", put: 100, steps: []want{
			{0, "IN_PROGRESS", 100, 0, 0},
			{59 * time.Second, "IN_PROGRESS", 100, 0, 0},
			{65 * time.Second, "IN_PROGRESS", 100, 50, 0},
			{69 * time.Second, "IN_PROGRESS", 100, 90, 0},
			{70 * time.Second, "READY", 100, 100, 100},
			{time.Hour, "READY", 100, 100, 100},
		}},
		{name: "increase keeps the old allocation available", first: 40, put: 100, steps: []want{
			{0, "IN_PROGRESS", 100, 40, 40},
			{63 * time.Second, "IN_PROGRESS", 100, 70, 40},
			{66 * time.Second, "READY", 100, 100, 100},
		}},
		{name: "decrease takes effect at once", first: 100, put: 30, steps: []want{
			{0, "IN_PROGRESS", 30, 30, 30},
			{9 * time.Second, "IN_PROGRESS", 30, 30, 30},
			{10 * time.Second, "READY", 30, 30, 30},
		}},
		{name: "same value", first: 30, put: 30, steps: []want{
			{0, "IN_PROGRESS", 30, 30, 30},
			{10 * time.Second, "READY", 30, 30, 30},
		}},
		{name: "failed allocation keeps the old one", first: 10, put: 50, fail: true, steps: []want{
			{30 * time.Second, "IN_PROGRESS", 50, 10, 10},
			{64 * time.Second, "FAILED", 50, 10, 10},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yml := rulesScenario
			if tt.fail {
				yml += "faults:\n  - {kind: failed_allocation, function: api, qualifier: live, from: 5m}\n"
			}
			w, clk := newTestWorld(t, yml)
			if tt.first > 0 {
				_, err := w.PutProvisionedConcurrency("api", "live", tt.first)
				require.NoError(t, err)
				clk.Advance(5 * time.Minute)
			}
			_, err := w.PutProvisionedConcurrency("api", "live", tt.put)
			require.NoError(t, err)
			putAt := clk.Now()
			for _, s := range tt.steps {
				clk.Set(putAt.Add(s.after))
				v, err := w.GetProvisionedConcurrency("api", "live")
				require.NoError(t, err)
				require.Equal(t, s.status, v.Status, "after %s", s.after)
				require.Equal(t, [3]int{s.requested, s.allocated, s.available}, [3]int{v.Requested, v.Allocated, v.Available}, "after %s", s.after)
				require.Equal(t, putAt.Format(LastModifiedLayout), v.LastModified)
				if s.status == "FAILED" {
					require.Equal(t, StatusReasonInitFailure, v.StatusReason)
				} else {
					require.Empty(t, v.StatusReason)
				}
			}
			if tt.fail {
				// FAILED is not in progress: a new Put is accepted.
				_, err := w.PutProvisionedConcurrency("api", "live", 20)
				require.NoError(t, err)
			}
		})
	}
}

func TestDeleteWhileInProgressConflicts(t *testing.T) {
	w, clk := newTestWorld(t, rulesScenario)
	_, err := w.PutProvisionedConcurrency("api", "live", 10)
	require.NoError(t, err)
	requireAPIError(t, w.DeleteProvisionedConcurrency("api", "live"), 409, CodeResourceConflict, "")
	clk.Advance(2 * time.Minute)
	require.NoError(t, w.DeleteProvisionedConcurrency("api", "live"))
	_, err = w.GetProvisionedConcurrency("api", "live")
	requireAPIError(t, err, 404, CodePCConfigNotFound, "")
}

func TestListProvisionedConcurrencyPaginates(t *testing.T) {
	w, clk := newTestWorld(t, rulesScenario)
	for _, q := range []string{"old", "2", "live"} {
		_, err := w.PutProvisionedConcurrency("api", q, 5)
		require.NoError(t, err)
	}
	clk.Advance(2 * time.Minute)
	var arns []string
	marker := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		items, next, err := w.ListProvisionedConcurrency("api", marker, 2)
		require.NoError(t, err)
		for _, it := range items {
			arns = append(arns, it.FunctionArn)
			require.Equal(t, "READY", it.Status)
		}
		if next == "" {
			break
		}
		marker = next
	}
	base := "arn:aws:lambda:us-east-1:123456789012:function:api:"
	require.Equal(t, []string{base + "2", base + "live", base + "old"}, arns)
	_, _, err := w.ListProvisionedConcurrency("api", "bogus", 2)
	requireAPIError(t, err, 400, CodeInvalidParameter, "")
}

func TestFunctionConcurrency(t *testing.T) {
	tests := []struct {
		name   string
		fn     string
		n      int
		code   string
		msgHas string
	}{
		// The pool left is 1000 − 50 reserved − 700 PC on big (no reservation) − n.
		{name: "set", fn: "api", n: 150},
		{name: "negative", fn: "api", n: -1, code: CodeInvalidParameter},
		{name: "below unreserved minimum", fn: "api", n: 151, code: CodeInvalidParameter,
			msgHas: "decreases account's UnreservedConcurrentExecution below its minimum value of [100]."},
		{name: "a function's own PC moves into its reservation", fn: "big", n: 850},
		{name: "more than the pool and its own PC", fn: "big", n: 851, code: CodeInvalidParameter},
		{name: "below the function's PC", fn: "capped", n: 19, code: CodeInvalidParameter},
		{name: "unknown function", fn: "nope", n: 5, code: CodeResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, rulesScenario)
			err := w.PutFunctionConcurrency(tt.fn, tt.n)
			if tt.code != "" {
				var aerr *APIError
				require.ErrorAs(t, err, &aerr)
				require.Equal(t, tt.code, aerr.Code)
				require.Contains(t, aerr.Message, tt.msgHas)
				return
			}
			require.NoError(t, err)
			r, err := w.GetFunctionConcurrency(tt.fn)
			require.NoError(t, err)
			require.Equal(t, tt.n, *r)
			require.Equal(t, 1000-50-tt.n, w.AccountSettings().AccountLimit.UnreservedConcurrentExecutions)
			require.NoError(t, w.DeleteFunctionConcurrency(tt.fn))
			r, err = w.GetFunctionConcurrency(tt.fn)
			require.NoError(t, err)
			require.Nil(t, r)
		})
	}
}

func TestAccountSettings(t *testing.T) {
	w, _ := newTestWorld(t, rulesScenario)
	a := w.AccountSettings()
	require.Equal(t, 1000, a.AccountLimit.ConcurrentExecutions)
	require.Equal(t, 950, a.AccountLimit.UnreservedConcurrentExecutions) // capped reserves 50
	require.Equal(t, int64(3), a.AccountUsage.FunctionCount)
}

func TestAliasesVersionsFunctions(t *testing.T) {
	w, _ := newTestWorld(t, rulesScenario)

	a, err := w.GetAlias("api", "canary")
	require.NoError(t, err)
	require.Equal(t, "2", a.FunctionVersion)
	require.Equal(t, map[string]float64{"1": 0.2}, a.RoutingConfig.AdditionalVersionWeights)
	require.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:api:canary", a.AliasArn)
	a, err = w.GetAlias("api", "live")
	require.NoError(t, err)
	require.Nil(t, a.RoutingConfig)
	_, err = w.GetAlias("api", "ghost")
	requireAPIError(t, err, 404, CodeResourceNotFound, "")

	aliases, next, err := w.ListAliases("api", "", 3)
	require.NoError(t, err)
	require.Equal(t, "old", next)
	require.Equal(t, []string{"blue", "canary", "live"}, []string{aliases[0].Name, aliases[1].Name, aliases[2].Name})
	aliases, next, err = w.ListAliases("api", next, 3)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, aliases, 1)

	versions, next, err := w.ListVersions("api", "", 2)
	require.NoError(t, err)
	require.Equal(t, []string{"$LATEST", "1"}, []string{versions[0].Version, versions[1].Version})
	require.Equal(t, "2", next)
	versions, next, err = w.ListVersions("api", next, 50)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:api:3", versions[1].FunctionArn)

	fns, next, err := w.ListFunctions("", 2)
	require.NoError(t, err)
	require.Equal(t, "capped", next)
	require.Equal(t, []string{"api", "big"}, []string{fns[0].FunctionName, fns[1].FunctionName})
	_, _, err = w.ListFunctions("zzz", 2)
	requireAPIError(t, err, 400, CodeInvalidParameter, "")

	fc, err := w.GetFunctionConfiguration("api", "live")
	require.NoError(t, err)
	require.Equal(t, "3", fc.Version)
	require.Equal(t, 128, fc.MemorySize)
	fc, err = w.GetFunctionConfiguration("arn:aws:lambda:us-east-1:123456789012:function:api", "")
	require.NoError(t, err)
	require.Equal(t, "$LATEST", fc.Version)
	_, err = w.GetFunctionConfiguration("api", "7")
	requireAPIError(t, err, 404, CodeResourceNotFound, "")
}

func TestSplitFunctionRef(t *testing.T) {
	tests := []struct {
		name, ref, fn, q string
	}{
		{name: "name", ref: "api", fn: "api"},
		{name: "name and qualifier", ref: "api:live", fn: "api", q: "live"},
		{name: "partial ARN", ref: "123456789012:function:api", fn: "api"},
		{name: "partial ARN with qualifier", ref: "123456789012:function:api:3", fn: "api", q: "3"},
		{name: "full ARN", ref: "arn:aws:lambda:us-east-1:123456789012:function:api", fn: "api"},
		{name: "full ARN with qualifier", ref: "arn:aws:lambda:us-east-1:123456789012:function:api:live", fn: "api", q: "live"},
		{name: "garbage stays garbage", ref: "a:b:c:d:e", fn: "a:b:c:d:e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, q := splitFunctionRef(tt.ref)
			require.Equal(t, tt.fn, fn)
			require.Equal(t, tt.q, q)
		})
	}
}

func TestPutOnAliasOfLatest(t *testing.T) {
	w, _ := newTestWorld(t, "functions:\n  - {name: f, aliases: [{name: dev, version: $LATEST}]}\n")
	_, err := w.PutProvisionedConcurrency("f", "dev", 1)
	requireAPIError(t, err, 400, CodeInvalidParameter, "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
}

func TestControlPlaneRateLimit(t *testing.T) {
	w, clk := newTestWorld(t, "account: {control_plane_rps: 15}\nfunctions: [{name: f}]\n")
	throttled := func(n int, op string) int {
		k := 0
		for range n {
			if _, err := w.Fault(op); err != nil {
				require.Equal(t, &APIError{Status: 429, Code: CodeTooManyRequests, Message: "Rate exceeded", Type: TypeUser, RetryAfterSeconds: 1}, err)
				k++
			}
		}
		return k
	}
	require.Equal(t, 5, throttled(20, "GetProvisionedConcurrencyConfig"), "a burst of 15, then 429")
	require.Zero(t, throttled(50, "GetMetricData"), "CloudWatch has its own limits")
	clk.Advance(200 * time.Millisecond)
	require.Equal(t, 7, throttled(10, "GetAccountSettings"), "3 tokens back after 200 ms")
	clk.Advance(time.Minute)
	require.Equal(t, 0, throttled(15, "PutProvisionedConcurrencyConfig"))
}
