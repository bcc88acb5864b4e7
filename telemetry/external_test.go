package telemetry

import "runtime"

// processMetricsSupported: the process collector exports on Linux (CI, containers).
func processMetricsSupported() bool { return runtime.GOOS == "linux" }
