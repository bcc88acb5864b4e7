package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// t0 is minute-aligned so minute arithmetic in tests is exact.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newTestWorld parses a scenario and starts a world on a virtual clock at t0.
func newTestWorld(t *testing.T, yml string) (*World, *VirtualClock) {
	t.Helper()
	sc, err := ParseScenario([]byte(yml))
	require.NoError(t, err)
	clk := NewVirtualClock(t0)
	w, err := NewWorld(sc, clk)
	require.NoError(t, err)
	return w, clk
}

// rulesScenario exercises every Put rule: reserved concurrency, aliases with
// and without weights, versions, and a small account.
const rulesScenario = `
seed: 7
account: {concurrent_executions: 1000, unreserved_min: 100}
allocation: {prep_delay: 60s, rate_per_minute: 600, decrease_delay: 10s}
functions:
  - name: api
    versions: 3
    aliases:
      - {name: live, version: "3"}
      - {name: blue, version: "3"}
      - {name: canary, version: "2", routing: {"1": 0.2}}
      - {name: old, version: "1"}
  - name: capped
    reserved: 50
    versions: 2
    aliases:
      - {name: live, version: "2"}
    provisioned: {"1": 20}
  - name: big
    versions: 1
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 700}
`
