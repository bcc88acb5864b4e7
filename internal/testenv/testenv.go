// Package testenv holds what tests in several packages share about their
// environment.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireVar is set to 1 by .ci/run: then a missing outside program fails the
// test instead of skipping it, so CI can never turn green by skipping.
const RequireVar = "PCAUTOSCALER_REQUIRE_EXTERNAL"

// Program returns the path of an outside program a test needs (moto_server,
// promtool, prometheus, aws). When it is absent the test is skipped with a
// message saying how to get it, or fails when RequireVar=1.
func Program(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(RequireVar) == "1" {
		t.Fatalf("%s is required (%s=1) but not on PATH: %v", name, RequireVar, err)
	}
	t.Skipf("%s not on PATH; skipping (%s; set %s=1 to make this a failure)", name, installHint(name), RequireVar)
	return ""
}

func installHint(name string) string {
	switch name {
	case "moto_server":
		return "pip install 'moto[server]==5.2.1'"
	case "promtool", "prometheus":
		return "apt-get install prometheus"
	case "aws":
		return "pip install awscli"
	}
	return "install it"
}
