package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

func intp(n int) *int { return &n }

func dur(t *testing.T, s string) config.Duration {
	t.Helper()
	if s == "" {
		return config.Duration{}
	}
	d, err := time.ParseDuration(s)
	require.NoError(t, err)
	return config.Duration{Duration: d}
}

// win builds a spec; floor/ceiling < 0 means unset.
func win(t *testing.T, name, cronExpr, tz, duration, lead string, floor, ceiling int) config.ScheduleSpec {
	t.Helper()
	sp := config.ScheduleSpec{Name: name, Cron: cronExpr, Timezone: tz, Duration: dur(t, duration), Lead: dur(t, lead)}
	if floor >= 0 {
		sp.Floor = intp(floor)
	}
	if ceiling >= 0 {
		sp.Ceiling = intp(ceiling)
	}
	return sp
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// at parses "2006-01-02 15:04" as a wall time in the zone (ambiguous DST times: use utc).
func at(t *testing.T, zone, value string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", value, mustLoc(t, zone))
	require.NoError(t, err)
	return tm
}

func utc(t *testing.T, value string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04", value)
	require.NoError(t, err)
	return tm
}

func compile(t *testing.T, specs ...config.ScheduleSpec) *Schedule {
	t.Helper()
	s, err := Compile(specs)
	require.NoError(t, err)
	return s
}

func floorState(floor int, names ...string) State {
	return State{Floor: floor, HasFloor: true, Active: names}
}

func ceilingState(ceiling int, names ...string) State {
	return State{Ceiling: ceiling, HasCeiling: true, Active: names}
}
