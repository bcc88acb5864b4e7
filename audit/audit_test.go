package audit

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// jumpClock moves forward by every wait at once and sums the waits: the
// bucket's pacing in virtual time, no sleeping and nothing timed.
type jumpClock struct {
	mu     sync.Mutex
	now    time.Time
	waited time.Duration
}

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *jumpClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(max(d, 0))
	c.waited += max(d, 0)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// TestAuditPacesLambdaCalls: every Lambda call of an audit (eight
// functions, --all) waits on the bucket: n calls span at least (n-1)/rps
// of the bucket's clock. Versions a weighted alias routes to are not
// orphans.
func TestAuditPacesLambdaCalls(t *testing.T) {
	sc, err := sim.ParseScenario([]byte(`
functions:
  - {name: f0, versions: 3, aliases: [{name: live, version: "3"}, {name: canary, version: "3", routing: {"2": 0.1}}], provisioned: {"1": 1, "2": 1}}
  - {name: f1, versions: 1, aliases: [{name: live, version: "1"}]}
  - {name: f2, versions: 1, aliases: [{name: live, version: "1"}]}
  - {name: f3, versions: 1, aliases: [{name: live, version: "1"}]}
  - {name: f4, versions: 1, aliases: [{name: live, version: "1"}]}
  - {name: f5, versions: 1, aliases: [{name: live, version: "1"}]}
  - {name: f6, versions: 1, aliases: [{name: live, version: "1"}]}
  - {name: f7, versions: 2, aliases: [{name: live, version: "2"}], provisioned: {"1": 3}}
`))
	require.NoError(t, err)
	w, err := sim.NewWorld(sc, sim.NewVirtualClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	srv := httptest.NewServer(sim.NewHandler(w, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	lam := lambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), HTTPClient: testenv.LoopbackHTTPClient(t)})
	clk := &jumpClock{now: time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)}
	const rps = 5
	a := New(Options{Lambda: lam, All: true, RPS: rps, Clock: clk, PricePerGBSecond: 0.0000041667,
		Managed: []controller.TargetID{{Function: "f0", Qualifier: "live"}}})
	fs, err := a.Run(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID())
		require.Equal(t, []string{ReasonUnaliasedVersion}, f.Reasons)
	}
	require.Equal(t, []string{"f0:1", "f7:1"}, ids, "f0:2 gets canary's weighted traffic")

	calls := 0
	for _, codes := range w.Stats().APICalls {
		for _, n := range codes {
			calls += int(n)
		}
	}
	require.Greater(t, calls, 15, "ListFunctions, 8 × (ListAliases + ListProvisionedConcurrencyConfigs), 2 × GetFunction")
	require.GreaterOrEqual(t, clk.waited, time.Duration(calls-1)*time.Second/rps, "%d calls", calls)
}
