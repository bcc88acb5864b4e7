package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"

	"github.com/pcautoscaler/pcautoscaler/aas"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/telemetry"
)

// aasCheckTimeout bounds the start-up check: a slow AAS endpoint delays the
// first tick by at most this (the check then runs again on its cadence).
const aasCheckTimeout = 20 * time.Second

// newAASGuard puts the Application Auto Scaling check between whoever sets
// the managed targets and ctrl (aas.Guard). Shadow mode writes nothing, so
// it is meant to run next to AAS: no check.
func newAASGuard(o wireOptions, ctrl *controller.Controller, m *telemetry.Metrics, targets []controller.Target) *aas.Guard {
	return aas.NewGuard(aas.Options{
		API:      applicationautoscaling.NewFromConfig(o.awsCfg),
		Set:      ctrl.SetTargets,
		Logger:   o.logger,
		Observer: m,
		Clock:    o.clock,
		Off:      o.cfg.Mode == config.ModeShadow,
	}, targets)
}

// startAAS checks AAS once now (before the first tick: an alias AAS scales
// is never written) and then every aas.DefaultEvery until ctx ends. A
// failed check is a Warn (aas.Guard.Check), never fatal.
func (d *daemon) startAAS(ctx context.Context) {
	if d.aas == nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, aasCheckTimeout)
	_ = d.aas.Check(cctx)
	cancel()
	go d.aas.Run(ctx)
}
