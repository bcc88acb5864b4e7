package scale

import (
	"time"

	"github.com/pcautoscaler/pcautoscaler/sim"
)

// spendClock is the world's virtual clock as the daemon's token bucket sees
// it: After(d) moves virtual time forward by d at once and fires, so each
// wait of the bucket spends simulated time instead of wall time. It is
// exact only while one goroutine waits at a time (the bucket reads Now,
// reserves a slot, then waits the difference): the harness runs the
// controller with one worker, so Lambda calls are sequential.
type spendClock struct{ *sim.VirtualClock }

func (c spendClock) After(d time.Duration) <-chan time.Time {
	c.Advance(d) // ignores d ≤ 0
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}
