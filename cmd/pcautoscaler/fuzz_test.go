package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzValidateSchedule feeds any file to `validate` and `schedule`: neither
// panics, both answer 0 or 2, and whatever validate accepts, schedule
// previews.
func FuzzValidateSchedule(f *testing.F) {
	for _, p := range []string{exampleConfig, "testdata/bad-config.yaml", "testdata/e2e-config.yaml", "demo.yaml"} {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(string(data), 7, "2026-03-29T00:00:00Z")
	}
	f.Add("targets: [{function: f, qualifier: q, schedules: [{name: n, cron: '@daily', duration: 1h, floor: 1}]}]", 1, "2026-10-25T00:30:00+02:00")
	f.Add("targets: [{function: f, qualifier: q, schedules: [{name: n, cron: '30 2 * * *', timezone: Europe/Berlin, duration: 168h, ceiling: 3}]}]", 366, "2026-03-28T23:00:00Z")
	f.Add("", 0, "")
	f.Add(":\n\t- [", -1, "not a time")
	f.Fuzz(func(t *testing.T, yaml string, days int, from string) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))

		vcode, _, _ := runCLI(t, "validate", "--config", path)
		require.Contains(t, []int{exitOK, exitUsage}, vcode)

		scode, _, stderr := runCLI(t, "schedule", "--config", path, "--days", strconv.Itoa(days), "--from", from)
		require.Contains(t, []int{exitOK, exitUsage}, scode, stderr)

		if vcode == exitOK {
			code, _, stderr := runCLI(t, "schedule", "--config", path, "--days", "3", "--from", "2026-03-28T00:00:00Z")
			require.Equal(t, exitOK, code, "validate accepted it, schedule did not: %s", stderr)
		}
	})
}
