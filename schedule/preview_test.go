package schedule

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// change is an expected Change written compactly: the instant in UTC and the state.
type change struct {
	at    string
	state State
}

func TestPreview(t *testing.T) {
	const berlin, newYork = "Europe/Berlin", "America/New_York"
	business := win(t, "business-hours", "0 8 * * MON-FRI", berlin, "10h", "5m", 50, -1)
	weekend := win(t, "weekend", "0 0 * * SAT", berlin, "48h", "", -1, 5)
	biz := floorState(50, "business-hours")
	x5 := floorState(5, "x")
	capOnly := ceilingState(100, "c-cap")

	tests := []struct {
		name  string
		specs []config.ScheduleSpec
		from  time.Time
		days  int
		want  []change
	}{
		{
			name:  "seven days of business hours and a weekend ceiling",
			specs: []config.ScheduleSpec{business, weekend},
			from:  at(t, berlin, "2026-11-23 00:00"), days: 7,
			want: []change{
				{"2026-11-22 23:00", State{}},
				{"2026-11-23 06:55", biz}, {"2026-11-23 17:00", State{}},
				{"2026-11-24 06:55", biz}, {"2026-11-24 17:00", State{}},
				{"2026-11-25 06:55", biz}, {"2026-11-25 17:00", State{}},
				{"2026-11-26 06:55", biz}, {"2026-11-26 17:00", State{}},
				{"2026-11-27 06:55", biz}, {"2026-11-27 17:00", State{}},
				{"2026-11-27 23:00", ceilingState(5, "weekend")},
				// Closes Monday 00:00 CET: the end of the range, so not listed.
			},
		},
		{
			name:  "starting inside an open window",
			specs: []config.ScheduleSpec{business},
			from:  at(t, berlin, "2026-11-27 12:00"), days: 3,
			want: []change{{"2026-11-27 11:00", biz}, {"2026-11-27 17:00", State{}}, {"2026-11-30 06:55", biz}},
		},
		{
			name:  "berlin spring forward",
			specs: []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)},
			from:  at(t, berlin, "2026-03-28 00:00"), days: 3,
			want: []change{
				{"2026-03-27 23:00", State{}},
				{"2026-03-28 01:30", x5}, {"2026-03-28 02:30", State{}}, // 02:30–03:30 CET
				{"2026-03-29 01:00", x5}, {"2026-03-29 02:00", State{}}, // 03:00–04:00 CEST
				{"2026-03-30 00:30", x5}, {"2026-03-30 01:30", State{}}, // 02:30–03:30 CEST
			},
		},
		{
			name:  "berlin fall back",
			specs: []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)},
			from:  at(t, berlin, "2026-10-24 00:00"), days: 3,
			want: []change{
				{"2026-10-23 22:00", State{}},
				{"2026-10-24 00:30", x5}, {"2026-10-24 01:30", State{}}, // 02:30–03:30 CEST
				{"2026-10-25 00:30", x5}, {"2026-10-25 02:30", State{}}, // 02:30 CEST … 03:30 CET
				{"2026-10-26 01:30", x5}, {"2026-10-26 02:30", State{}}, // 02:30–03:30 CET
			},
		},
		{
			name:  "new york fall back opens twice",
			specs: []config.ScheduleSpec{win(t, "x", "30 1 * * *", newYork, "15m", "", 5, -1)},
			from:  at(t, newYork, "2026-10-31 00:00"), days: 2,
			want: []change{
				{"2026-10-31 04:00", State{}},
				{"2026-10-31 05:30", x5}, {"2026-10-31 05:45", State{}},
				{"2026-11-01 05:30", x5}, {"2026-11-01 05:45", State{}}, // 01:30 EDT
				{"2026-11-01 06:30", x5}, {"2026-11-01 06:45", State{}}, // 01:30 EST
			},
		},
		{
			name:  "new york spring forward",
			specs: []config.ScheduleSpec{win(t, "x", "30 2 * * *", newYork, "30m", "", 5, -1)},
			from:  at(t, newYork, "2026-03-08 00:00"), days: 1,
			want: []change{{"2026-03-08 05:00", State{}}, {"2026-03-08 07:00", x5}, {"2026-03-08 07:30", State{}}},
		},
		{
			name:  "overlapping floors and ceilings",
			specs: overlaps(t),
			from:  utc(t, "2026-11-23 00:00"), days: 1,
			want: []change{
				{"2026-11-23 00:00", capOnly},
				{"2026-11-23 08:00", State{Floor: 10, HasFloor: true, Ceiling: 100, HasCeiling: true, Active: []string{"a-day", "c-cap"}}},
				{"2026-11-23 12:00", State{Floor: 30, HasFloor: true, Ceiling: 100, HasCeiling: true, Active: []string{"a-day", "b-noon", "c-cap"}}},
				{"2026-11-23 13:00", State{Floor: 30, HasFloor: true, Ceiling: 40, HasCeiling: true, Active: []string{"a-day", "b-noon", "c-cap", "d-tight"}}},
				{"2026-11-23 14:00", State{Floor: 10, HasFloor: true, Ceiling: 100, HasCeiling: true, Active: []string{"a-day", "c-cap"}}},
				{"2026-11-23 18:00", capOnly},
			},
		},
		{
			name: "a change of names alone is a change",
			specs: []config.ScheduleSpec{
				win(t, "early", "0 8 * * *", "UTC", "2h", "", 5, -1),
				win(t, "late", "0 9 * * *", "UTC", "2h", "", 5, -1),
			},
			from: utc(t, "2026-11-23 00:00"), days: 1,
			want: []change{
				{"2026-11-23 00:00", State{}},
				{"2026-11-23 08:00", floorState(5, "early")},
				{"2026-11-23 09:00", floorState(5, "early", "late")},
				{"2026-11-23 10:00", floorState(5, "late")},
				{"2026-11-23 11:00", State{}},
			},
		},
		{
			name:  "hourly windows that touch merge into one",
			specs: []config.ScheduleSpec{win(t, "h", "@hourly", "UTC", "1h", "", 2, -1)},
			from:  utc(t, "2026-11-23 00:30"), days: 7,
			want: []change{{"2026-11-23 00:30", floorState(2, "h")}},
		},
		{
			name:  "lead shifts the opening, not the close",
			specs: []config.ScheduleSpec{win(t, "l", "0 12 * * *", "UTC", "30m", "15m", -1, 3)},
			from:  utc(t, "2026-11-23 00:00"), days: 1,
			want: []change{{"2026-11-23 00:00", State{}}, {"2026-11-23 11:45", ceilingState(3, "l")}, {"2026-11-23 12:30", State{}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := compile(t, tc.specs...).Preview(tc.from, tc.days)
			var gotC []change
			for _, c := range got {
				gotC = append(gotC, change{c.At.UTC().Format("2006-01-02 15:04"), c.State})
			}
			require.Equal(t, tc.want, gotC)
			require.True(t, got[0].At.Equal(tc.from))
		})
	}
}

