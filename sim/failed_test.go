package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// TestFailedAllocationOverSDK: a FAILED increase is reported by Get and List
// with FUNCTION_ERROR_INIT_FAILURE and the environments really there (the
// old allocation, which is also what is billed); a Put on a FAILED config
// starts a new allocation from them.
func TestFailedAllocationOverSDK(t *testing.T) {
	// checkout-api:live starts READY at 10; increases fail for 3 minutes.
	s := newSimServer(t, httpTestScenario+"faults: [{kind: failed_allocation, function: checkout-api, qualifier: live, until: 3m}]\n")
	ctx := context.Background()
	c := s.lambda()
	store, _ := s.world.InProcess()
	live := controller.TargetID{Function: "checkout-api", Qualifier: "live"}

	type view struct {
		status                          types.ProvisionedConcurrencyStatusEnum
		reason                          string
		requested, allocated, available int32
	}
	get := func() view {
		t.Helper()
		out, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live")})
		require.NoError(t, err)
		return view{out.Status, aws.ToString(out.StatusReason), aws.ToInt32(out.RequestedProvisionedConcurrentExecutions),
			aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions), aws.ToInt32(out.AvailableProvisionedConcurrentExecutions)}
	}
	put := func(n int32) view {
		t.Helper()
		out, err := c.PutProvisionedConcurrencyConfig(ctx, putInput("checkout-api", "live", n))
		require.NoError(t, err, "a FAILED config is not in progress: the Put is accepted")
		return view{out.Status, aws.ToString(out.StatusReason), aws.ToInt32(out.RequestedProvisionedConcurrentExecutions),
			aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions), aws.ToInt32(out.AvailableProvisionedConcurrentExecutions)}
	}
	const (
		inProgress = types.ProvisionedConcurrencyStatusEnumInProgress
		ready      = types.ProvisionedConcurrencyStatusEnumReady
		failed     = types.ProvisionedConcurrencyStatusEnumFailed
	)
	failedView := view{failed, StatusReasonInitFailure, 30, 10, 10}

	require.Equal(t, view{inProgress, "", 30, 10, 10}, put(30))
	s.clock.Advance(time.Minute) // preparation; 20 environments take no time at 6000/min
	require.Equal(t, failedView, get())

	list, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	require.Len(t, list.ProvisionedConcurrencyConfigs, 2)
	item := list.ProvisionedConcurrencyConfigs[1] // "1" sorts before "live"
	require.Equal(t, checkoutARN+":live", aws.ToString(item.FunctionArn))
	require.Equal(t, failed, item.Status)
	require.Equal(t, StatusReasonInitFailure, aws.ToString(item.StatusReason))
	require.Equal(t, int32(10), aws.ToInt32(item.AllocatedProvisionedConcurrentExecutions))

	pc, err := store.GetPC(ctx, live)
	require.NoError(t, err)
	require.Equal(t, controller.PCConfig{Exists: true, Requested: 30, Allocated: 10, Available: 10, Status: controller.StatusFailed,
		StatusReason: StatusReasonInitFailure, LastModified: httpTestStart}, pc)

	// A FAILED config bills what it really has.
	before := s.world.Stats().Targets["checkout-api:live"].PCSeconds
	s.clock.Advance(10 * time.Second)
	require.InDelta(t, 100, s.world.Stats().Targets["checkout-api:live"].PCSeconds-before, 1e-9)

	// Inside the fault window the retry fails again, from the same 10.
	require.Equal(t, view{inProgress, "", 30, 10, 10}, put(30))
	s.clock.Advance(time.Minute)
	require.Equal(t, failedView, get())

	// After it, a Put starts a new allocation that completes.
	s.clock.Set(httpTestStart.Add(3 * time.Minute))
	require.Equal(t, view{inProgress, "", 25, 10, 10}, put(25))
	s.clock.Advance(time.Minute)
	require.Equal(t, view{ready, "", 25, 25, 25}, get())
}

// TestPutBelowFailedConfig: a Put on a FAILED config starts from what is
// really allocated, not from what was asked.
func TestPutBelowFailedConfig(t *testing.T) {
	w, clk := newTestWorld(t, rulesScenario+"faults: [{kind: failed_allocation, function: api, until: 5m}]\n")
	_, err := w.PutProvisionedConcurrency("api", "live", 40)
	require.NoError(t, err)
	clk.Advance(2 * time.Minute)
	v, err := w.GetProvisionedConcurrency("api", "live")
	require.NoError(t, err)
	require.Equal(t, [4]any{"FAILED", 40, 0, 0}, [4]any{v.Status, v.Requested, v.Allocated, v.Available}, "a new config that fails has nothing")

	v, err = w.PutProvisionedConcurrency("api", "live", 5)
	require.NoError(t, err)
	require.Equal(t, [4]any{"IN_PROGRESS", 5, 0, 0}, [4]any{v.Status, v.Requested, v.Allocated, v.Available}, "an increase from 0, not a decrease from 40")
	require.Empty(t, v.StatusReason)
}
