package telemetry

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadiness(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	type tick struct {
		at  time.Time
		err error
	}
	type call struct {
		at      time.Time
		service string
		ok      bool
	}
	both := func(at time.Time) []call {
		return []call{{at, "lambda", true}, {at, "cloudwatch", true}}
	}
	tests := []struct {
		name    string
		ticks   []tick
		calls   []call
		now     time.Time
		wantErr []string // substrings of the reason; empty = ready
	}{
		{
			name:    "fresh process",
			now:     t0,
			wantErr: []string{"no successful tick yet", "lambda has not answered yet", "cloudwatch has not answered yet"},
		},
		{
			name:  "first tick failed",
			ticks: []tick{{t0, errors.New("metrics: access denied")}},
			calls: []call{{t0, "lambda", true}, {t0, "cloudwatch", false}},
			now:   t0.Add(time.Minute),
			wantErr: []string{"no successful tick yet; last tick failed: metrics: access denied",
				"cloudwatch has not answered yet (calls fail: see aws_api_calls_total and the log)"},
		},
		{
			name:  "tick ok and both services answered",
			ticks: []tick{{t0, nil}},
			calls: both(t0),
			now:   t0.Add(time.Minute),
		},
		{
			name:  "exactly three intervals is still ready",
			ticks: []tick{{t0, nil}},
			calls: both(t0.Add(time.Second)),
			now:   t0.Add(time.Second + 3*time.Minute),
		},
		{
			name:    "stale after three intervals, failures since",
			ticks:   []tick{{t0, nil}, {t0.Add(time.Minute), errors.New("boom")}},
			calls:   both(t0.Add(2 * time.Minute)),
			now:     t0.Add(3*time.Minute + 2*time.Second),
			wantErr: []string{"last successful tick 3m1s ago, more than 3 intervals of 1m0s; last tick failed: boom"},
		},
		{
			name:  "a failed tick after a recent success is still ready",
			ticks: []tick{{t0, nil}, {t0.Add(time.Minute), errors.New("boom")}},
			calls: both(t0.Add(time.Minute)),
			now:   t0.Add(2 * time.Minute),
		},
		{
			name:    "lambda never answers",
			ticks:   []tick{{t0, nil}},
			calls:   []call{{t0, "lambda", false}, {t0, "cloudwatch", true}},
			now:     t0.Add(time.Minute),
			wantErr: []string{"lambda has not answered yet (calls fail"},
		},
		{
			name:  "one failing call among answered ones doesn't flap",
			ticks: []tick{{t0.Add(time.Minute), nil}},
			calls: append(both(t0.Add(time.Minute)), call{t0.Add(time.Minute + time.Second), "lambda", false}),
			now:   t0.Add(2 * time.Minute),
		},
		{
			name:    "cloudwatch answered long ago, fails since",
			ticks:   []tick{{t0.Add(5 * time.Minute), nil}},
			calls:   []call{{t0, "cloudwatch", true}, {t0.Add(5 * time.Minute), "lambda", true}, {t0.Add(5 * time.Minute), "cloudwatch", false}},
			now:     t0.Add(5 * time.Minute),
			wantErr: []string{"cloudwatch has not answered for 5m0s (calls fail"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := t0
			r := NewReadiness(time.Minute, func() time.Time { return clock })
			for _, tk := range tc.ticks {
				r.Ticked(tk.at, time.Second, tk.err)
			}
			for _, c := range tc.calls {
				clock = c.at
				r.ServiceOK(c.service, c.ok)
			}
			clock = tc.now
			err := r.Ready()
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestReadinessCustomServices(t *testing.T) {
	r := NewReadiness(time.Minute, func() time.Time { return time.Unix(100, 0) }, "lambda")
	r.Ticked(time.Unix(90, 0), time.Second, nil)
	r.ServiceOK("lambda", true)
	require.NoError(t, r.Ready())
}
