package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

func TestCompileErrors(t *testing.T) {
	ok := func() config.ScheduleSpec {
		return win(t, "w", "0 8 * * MON-FRI", "Europe/Berlin", "10h", "5m", 50, -1)
	}
	with := func(f func(*config.ScheduleSpec)) []config.ScheduleSpec {
		sp := ok()
		f(&sp)
		return []config.ScheduleSpec{sp}
	}
	tests := []struct {
		name  string
		specs []config.ScheduleSpec
		want  []string
	}{
		{"unknown time zone", with(func(s *config.ScheduleSpec) { s.Timezone = "Europe/Berln" }),
			[]string{`schedules[0].timezone: unknown time zone "Europe/Berln"`}},
		{"host zone refused", with(func(s *config.ScheduleSpec) { s.Timezone = "Local" }),
			[]string{`schedules[0].timezone: "Local" is not allowed (name an IANA zone such as Europe/Berlin)`}},
		{"hour out of range", with(func(s *config.ScheduleSpec) { s.Cron = "0 25 * * *" }),
			[]string{`schedules[0].cron: "0 25 * * *" does not parse: end of range (25) above maximum (23): 25`}},
		{"six fields", with(func(s *config.ScheduleSpec) { s.Cron = "0 0 8 * * *" }),
			[]string{`schedules[0].cron: "0 0 8 * * *" does not parse: expected exactly 5 fields, found 6: [0 0 8 * * *]`}},
		{"empty cron", with(func(s *config.ScheduleSpec) { s.Cron = "  " }),
			[]string{`schedules[0].cron: "  " does not parse: empty expression`}},
		{"@every has no wall clock", with(func(s *config.ScheduleSpec) { s.Cron = "@every 1h" }),
			[]string{`schedules[0].cron: "@every 1h" does not parse: @every is not supported (windows need wall-clock start times; use 5 fields or @hourly, @daily, @weekly, @monthly, @yearly)`}},
		{"unknown descriptor", with(func(s *config.ScheduleSpec) { s.Cron = "@sometimes" }),
			[]string{`schedules[0].cron: "@sometimes" does not parse: unrecognized descriptor: @sometimes`}},
		{"TZ prefix that crashes robfig", with(func(s *config.ScheduleSpec) { s.Cron = "TZ=UTC" }),
			[]string{`schedules[0].cron: "TZ=UTC" does not parse: set the time zone with the timezone key, not TZ= or CRON_TZ=`}},
		{"never fires", with(func(s *config.ScheduleSpec) { s.Cron = "0 0 30 2 *" }),
			[]string{`schedules[0].cron: "0 0 30 2 *" never fires (no such date)`}},
		{"zero duration", with(func(s *config.ScheduleSpec) { s.Duration = config.Duration{} }),
			[]string{`schedules[0].duration: is required (how long the window stays open, e.g. 10h)`}},
		{"negative duration", with(func(s *config.ScheduleSpec) { s.Duration = dur(t, "-1h") }),
			[]string{`schedules[0].duration: -1h is out of range (0s < value <= 168h)`}},
		{"duration over a week", with(func(s *config.ScheduleSpec) { s.Duration = dur(t, "169h") }),
			[]string{`schedules[0].duration: 169h is out of range (0s < value <= 168h)`}},
		{"negative lead", with(func(s *config.ScheduleSpec) { s.Lead = dur(t, "-5m") }),
			[]string{`schedules[0].lead: -5m is out of range (0s <= value < 24h)`}},
		{"lead of a day", with(func(s *config.ScheduleSpec) { s.Lead = dur(t, "24h") }),
			[]string{`schedules[0].lead: 24h is out of range (0s <= value < 24h)`}},
		{"neither floor nor ceiling", with(func(s *config.ScheduleSpec) { s.Floor = nil }),
			[]string{`schedules[0]: needs a floor and/or a ceiling`}},
		{"negative floor and zero ceiling", with(func(s *config.ScheduleSpec) { s.Floor, s.Ceiling = intp(-1), intp(0) }),
			[]string{`schedules[0].floor: -1 is out of range (value >= 0)`, `schedules[0].ceiling: 0 is out of range (value >= 1)`}},
		{"floor above own ceiling", with(func(s *config.ScheduleSpec) { s.Ceiling = intp(10) }),
			[]string{`schedules[0].floor: 50 is greater than ceiling 10`}},
		{"duplicate names", []config.ScheduleSpec{ok(), ok()},
			[]string{`schedules[1].name: "w" is already used by schedules[0]`}},
		{"every problem at once", []config.ScheduleSpec{
			ok(),
			{Name: "bad", Cron: "61 * * * *", Timezone: "Mars/Olympus"},
		}, []string{
			`schedules[1].timezone: unknown time zone "Mars/Olympus"`,
			`schedules[1].cron: "61 * * * *" does not parse: end of range (61) above maximum (59): 61`,
			`schedules[1].duration: is required (how long the window stays open, e.g. 10h)`,
			`schedules[1]: needs a floor and/or a ceiling`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile(tc.specs)
			require.Error(t, err)
			require.Nil(t, s)
			require.Equal(t, strings.Join(tc.want, "\n"), err.Error())
			var se *SpecError
			require.ErrorAs(t, err, &se)
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name string
		spec config.ScheduleSpec
	}{
		{"descriptor with spaces", win(t, "d", "  @daily ", "", "1h", "", 1, -1)},
		{"names for months and days", win(t, "n", "0 8 1-7 JAN-MAR MON", "Asia/Tokyo", "1h", "", 1, -1)},
		{"steps and lists", win(t, "s", "*/15 8-18/2 * * 1,3,5", "America/New_York", "10m", "", -1, 3)},
		{"question mark", win(t, "q", "0 0 ? * *", "UTC", "1h", "", 0, -1)},
		{"leap day", win(t, "l", "0 0 29 2 *", "UTC", "1h", "", 0, -1)},
		{"unnamed", win(t, "", "@hourly", "UTC", "1h", "", 0, -1)},
		{"longest duration and lead", win(t, "max", "@weekly", "UTC", "168h", "23h59m", 0, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Compile([]config.ScheduleSpec{tc.spec})
			require.NoError(t, err)
			require.Equal(t, 1, s.Len())
		})
	}
	s := compile(t, win(t, "", "@hourly", "UTC", "1h", "", 0, -1))
	require.Equal(t, []string{"schedules[0]"}, s.Active(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)).Active)
	require.Equal(t, "Asia/Tokyo", compile(t, tests[1].spec).Location().String())
}

func FuzzSchedule(f *testing.F) {
	f.Add("0 8 * * MON-FRI", "Europe/Berlin", int64(10*time.Hour), int64(5*time.Minute), int64(1795420800))
	f.Add("30 2 * * *", "Europe/Berlin", int64(time.Hour), int64(0), int64(1774735200))
	f.Add("30 1 * * *", "America/New_York", int64(15*time.Minute), int64(time.Minute), int64(1793505600))
	f.Add("15 2 * * *", "Australia/Lord_Howe", int64(20*time.Minute), int64(0), int64(1791028800))
	f.Add("@daily", "UTC", int64(time.Hour), int64(0), int64(0))
	f.Add("@hourly", "Asia/Kathmandu", int64(time.Minute), int64(0), int64(-1))
	f.Add("@every 5m", "UTC", int64(time.Hour), int64(0), int64(0))
	f.Add("* * * * *", "America/Havana", int64(90*time.Second), int64(30*time.Second), int64(1800000000))
	f.Add("TZ=UTC", "UTC", int64(time.Hour), int64(0), int64(0))
	f.Add("CRON_TZ=Europe/Berlin 0 8 * * *", "", int64(time.Hour), int64(0), int64(0))
	f.Add("0 0 30 2 *", "UTC", int64(time.Hour), int64(0), int64(0))
	f.Add("*/0 * * * *", "../../etc/passwd", int64(time.Hour), int64(0), int64(0))
	f.Add("1-2-3 4/5/6 ? ? ?", "Local", int64(-1), int64(-1), int64(0))
	f.Add("0 0 * * 7", "Etc/GMT+12", int64(time.Hour), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, cronExpr, tz string, duration, lead, nowUnix int64) {
		specs := []config.ScheduleSpec{{
			Name: "f", Cron: cronExpr, Timezone: tz, Floor: intp(1),
			Duration: config.Duration{Duration: time.Duration(duration)},
			Lead:     config.Duration{Duration: time.Duration(lead)},
		}}
		s, err := Compile(specs)
		if err != nil {
			require.Nil(t, s)
			var se *SpecError
			require.True(t, errors.As(err, &se), "error %q is not a *SpecError", err)
			return
		}
		// Times a daemon can see: 1970 … 2300.
		now := time.Unix(0, 0).Add(time.Duration(uint64(nowUnix)%(330*365*24*3600)) * time.Second)
		st := s.Active(now)
		changes := s.Preview(now, 2)
		require.NotEmpty(t, changes)
		require.Equal(t, st, changes[0].State)
		for i, c := range changes {
			require.Equal(t, c.State, s.Active(c.At), "change %d", i)
			if i > 0 {
				require.True(t, c.At.After(changes[i-1].At))
			}
		}
		if next, ok := s.NextChange(now); ok {
			require.True(t, next.After(now))
		}
	})
}
