package controller

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

func TestSetTargetsKeepsMemoryOfTargetsThatRemain(t *testing.T) {
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 15}, surgeAndQuiet(at(9, 30)), nil)
	a.run(t, at(9, 40))
	before, ok := a.c.StateOf(checkout)
	require.True(t, ok)
	require.False(t, before.LastChange.IsZero(), "the surge was scaled: %+v", a.putsOf(checkout))

	p := config.DefaultPolicy()
	p.Max = 500
	a.store.set(quietFn, 60, at(7, 0))
	require.NoError(t, a.c.SetTargets([]Target{{ID: checkout, Policy: p}, {ID: quietFn, Policy: config.DefaultPolicy()}}))
	after, _ := a.c.StateOf(checkout)
	require.Equal(t, before, after, "memory kept")
	require.Equal(t, 500, a.c.Targets()[0].Policy.Max, "new settings apply")
	a.run(t, at(10, 30))
	require.NotEmpty(t, a.putsOf(quietFn), "the added target is managed")

	require.NoError(t, a.c.SetTargets([]Target{{ID: quietFn, Policy: config.DefaultPolicy()}}))
	n := len(a.store.callsOf("get"))
	a.run(t, at(10, 40))
	for _, c := range a.store.callsOf("get")[n:] {
		require.NotEqual(t, checkout, c.id, "a dropped target is not read")
	}
	_, ok = a.c.StateOf(checkout)
	require.False(t, ok)

	require.Error(t, a.c.SetTargets([]Target{{ID: quietFn}, {ID: quietFn}}), "duplicates refused")
	require.Len(t, a.c.Targets(), 1, "a refused list changes nothing")
}

type gate struct{ allow atomic.Bool }

func (g *gate) MayWrite(context.Context) error {
	if g.allow.Load() {
		return nil
	}
	return errors.New("not the leader")
}

func TestGateIsAskedBeforeEveryWrite(t *testing.T) {
	g := &gate{}
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 15}, surgeAndQuiet(at(9, 30)),
		func(o *Options, _ *account) { o.Gate = g })
	a.run(t, at(10, 0))
	require.Empty(t, a.store.callsOf("put"), "a follower writes nothing")
	require.Contains(t, a.rec.results(), ResultNotLeader)
	require.NotEmpty(t, a.store.callsOf("get"), "a follower keeps reading")

	// The leader (another replica) writes: a follower must not read it as
	// a foreign change.
	a.store.set(checkout, 30, at(10, 0))
	a.run(t, at(10, 3))
	require.Zero(t, a.rec.foreign, "the leader's write is not foreign to a follower")

	g.allow.Store(true)
	a.run(t, at(10, 5))
	require.NotEmpty(t, a.putsOf(checkout), "the new leader acts on its first tick")
	require.LessOrEqual(t, a.putsOf(checkout)[0].at.Sub(at(10, 3)), 70*time.Second)
}

// Another writer changes the PC: it is seen, logged at Warn with both
// values, counted, and either overridden (default) or left alone for
// yield_for; three in an hour is a fight.
func TestForeignChanges(t *testing.T) {
	for _, mode := range []string{config.ForeignOverride, config.ForeignYield} {
		t.Run(mode, func(t *testing.T) {
			steady := func(TargetID, time.Time) float64 { return 13 } // 20 PC: u 0.65, deadband
			a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 20}, steady, func(o *Options, _ *account) {
				o.Targets[0].Policy.OnForeignChange = mode
			})
			a.run(t, at(9, 20))
			require.Empty(t, a.putsOf(checkout), "steady: nothing to do")
			for i, m := range []int{20, 35, 50} { // someone sets 60, 61, 62
				a.store.set(checkout, 60+i, at(9, m))
				a.run(t, at(9, m+15))
			}
			require.Equal(t, 3, a.rec.foreign)
			require.Equal(t, 3, a.logged(t, "provisioned concurrency changed by another writer")+
				a.logged(t, "fighting another writer: provisioned concurrency changed by someone else again"))
			require.Equal(t, 1, a.logged(t, "fighting another writer: provisioned concurrency changed by someone else again"))
			puts := a.putsOf(checkout)
			if mode == config.ForeignYield {
				require.Empty(t, puts, "yield: left alone")
				require.Positive(t, a.rec.reasons()[ReasonYielding])
				return
			}
			require.NotEmpty(t, puts, "override: back to what the metrics ask for")
			for _, p := range puts {
				require.Less(t, p.n, 60)
			}
		})
	}
}

