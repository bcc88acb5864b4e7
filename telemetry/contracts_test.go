package telemetry

import (
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/discover"
	"github.com/pcautoscaler/pcautoscaler/metrics"
)

// Metrics plugs into the loop and the CloudWatch source without adapters.
var (
	_ controller.Recorder = (*Metrics)(nil)
	_ metrics.Observer    = (*Metrics)(nil)
	_ discover.Recorder   = (*Metrics)(nil)
)
