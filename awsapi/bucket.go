package awsapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// DefaultLambdaRPS leaves headroom under Lambda's 15 requests per second,
// which are shared by every control-plane API of the account and Region
// (other tools, deploys and the console use the same budget).
const DefaultLambdaRPS = 10

// Bucket is the token bucket every Lambda call waits on. Throttling halves
// its rate (down to minRateFraction of the base) and pauses it for the
// server's Retry-After; each success gives back recoverStep of the base, so
// after a throttle the rate climbs back over a few dozen calls.
type Bucket struct {
	clock controller.Clock
	base  rate.Limit

	mu     sync.Mutex
	lim    *rate.Limiter
	cur    rate.Limit
	paused time.Time // no call starts before this
	// pausing is closed (and replaced) when a 429 pauses the bucket: it
	// wakes the calls waiting their turn, which queue again after it.
	pausing chan struct{}
}

const (
	minRateFraction = 1.0 / 16
	recoverStep     = 1.0 / 20
	// maxPause bounds how long one Retry-After stops every call; the
	// throttled target itself is backed off by the controller for the full
	// Retry-After (Error.RetryAfter).
	maxPause = time.Minute
)

// NewBucket returns a bucket of rps requests per second (DefaultLambdaRPS when
// rps ≤ 0) on clock.
func NewBucket(rps float64, clock controller.Clock) *Bucket {
	if !(rps > 0) {
		rps = DefaultLambdaRPS
	}
	l := rate.Limit(rps)
	return &Bucket{clock: clock, base: l, cur: l, lim: rate.NewLimiter(l, 1), pausing: make(chan struct{})}
}

// Wait blocks until a call may start or ctx ends.
func (b *Bucket) Wait(ctx context.Context) error {
	for {
		now := b.clock.Now()
		b.mu.Lock()
		paused, pausing, lim := b.paused, b.pausing, b.lim
		b.mu.Unlock()
		if now.Before(paused) {
			if err := b.sleep(ctx, paused.Sub(now), nil); err != nil {
				return err
			}
			continue
		}
		r := lim.ReserveN(now, 1)
		d := r.DelayFrom(now)
		if d <= 0 {
			return nil
		}
		switch err := b.sleep(ctx, d, pausing); {
		case errors.Is(err, errPaused):
			// Another call's 429 paused the bucket while this one waited
			// its turn: wait out the pause and queue again (Throttled);
			// going now would most likely be throttled again.
			continue
		case err != nil:
			r.CancelAt(b.clock.Now())
			return err
		}
		return nil
	}
}

var errPaused = errors.New("paused")

func (b *Bucket) sleep(ctx context.Context, d time.Duration, pausing <-chan struct{}) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-pausing: // nil: never
		return errPaused
	case <-b.clock.After(d):
		return nil
	}
}

// Throttled slows the bucket after a 429 and pauses it for retryAfter.
func (b *Bucket) Throttled(retryAfter time.Duration) {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = max(b.cur/2, b.base*minRateFraction)
	b.lim.SetLimitAt(now, b.cur)
	if until := now.Add(min(retryAfter, maxPause)); until.After(b.paused) {
		// The calls waiting their turn are woken and queue again at the
		// halved rate from the pause's end, on a fresh limiter: the turns
		// they held would otherwise leave the bucket idle after it.
		b.paused = until
		b.lim = rate.NewLimiter(b.cur, 1)
		b.lim.ReserveN(now, 1) // its first turn is 1/rate away, or the pause's end: a 429 never frees a call
		close(b.pausing)
		b.pausing = make(chan struct{})
	}
}

// Succeeded lets the rate recover towards the base.
func (b *Bucket) Succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur >= b.base {
		return
	}
	b.cur = min(b.base, b.cur+b.base*recoverStep)
	b.lim.SetLimitAt(b.clock.Now(), b.cur)
}

// Rate is the current rate in requests per second.
func (b *Bucket) Rate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return float64(b.cur)
}