// A canary deploy puts routing weights on the alias: Lambda refuses every
// PC change while they stand. No write loop, no limit learned from it, one
// Info line, and the change it wanted goes out as soon as they clear;
// weights left standing beyond WeightedAlarmAfter are a stall.
func TestWeightedAliasWaitsForTheDeploy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		from, to   time.Time
		stallAfter bool
	}{
		{name: "canary of 20 minutes", from: at(9, 58), to: at(10, 18)},
		{name: "weights left behind for 40 minutes", from: at(9, 58), to: at(10, 38), stallAfter: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			weighted := func(at time.Time) bool { return !at.Before(tc.from) && at.Before(tc.to) }
			a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 15}, surgeAndQuiet(at(10, 0)), func(_ *Options, a *account) {
				a.store.putErr = func(_ TargetID, _ int, at time.Time) error {
					if weighted(at) {
						return apiErr{class: ClassWeighted}
					}
					return nil
				}
				a.store.limitsErr = func(_ TargetID, at time.Time) error {
					if weighted(at) {
						return apiErr{class: ClassWeighted}
					}
					return nil
				}
			})
			a.run(t, at(11, 0))
			var refused int
			for _, c := range a.store.callsOf("put") {
				if c.err != nil {
					refused++
				}
			}
			require.LessOrEqual(t, refused, 1, "no write loop while weighted")
			puts := a.putsOf(checkout)
			require.NotEmpty(t, puts)
			require.False(t, puts[0].at.Before(tc.to), "no change while weighted: %+v", puts[0])
			require.LessOrEqual(t, puts[0].at.Sub(tc.to), 70*time.Second, "re-applied within a tick of the weights clearing")
			require.GreaterOrEqual(t, puts[0].n, 58, "the whole surge, not a bisected value")
			st, _ := a.c.StateOf(checkout)
			require.Zero(t, st.Rejected, "weights are not a limit")
			require.Equal(t, 1, a.logged(t, "alias has routing weights (a deploy shifting traffic): no change while they stand"))
			require.Equal(t, 1, a.logged(t, "routing weights cleared: deciding again"))
			require.Positive(t, a.rec.reasons()[ReasonWeighted])
			require.Equal(t, tc.stallAfter, slices.Contains(a.rec.stalls[checkout], StallWeighted))
		})
	}
}

// The store's own gate (awsapi.WithWriteGate, asked after the rate
// limiter's wait) refused: not a failed write, no stall, no backoff.
func TestStoreGateRefusalIsNotAFailure(t *testing.T) {
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 15}, surgeAndQuiet(at(9, 30)), func(_ *Options, a *account) {
		a.store.putErr = func(TargetID, int, time.Time) error { return apiErr{class: ClassNotLeader} }
	})
	a.run(t, at(10, 0))
	require.NotEmpty(t, a.store.callsOf("put"), "the surge was decided")
	require.Contains(t, a.rec.results(), ResultNotLeader)
	require.NotContains(t, a.rec.results(), string(ClassError))
	require.NotContains(t, a.rec.stalls[checkout], StallLambdaError)
	st, _ := a.c.StateOf(checkout)
	require.Zero(t, st.Rejected)
}

// Another writer puts the value the loop already has (AAS re-applying its
// min, a pipeline): LastModified moves on, the value does not. It is seen
// once, as a rewrite; the loop's own writes never count.
func TestForeignRewriteOfTheSameValue(t *testing.T) {
	steady := func(TargetID, time.Time) float64 { return 13 } // 20 PC: u 0.65, deadband
	a := newAccount(t, at(9, 0), 0, map[TargetID]int{checkout: 20}, steady, nil)
	a.run(t, at(9, 20))
	require.Zero(t, a.rec.foreign)
	a.store.set(checkout, 20, at(9, 20))
	a.run(t, at(11, 0)) // long enough for the drift round robin to re-read it
	require.Equal(t, 1, a.rec.foreign)
	require.Equal(t, 1, a.logged(t, "provisioned concurrency rewritten by another writer (same value, later LastModified)"))
}
