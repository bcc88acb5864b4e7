package sim

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// jitterScenario: api has two loads (alias live on version 1, and version 2)
// and other has one, so a function's loads, its aggregate and the account
// can be told apart.
func jitterScenario(seed int, jitter, faults string) string {
	s := fmt.Sprintf(`
seed: %d
metrics: {publish_delay: 60s, publish_jitter: %s}
functions:
  - name: api
    versions: 2
    aliases: [{name: live, version: "1"}]
    loads:
      - {qualifier: live, kind: constant, rate: 600, duration_ms: 100}
      - {qualifier: "2", kind: constant, rate: 300, duration_ms: 100}
  - name: other
    loads: [{qualifier: "1", kind: constant, rate: 60, duration_ms: 100}]
`, seed, jitter)
	if faults != "" {
		s += "faults:\n  - " + faults + "\n"
	}
	return s
}

func TestPublishJitterDraws(t *testing.T) {
	const span = 45 * time.Second
	draws := func(seed int, fn string) []time.Duration {
		w, _ := newTestWorld(t, jitterScenario(seed, "45s", ""))
		var out []time.Duration
		for m := range 240 {
			out = append(out, w.publishJitter(fn, t0.Add(time.Duration(m)*time.Minute)))
		}
		return out
	}
	a := draws(3, "api")
	require.Equal(t, a, draws(3, "api"), "same seed, same visibility times")
	require.NotEqual(t, a, draws(4, "api"), "another seed draws differently")
	require.NotEqual(t, a, draws(3, "other"), "each function draws its own")
	for _, fn := range []string{"api", "other", ""} {
		d := draws(3, fn)
		for m, j := range d {
			require.True(t, j >= 0 && j <= span && j%time.Second == 0, "%q minute %d: %s", fn, m, j)
		}
		distinct := slices.Compact(slices.Sorted(slices.Values(d)))
		require.Greater(t, len(distinct), 30, "%q: the draws should cover the span", fn)
		require.Equal(t, time.Duration(0), distinct[0], "%q: 0 is reachable", fn)
		require.Equal(t, span, distinct[len(distinct)-1], "%q: the bound is reachable", fn)
	}

	w, _ := newTestWorld(t, jitterScenario(3, "0s", ""))
	require.Zero(t, w.publishJitter("api", t0), "no jitter by default")
}

// TestPublishJitterVisibility: GetMetricData sees function api's minute m
// (both loads and the FunctionName aggregate) from m + 1m + publish_delay +
// J, not a second before; the account from its own draw; a metric_delay
// fault adds on top for the load it hits.
func TestPublishJitterVisibility(t *testing.T) {
	w, clk := newTestWorld(t, jitterScenario(5, "50s", "{kind: metric_delay, function: api, qualifier: \"2\", latency: 2m}"))
	type read struct {
		name  string
		dims  []Dimension
		extra time.Duration // injected delay
		fn    string        // whose jitter
	}
	reads := []read{
		{name: "alias load", dims: resourceDims("api", "live"), fn: "api"},
		{name: "version load, delayed", dims: resourceDims("api", "2"), fn: "api", extra: 2 * time.Minute},
		{name: "function aggregate", dims: []Dimension{{Name: DimFunctionName, Value: "api"}}, fn: "api"},
		{name: "other function", dims: resourceDims("other", "1"), fn: "other"},
		{name: "account", fn: ""},
	}
	// Every read is a check at an exact time; run them in time order, as
	// the clock only goes forward.
	type check struct {
		at     time.Time
		minute time.Time
		r      read
		want   bool
	}
	var checks []check
	sawJitter := false
	for m := range 4 {
		minute := t0.Add(time.Duration(m) * time.Minute)
		for _, r := range reads {
			j := w.publishJitter(r.fn, minute)
			sawJitter = sawJitter || j > 0
			at := minute.Add(2*time.Minute + j + r.extra)
			checks = append(checks, check{at.Add(-time.Second), minute, r, false}, check{at, minute, r, true})
		}
	}
	require.True(t, sawJitter)
	slices.SortStableFunc(checks, func(a, b check) int { return a.at.Compare(b.at) })
	for _, c := range checks {
		clk.Set(c.at)
		res := getOne(t, w, statQuery("i", MetricInvocations, c.r.dims, "Sum", 60), c.minute, c.minute.Add(time.Minute))
		require.Equal(t, c.want, len(res.Timestamps) == 1, "%s, minute %s, at %s", c.r.name, c.minute.Format("15:04"), c.at.Format("15:04:05"))
	}
}
