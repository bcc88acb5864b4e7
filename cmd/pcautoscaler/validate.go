package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// loadConfig loads and validates path, printing every problem on its own
// line (file: yaml.path: message) so an operator fixes them in one pass.
func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	return loadConfigFrom(path, "", stderr)
}

// loadConfigFrom reads the file at path, or the YAML held by environment
// variable envName (ECS injects it from SSM, so no volume is needed).
func loadConfigFrom(path, envName string, stderr io.Writer) (*config.Config, bool) {
	var (
		cfg *config.Config
		err error
	)
	switch {
	case path != "" && envName != "":
		fmt.Fprintln(stderr, "use either --config or --config-env, not both")
		return nil, false
	case envName != "":
		data, ok := os.LookupEnv(envName)
		if !ok {
			fmt.Fprintf(stderr, "--config-env: environment variable %s is not set\n", envName)
			return nil, false
		}
		path = "$" + envName
		cfg, err = config.Parse([]byte(data))
	case path != "":
		cfg, err = config.Load(path)
	default:
		fmt.Fprintln(stderr, "--config is required")
		return nil, false
	}
	if err == nil {
		return cfg, true
	}
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			fmt.Fprintf(stderr, "%s: %s\n", path, p)
		}
		fmt.Fprintf(stderr, "%s: %s; nothing started\n", path, plural(len(verr.Problems), "problem", "problems"))
		return nil, false
	}
	fmt.Fprintf(stderr, "%s: %v\n", path, err)
	return nil, false
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	path := fs.String("config", "", "config `file` (YAML)")
	env := fs.String("config-env", "", "read the config YAML from this environment `variable` instead of a file (as run does)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, ok := loadConfigFrom(*path, *env, stderr)
	if !ok {
		return exitUsage
	}
	name := *path
	if *env != "" {
		name = "$" + *env
	}
	fmt.Fprintf(stdout, "%s: OK (%s)\n", name, validSummary(cfg))
	return exitOK
}

// validSummary counts what a valid file manages: its targets (accounts'
// included), the discover blocks and the accounts.
func validSummary(cfg *config.Config) string {
	targets, discover := len(cfg.Targets), 0
	if cfg.Discover != nil {
		discover++
	}
	for _, a := range cfg.Accounts {
		targets += len(a.Targets)
		if a.Discover != nil {
			discover++
		}
	}
	parts := []string{plural(targets, "target", "targets")}
	switch {
	case discover > 0 && len(cfg.Accounts) == 0:
		parts = append(parts, "discovery by tags")
	case discover > 0:
		parts = append(parts, "discovery by tags in "+plural(discover, "account", "accounts"))
	}
	if n := len(cfg.Accounts); n > 0 {
		parts = append(parts, plural(n, "more account", "more accounts"))
	}
	return strings.Join(parts, ", ")
}
