package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pcautoscaler/pcautoscaler/schedule"
)

func cmdSchedule(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedule", flag.ContinueOnError)
	path := fs.String("config", "", "config `file` (YAML)")
	days := fs.Int("days", 7, "how many `days` to preview")
	from := fs.String("from", "", "start of the preview: a `time` in RFC 3339 (2026-11-23T08:00:00Z, 2026-11-23T09:00:00+01:00) or a date (2026-11-23, midnight UTC); default now")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *days < 1 || *days > 366 {
		fmt.Fprintf(stderr, "schedule: --days %d is out of range (1..366)\n", *days)
		return exitUsage
	}
	start := time.Now()
	if *from != "" {
		t, err := parseFrom(*from)
		if err != nil {
			fmt.Fprintf(stderr, "schedule: %v\n", err)
			return exitUsage
		}
		start = t
	}
	cfg, ok := loadConfig(*path, stderr)
	if !ok {
		return exitUsage
	}
	for _, t := range cfg.Targets {
		s, err := schedule.Compile(t.Schedules)
		if err != nil { // Validate already parsed these; this is a bug if it happens
			fmt.Fprintf(stderr, "%s:%s: %v\n", t.Function, t.Qualifier, err)
			return exitRuntime
		}
		if s.Len() == 0 {
			fmt.Fprintf(stdout, "%s:%s  no scheduled windows\n\n", t.Function, t.Qualifier)
			continue
		}
		schedule.WritePreview(stdout, t.Function+":"+t.Qualifier, s.Preview(start, *days), s.Location())
		fmt.Fprintln(stdout)
	}
	return exitOK
}

// parseFrom reads --from: RFC 3339, or a date alone (midnight UTC).
func parseFrom(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--from %q: want an RFC 3339 time such as 2026-11-23T08:00:00Z or 2026-11-23T09:00:00+01:00, or a date such as 2026-11-23 (midnight UTC)", s)
}
