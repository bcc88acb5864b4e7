package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// revision may be stamped at build time (-X main.revision=abc1234;
// scripts/build.sh does it from git) for builds without Go's VCS stamp
// (GOFLAGS=-buildvcs=false, no .git in a Docker context).
var revision = ""

// buildInfo returns the version, the VCS revision (Go's VCS stamp when the
// binary was built from a checkout, else the one stamped into revision, else
// "unknown") and the Go version.
func buildInfo() (ver, rev, goVersion string) {
	rev = revision
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return version, rev, runtime.Version()
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	v, rev, gov := buildInfo()
	fmt.Fprintf(stdout, "pcautoscaler %s (revision %s, %s)\n", v, rev, gov)
	return exitOK
}
