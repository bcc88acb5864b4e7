package ha

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

var (
	_ controller.WriteGate = Elector(nil)
	_ Elector              = (*dynamoLease)(nil)
	_ Elector              = (*kubeLease)(nil)
	_ Elector              = none{}
)

func TestNoneAlwaysLeads(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := NewNone(Options{Metrics: NewMetrics(reg)})
	require.True(t, e.IsLeader())
	require.NoError(t, e.MayWrite(context.Background()))
	require.NoError(t, e.Preflight(context.Background()))
	require.Equal(t, BackendNone, e.Backend())
	require.Equal(t, DefaultIdentity(), e.Identity())
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP pcautoscaler_leader 1 while this replica holds the leader lease (it alone writes to Lambda), else 0; always 1 with ha.backend none.
# TYPE pcautoscaler_leader gauge
pcautoscaler_leader 1
# HELP pcautoscaler_leader_changes_total Times this replica became the leader or stopped being it.
# TYPE pcautoscaler_leader_changes_total counter
pcautoscaler_leader_changes_total 0
`)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	cancel()
	require.NoError(t, <-done)
}

func TestTimings(t *testing.T) {
	require.Equal(t, Timings{LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second},
		Timings{}.WithDefaults())
	require.NoError(t, Timings{}.WithDefaults().Validate())
	err := Timings{LeaseDuration: time.Second, RenewDeadline: time.Second, RetryPeriod: time.Second}.Validate()
	require.ErrorContains(t, err, "renew_deadline (1s) must be less than lease_duration (1s)")
	require.ErrorContains(t, err, "retry_period (1s) must be less than renew_deadline (1s)")
}

// The gate: closed unless leader, renewed within renew_deadline, and the
// last renewal attempt succeeded; changes are counted, logged and called
// back in order.
func TestLeadershipGate(t *testing.T) {
	reg := prometheus.NewRegistry()
	logs, logger := newLog()
	var changes []bool
	l, err := newLeadership(BackendDynamoDB, Options{Identity: "me", Timings: Timings{LeaseDuration: 3 * time.Second,
		RenewDeadline: 200 * time.Millisecond, RetryPeriod: 50 * time.Millisecond}, Logger: logger, Metrics: NewMetrics(reg),
		OnChange: func(leader bool) { changes = append(changes, leader) }})
	require.NoError(t, err)
	ctx := context.Background()
	require.ErrorIs(t, l.MayWrite(ctx), ErrNotLeader)
	l.observe("other")
	require.ErrorContains(t, l.MayWrite(ctx), "held by other")

	l.renewed(time.Now())
	l.become(true, "test", false)
	require.NoError(t, l.MayWrite(ctx))
	l.renewFailed(nil)
	require.ErrorContains(t, l.MayWrite(ctx), "renewal failed")
	l.renewed(time.Now())
	require.NoError(t, l.MayWrite(ctx))
	// No renewal for renew_deadline: closed, though still leader.
	l.renewed(time.Now().Add(-250 * time.Millisecond))
	require.NoError(t, l.MayWrite(ctx), "an older renewal never moves the stamp back")
	time.Sleep(250 * time.Millisecond)
	require.ErrorContains(t, l.MayWrite(ctx), "renew_deadline is 200ms")
	require.True(t, l.IsLeader())

	l.become(false, "test loss", false)
	l.become(false, "again", false) // no change: nothing logged or counted
	require.ErrorIs(t, l.MayWrite(ctx), ErrNotLeader)
	require.Equal(t, []bool{true, false}, changes)
	require.Equal(t, 2.0, testutil.ToFloat64(NewMetrics(reg).changes))
	require.Equal(t, 0.0, testutil.ToFloat64(NewMetrics(reg).leader))
	require.Contains(t, logs.String(), `"level":"WARN","msg":"lost the lease: writes stopped; running on as a follower"`)
	require.Equal(t, 1, strings.Count(logs.String(), "lost the lease"))
}

// WriteDeadline: halfway between renew_deadline and lease_duration after
// the last renewal began while leader; now (nothing may be in flight) when
// not; the none backend has no limit.
func TestLeadershipWriteDeadline(t *testing.T) {
	l, err := newLeadership(BackendDynamoDB, Options{Identity: "me", Timings: Timings{LeaseDuration: 15 * time.Second,
		RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}})
	require.NoError(t, err)
	before := time.Now()
	require.False(t, l.WriteDeadline().Before(before), "not leader: now")
	require.False(t, l.WriteDeadline().After(time.Now()))

	began := time.Now().Add(-time.Second)
	l.renewed(began)
	l.become(true, "test", false)
	require.Equal(t, began.Add(12500*time.Millisecond), l.WriteDeadline())
	l.become(false, "test loss", false)
	require.False(t, l.WriteDeadline().After(time.Now()))

	require.True(t, NewNone(Options{}).WriteDeadline().IsZero())
}
