package backtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// The stores the replays wrap around the world's in-process store pass its
// Limits cost on to the controller's read plan, which otherwise assumes the
// conservative default.
func TestWrappedStoresForwardLimitsCalls(t *testing.T) {
	sc := sim.DefaultScenario()
	w, err := sim.NewWorld(sc, sim.NewVirtualClock(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	inner, _ := w.InProcess()
	id := controller.TargetID{Function: sc.Functions[0].Name, Qualifier: sc.Functions[0].Aliases[0].Name}
	want := controller.LimitsCallsOf(inner, id)
	require.NotEqual(t, controller.LimitsCallsOf(struct{ controller.PCStore }{inner}, id), want,
		"the in-process store's cost differs from the default, or this test shows nothing")
	for name, s := range map[string]controller.PCStore{
		"directStore":   &directStore{PCStore: inner},
		"countingStore": &countingStore{PCStore: inner},
		"changeLog":     &changeLog{PCStore: inner},
	} {
		require.Equal(t, want, controller.LimitsCallsOf(s, id), name)
	}
}
