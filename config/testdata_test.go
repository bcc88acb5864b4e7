package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBrokenConfigs parses every testdata/bad-*.yaml and compares the
// problems, one a line, with the golden bad-*.err next to it.
func TestBrokenConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad-*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 12, "the issue asks for at least 12 broken configs")

	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			golden, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".err")
			require.NoError(t, err, "every bad config needs its expected messages in a .err file")
			want := strings.Split(strings.TrimRight(string(golden), "\n"), "\n")

			cfg, err := Parse(data)
			require.Nil(t, cfg)
			verr, ok := err.(*ValidationError)
			require.True(t, ok, "want *ValidationError, got %T: %v", err, err)
			got := make([]string, len(verr.Problems))
			for i, p := range verr.Problems {
				got[i] = p.String()
			}
			require.Equal(t, want, got)
			require.Equal(t, strings.Join(want, "\n"), err.Error())
		})
	}
}

func TestLoadNamesFileOnEveryLine(t *testing.T) {
	_, err := Load("testdata/bad-min-above-max.yaml")
	verr, ok := err.(*ValidationError)
	require.True(t, ok, "want *ValidationError, got %T", err)
	require.Equal(t, "testdata/bad-min-above-max.yaml", verr.File)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, "testdata/bad-min-above-max.yaml: targets[0].min: 150 is greater than max 100 (line 7)", lines[0])
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "testdata/bad-min-above-max.yaml: targets["), l)
	}
}
