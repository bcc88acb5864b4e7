package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

func TestActive(t *testing.T) {
	const berlin, newYork = "Europe/Berlin", "America/New_York"
	business := win(t, "business-hours", "0 8 * * MON-FRI", berlin, "10h", "5m", 50, -1)
	nightly := win(t, "nightly", "0 22 * * *", "UTC", "4h", "", -1, 10)
	friday := win(t, "friday-night", "0 22 * * FRI", "UTC", "6h", "", 20, -1)

	tests := []struct {
		name  string
		specs []config.ScheduleSpec
		now   time.Time
		want  State
	}{
		// Lead and plain open/close.
		{"before lead", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-23 07:54"), State{}},
		{"lead opens window early", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-23 07:55"), floorState(50, "business-hours")},
		{"last minute of window", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-23 17:59"), floorState(50, "business-hours")},
		{"window end is exclusive", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-23 18:00"), State{}},
		{"weekend has no business window", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-28 09:00"), State{}},
		{"already open at daemon start", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-25 16:42"), floorState(50, "business-hours")},
		{"opened six days ago", []config.ScheduleSpec{win(t, "week", "0 0 * * MON", "UTC", "168h", "", 3, -1)}, utc(t, "2026-11-29 23:59"), floorState(3, "week")},

		// Midnight crossing: the fire's day decides, not now's day.
		{"crossing midnight before", []config.ScheduleSpec{nightly}, utc(t, "2026-11-23 21:59"), State{}},
		{"crossing midnight evening", []config.ScheduleSpec{nightly}, utc(t, "2026-11-23 23:30"), ceilingState(10, "nightly")},
		{"crossing midnight next morning", []config.ScheduleSpec{nightly}, utc(t, "2026-11-24 01:59"), ceilingState(10, "nightly")},
		{"crossing midnight closed", []config.ScheduleSpec{nightly}, utc(t, "2026-11-24 02:00"), State{}},
		{"friday window open on saturday", []config.ScheduleSpec{friday}, utc(t, "2026-11-28 03:59"), floorState(20, "friday-night")},
		{"friday window closed saturday", []config.ScheduleSpec{friday}, utc(t, "2026-11-28 04:00"), State{}},
		{"no thursday window", []config.ScheduleSpec{friday}, utc(t, "2026-11-27 03:00"), State{}},

		// Descriptors.
		{"@daily open", []config.ScheduleSpec{win(t, "d", "@daily", "UTC", "1h", "", 2, -1)}, utc(t, "2026-11-23 00:59"), floorState(2, "d")},
		{"@daily closed", []config.ScheduleSpec{win(t, "d", "@daily", "UTC", "1h", "", 2, -1)}, utc(t, "2026-11-23 01:00"), State{}},
		{"@hourly open", []config.ScheduleSpec{win(t, "h", "@hourly", "UTC", "10m", "", 2, -1)}, utc(t, "2026-11-23 05:09"), floorState(2, "h")},
		{"@hourly closed", []config.ScheduleSpec{win(t, "h", "@hourly", "UTC", "10m", "", 2, -1)}, utc(t, "2026-11-23 05:10"), State{}},
		{"@hourly with lead", []config.ScheduleSpec{win(t, "h", "@hourly", "UTC", "10m", "5m", 2, -1)}, utc(t, "2026-11-23 05:55"), floorState(2, "h")},
		{"@weekly opens sunday midnight", []config.ScheduleSpec{win(t, "w", "@weekly", berlin, "2h", "", 4, -1)}, at(t, berlin, "2026-11-29 01:00"), floorState(4, "w")},
		{"@monthly", []config.ScheduleSpec{win(t, "m", "@monthly", "UTC", "24h", "", 4, -1)}, utc(t, "2026-12-01 23:00"), floorState(4, "m")},

		// Europe/Berlin, spring forward 2026-03-29 02:00 CET → 03:00 CEST (01:00 UTC).
		{"berlin spring: skipped 02:30 fires at the jump", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-03-29 01:00"), floorState(5, "x")},
		{"berlin spring: not before the jump", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-03-29 00:59"), State{}},
		{"berlin spring: one hour after the jump closed", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-03-29 02:00"), State{}},
		{"berlin spring: next day back at 02:30 CEST", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-03-30 00:30"), floorState(5, "x")},
		{"berlin spring: 08:00 stays 08:00 wall clock", []config.ScheduleSpec{business}, at(t, berlin, "2026-03-30 07:55"), floorState(50, "business-hours")},
		{"berlin spring: duration is elapsed time", []config.ScheduleSpec{win(t, "x", "0 1 * * *", berlin, "3h", "", 5, -1)}, at(t, berlin, "2026-03-29 04:59"), floorState(5, "x")},
		{"berlin spring: 3h after 01:00 CET is 05:00 CEST", []config.ScheduleSpec{win(t, "x", "0 1 * * *", berlin, "3h", "", 5, -1)}, at(t, berlin, "2026-03-29 05:00"), State{}},

		// Europe/Berlin, fall back 2026-10-25 03:00 CEST → 02:00 CET (01:00 UTC): 02:30 exists twice.
		{"berlin fall: first 02:30 CEST opens", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-10-25 00:30"), floorState(5, "x")},
		{"berlin fall: before first 02:30", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-10-25 00:29"), State{}},
		{"berlin fall: second 02:30 CET keeps it open", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-10-25 02:29"), floorState(5, "x")},
		{"berlin fall: closes an hour after the second 02:30", []config.ScheduleSpec{win(t, "x", "30 2 * * *", berlin, "1h", "", 5, -1)}, utc(t, "2026-10-25 02:30"), State{}},
		{"berlin fall: @hourly has no hole in the repeated hour", []config.ScheduleSpec{win(t, "h", "@hourly", berlin, "1h", "", 1, -1)}, utc(t, "2026-10-25 01:30"), floorState(1, "h")},

		// America/New_York, spring forward 2026-03-08 02:00 EST → 03:00 EDT (07:00 UTC).
		{"new york spring: skipped 02:30 fires at 03:00 EDT", []config.ScheduleSpec{win(t, "x", "30 2 * * *", newYork, "30m", "", -1, 7)}, utc(t, "2026-03-08 07:00"), ceilingState(7, "x")},
		{"new york spring: open 29 minutes later", []config.ScheduleSpec{win(t, "x", "30 2 * * *", newYork, "30m", "", -1, 7)}, utc(t, "2026-03-08 07:29"), ceilingState(7, "x")},
		{"new york spring: closed after 30 minutes", []config.ScheduleSpec{win(t, "x", "30 2 * * *", newYork, "30m", "", -1, 7)}, utc(t, "2026-03-08 07:30"), State{}},
		{"new york spring: lead before the jump", []config.ScheduleSpec{win(t, "x", "30 2 * * *", newYork, "30m", "10m", -1, 7)}, utc(t, "2026-03-08 06:50"), ceilingState(7, "x")},

		// America/New_York, fall back 2026-11-01 02:00 EDT → 01:00 EST (06:00 UTC): 01:30 exists twice.
		{"new york fall: first 01:30 EDT", []config.ScheduleSpec{win(t, "x", "30 1 * * *", newYork, "15m", "", 9, -1)}, utc(t, "2026-11-01 05:40"), floorState(9, "x")},
		{"new york fall: closed between the two 01:30s", []config.ScheduleSpec{win(t, "x", "30 1 * * *", newYork, "15m", "", 9, -1)}, utc(t, "2026-11-01 05:45"), State{}},
		{"new york fall: second 01:30 EST reopens", []config.ScheduleSpec{win(t, "x", "30 1 * * *", newYork, "15m", "", 9, -1)}, utc(t, "2026-11-01 06:44"), floorState(9, "x")},
		{"new york fall: closed after the second", []config.ScheduleSpec{win(t, "x", "30 1 * * *", newYork, "15m", "", 9, -1)}, utc(t, "2026-11-01 06:45"), State{}},

		// Lord Howe shifts by 30 minutes (02:00 → 02:30 on 2026-10-04); 03:00 still exists.
		{"lord howe 03:00 after a 30-minute jump", []config.ScheduleSpec{win(t, "x", "0 3 * * *", "Australia/Lord_Howe", "10m", "", 1, -1)}, at(t, "Australia/Lord_Howe", "2026-10-04 03:05"), floorState(1, "x")},

		// Overlaps: floors take the max, ceilings the min, names sorted.
		{"overlap floors max", overlaps(t), utc(t, "2026-11-23 12:30"), State{Floor: 30, HasFloor: true, Ceiling: 100, HasCeiling: true, Active: []string{"a-day", "b-noon", "c-cap"}}},
		{"overlap ceilings min", overlaps(t), utc(t, "2026-11-23 13:30"), State{Floor: 30, HasFloor: true, Ceiling: 40, HasCeiling: true, Active: []string{"a-day", "b-noon", "c-cap", "d-tight"}}},
		{"overlap after inner windows", overlaps(t), utc(t, "2026-11-23 15:00"), State{Floor: 10, HasFloor: true, Ceiling: 100, HasCeiling: true, Active: []string{"a-day", "c-cap"}}},
		{"overlap only the daylong ceiling", overlaps(t), utc(t, "2026-11-23 19:00"), ceilingState(100, "c-cap")},
		{"both floor and ceiling in one window", []config.ScheduleSpec{win(t, "fc", "0 9 * * *", "UTC", "1h", "", 3, 8)}, utc(t, "2026-11-23 09:00"), State{Floor: 3, HasFloor: true, Ceiling: 8, HasCeiling: true, Active: []string{"fc"}}},

		// Dense expressions stay cheap: one search per window.
		{"every minute open for a week", []config.ScheduleSpec{win(t, "dense", "* * * * *", berlin, "168h", "", 1, -1)}, utc(t, "2026-11-23 12:00"), floorState(1, "dense")},
		{"leap day only", []config.ScheduleSpec{win(t, "leap", "0 0 29 2 *", "UTC", "24h", "", 1, -1)}, utc(t, "2028-02-29 12:00"), floorState(1, "leap")},
		{"leap day only, not in 2027", []config.ScheduleSpec{win(t, "leap", "0 0 29 2 *", "UTC", "24h", "", 1, -1)}, utc(t, "2027-03-01 12:00"), State{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, compile(t, tc.specs...).Active(tc.now))
		})
	}
}

func overlaps(t *testing.T) []config.ScheduleSpec {
	return []config.ScheduleSpec{
		win(t, "c-cap", "0 0 * * *", "UTC", "24h", "", -1, 100),
		win(t, "a-day", "0 8 * * *", "UTC", "10h", "", 10, -1),
		win(t, "b-noon", "0 12 * * *", "UTC", "2h", "", 30, -1),
		win(t, "d-tight", "0 13 * * *", "UTC", "1h", "", -1, 40),
	}
}

func TestNilAndEmptySchedule(t *testing.T) {
	now := utc(t, "2026-11-23 12:00")
	empty, err := Compile(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		s    *Schedule
	}{{"nil", nil}, {"empty", empty}} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, State{}, tc.s.Active(now))
			require.Equal(t, []Change{{At: now}}, tc.s.Preview(now, 7))
			_, ok := tc.s.NextChange(now)
			require.False(t, ok)
			require.Equal(t, time.UTC, tc.s.Location())
			require.Equal(t, 0, tc.s.Len())
		})
	}
}

func TestNextChange(t *testing.T) {
	const berlin = "Europe/Berlin"
	business := win(t, "business-hours", "0 8 * * MON-FRI", berlin, "10h", "5m", 50, -1)
	tests := []struct {
		name   string
		specs  []config.ScheduleSpec
		after  time.Time
		want   time.Time
		wantOK bool
	}{
		{"open window closes", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-23 08:00"), at(t, berlin, "2026-11-23 18:00"), true},
		{"friday evening waits for monday lead", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-27 18:00"), at(t, berlin, "2026-11-30 07:55"), true},
		{"exactly at a change looks further", []config.ScheduleSpec{business}, at(t, berlin, "2026-11-23 07:55"), at(t, berlin, "2026-11-23 18:00"), true},
		{"always open never changes", []config.ScheduleSpec{win(t, "all", "* * * * *", "UTC", "1h", "", 1, -1)}, utc(t, "2026-11-23 08:00"), time.Time{}, false},
		{"yearly beyond a month", []config.ScheduleSpec{win(t, "y", "@yearly", "UTC", "1h", "", 1, -1)}, utc(t, "2026-11-23 08:00"), utc(t, "2027-01-01 00:00"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := compile(t, tc.specs...).NextChange(tc.after)
			require.Equal(t, tc.wantOK, ok)
			require.True(t, tc.want.Equal(got), "got %s want %s", got, tc.want)
		})
	}
}
