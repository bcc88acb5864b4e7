package sim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

func classOf(t *testing.T, err error) controller.ClassifiedError {
	t.Helper()
	var ce controller.ClassifiedError
	require.True(t, errors.As(err, &ce), "want a ClassifiedError, got %v", err)
	return ce
}

func TestInProcessStore(t *testing.T) {
	w, clk := newTestWorld(t, rulesScenario)
	store, _ := w.InProcess()
	ctx := context.Background()
	live := controller.TargetID{Function: "api", Qualifier: "live"}

	pc, err := store.GetPC(ctx, live)
	require.NoError(t, err)
	require.Equal(t, controller.PCConfig{}, pc, "no config is a state, not an error")

	pc, err = store.PutPC(ctx, live, 40)
	require.NoError(t, err)
	require.Equal(t, controller.PCConfig{Exists: true, Requested: 40, Status: controller.StatusInProgress, LastModified: t0}, pc)

	_, err = store.PutPC(ctx, live, 50)
	require.Equal(t, "conflict", classOf(t, err).ErrorClass())

	clk.Advance(2 * time.Minute)
	pc, err = store.GetPC(ctx, live)
	require.NoError(t, err)
	require.Equal(t, controller.StatusReady, pc.Status)
	require.Equal(t, 40, pc.Available)

	_, err = store.PutPC(ctx, controller.TargetID{Function: "api", Qualifier: "canary"}, 5)
	require.Equal(t, "weighted", classOf(t, err).ErrorClass(), "a weighted alias is a deploy, not a limit")
	_, err = store.GetPC(ctx, controller.TargetID{Function: "ghost", Qualifier: "live"})
	require.Equal(t, "not_found", classOf(t, err).ErrorClass())

	lim, err := store.Limits(ctx, controller.TargetID{Function: "capped", Qualifier: "live"})
	require.NoError(t, err)
	fifty := 50
	require.Equal(t, controller.Limits{Known: true, Reserved: &fifty, OtherPC: 20, AccountUnreserved: 950, MemoryMB: 128, AliasVersion: "2"}, lim)
	lim, err = store.Limits(ctx, live)
	require.NoError(t, err)
	require.Nil(t, lim.Reserved)
	require.Zero(t, lim.OtherPC)

	require.NoError(t, store.DeletePC(ctx, live))
	require.NoError(t, store.DeletePC(ctx, live), "deleting what is gone reaches the goal")

	calls := w.Stats().APICalls
	require.Equal(t, int64(1), calls["PutProvisionedConcurrencyConfig"][CodeResourceConflict])
	require.Equal(t, int64(2), calls["GetAccountSettings"][CodeOK])
	require.Equal(t, int64(1), calls["DeleteProvisionedConcurrencyConfig"][CodePCConfigNotFound])

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = store.GetPC(cctx, live)
	require.ErrorIs(t, err, context.Canceled)
}

func TestInProcessFaults(t *testing.T) {
	w, _ := newTestWorld(t, rulesScenario+"faults:\n  - {op: PutProvisionedConcurrencyConfig, kind: throttle, retry_after: 3s}\n  - {op: GetMetricData, kind: server_error}\n")
	store, src := w.InProcess()
	_, err := store.PutPC(context.Background(), controller.TargetID{Function: "api", Qualifier: "live"}, 5)
	ce := classOf(t, err)
	require.Equal(t, "throttled", ce.ErrorClass())
	require.Equal(t, 3*time.Second, ce.RetryAfter())
	_, err = w.GetProvisionedConcurrency("api", "live")
	requireAPIError(t, err, 404, CodePCConfigNotFound, "") // the throttled Put never ran

	got, err := src.Fetch(context.Background(), []controller.MetricQuery{{ID: controller.TargetID{Function: "big", Qualifier: "live"}}}, t0, t0.Add(10*time.Minute))
	require.Equal(t, "server", classOf(t, err).ErrorClass())
	require.False(t, got[controller.TargetID{Function: "big", Qualifier: "live"}].Complete)
	require.Equal(t, int64(1), w.Stats().APICalls["GetMetricData"][CodeCWInternalService])
}

