package schedule

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"
)

// TestFiresBruteForce checks the fire times against an oracle built differently: walk every UTC
// minute, read the wall clock, and ask robfig (in UTC, where its Next has no DST to get wrong)
// whether that wall time matches; when the clock jumps forward, fire at the jump if any skipped
// wall minute matches.
func TestFiresBruteForce(t *testing.T) {
	tests := []struct {
		name, expr, zone, from string // from: UTC, the oracle walks 4 days
	}{
		{"berlin spring 02:30", "30 2 * * *", "Europe/Berlin", "2026-03-27 00:00"},
		{"berlin spring every 10 minutes at night", "*/10 1-3 * * *", "Europe/Berlin", "2026-03-27 00:00"},
		{"berlin fall 02:30", "30 2 * * *", "Europe/Berlin", "2026-10-23 00:00"},
		{"berlin fall hourly", "@hourly", "Europe/Berlin", "2026-10-23 00:00"},
		{"new york spring", "30 2 * * SUN", "America/New_York", "2026-03-06 00:00"},
		{"new york fall", "0,30 1 * * *", "America/New_York", "2026-10-30 00:00"},
		{"lord howe half-hour spring", "0,15,45 2,3 * * *", "Australia/Lord_Howe", "2026-10-02 00:00"},
		{"lord howe half-hour fall", "*/15 1,2 * * *", "Australia/Lord_Howe", "2026-04-03 00:00"},
		{"santiago midnight fall", "*/20 23,0 * * *", "America/Santiago", "2026-04-02 00:00"},
		{"santiago midnight spring", "@daily", "America/Santiago", "2026-09-04 00:00"},
		{"havana midnight spring", "30 0 * * *", "America/Havana", "2026-03-06 00:00"},
		{"kathmandu quarter offset", "0 0 1 * *", "Asia/Kathmandu", "2026-11-29 00:00"},
		{"weekday and month-day OR", "0 12 13 * FRI", "UTC", "2026-11-10 00:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			parsed, err := cron.ParseStandard("TZ=UTC " + tc.expr)
			require.NoError(t, err)
			matches := func(wall time.Time) bool {
				w := naive(wall)
				return parsed.Next(w.Add(-time.Second)).Equal(w)
			}
			from := utc(t, tc.from)
			to := from.Add(4 * 24 * time.Hour)
			var want []time.Time
			for u := from.Add(time.Minute); u.Before(to); u = u.Add(time.Minute) {
				wall, prevWall := u.In(loc), u.Add(-time.Minute).In(loc)
				fire := matches(wall)
				// Wall minutes strictly between the previous minute's and this one were skipped.
				for w := naive(prevWall).Add(time.Minute); !fire && w.Before(naive(wall)); w = w.Add(time.Minute) {
					fire = matches(w)
				}
				if fire {
					want = append(want, u)
				}
			}
			s := compile(t, win(t, "x", tc.expr, tc.zone, "1m", "", 1, -1))
			var got []time.Time
			s.windows[0].spec.firesIn(from, to, func(sec int64) { got = append(got, time.Unix(sec, 0).UTC()) })
			require.NotEmpty(t, want)
			require.Equal(t, want, got)
		})
	}
}

// naive writes a wall clock as if it were UTC, so wall times can be stepped and compared.
func naive(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
}