func TestPreviewDays(t *testing.T) {
	s := compile(t, win(t, "d", "@daily", "UTC", "1h", "", 1, -1))
	from := utc(t, "2026-11-23 12:00")
	tests := []struct {
		name string
		days int
		want int // changes, the first included
	}{
		{"zero days", 0, 0},
		{"negative days", -3, 0},
		{"one day", 1, 3},
		{"capped at a year", 1000, 1 + 2*maxPreviewDays},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Len(t, s.Preview(from, tc.days), tc.want)
		})
	}
}

// requireConsistent checks Preview against Active: every change holds from its instant and
// not a nanosecond before, and random instants between changes agree.
func requireConsistent(t *testing.T, s *Schedule, from time.Time, days int, rng *rand.Rand) {
	t.Helper()
	changes := s.Preview(from, days)
	require.NotEmpty(t, changes)
	require.True(t, changes[0].At.Equal(from))
	for i, c := range changes {
		require.Equal(t, c.State, s.Active(c.At), "change %d at %s", i, c.At)
		if i > 0 {
			require.True(t, c.At.After(changes[i-1].At))
			require.Equal(t, changes[i-1].State, s.Active(c.At.Add(-time.Nanosecond)), "just before change %d at %s", i, c.At)
		}
		if i > 0 && i < 100 { // NextChange previews two days per call: check the first ones
			next, ok := s.NextChange(changes[i-1].At)
			require.True(t, ok)
			require.True(t, next.Equal(c.At), "NextChange(%s) = %s, want %s", changes[i-1].At, next, c.At)
		}
	}
	span := time.Duration(days) * 24 * time.Hour
	for range 200 {
		x := from.Add(time.Duration(rng.Int64N(int64(span))))
		j := 0
		for j+1 < len(changes) && !changes[j+1].At.After(x) {
			j++
		}
		require.Equal(t, changes[j].State, s.Active(x), "at %s", x)
	}
}

