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

// buildInfo returns the version, the VCS revision (when the binary was
// built from a checkout) and the Go version.
func buildInfo() (ver, revision, goVersion string) {
	revision = "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return version, revision, runtime.Version()
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
