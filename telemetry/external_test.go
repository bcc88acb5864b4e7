package telemetry

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// requireProgram returns the path of an outside program, or skips the test
// when it is absent — unless PCAUTOSCALER_REQUIRE_EXTERNAL=1 (CI), then fails.
func requireProgram(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("PCAUTOSCALER_REQUIRE_EXTERNAL") == "1" {
		t.Fatalf("%s not found in PATH and PCAUTOSCALER_REQUIRE_EXTERNAL=1: %v", name, err)
	}
	t.Skipf("%s not found in PATH (Debian package prometheus); skipping: %v", name, err)
	return ""
}

// processMetricsSupported: the process collector exports on Linux (CI, containers).
func processMetricsSupported() bool { return runtime.GOOS == "linux" }