func TestPreviewMatchesActive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name  string
		specs []config.ScheduleSpec
		from  time.Time
	}{
		{"berlin spring", []config.ScheduleSpec{
			win(t, "a", "30 2 * * *", "Europe/Berlin", "1h", "10m", 5, -1),
			win(t, "b", "*/20 1-3 * * *", "Europe/Berlin", "7m", "", -1, 9),
		}, utc(t, "2026-03-26 00:00")},
		{"berlin fall", []config.ScheduleSpec{
			win(t, "a", "30 2 * * *", "Europe/Berlin", "1h", "10m", 5, -1),
			win(t, "b", "*/20 1-3 * * *", "Europe/Berlin", "7m", "", -1, 9),
		}, utc(t, "2026-10-22 00:00")},
		{"new york both", []config.ScheduleSpec{
			win(t, "a", "30 1,2 * * SUN", "America/New_York", "25m", "5m", 3, -1),
			win(t, "b", "0 22 * * *", "America/New_York", "5h", "", 4, 6),
		}, utc(t, "2026-03-05 00:00")},
		{"lord howe half-hour shift", []config.ScheduleSpec{
			win(t, "a", "15 2 * * *", "Australia/Lord_Howe", "20m", "", 1, -1),
			win(t, "b", "0 3 * * *", "Australia/Lord_Howe", "10m", "", 2, -1),
		}, utc(t, "2026-10-01 00:00")},
		{"overlaps", overlaps(t), utc(t, "2026-11-23 00:00")},
		{"santiago falls back at midnight", []config.ScheduleSpec{
			win(t, "a", "30 23 * * *", "America/Santiago", "20m", "", 1, -1),
			win(t, "b", "*/30 0 * * *", "America/Santiago", "10m", "5m", -1, 2),
		}, utc(t, "2026-04-02 00:00")},
		{"santiago springs forward at midnight", []config.ScheduleSpec{
			win(t, "a", "30 0 * * *", "America/Santiago", "20m", "", 1, -1),
			win(t, "b", "@daily", "America/Santiago", "1h", "", 2, -1),
		}, utc(t, "2026-09-03 00:00")},
		{"havana midnight transitions", []config.ScheduleSpec{
			win(t, "a", "*/15 0 * * *", "America/Havana", "5m", "", 1, -1),
		}, utc(t, "2026-10-29 00:00")},
		{"fractional offsets and durations", []config.ScheduleSpec{
			win(t, "a", "*/7 * * * *", "Asia/Kathmandu", "1m30.5s", "2.25s", 1, -1),
			win(t, "b", "0 12 * * *", "Etc/GMT+12", "3h", "1h", -1, 4),
		}, utc(t, "2026-11-23 00:00").Add(123456789)},
		{"business and weekend", []config.ScheduleSpec{
			win(t, "business-hours", "0 8 * * MON-FRI", "Europe/Berlin", "10h", "5m", 50, -1),
			win(t, "weekend", "0 0 * * SAT", "Europe/Berlin", "48h", "", -1, 5),
		}, utc(t, "2026-11-20 13:37")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			requireConsistent(t, compile(t, tc.specs...), tc.from, 8, rng)
		})
	}
}

