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
	const help = `; want 5 fields "minute hour day-of-month month day-of-week" or @yearly, @monthly, @weekly, @daily, @hourly`
	tests := []struct {
		name  string
		specs []config.ScheduleSpec
		want  []string
	}{
		{"unknown time zone", with(func(s *config.ScheduleSpec) { s.Timezone = "Europe/Berln" }),
			[]string{`schedules[0].timezone: unknown time zone "Europe/Berln": use an IANA name such as Europe/Berlin`}},
		{"host zone refused", with(func(s *config.ScheduleSpec) { s.Timezone = "Local" }),
			[]string{`schedules[0].timezone: unknown time zone "Local": use an IANA name such as Europe/Berlin`}},
		{"hour out of range", with(func(s *config.ScheduleSpec) { s.Cron = "0 25 * * *" }),
			[]string{`schedules[0].cron: "0 25 * * *": end of range (25) above maximum (23): 25` + help}},
		{"six fields", with(func(s *config.ScheduleSpec) { s.Cron = "0 0 8 * * *" }),
			[]string{`schedules[0].cron: "0 0 8 * * *": expected exactly 5 fields, found 6: [0 0 8 * * *]` + help}},
		{"empty cron", with(func(s *config.ScheduleSpec) { s.Cron = "  " }),
			[]string{`schedules[0].cron: empty` + help}},
		{"@every has no wall clock", with(func(s *config.ScheduleSpec) { s.Cron = "@every 1h" }),
			[]string{`schedules[0].cron: "@every 1h": @every has no wall-clock start` + help}},
		{"unknown descriptor", with(func(s *config.ScheduleSpec) { s.Cron = "@sometimes" }),
			[]string{`schedules[0].cron: "@sometimes": unrecognized descriptor: @sometimes` + help}},
		{"TZ prefix that crashes robfig", with(func(s *config.ScheduleSpec) { s.Cron = "TZ=UTC" }),
			[]string{`schedules[0].cron: "TZ=UTC": set the zone with the timezone key, not a TZ= prefix`}},
		{"never fires", with(func(s *config.ScheduleSpec) { s.Cron = "0 0 30 2 *" }),
			[]string{`schedules[0].cron: "0 0 30 2 *" never fires (no such date)`}},
		{"zero duration", with(func(s *config.ScheduleSpec) { s.Duration = config.Duration{} }),
			[]string{`schedules[0].duration: must be > 0, got 0s`}},
		{"duration over a year", with(func(s *config.ScheduleSpec) { s.Duration = dur(t, "8785h") }),
			[]string{`schedules[0].duration: must be at most 8784h0m0s, got 8785h0m0s`}},
		{"negative lead", with(func(s *config.ScheduleSpec) { s.Lead = dur(t, "-5m") }),
			[]string{`schedules[0].lead: must be between 0s and 24h0m0s, got -5m0s`}},
		{"lead over a day", with(func(s *config.ScheduleSpec) { s.Lead = dur(t, "25h") }),
			[]string{`schedules[0].lead: must be between 0s and 24h0m0s, got 25h0m0s`}},
		{"neither floor nor ceiling", with(func(s *config.ScheduleSpec) { s.Floor = nil }),
			[]string{`schedules[0]: needs a floor and/or a ceiling`}},
		{"negative floor and ceiling", with(func(s *config.ScheduleSpec) { s.Floor, s.Ceiling = intp(-1), intp(-2) }),
			[]string{`schedules[0].floor: must be >= 0, got -1`, `schedules[0].ceiling: must be >= 0, got -2`}},
		{"floor above own ceiling", with(func(s *config.ScheduleSpec) { s.Ceiling = intp(10) }),
			[]string{`schedules[0].floor: 50 is above this window's ceiling 10`}},
		{"duplicate names", []config.ScheduleSpec{ok(), ok()},
			[]string{`schedules[1].name: duplicate name "w" (also schedules[0])`}},
		{"every problem at once", []config.ScheduleSpec{
			ok(),
			{Name: "bad", Cron: "61 * * * *", Timezone: "Mars/Olympus"},
		}, []string{
			`schedules[1].timezone: unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin`,
			`schedules[1].cron: "61 * * * *": end of range (61) above maximum (59): 61` + help,
			`schedules[1].duration: must be > 0, got 0s`,
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
		{"longest duration and lead", win(t, "max", "@yearly", "UTC", "8784h", "24h", 0, 0)},
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