func TestInProcessFetch(t *testing.T) {
	// 150 targets × 4 metrics = 600 queries: two GetMetricData calls.
	var sb strings.Builder
	sb.WriteString("account: {concurrent_executions: 100000}\nfunctions:\n")
	for i := range 150 {
		rate := 600
		if i == 0 {
			rate = 0 // idle: no datapoints at all
		}
		fmt.Fprintf(&sb, "  - {name: fn%d, aliases: [{name: live, version: \"1\"}], provisioned: {live: 8}, loads: [{qualifier: live, kind: constant, rate: %d, duration_ms: 1000}]}\n", i, rate)
	}
	sb.WriteString("  - {name: nopc, loads: [{qualifier: \"1\", kind: constant, rate: 60, duration_ms: 1000}]}\n")
	w, clk := newTestWorld(t, sb.String())
	clk.Advance(12 * time.Minute)
	_, src := w.InProcess()
	var qs []controller.MetricQuery
	for i := range 150 {
		qs = append(qs, controller.MetricQuery{ID: controller.TargetID{Function: fmt.Sprintf("fn%d", i), Qualifier: "live"}, Statistic: "Average"})
	}
	qs = append(qs, controller.MetricQuery{ID: controller.TargetID{Function: "arn:aws:lambda:us-east-1:123456789012:function:nopc", Qualifier: "1"}, Statistic: "Maximum"})
	got, err := src.Fetch(context.Background(), qs, t0, t0.Add(10*time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 151)
	require.Equal(t, int64(2), w.Stats().APICalls["GetMetricData"][CodeOK])

	idle := got[qs[0].ID]
	require.True(t, idle.Complete)
	require.Empty(t, idle.Points)

	busy := got[qs[1].ID]
	require.True(t, busy.Complete)
	require.Len(t, busy.Points, 10)
	for k, p := range busy.Points {
		require.Equal(t, t0.Add(time.Duration(k)*time.Minute), p.Time)
		require.True(t, p.HasUtilization && p.HasConcurrency && p.HasInvocations)
		require.Greater(t, p.Concurrency, 10.0, "the per-second peak of ~10 concurrent on average")
		require.Less(t, p.Concurrency, 30.0)
		require.Greater(t, p.Utilization, 0.8)
		require.Less(t, p.Utilization, 1.0, "Average utilization stays below the per-second peak")
		require.InDelta(t, 600, p.Invocations, 120)
		require.Greater(t, p.Spillover, 0.0)
	}

	nopc := got[qs[150].ID]
	require.Len(t, nopc.Points, 10)
	require.False(t, nopc.Points[0].HasUtilization, "no PC, no utilization")
	require.True(t, nopc.Points[0].HasInvocations)
}

// limitsScenario: a reserved function with a version, a plain alias and a
// weighted one; an unreserved function; one with 55 configs (two list pages).
var limitsScenario = `
seed: 3
account: {concurrent_executions: 10000, unreserved_min: 100}
functions:
  - name: web
    memory_mb: 512
    reserved: 300
    versions: 3
    aliases:
      - {name: live, version: "3"}
      - {name: canary, version: "2", routing: {"1": 0.1}}
    provisioned: {"1": 10, live: 30}
  - name: plain
    versions: 1
  - name: many
    versions: 60
    aliases: [{name: live, version: "60"}]
    provisioned: {` + manyConfigs() + `}
`

// manyConfigs is 1 PC on each of versions 1..55.
func manyConfigs() string {
	parts := make([]string, 55)
	for i := range parts {
		parts[i] = fmt.Sprintf("%q: 1", strconv.Itoa(i+1))
	}
	return strings.Join(parts, ", ")
}

// sharedCalls is the calls counted since before on every operation but
// GetFunction, and those on GetFunction.
func sharedCalls(before, after map[string]map[string]int64) (shared, getFunction int64) {
	for op, codes := range after {
		for code, n := range codes {
			n -= before[op][code]
			if op == opGetFunction {
				getFunction += n
			} else {
				shared += n
			}
		}
	}
	return shared, getFunction
}

func TestInProcessLimits(t *testing.T) {
	three := 300
	const unreserved = 10000 - 300
	tests := []struct {
		name      string
		id        controller.TargetID
		want      controller.Limits
		wantClass string // "" for no error
		wantCalls int    // of the shared budget: what LimitsCalls says and the World counts
	}{
		{
			name:      "version: reserved, memory, the alias's PC is other",
			id:        controller.TargetID{Function: "web", Qualifier: "1"},
			want:      controller.Limits{Known: true, Reserved: &three, OtherPC: 30, AccountUnreserved: unreserved, MemoryMB: 512},
			wantCalls: 2, // list + account
		},
		{
			name:      "alias without weights: its version",
			id:        controller.TargetID{Function: "web", Qualifier: "live"},
			want:      controller.Limits{Known: true, Reserved: &three, OtherPC: 10, AccountUnreserved: unreserved, MemoryMB: 512, AliasVersion: "3"},
			wantCalls: 3, // list + account + alias
		},
		{
			name: "alias with weights: the limits and a weighted error",
			id:   controller.TargetID{Function: "web", Qualifier: "canary"},
			want: controller.Limits{
				Known: true, Reserved: &three, OtherPC: 40, AccountUnreserved: unreserved, MemoryMB: 512,
				AliasVersion: "2", Weights: map[string]float64{"1": 0.1},
			},
			wantClass: string(controller.ClassWeighted),
			wantCalls: 3,
		},
		{
			name:      "function ARN",
			id:        controller.TargetID{Function: "arn:aws:lambda:us-east-1:123456789012:function:web", Qualifier: "live"},
			want:      controller.Limits{Known: true, Reserved: &three, OtherPC: 10, AccountUnreserved: unreserved, MemoryMB: 512, AliasVersion: "3"},
			wantCalls: 3,
		},
		{
			name:      "no reservation, default memory",
			id:        controller.TargetID{Function: "plain", Qualifier: "1"},
			want:      controller.Limits{Known: true, AccountUnreserved: unreserved, MemoryMB: 128},
			wantCalls: 2,
		},
		{
			name:      "55 configs: two list pages",
			id:        controller.TargetID{Function: "many", Qualifier: "live"},
			want:      controller.Limits{Known: true, OtherPC: 55, AccountUnreserved: unreserved, MemoryMB: 128, AliasVersion: "60"},
			wantCalls: 4, // 2 pages + account + alias
		},
		{
			name:      "55 configs, one of them the target's",
			id:        controller.TargetID{Function: "many", Qualifier: "7"},
			want:      controller.Limits{Known: true, OtherPC: 54, AccountUnreserved: unreserved, MemoryMB: 128},
			wantCalls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWorld(t, limitsScenario)
			st, _ := w.InProcess()
			store := st.(inProcessStore)
			cost := store.LimitsCalls(tt.id)
			before := w.Stats().APICalls

			lim, err := store.Limits(context.Background(), tt.id)
			if tt.wantClass == "" {
				require.NoError(t, err)
			} else {
				require.Equal(t, tt.wantClass, classOf(t, err).ErrorClass())
			}
			require.Equal(t, tt.want, lim)

			shared, getFn := sharedCalls(before, w.Stats().APICalls)
			require.Equal(t, int64(1), getFn, "one GetFunction, counted under its own operation")
			require.Equal(t, int64(tt.wantCalls), shared, "shared-quota calls the World counted")
			require.Equal(t, tt.wantCalls, cost, "LimitsCalls")
		})
	}
}