func TestWritePreview(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	s := compile(t,
		win(t, "business-hours", "0 8 * * MON-FRI", "Europe/Berlin", "10h", "5m", 50, -1),
		win(t, "night-cap", "0 23 * * MON", "Europe/Berlin", "2h", "", -1, 10),
	)
	var out bytes.Buffer
	WritePreview(&out, "checkout-api:live", s.Preview(at(t, "Europe/Berlin", "2026-11-23 00:00"), 2), berlin)
	want := strings.Join([]string{
		"checkout-api:live  Mon 2026-11-23 00:00 CET  (Sun 23:00 UTC)  floor none  ceiling none  -",
		"checkout-api:live  Mon 2026-11-23 07:55 CET  (06:55 UTC)      floor 50    ceiling none  business-hours",
		"checkout-api:live  Mon 2026-11-23 18:00 CET  (17:00 UTC)      floor none  ceiling none  -",
		"checkout-api:live  Mon 2026-11-23 23:00 CET  (22:00 UTC)      floor none  ceiling 10    night-cap",
		"checkout-api:live  Tue 2026-11-24 01:00 CET  (00:00 UTC)      floor none  ceiling none  -",
		"checkout-api:live  Tue 2026-11-24 07:55 CET  (06:55 UTC)      floor 50    ceiling none  business-hours",
		"checkout-api:live  Tue 2026-11-24 18:00 CET  (17:00 UTC)      floor none  ceiling none  -",
		"",
	}, "\n")
	require.Equal(t, want, out.String())

	out.Reset()
	WritePreview(&out, "idle:1", nil, nil)
	require.Equal(t, "idle:1  no scheduled windows\n", out.String())

	out.Reset()
	from := utc(t, "2026-11-23 09:30").Add(15 * time.Second)
	WritePreview(&out, "t", []Change{{At: from, State: State{Floor: 1, HasFloor: true, Ceiling: 2, HasCeiling: true, Active: []string{"a", "b"}}}}, nil)
	require.Equal(t, "t  Mon 2026-11-23 09:30:15 UTC  (09:30:15 UTC)  floor 1  ceiling 2  a, b\n", out.String())
}

func BenchmarkActive(b *testing.B) {
	for _, cronExpr := range []string{"0 8 * * MON-FRI", "* * * * *", "0 0 29 2 *"} {
		b.Run(cronExpr, func(b *testing.B) {
			s, err := Compile([]config.ScheduleSpec{{Name: "x", Cron: cronExpr, Timezone: "Europe/Berlin",
				Duration: config.Duration{Duration: 168 * time.Hour}, Floor: intp(1)}})
			require.NoError(b, err)
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			for b.Loop() {
				s.Active(now)
			}
		})
	}
}

func BenchmarkPreview7Days(b *testing.B) {
	for _, cronExpr := range []string{"0 8 * * MON-FRI", "* * * * *"} {
		b.Run(cronExpr, func(b *testing.B) {
			s, err := Compile([]config.ScheduleSpec{{Name: "x", Cron: cronExpr, Timezone: "Europe/Berlin",
				Duration: config.Duration{Duration: 168 * time.Hour}, Floor: intp(1)}})
			require.NoError(b, err)
			from := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			for b.Loop() {
				s.Preview(from, 7)
			}
		})
	}
}

// BenchmarkNextChangeAlwaysOpen is the worst case: nothing changes within a year, every minute fires.
func BenchmarkNextChangeAlwaysOpen(b *testing.B) {
	s, err := Compile([]config.ScheduleSpec{{Name: "x", Cron: "* * * * *", Timezone: "Europe/Berlin",
		Duration: config.Duration{Duration: time.Hour}, Floor: intp(1)}})
	require.NoError(b, err)
	from := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		s.NextChange(from)
	}
}
