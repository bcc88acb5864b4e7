package sim

import (
	"context"
	"errors"
	"fmt"
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
	require.Equal(t, controller.Limits{Known: true, Reserved: &fifty, OtherPC: 20, AccountUnreserved: 950, MemoryMB: 128}, lim)
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
