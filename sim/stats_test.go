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
