package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
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
	// Every target of the file (an account's named account/function:q),
	// then each discover block's named windows, which found functions join
	// by their pcautoscaler/schedules tag.
	type entry struct {
		name  string
		specs []config.ScheduleSpec
	}
	var entries []entry
	addAccount := func(prefix string, ts []config.Target, d *config.Discover) {
		for _, t := range ts {
			entries = append(entries, entry{prefix + t.Function + ":" + t.Qualifier, t.Schedules})
		}
		if d != nil {
			for _, w := range d.Schedules {
				entries = append(entries, entry{prefix + "discover.schedules " + w.Name, []config.ScheduleSpec{w}})
			}
		}
	}
	addAccount("", cfg.Targets, cfg.Discover)
	for _, a := range cfg.Accounts {
		addAccount(a.Name+"/", a.Targets, a.Discover)
	}
	for _, e := range entries {
		s, err := schedule.Compile(e.specs)
		if err != nil { // Validate already parsed these; this is a bug if it happens
			fmt.Fprintf(stderr, "%s: %v\n", e.name, err)
			return exitRuntime
		}
		if s.Len() == 0 {
			fmt.Fprintf(stdout, "%s  no scheduled windows\n\n", e.name)
			continue
		}
		schedule.WritePreview(stdout, e.name, s.Preview(start, *days), s.Location())
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
