package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/robfig/cron/v3"
)

// cronParser accepts standard 5-field expressions and descriptors (@daily …).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a schedule's cron field exactly as Validate checks it, so
// the schedule package and validation never disagree. Beyond robfig/cron it
// rejects:
//   - TZ=/CRON_TZ= prefixes: the window's zone is the `timezone` key;
//   - @every: a window needs wall-clock start times, not a delay from start-up.
//
// robfig/cron panics on a few malformed inputs; those become errors here.
func ParseCron(spec string) (sched cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return nil, errors.New("empty expression")
	case strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ="):
		return nil, errors.New("set the time zone with the timezone key, not TZ= or CRON_TZ=")
	case strings.HasPrefix(spec, "@every"):
		return nil, errors.New("@every is not supported (windows need wall-clock start times; want " + cronHelp + ")")
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("malformed expression (%v)", r)
		}
	}()
	sched, err = cronParser.Parse(spec)
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), ": strconv.") // "failed to parse int from FRY" says enough
		return nil, fmt.Errorf("%s (want %s)", msg, cronHelp)
	}
	return sched, nil
}

const cronHelp = "5 fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly"
