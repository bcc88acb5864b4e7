// Command btmain runs the backtest until cmd/pcautoscaler wires it. Temporary.
package main

import (
	"os"

	"github.com/pcautoscaler/pcautoscaler/backtest"
)

func main() { os.Exit(backtest.Command(os.Args[1:], os.Stdout, os.Stderr)) }
