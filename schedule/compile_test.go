package schedule

import (
	"errors"
	"fmt"
	"strconv"
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
			[]string{tzErr(t, 0, "Europe/Berln")}},
		{"host zone refused", with(func(s *config.ScheduleSpec) { s.Timezone = "Local" }),
			[]string{tzErr(t, 0, "Local")}},
		{"hour out of range", with(func(s *config.ScheduleSpec) { s.Cron = "0 25 * * *" }),
			[]string{cronErr(t, 0, "0 25 * * *")}},
		{"six fields", with(func(s *config.ScheduleSpec) { s.Cron = "0 0 8 * * *" }),
			[]string{cronErr(t, 0, "0 0 8 * * *")}},
		{"empty cron", with(func(s *config.ScheduleSpec) { s.Cron = "  " }),
			[]string{cronErr(t, 0, "  ")}},
		{"@every has no wall clock", with(func(s *config.ScheduleSpec) { s.Cron = "@every 1h" }),
			[]string{cronErr(t, 0, "@every 1h")}},
		{"unknown descriptor", with(func(s *config.ScheduleSpec) { s.Cron = "@sometimes" }),
			[]string{cronErr(t, 0, "@sometimes")}},
		{"TZ prefix that crashes robfig", with(func(s *config.ScheduleSpec) { s.Cron = "TZ=UTC" }),
			[]string{cronErr(t, 0, "TZ=UTC")}},
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
			tzErr(t, 1, "Mars/Olympus"),
			cronErr(t, 1, "61 * * * *"),
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

// cronErr and tzErr build the expected message around config's own wording: config owns the
// parser rules and their text, Compile only adds the path.
func cronErr(t *testing.T, i int, expr string) string {
	t.Helper()
	_, err := config.ParseCron(expr)
	require.Error(t, err)
	return fmt.Sprintf("schedules[%d].cron: %q does not parse: %v", i, expr, err)
}

func tzErr(t *testing.T, i int, name string) string {
	t.Helper()
	_, err := config.LoadLocation(name)
	require.Error(t, err)
	return fmt.Sprintf("schedules[%d].timezone: %v", i, err)
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

// fuzzZones change offset in every way tz data knows: DST at 02:00 and at midnight, 30-minute
// shifts, a 45-minute offset, the date line, none at all.
var fuzzZones = []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
	"America/Havana", "Asia/Kathmandu", "Pacific/Apia", "Pacific/Chatham", "Europe/Dublin", "UTC"}

// cronField writes the set bits of mask in [lo, hi] as a cron list, or "*" when none is set.
func cronField(mask uint64, lo, hi int) string {
	var parts []string
	for v := lo; v <= hi; v++ {
		if mask&(1<<uint(v-lo)) != 0 {
			parts = append(parts, strconv.Itoa(v))
		}
	}
	if len(parts) == 0 {
		return "*"
	}
	return strings.Join(parts, ",")
}

// FuzzWindows builds valid expressions from bit masks, so that the fuzzer spends its time on
// fire times, DST and merging rather than on parse errors: Preview and Active must agree.
func FuzzWindows(f *testing.F) {
	f.Add(uint64(1), uint64(1<<2), uint64(0), uint64(0), uint64(0), uint8(0), uint32(3600), uint32(0), int64(1774735200))
	f.Add(uint64(1<<30), uint64(1<<1), uint64(0), uint64(0), uint64(0), uint8(1), uint32(900), uint32(60), int64(1793505600))
	f.Add(uint64(1<<15), uint64(1<<2), uint64(0), uint64(0), uint64(0), uint8(2), uint32(1200), uint32(0), int64(1791028800))
	f.Add(uint64(1<<30), uint64(1<<23|1), uint64(0), uint64(0), uint64(0), uint8(3), uint32(1800), uint32(300), int64(1775260800))
	f.Add(uint64(0), uint64(0), uint64(1<<14), uint64(1<<9), uint64(1<<5), uint8(4), uint32(86400), uint32(0), int64(1798000000))
	f.Fuzz(func(t *testing.T, minutes, hours, doms, months, dows uint64, zone uint8, durSec, leadSec uint32, nowUnix int64) {
		expr := strings.Join([]string{
			cronField(minutes, 0, 59), cronField(hours, 0, 23), cronField(doms, 1, 31),
			cronField(months, 1, 12), cronField(dows, 0, 6),
		}, " ")
		d := time.Duration(durSec%uint32(config.MaxScheduleOpen/time.Second)+1) * time.Second
		lead := time.Duration(leadSec%uint32(config.MaxScheduleLead/time.Second)) * time.Second
		specs := []config.ScheduleSpec{
			{Name: "a", Cron: expr, Timezone: fuzzZones[int(zone)%len(fuzzZones)], Duration: config.Duration{Duration: d}, Lead: config.Duration{Duration: lead}, Floor: intp(3)},
			{Name: "b", Cron: "30 2 * * *", Timezone: "Europe/Berlin", Duration: config.Duration{Duration: time.Hour}, Ceiling: intp(5)},
		}
		s, err := Compile(specs)
		if err != nil {
			require.Contains(t, err.Error(), "never fires", "expression %q", expr)
			return
		}
		now := time.Unix(946684800, 0).Add(time.Duration(uint64(nowUnix)%(100*365*24*3600)) * time.Second) // 2000 … 2100
		changes := s.Preview(now, 3)
		require.NotEmpty(t, changes)
		for i, c := range changes {
			require.Equal(t, c.State, s.Active(c.At), "%q change %d at %s", expr, i, c.At)
			if i > 0 {
				require.True(t, c.At.After(changes[i-1].At))
				require.Equal(t, changes[i-1].State, s.Active(c.At.Add(-time.Nanosecond)), "%q before change %d at %s", expr, i, c.At)
			}
		}
	})
}

func TestCompileCopiesBounds(t *testing.T) {
	specs := []config.ScheduleSpec{win(t, "w", "@daily", "UTC", "1h", "", 5, 9)}
	s := compile(t, specs...)
	*specs[0].Floor, *specs[0].Ceiling = 100, 200 // e.g. a config reload reusing the structs
	require.Equal(t, State{Floor: 5, HasFloor: true, Ceiling: 9, HasCeiling: true, Active: []string{"w"}},
		s.Active(time.Date(2026, 11, 23, 0, 30, 0, 0, time.UTC)))
}
