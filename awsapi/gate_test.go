package awsapi

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

var errLostLease = errors.New("not the leader: the lease is held by replica-b")

// leaseGate is a controller.WriteGate whose lease is lost at a point of the
// store's virtual time, or after a number of yeses; it records when it was
// asked.
type leaseGate struct {
	clock    *stepClock
	lostAt   time.Time // zero: never by time
	yeses    int       // < 0: unlimited
	mu       sync.Mutex
	askedAt  []time.Duration
	answered int
}

func (g *leaseGate) MayWrite(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	g.askedAt = append(g.askedAt, now.Sub(simStart))
	if (!g.lostAt.IsZero() && !now.Before(g.lostAt)) || (g.yeses >= 0 && g.answered >= g.yeses) {
		return errLostLease
	}
	g.answered++
	return nil
}

// TestWriteGateAfterTheBucket: PutPC and DeletePC ask the gate after their
// wait at the bucket and before each SDK retry, so a replica that loses its
// lease while waiting sends nothing; the refusal is a ClassNotLeader error
// the controller reads as controller.ResultNotLeader.
func TestWriteGateAfterTheBucket(t *testing.T) {
	ctx := context.Background()
	live := controller.TargetID{Function: "checkout", Qualifier: "live"}
	put := func(s *Lambda) error { _, err := s.PutPC(ctx, live, 30); return err }
	del := func(s *Lambda) error { return s.DeletePC(ctx, live) }
	for _, tc := range []struct {
		name      string
		faults    []sim.FaultSpec
		lostAfter time.Duration // lease lost at simStart + this; 0 = by count
		yeses     int
		write     func(*Lambda) error
		op        string
		wantSent  int64           // requests of op that reached Lambda
		wantAsked []time.Duration // when the gate was asked, store time
		wantErr   bool
	}{
		{name: "Put: lease lost while waiting for the bucket", lostAfter: 50 * time.Millisecond, yeses: -1, write: put,
			op: "PutProvisionedConcurrencyConfig", wantSent: 0, wantAsked: []time.Duration{100 * time.Millisecond}, wantErr: true},
		{name: "Delete: lease lost while waiting for the bucket", lostAfter: 50 * time.Millisecond, yeses: -1, write: del,
			op: "DeleteProvisionedConcurrencyConfig", wantSent: 0, wantAsked: []time.Duration{100 * time.Millisecond}, wantErr: true},
		{name: "Put: lease held", yeses: -1, write: put,
			op: "PutProvisionedConcurrencyConfig", wantSent: 1, wantAsked: []time.Duration{100 * time.Millisecond}},
		{name: "Put: lease lost before the SDK's retry of a 5xx", yeses: 1, write: put,
			faults:   []sim.FaultSpec{{Op: "PutProvisionedConcurrencyConfig", Kind: sim.FaultServerError}},
			op:       "PutProvisionedConcurrencyConfig",
			wantSent: 1, wantAsked: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := testScenario()
			sc.Faults = tc.faults
			e := newSimEnv(t, sc, nil)
			g := &leaseGate{clock: e.bucket, yeses: tc.yeses}
			if tc.lostAfter > 0 {
				g.lostAt = simStart.Add(tc.lostAfter)
			}
			store := NewLambda(testAWSConfig(e.url), 10, WithClock(e.bucket), WithObserver(e.obs), withBackoff(noBackoff{}), WithWriteGate(g))
			// A read first takes the bucket's free token: the write waits 100 ms.
			_, err := store.GetPC(ctx, live)
			require.NoError(t, err)

			err = tc.write(store)
			var sent int64
			for _, n := range e.requests(tc.op) {
				sent += n
			}
			require.Equal(t, tc.wantSent, sent, "requests that reached Lambda")
			require.Equal(t, tc.wantAsked, g.askedAt)
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, errLostLease)
			require.Equal(t, ClassNotLeader, Classify(err))
			var ce controller.ClassifiedError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, controller.ResultNotLeader, ce.ErrorClass())
			require.Contains(t, err.Error(), "lambda:"+tc.op+" checkout:live: not_leader")
			if tc.wantSent == 0 {
				require.Zero(t, e.obs.count(tc.op), "nothing sent, nothing observed")
				require.Empty(t, e.world.WriteLog())
			}
		})
	}
}

// TestWriteGateNil: no gate (WithWriteGate(nil) or none) writes as before.
func TestWriteGateNil(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, testScenario(), nil)
	store := NewLambda(testAWSConfig(e.url), 10, WithClock(e.bucket), WithWriteGate(nil))
	_, err := store.PutPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"}, 30)
	require.NoError(t, err)
	require.Len(t, e.world.WriteLog(), 1)
}

type deadlineGate struct{ until time.Time }

func (deadlineGate) MayWrite(context.Context) error { return nil }
func (g deadlineGate) WriteDeadline() time.Time     { return g.until }

// TestCallContext: a read gets readTimeout for the whole call, or none at
// the call when its Caller has a bucket (each attempt gets it after its
// wait); a write gets its gate's write deadline, none when the gate has
// none or says zero (the single-replica backend), so the controller's own
// write timeout applies.
func TestCallContext(t *testing.T) {
	soon := time.Now().Add(time.Second)
	for _, tc := range []struct {
		name     string
		write    bool
		bucketed bool
		gate     controller.WriteGate
		want     func(dl time.Time, ok bool) bool
	}{
		{"read", false, false, nil, func(dl time.Time, ok bool) bool { return ok && time.Until(dl) <= readTimeout }},
		{"read on a bucket", false, true, nil, func(_ time.Time, ok bool) bool { return !ok }},
		{"write without a gate", true, true, nil, func(_ time.Time, ok bool) bool { return !ok }},
		{"write, gate without a deadline", true, true, &leaseGate{yeses: -1}, func(_ time.Time, ok bool) bool { return !ok }},
		{"write, zero deadline", true, true, deadlineGate{}, func(_ time.Time, ok bool) bool { return !ok }},
		{"write, lease deadline", true, true, deadlineGate{until: soon}, func(dl time.Time, ok bool) bool { return ok && dl.Equal(soon) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel, _ := callContext(context.Background(), tc.write, tc.gate, tc.bucketed)
			defer cancel()
			dl, ok := ctx.Deadline()
			require.True(t, tc.want(dl, ok), "deadline %v %v", dl, ok)
		})
	}
}

// TestWriteAfterTheLeaseEndedIsNotSent: a gate whose write deadline has
// passed by the time the write would go (the lease ended after its yes)
// sends nothing and says not-leader.
func TestWriteAfterTheLeaseEndedIsNotSent(t *testing.T) {
	e := newSimEnv(t, testScenario(), nil)
	store := NewLambda(testAWSConfig(e.url), 10, WithClock(e.bucket), WithWriteGate(deadlineGate{until: time.Now().Add(-time.Millisecond)}))
	_, err := store.PutPC(context.Background(), controller.TargetID{Function: "checkout", Qualifier: "live"}, 30)
	require.Equal(t, ClassNotLeader, Classify(err))
	require.Empty(t, e.world.WriteLog(), "nothing sent")
}
