package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

var (
	_ controller.Clock = (*VirtualClock)(nil)
	_ controller.Clock = (*ScaledClock)(nil)
	_ controller.Clock = RealClock{}
)

func fired(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestVirtualClock(t *testing.T) {
	c := NewVirtualClock(t0)
	require.Equal(t, t0, c.Now())
	now := c.After(0)
	_, ok := fired(now)
	require.True(t, ok, "After(0) fires at once")

	a := c.After(time.Minute)
	b := c.After(2 * time.Minute)
	require.Equal(t, 2, c.Waiters())
	c.Advance(59 * time.Second)
	_, ok = fired(a)
	require.False(t, ok)
	c.Advance(time.Second)
	v, ok := fired(a)
	require.True(t, ok)
	require.Equal(t, t0.Add(time.Minute), v)
	_, ok = fired(b)
	require.False(t, ok)

	c.Set(t0) // backwards: ignored
	require.Equal(t, t0.Add(time.Minute), c.Now())
	c.Set(t0.Add(time.Hour))
	v, ok = fired(b)
	require.True(t, ok)
	require.Equal(t, t0.Add(time.Hour), v)
	require.Zero(t, c.Waiters())
	c.Advance(-time.Hour)
	require.Equal(t, t0.Add(time.Hour), c.Now())
}

func TestScaledClock(t *testing.T) {
	c := NewScaledClock(t0, 3600) // an hour per real second
	require.Equal(t, 3600.0, c.Speed())
	before := c.Now()
	require.False(t, before.Before(t0))
	// A simulated second is ~0.3 ms of real time; the bound only guards a hang.
	select {
	case v := <-c.After(time.Second):
		require.False(t, v.Before(before.Add(time.Second)))
	case <-time.After(10 * time.Second):
		t.Fatal("ScaledClock.After never fired")
	}
	require.Equal(t, 1.0, NewScaledClock(t0, 0).Speed())
}
