// Command pcautoscaler keeps AWS Lambda provisioned concurrency right-sized.
// main stays thin: every subcommand lives in its own file and returns an exit code.
package main

import (
	"os"
	// Time zones must resolve the same on every host and in a distroless image.
	_ "time/tzdata"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
