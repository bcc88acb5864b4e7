package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pcautoscaler/pcautoscaler/backtest"
)

// Exit codes (DESIGN.md §2).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"run":           {"run the daemon", cmdRun},
		"validate":      {"check a config file; list every problem", cmdValidate},
		"plan":          {"one evaluation now: current → desired and why; writes nothing", cmdPlan},
		"schedule":      {"preview each target's floors and ceilings, DST included", cmdSchedule},
		"version":       {"print the version", cmdVersion},
		"sim":           {"serve a simulated Lambda + CloudWatch any AWS client can use", cmdSim},
		"demo":          {"the simulator and the daemon together, accelerated, with a summary", cmdDemo},
		"backtest":      {"replay real traces: ours vs AAS vs static vs oracle", backtest.Command},
		"healthcheck":   {"probe /healthz (for container health checks)", cmdHealthcheck},
		"audit":         {"leftover provisioned concurrency: unaliased versions, unmanaged or idle aliases; --delete", cmdAudit},
		"shadow-report": {"what a mode: shadow daemon would have set next to what was set (/shadow)", cmdShadowReport},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pcautoscaler: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: pcautoscaler <command> [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'pcautoscaler <command> -h' for a command's flags.")
}

// parseFlags parses fs and turns flag errors into the usage exit code.
// It returns ok=false with the exit code to use when the caller must stop.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments: %s\n", fs.Name(), strings.Join(fs.Args(), " "))
		if hint := configHint(fs); hint != "" {
			fmt.Fprintln(stderr, hint)
		}
		return exitUsage, false
	}
	return 0, true
}

// configHint suggests --config when a command that takes one got the file
// as a positional argument (`validate config.yaml`).
func configHint(fs *flag.FlagSet) string {
	f := fs.Lookup("config")
	if f == nil || f.Value.String() != "" || fs.NArg() != 1 {
		return ""
	}
	arg := fs.Arg(0)
	if ext := strings.ToLower(filepath.Ext(arg)); ext != ".yaml" && ext != ".yml" {
		if _, err := os.Stat(arg); err != nil {
			return ""
		}
	}
	return fmt.Sprintf("did you mean: pcautoscaler %s --config %s", fs.Name(), arg)
}

// plural is "1 target", "2 targets": n with the noun in the right number.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
