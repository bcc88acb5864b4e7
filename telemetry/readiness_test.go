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
	tests := []struct {
		name     string
		ticks    []tick
		services map[string]bool
		now      time.Time
		wantErr  []string // substrings of the reason; empty = ready
	}{
		{
			name:    "fresh process",
			now:     t0,
			wantErr: []string{"no successful tick yet", "lambda has not answered yet", "cloudwatch has not answered yet"},
		},
		{
			name:     "first tick failed",
			ticks:    []tick{{t0, errors.New("metrics: access denied")}},
			services: map[string]bool{"lambda": true, "cloudwatch": false},
			now:      t0.Add(time.Minute),
			wantErr:  []string{"no successful tick yet; last tick failed: metrics: access denied", "cloudwatch: last call failed"},
		},
		{
			name:     "tick ok and both services answered",
			ticks:    []tick{{t0, nil}},
			services: map[string]bool{"lambda": true, "cloudwatch": true},
			now:      t0.Add(time.Minute),
		},
		{
			name:     "exactly three intervals is still ready",
			ticks:    []tick{{t0, nil}},
			services: map[string]bool{"lambda": true, "cloudwatch": true},
			now:      t0.Add(time.Second + 3*time.Minute),
		},
		{
			name:     "stale after three intervals, failures since",
			ticks:    []tick{{t0, nil}, {t0.Add(time.Minute), errors.New("boom")}},
			services: map[string]bool{"lambda": true, "cloudwatch": true},
			now:      t0.Add(3*time.Minute + 2*time.Second),
			wantErr:  []string{"last successful tick 3m1s ago, more than 3 intervals of 1m0s; last tick failed: boom"},
		},
		{
			name:     "a failure after a recent success is still ready",
			ticks:    []tick{{t0, nil}, {t0.Add(time.Minute), errors.New("boom")}},
			services: map[string]bool{"lambda": true, "cloudwatch": true},
			now:      t0.Add(2 * time.Minute),
		},
		{
			name:     "lambda failing",
			ticks:    []tick{{t0, nil}},
			services: map[string]bool{"lambda": false, "cloudwatch": true},
			now:      t0.Add(time.Minute),
			wantErr:  []string{"lambda: last call failed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReadiness(time.Minute, func() time.Time { return tc.now })
			for _, tk := range tc.ticks {
				r.Ticked(tk.at, time.Second, tk.err)
			}
			for s, ok := range tc.services {
				r.ServiceOK(s, ok)
			}
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
