package awsapi

import (
	"context"

	"github.com/aws/smithy-go/middleware"
)

// attemptsKey carries a request's attempt counter from before the SDK's
// retry middleware to after it.
type attemptsKey struct{}

// meterRetries makes every retry attempt the SDK sends (5xx, network errors)
// wait for the bucket too: Caller.Call takes a token only for the first
// attempt, and Lambda's 15 rps count every request. The bucket is the
// calling Caller's (GetFunction has its own), b when the call did not come
// through a Caller. After the wait a write asks its gate again: the lease
// may have been lost meanwhile; a read's attempt is bounded by readTimeout
// from then on.
func meterRetries(b *Bucket) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		count := middleware.FinalizeMiddlewareFunc("pcautoscalerCountAttempts",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				return next.HandleFinalize(context.WithValue(ctx, attemptsKey{}, new(int)), in)
			})
		if err := st.Finalize.Insert(count, "Retry", middleware.Before); err != nil {
			return err
		}
		wait := middleware.FinalizeMiddlewareFunc("pcautoscalerMeterRetries",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				info, _ := ctx.Value(callInfoKey{}).(*callInfo)
				if n, ok := ctx.Value(attemptsKey{}).(*int); ok {
					*n++ // attempts of one request run one after another
					if *n > 1 {
						bucket := b
						if info != nil {
							bucket = info.bucket
						}
						if bucket != nil {
							if err := bucket.Wait(ctx); err != nil {
								return middleware.FinalizeOutput{}, middleware.Metadata{}, err
							}
						}
						if err := info.mayWrite(ctx); err != nil {
							return middleware.FinalizeOutput{}, middleware.Metadata{}, err
						}
					}
				}
				if info != nil && info.attemptTimeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, info.attemptTimeout)
					defer cancel()
				}
				return next.HandleFinalize(ctx, in)
			})
		return st.Finalize.Insert(wait, "Retry", middleware.After)
	}
}
