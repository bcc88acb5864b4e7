package backtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// aasWorld runs the AAS emulation for minutes against a world serving
// perMinute invocations of 1 s, starting at initial PC, and returns every
// evaluation and the requested PC at the end.
func aasWorld(t *testing.T, perMinute []float64, initial int) ([]AASStep, int) {
	t.Helper()
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	sc := sim.DefaultScenario()
	sc.Seed = 5
	sc.Account.ConcurrentExecutions = 100000
	sc.Functions = []sim.FunctionSpec{{
		Name: "f", MemoryMB: 1024, Versions: 1,
		Aliases:     []sim.AliasSpec{{Name: Qualifier, Version: "1"}},
		Provisioned: map[string]int{Qualifier: initial},
		Loads:       []sim.Load{{Qualifier: Qualifier, Kind: sim.LoadTrace, DurationMS: 1000, PerMinute: perMinute}},
	}}
	clk := sim.NewVirtualClock(start)
	w, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	store, ms := w.InProcess()
	id := controller.TargetID{Function: "f", Qualifier: Qualifier}
	a := NewAAS(id, store, ms, 1, 10000)
	var steps []AASStep
	for m := range perMinute {
		now := start.Add(time.Duration(m)*time.Minute + TickOffset)
		clk.Set(now)
		steps = append(steps, a.Tick(context.Background(), now))
	}
	pc, err := store.GetPC(context.Background(), id)
	require.NoError(t, err)
	return steps, pc.Requested
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestAAS(t *testing.T) {
	tests := []struct {
		name    string
		load    []float64
		initial int
		check   func(t *testing.T, steps []AASStep, final int)
	}{
		{
			// 3000/min of 1 s is concurrency ~50; at PC 50 utilization ~1.0.
			name: "saturated: grows at most ×1/0.7 a step, after 3 datapoints",
			load: constant(12, 3000), initial: 50,
			check: func(t *testing.T, steps []AASStep, final int) {
				first := -1
				for i, s := range steps {
					if s.Put {
						first = i
						require.LessOrEqual(t, s.Desired, int(float64(s.Current)/0.7)+1, "utilization caps at 1")
						break
					}
				}
				// minutes 0..2 are published 1 min after they end: at 3:05
				// the range (minutes -2..2) holds 3 real breaching datapoints.
				require.Equal(t, 3, first)
				require.Greater(t, final, 50)
			},
		},
		{
			name: "idle: no datapoints, INSUFFICIENT_DATA, never scales in",
			load: constant(30, 0), initial: 40,
			check: func(t *testing.T, steps []AASStep, final int) {
				require.Equal(t, 40, final)
				for _, s := range steps {
					require.Equal(t, AlarmInsufficient, s.Low)
					require.False(t, s.Put)
				}
			},
		},
		{
			name: "low: 15 of 15 below 0.63 then scale in",
			load: constant(25, 600), initial: 100, // concurrency ~10 on 100
			check: func(t *testing.T, steps []AASStep, final int) {
				first := -1
				for i, s := range steps {
					if s.Put {
						first = i
						break
					}
				}
				require.Equal(t, 15, first, "15 datapoints, published a minute late")
				require.Equal(t, AlarmAlarm, steps[first].Low)
				require.Equal(t, 90, steps[first].Desired, "one scale-in removes at most 10%% of PC")
				require.Less(t, final, 90, "and again every minute the alarm stays in ALARM")
			},
		},
		{
			name: "in the deadband nothing happens",
			load: constant(25, 1950), initial: 50, // concurrency ~32.5 on 50: u ~0.65
			check: func(t *testing.T, steps []AASStep, final int) {
				require.Equal(t, 50, final)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, final := aasWorld(t, tc.load, tc.initial)
			tc.check(t, steps, final)
		})
	}
}

// The documented examples of "How alarm state is evaluated when data is
// missing" (Datapoints to Alarm = Evaluation Periods = 3, range 5, missing
// data treated as missing), plus the cases the emulation assumes.
func TestEvalAlarmMissingData(t *testing.T) {
	const o, x = 0.5, 0.9 // not breaching, breaching (threshold 0.7)
	v := func(f float64) *float64 { return &f }
	row := func(s string) []*float64 {
		var out []*float64
		for _, c := range s {
			switch c {
			case '0':
				out = append(out, v(o))
			case 'X':
				out = append(out, v(x))
			case '-':
				out = append(out, nil)
			}
		}
		return out
	}
	breach := func(u float64) bool { return u > 0.7 }
	tests := []struct {
		data string
		prev string
		want string
	}{
		// Documented (CloudWatch User Guide table, MISSING column).
		{"0 - X - X", AlarmOK, AlarmOK},
		{"0 - - - -", AlarmAlarm, AlarmOK},
		{"- - - - -", AlarmOK, AlarmInsufficient},
		{"0 X X - X", AlarmOK, AlarmAlarm},
		{"- - X - -", AlarmOK, AlarmAlarm}, // premature-alarm rule
		// Documented: these do not go into ALARM at once.
		{"- - - - X", AlarmOK, AlarmOK},
		{"- - - X -", AlarmInsufficient, AlarmInsufficient},
		// Assumed: the rule counts positions in the range; a real
		// non-breaching datapoint makes it OK.
		{"X X - - -", AlarmOK, AlarmAlarm},
		{"0 - - X -", AlarmAlarm, AlarmOK},
		{"X X X 0 -", AlarmAlarm, AlarmOK},
	}
	for _, tc := range tests {
		t.Run(tc.data, func(t *testing.T) {
			require.Equal(t, tc.want, evalAlarm(row(tc.data), 3, breach, tc.prev))
		})
	}
}

// Lambda publishes no utilization for a minute without invocations. A
// quiet minute now and then does not stop the low alarm (the range has two
// datapoints to spare); intermittent traffic below the threshold still
// alarms by the premature-alarm rule (the oldest breaching datapoint is 15
// or more minutes old, every newer one breaching or missing); a quiet
// stretch as long as the range is INSUFFICIENT_DATA and holds.
func TestAASLowAlarmAcrossQuietMinutes(t *testing.T) {
	load := constant(40, 600)
	load[20], load[25] = 0, 0
	steps, _ := aasWorld(t, load, 100)
	require.Equal(t, AlarmAlarm, steps[30].Low, "two quiet minutes within 17: still 15 real datapoints")

	odd := constant(40, 600)
	for m := 5; m < 40; m += 2 {
		odd[m] = 0
	}
	steps, final := aasWorld(t, odd, 100)
	require.Equal(t, AlarmAlarm, steps[30].Low)
	require.Less(t, final, 100)

	stop := constant(60, 0)
	for m := range 20 {
		stop[m] = 1950 // concurrency ~32.5 on 50 (u ~0.65): the deadband, then silence
	}
	steps, final = aasWorld(t, stop, 50)
	require.Equal(t, 50, final, "no traffic, no datapoints, no scale-in")
	require.Equal(t, AlarmInsufficient, steps[59].Low)
	require.Equal(t, AlarmInsufficient, steps[59].High)
}