// GetFunction draws on its own quota: with a shared bucket of 3, an alias's
// limits (list, account, alias) still read, and the next shared call is
// throttled.
func TestInProcessLimitsQuotas(t *testing.T) {
	w, _ := newTestWorld(t, "account: {concurrent_executions: 1000, control_plane_rps: 3}\nfunctions:\n  - {name: web, aliases: [{name: live, version: \"1\"}]}\n")
	store, _ := w.InProcess()
	ctx := context.Background()
	live := controller.TargetID{Function: "web", Qualifier: "live"}
	lim, err := store.Limits(ctx, live)
	require.NoError(t, err)
	require.Equal(t, "1", lim.AliasVersion)
	_, err = store.GetPC(ctx, live)
	require.Equal(t, "throttled", classOf(t, err).ErrorClass(), "the shared bucket is spent")

	w, _ = newTestWorld(t, "account: {concurrent_executions: 1000, get_function_rps: 1}\nfunctions:\n  - {name: web, aliases: [{name: live, version: \"1\"}]}\n")
	store, _ = w.InProcess()
	_, err = store.Limits(ctx, live)
	require.NoError(t, err, "a burst of 1 GetFunction")
	_, err = store.Limits(ctx, live)
	require.Equal(t, "throttled", classOf(t, err).ErrorClass(), "GetFunction's own bucket is spent")
	require.Equal(t, int64(1), w.Stats().APICalls[opGetFunction][CodeTooManyRequests])
	_, err = store.GetPC(ctx, live)
	require.NoError(t, err, "the shared bucket is untouched")
}
