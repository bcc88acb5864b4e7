package ha

import (
	"context"
	"time"
)

// none is the single-replica backend: always the leader, every write allowed.
type none struct {
	identity string
}

// NewNone returns the backend "none": always leader. It sets
// pcautoscaler_leader to 1.
func NewNone(o Options) Elector {
	if o.Identity == "" {
		o.Identity = DefaultIdentity()
	}
	o.Metrics.set(true)
	return none{identity: o.Identity}
}

func (none) MayWrite(context.Context) error { return nil }
func (none) WriteDeadline() time.Time       { return time.Time{} }
func (none) IsLeader() bool                 { return true }
func (n none) Identity() string             { return n.identity }
func (none) Backend() string                { return BackendNone }
func (none) Preflight(context.Context) error {
	return nil
}

// Run waits for ctx: there is nothing to campaign for.
func (none) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
