package controller

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// In a synctest bubble time is virtual: Run's real-clock ticker runs ten
// minutes in no wall time, deterministically.
func TestRunAlignsTicksAndStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		store := newFakeStore(time.Now, 90*time.Second)
		store.set(checkout, 8, time.Now().Add(-2*time.Hour))
		rec := &fakeRecorder{}
		c, err := New(Options{
			Targets:  []Target{{ID: checkout, Policy: rulesPolicy()}},
			Store:    store,
			Metrics:  &fakeMetrics{store: store, now: time.Now, demand: func(TargetID, time.Time) float64 { return 5 }},
			Recorder: rec,
		})
		require.NoError(t, err)

		time.Sleep(17 * time.Second) // start mid-minute
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(10 * time.Minute)
		cancel()
		require.NoError(t, <-done)

		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Len(t, rec.ticks, 10)
		for i, tick := range rec.ticks {
			require.Equal(t, 5*time.Second, tick.Sub(tick.Truncate(time.Minute)), "tick %d at %s", i, tick)
			if i > 0 {
				require.Equal(t, time.Minute, tick.Sub(rec.ticks[i-1]))
			}
		}
	})
}

// On shutdown a Put already in flight finishes with a live context, and
// no new write starts.
func TestRunShutdownFinishesInFlightWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		store := newFakeStore(time.Now, 90*time.Second)
		started := make(chan struct{}, 2)
		var mu sync.Mutex
		var writeCtxErrs []error
		store.putHook = func(ctx context.Context) {
			started <- struct{}{}
			time.Sleep(10 * time.Second) // a slow Put
			mu.Lock()
			writeCtxErrs = append(writeCtxErrs, ctx.Err())
			mu.Unlock()
		}
		other := TargetID{Function: "orders", Qualifier: "live"}
		c, err := New(Options{
			// Neither is configured yet: both want a Put to min 1.
			Targets: []Target{{ID: checkout, Policy: rulesPolicy()}, {ID: other, Policy: rulesPolicy()}},
			Store:   store,
			Metrics: &fakeMetrics{store: store, now: time.Now, demand: func(TargetID, time.Time) float64 { return 0 }},
			Workers: 1,
		})
		require.NoError(t, err)

		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		<-started // the first Put is in flight
		cancel()
		require.NoError(t, <-done)

		require.Len(t, store.okPuts(), 1, "the in-flight Put finished, the queued one never started")
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []error{nil}, writeCtxErrs, "the write's context was not cancelled")
		st, _ := c.StateOf(store.okPuts()[0].id)
		require.Equal(t, 1, st.LastTo, "memory follows the finished write")
	})
}
