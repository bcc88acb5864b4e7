package sim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStatsAccounting(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	clk.Advance(10 * time.Minute)
	// Raise pc:live from 15 to 25 at 09:10; ready after 60 s prep + 1 s.
	_, err := w.PutProvisionedConcurrency("pc", "live", 25)
	require.NoError(t, err)
	clk.Advance(10 * time.Minute)
	w.CountAPICall("PutProvisionedConcurrencyConfig", CodeOK)
	w.CountAPICall("PutProvisionedConcurrencyConfig", CodeResourceConflict)
	w.CountAPICall("GetMetricData", "")

	s := w.Stats()
	require.Equal(t, t0, s.Start)
	require.Equal(t, t0.Add(20*time.Minute), s.Now)
	pc := s.Targets["pc:live"]
	// 600 s at 15, 60 s of preparation still at 15, then 25: ten
	// environments at 6000 a minute take a tenth of a second.
	require.Equal(t, 600*15+60*15+540*25.0, pc.PCSeconds)
	require.Equal(t, 1200*5.0, s.Targets["idle:live"].PCSeconds)
	require.Equal(t, s.PCSeconds, pc.PCSeconds+s.Targets["idle:live"].PCSeconds)
	require.Equal(t, pc.Invocations, pc.ProvisionedInvocations+pc.Spillover)
	require.Greater(t, pc.Spillover, int64(0))
	require.Zero(t, s.Targets["nopc:1"].ProvisionedInvocations)
	require.Equal(t, s.Targets["nopc:1"].Invocations, s.Targets["nopc:1"].Spillover, "without PC everything runs on demand")
	var total int64
	for _, ts := range s.Targets {
		total += ts.Invocations
	}
	require.Equal(t, s.Invocations, total)
	require.Equal(t, map[string]map[string]int64{
		"PutProvisionedConcurrencyConfig": {CodeOK: 1, CodeResourceConflict: 1},
		"GetMetricData":                   {CodeOK: 1},
	}, s.APICalls)

	_, err = json.Marshal(s)
	require.NoError(t, err)

	ms := w.Minutes("pc", "live")
	require.Len(t, ms, 20)
	require.Equal(t, 15.0, ms[9].PCAllocated)
	require.Equal(t, 15.0, ms[10].PCAvailable)
	require.Equal(t, 25.0, ms[12].PCAvailable)
	require.Nil(t, w.Minutes("pc", "nope"))
	require.Nil(t, w.Minutes("ghost", "live"))
}

func TestSpilloverFollowsAvailablePC(t *testing.T) {
	w, clk := newTestWorld(t, metricsScenario)
	_, err := w.PutProvisionedConcurrency("nopc", "1", 40) // 10 concurrent on average: almost nothing spills
	require.NoError(t, err)
	clk.Advance(20 * time.Minute)
	ms := w.Minutes("nopc", "1")
	require.Greater(t, ms[0].Spillover, int64(500), "nothing is available during preparation")
	for _, m := range ms[2:] {
		require.Zero(t, m.Spillover, "40 PC covers ~10 concurrent")
	}
}

func TestWorldDeterministicForSeed(t *testing.T) {
	run := func(seed int64) Stats {
		sc := DefaultScenario()
		sc.Seed = seed
		clk := NewVirtualClock(t0)
		w, err := NewWorld(sc, clk)
		require.NoError(t, err)
		clk.Advance(3 * time.Hour)
		_, err = w.PutProvisionedConcurrency("search-api", "live", 160)
		require.NoError(t, err)
		clk.Advance(3 * time.Hour)
		return w.Stats()
	}
	a, b, c := run(5), run(5), run(6)
	require.Equal(t, a, b)
	require.NotEqual(t, a.Invocations, c.Invocations)
}

func TestLoadsOnOneVersionSharePC(t *testing.T) {
	// live and version 1 both run on version 1 with its 10 PC; ~16 concurrent in all.
	w, clk := newTestWorld(t, `
functions:
  - name: f
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 10}
    loads:
      - {qualifier: live, kind: constant, rate: 480, duration_ms: 1000}
      - {qualifier: "1", kind: constant, rate: 480, duration_ms: 1000}
`)
	clk.Advance(30 * time.Minute)
	s := w.Stats()
	live, v1 := s.Targets["f:live"], s.Targets["f:1"]
	require.Greater(t, live.Spillover, live.Invocations/5, "half the demand does not fit: both spill")
	require.Greater(t, v1.Spillover, v1.Invocations/5)
	require.InDelta(t, 10*1800, float64(live.ProvisionedInvocations+v1.ProvisionedInvocations), 10*1800*0.1,
		"PC serves about 10 invocations a second in all (10 PC, 1 s each)")
}

func TestReservedConcurrencyThrottlesTheFunction(t *testing.T) {
	// Two qualifiers of ~10 concurrent each under a reservation of 12.
	w, clk := newTestWorld(t, `
functions:
  - name: f
    reserved: 12
    versions: 2
    loads:
      - {qualifier: "1", kind: constant, rate: 600, duration_ms: 1000}
      - {qualifier: "2", kind: constant, rate: 600, duration_ms: 1000}
`)
	clk.Advance(10 * time.Minute)
	s := w.Stats()
	ran := s.Targets["f:1"].Invocations + s.Targets["f:2"].Invocations
	require.InDelta(t, 12*600, float64(ran), 12*600*0.1, "about 12 a second run")
	r := getOne(t, w, statQuery("t", MetricThrottles, []Dimension{{Name: DimFunctionName, Value: "f"}}, "Sum", 60), t0, t0.Add(time.Hour))
	require.Len(t, r.Values, 9)
	for _, v := range r.Values {
		require.Greater(t, v, 200.0)
	}
	c := getOne(t, w, statQuery("c", MetricConcurrent, []Dimension{{Name: DimFunctionName, Value: "f"}}, "Maximum", 60), t0, t0.Add(time.Hour))
	for _, v := range c.Values {
		require.LessOrEqual(t, v, 12.0)
	}
}
