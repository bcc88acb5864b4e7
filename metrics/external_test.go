package metrics

import (
	"os"
	"os/exec"
	"testing"
)

// lookExternal returns the path of an outside program a test needs. Absent,
// the test is skipped with a message, or fails when CI demands every external
// test run (PCAUTOSCALER_REQUIRE_EXTERNAL=1).
func lookExternal(t *testing.T, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if os.Getenv("PCAUTOSCALER_REQUIRE_EXTERNAL") == "1" {
		t.Fatalf("%s not on PATH and PCAUTOSCALER_REQUIRE_EXTERNAL=1: %v", program, err)
	}
	t.Skipf("%s not on PATH (install Python moto: pip install 'moto[server]'); skipping", program)
	return ""
}
