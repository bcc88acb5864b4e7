package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/audit"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// exitFound: audit found leftover PC (and did not delete all of it), so a
// CI job can fail on it.
const exitFound = 3

// cmdAudit lists leftover provisioned concurrency and, with --delete,
// removes it after a confirmation. It never touches a managed alias's
// config unless that alias had no invocations for --idle-days.
func cmdAudit(args []string, stdout, stderr io.Writer) int {
	return auditWith(args, os.Stdin, stdout, stderr)
}

func auditWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	path := fs.String("config", "", "config `file` (YAML): its targets are the managed aliases, its pricing the cost")
	all := fs.Bool("all", false, "audit every function in the Region, not only the managed ones")
	del := fs.Bool("delete", false, "delete the listed configs after a confirmation read from stdin (dry by default)")
	yes := fs.Bool("yes", false, "with --delete: do not ask")
	idleDays := fs.Int("idle-days", audit.DefaultIdleDays, "an alias whose PC had no invocations for this many `days` is listed")
	rps := fs.Float64("rps", audit.DefaultRPS, "Lambda calls per second (the account's 15 are shared with the daemon and deploys)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *yes && !*del {
		fmt.Fprintln(stderr, "audit: --yes goes with --delete")
		return exitUsage
	}
	if *rps <= 0 || *rps > 10 {
		fmt.Fprintln(stderr, "audit: --rps must be above 0 and at most 10")
		return exitUsage
	}
	cfg, ok := loadConfig(*path, stderr)
	if !ok {
		return exitUsage
	}
	logger := newLogger(stderr, "warn", cfg.Log.Format)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	awsCfg, err := loadAWSConfig(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return exitRuntime
	}
	var managed []controller.TargetID
	for _, t := range cfg.Targets {
		managed = append(managed, controller.TargetID{Function: t.Function, Qualifier: t.Qualifier})
	}
	a := audit.New(audit.Options{
		Lambda:           lambda.NewFromConfig(awsCfg),
		CloudWatch:       cloudwatch.NewFromConfig(awsCfg),
		AAS:              applicationautoscaling.NewFromConfig(awsCfg),
		Managed:          managed,
		All:              *all,
		PricePerGBSecond: cfg.Pricing.PCPricePerGBSecond,
		IdleDays:         *idleDays,
		RPS:              *rps,
	})
	findings, err := a.Run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return exitRuntime
	}
	for _, n := range a.Notes {
		fmt.Fprintf(stderr, "audit: note: %s\n", n)
	}
	if len(findings) == 0 {
		fmt.Fprintln(stdout, "no leftover provisioned concurrency")
		return exitOK
	}
	writeFindings(stdout, findings)
	if !*del {
		fmt.Fprintln(stdout, "\ndry run: nothing deleted (--delete removes these)")
		return exitFound
	}
	if !*yes {
		fmt.Fprintf(stdout, "\ndelete these %s? [y/N] ", plural(len(findings), "config", "configs"))
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stdout, "nothing deleted")
			return exitFound
		}
	}
	dctx, cancel := context.WithTimeout(ctx, time.Duration(len(findings))*time.Minute)
	defer cancel()
	if err := a.Delete(dctx, findings); err != nil {
		fmt.Fprintf(stderr, "audit: %v\n", err)
		return exitRuntime
	}
	fmt.Fprintf(stdout, "deleted %s\n", plural(len(findings), "config", "configs"))
	return exitOK
}

func writeFindings(w io.Writer, fs []audit.Finding) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "config\trequested\tmemory\tmonthly\tholds\twhy")
	var total float64
	var held int
	for _, f := range fs {
		mem, cost := "-", "-"
		if f.MemoryMB > 0 {
			mem, cost = fmt.Sprintf("%d MB", f.MemoryMB), fmt.Sprintf("$%.2f", f.MonthlyUSD)
		}
		why := strings.Join(f.Reasons, ", ")
		if f.Detail != "" {
			why += " (" + f.Detail + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d of %s\t%s\n", f.ID(), f.Requested, mem, cost, f.Requested, f.HeldFrom, why)
		total += f.MonthlyUSD
		held += f.Requested
	}
	fmt.Fprintf(tw, "total\t%d\t\t$%.2f\t\t\n", held, total)
	_ = tw.Flush()
}
