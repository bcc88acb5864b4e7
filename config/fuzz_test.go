package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// FuzzParse shows Parse never panics and keeps its contract on any input:
// either a config that validates and survives a YAML round trip, or a
// *ValidationError with at least one non-empty problem.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.yaml")
	require.NoError(f, err)
	seeds = append(seeds, "../config.example.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("targets: [{function: fn, qualifier: live, <<: {min: 2}}]"))
	f.Add([]byte("targets:\n  - &m {function: fn, qualifier: live}\n  - {<<: [*m, *m], qualifier: v2, max_scale_in_step: 10%}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			require.Nil(t, c)
			verr, ok := err.(*ValidationError)
			require.True(t, ok, "want *ValidationError, got %T: %v", err, err)
			require.NotEmpty(t, verr.Problems)
			for _, p := range verr.Problems {
				require.NotEmpty(t, p.Message)
			}
			return
		}
		require.NotNil(t, c)
		require.NoError(t, c.Validate())
		_ = c.LogValue().Resolve()

		out, err := yaml.Marshal(c)
		require.NoError(t, err)
		again, err := Parse(out)
		require.NoError(t, err, "a valid config must parse again after marshalling:\n%s", out)
		require.Equal(t, c, again)
	})
}

// FuzzParseCron shows ParseCron turns every input, including those that make
// robfig/cron panic, into a schedule or an error.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 8 * * MON-FRI", "@daily", "TZ=Europe/Berlin", "CRON_TZ=UTC 0 0 * * *", "*/0 * * * *", "5-1 * * * *", "0 0 30 2 *", "@every 1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseCron(spec)
		if err != nil {
			require.Nil(t, s)
			return
		}
		_ = s.Next(cronProbe)
	})
}
