package metrics

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// TestServerClockFromCloudWatch: every GetMetricData answer, in each wire
// protocol, feeds the shared ServerClock: the simulator's Date header is its
// World's clock, set skew away from the daemon's (virtual) clock.
func TestServerClockFromCloudWatch(t *testing.T) {
	ctx := context.Background()
	for _, protocol := range []string{ProtocolCBOR, ProtocolJSON, ProtocolQuery} {
		for _, skew := range []time.Duration{90 * time.Second, -90 * time.Second} {
			t.Run(protocol+" "+skew.String(), func(t *testing.T) {
				// The simulated AWS lives skew away from the daemon's
				// clock; its Date headers carry its own time.
				clk := sim.NewVirtualClock(simStart.Add(10*time.Minute + 250*time.Millisecond))
				w, err := sim.NewWorld(trafficScenario(), sim.NewVirtualClock(clk.Now().Add(skew)))
				require.NoError(t, err)
				srv := httptest.NewServer(sim.NewHandler(w, nil))
				t.Cleanup(srv.Close)

				sc := awsapi.NewServerClock(clk)
				src, err := New(testConfig(srv.URL), protocol, WithClock(clk), WithServerClock(sc))
				require.NoError(t, err)
				_, ok := sc.ClockOffset()
				require.False(t, ok)

				require.NoError(t, src.Preflight(ctx))
				got, ok := sc.ClockOffset()
				require.True(t, ok)
				require.InDelta(t, skew.Seconds(), got.Seconds(), 1.5)

				now := clk.Now().Truncate(time.Minute)
				_, err = src.Fetch(ctx, []controller.MetricQuery{{ID: apiLive}}, now.Add(-5*time.Minute), now)
				require.NoError(t, err)
				got, ok = sc.ClockOffset()
				require.True(t, ok)
				require.InDelta(t, skew.Seconds(), got.Seconds(), 1.5)
			})
		}
	}
}
