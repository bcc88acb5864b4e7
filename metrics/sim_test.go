package metrics

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

var simStart = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type simEnv struct {
	world *sim.World
	clock *sim.VirtualClock
	url   string
}

func newSimEnv(t testing.TB, sc *sim.Scenario) *simEnv {
	t.Helper()
	clk := sim.NewVirtualClock(simStart)
	w, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	srv := httptest.NewServer(sim.NewHandler(w, nil))
	t.Cleanup(srv.Close)
	return &simEnv{world: w, clock: clk, url: srv.URL}
}

func (e *simEnv) source(t testing.TB, protocol string, obs Observer, extra ...Option) *Source {
	t.Helper()
	opts := []Option{WithClientOptions(func(o *cloudwatch.Options) {
		// Keep the SDK's retries of 5xx, without sleeping between them.
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.Backoff = zeroBackoff{} })
	})}
	if obs != nil {
		opts = append(opts, WithObserver(obs))
	}
	opts = append(opts, extra...)
	src, err := New(testConfig(e.url), protocol, opts...)
	require.NoError(t, err)
	return src
}

type zeroBackoff struct{}

func (zeroBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// trafficScenario: "api" has steady traffic on alias live (PC 5, so some
// minutes spill over); "idle" has an alias and no traffic at all.
func trafficScenario() *sim.Scenario {
	return &sim.Scenario{
		Seed: 7,
		Functions: []sim.FunctionSpec{
			{Name: "api", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}},
				Provisioned: map[string]int{"live": 5},
				Loads:       []sim.Load{{Qualifier: "live", Kind: sim.LoadConstant, Rate: 600, DurationMS: 500}}},
			{Name: "idle", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}},
		},
	}
}

var (
	apiLive  = controller.TargetID{Function: "api", Qualifier: "live"}
	idleLive = controller.TargetID{Function: "idle", Qualifier: "live"}
)

// expected builds what the simulator's own accounting says the minutes in
// [from, to) were; utilization is not in its accounting, so it is checked
// for presence and range only.
func expected(t *testing.T, w *sim.World, id controller.TargetID, from, to time.Time) map[time.Time]sim.MinuteStat {
	t.Helper()
	out := map[time.Time]sim.MinuteStat{}
	for _, m := range w.Minutes(id.Function, id.Qualifier) {
		if !m.Start.Before(from) && m.Start.Before(to) && m.Invocations > 0 {
			out[m.Start] = m
		}
	}
	return out
}

func TestFetchFromSimulator(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, trafficScenario())
	e.clock.Advance(30 * time.Minute)
	start, end := simStart.Add(5*time.Minute), simStart.Add(25*time.Minute)
	want := expected(t, e.world, apiLive, start, end)
	require.Len(t, want, 20)

	var first map[controller.TargetID]controller.Series
	for _, protocol := range []string{ProtocolCBOR, ProtocolJSON, ProtocolQuery} {
		t.Run(protocol, func(t *testing.T) {
			obs := &countingObserver{}
			got, err := e.source(t, protocol, obs).Fetch(ctx, []controller.MetricQuery{
				{ID: apiLive, Statistic: "Maximum"}, {ID: idleLive, Statistic: "Average"},
			}, start, end)
			require.NoError(t, err)
			require.Len(t, got, 2)

			api := got[apiLive]
			require.True(t, api.Complete)
			require.Len(t, api.Points, len(want))
			spilled := 0.0
			for i, p := range api.Points {
				m, ok := want[p.Time]
				require.True(t, ok, "minute %s has no traffic in the simulator", p.Time)
				if i > 0 {
					require.True(t, p.Time.After(api.Points[i-1].Time), "oldest first")
				}
				require.True(t, p.HasInvocations)
				require.Equal(t, float64(m.Invocations), p.Invocations)
				require.Equal(t, float64(m.Spillover), p.Spillover)
				require.True(t, p.HasConcurrency)
				require.Equal(t, float64(m.PeakConcurrency), p.Concurrency)
				require.True(t, p.HasUtilization)
				require.True(t, p.Utilization > 0 && p.Utilization <= 1, "utilization %v", p.Utilization)
				spilled += p.Spillover
			}
			require.Positive(t, spilled, "a 5-PC alias at ~5 concurrency spills in some minutes")

			// No traffic: a complete answer with no minutes, never zeros.
			require.Equal(t, controller.Series{Points: []controller.Datapoint{}, Complete: true}, got[idleLive])
			require.Equal(t, 8, obs.metrics())
			require.Equal(t, []string{"cloudwatch GetMetricData ok"}, obs.callList())
			if first == nil {
				first = got
			} else {
				require.Equal(t, first, got, "every protocol reads the same")
			}
		})
	}
}

func TestFetchPaginated(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, trafficScenario())
	e.clock.Advance(30 * time.Minute)
	start, end := simStart, simStart.Add(28*time.Minute)
	queries := []controller.MetricQuery{{ID: apiLive, Statistic: "Maximum"}, {ID: idleLive}}

	whole, err := e.source(t, ProtocolCBOR, nil).Fetch(ctx, queries, start, end)
	require.NoError(t, err)

	obs := &countingObserver{}
	src := e.source(t, ProtocolCBOR, obs)
	src.pageSize = 7 // 4 series × ~27 minutes → 16 pages
	paged, err := src.Fetch(ctx, queries, start, end)
	require.NoError(t, err)
	require.Equal(t, whole, paged)
	calls := len(obs.callList())
	require.Greater(t, calls, 10)
	require.Equal(t, calls*8, obs.metrics(), "every page requests (and bills) all its metrics again")
}

func TestFetchBatchesOver500Queries(t *testing.T) {
	ctx := context.Background()
	sc := trafficScenario()
	var queries []controller.MetricQuery
	for i := range 130 { // 520 queries: two calls
		name := fmt.Sprintf("fn%03d", i)
		sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: name, Versions: 1,
			Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}})
		queries = append(queries, controller.MetricQuery{ID: controller.TargetID{Function: name, Qualifier: "live"}})
	}
	queries = append(queries, controller.MetricQuery{ID: apiLive, Statistic: "Average"})
	e := newSimEnv(t, sc)
	e.clock.Advance(20 * time.Minute)

	obs := &countingObserver{}
	got, err := e.source(t, ProtocolCBOR, obs).Fetch(ctx, queries, simStart, simStart.Add(15*time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 131)
	require.Equal(t, []string{"cloudwatch GetMetricData ok", "cloudwatch GetMetricData ok"}, obs.callList())
	require.Equal(t, 131*4, obs.metrics())
	for id, s := range got {
		require.True(t, s.Complete, id.String())
	}
	// The target in the second batch came back with its data.
	require.Len(t, got[apiLive].Points, len(expected(t, e.world, apiLive, simStart, simStart.Add(15*time.Minute))))
	require.NotEmpty(t, got[apiLive].Points)
}

func TestFetchFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		kind  string
		class string
		calls []string
	}{
		{name: "server error after the SDK's retries", kind: sim.FaultServerError, class: awsapi.ClassServer,
			calls: []string{"cloudwatch GetMetricData server"}},
		{name: "throttled", kind: sim.FaultThrottle, class: awsapi.ClassThrottled,
			calls: []string{"cloudwatch GetMetricData throttled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := trafficScenario()
			sc.Faults = []sim.FaultSpec{{Op: "GetMetricData", Kind: tc.kind}}
			e := newSimEnv(t, sc)
			e.clock.Advance(20 * time.Minute)
			obs := &countingObserver{}
			got, err := e.source(t, ProtocolCBOR, obs).Fetch(ctx, []controller.MetricQuery{{ID: apiLive}, {ID: idleLive}}, simStart, simStart.Add(10*time.Minute))
			require.Error(t, err)
			require.Equal(t, tc.class, awsapi.Classify(err))
			require.Equal(t, map[controller.TargetID]controller.Series{apiLive: {}, idleLive: {}}, got,
				"every target of a failed call is incomplete")
			require.Equal(t, tc.calls, obs.callList())
		})
	}
}

func TestFetchMetricGapIsAbsentNotZero(t *testing.T) {
	ctx := context.Background()
	sc := trafficScenario()
	// Minutes 10-11 of api:live are never published.
	sc.Faults = []sim.FaultSpec{{Kind: sim.FaultMetricGap, Function: "api", Qualifier: "live",
		From: sim.Duration{Duration: 10 * time.Minute}, Until: sim.Duration{Duration: 12 * time.Minute}}}
	e := newSimEnv(t, sc)
	e.clock.Advance(20 * time.Minute)
	got, err := e.source(t, ProtocolCBOR, nil).Fetch(ctx, []controller.MetricQuery{{ID: apiLive}}, simStart.Add(5*time.Minute), simStart.Add(15*time.Minute))
	require.NoError(t, err)
	s := got[apiLive]
	require.True(t, s.Complete)
	var minutes []int
	for _, p := range s.Points {
		minutes = append(minutes, int(p.Time.Sub(simStart)/time.Minute))
	}
	require.Equal(t, []int{5, 6, 7, 8, 9, 12, 13, 14}, minutes)
}

func TestFetchWindow(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, trafficScenario())
	e.clock.Advance(20 * time.Minute)
	src := e.source(t, ProtocolCBOR, nil)
	t.Run("unaligned bounds are truncated to minutes", func(t *testing.T) {
		got, err := src.Fetch(ctx, []controller.MetricQuery{{ID: apiLive}}, simStart.Add(5*time.Minute+20*time.Second), simStart.Add(8*time.Minute+59*time.Second))
		require.NoError(t, err)
		require.Len(t, got[apiLive].Points, 3)
		require.Equal(t, simStart.Add(5*time.Minute), got[apiLive].Points[0].Time)
	})
	t.Run("empty window", func(t *testing.T) {
		got, err := src.Fetch(ctx, []controller.MetricQuery{{ID: apiLive}}, simStart.Add(5*time.Minute), simStart.Add(5*time.Minute))
		require.ErrorContains(t, err, "empty window")
		require.Equal(t, map[controller.TargetID]controller.Series{apiLive: {}}, got)
	})
	t.Run("duplicates asked once", func(t *testing.T) {
		obs := &countingObserver{}
		got, err := e.source(t, ProtocolCBOR, obs).Fetch(ctx, []controller.MetricQuery{{ID: apiLive}, {ID: apiLive}}, simStart, simStart.Add(3*time.Minute))
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, 4, obs.metrics())
	})
	t.Run("nothing asked", func(t *testing.T) {
		got, err := src.Fetch(ctx, nil, simStart, simStart.Add(3*time.Minute))
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestNewRejectsUnknownProtocol(t *testing.T) {
	_, err := New(aws.Config{Region: "us-east-1"}, "xml", nil...)
	require.ErrorContains(t, err, `aws.cloudwatch_protocol: "xml" is not one of cbor, json, query`)
}

func TestFetchCompact(t *testing.T) {
	ctx := context.Background()
	e := newSimEnv(t, trafficScenario())
	e.clock.Advance(20 * time.Minute)
	start, end := simStart.Add(2*time.Minute), simStart.Add(15*time.Minute)
	queries := []controller.MetricQuery{{ID: apiLive, Statistic: "Maximum"}}

	full, err := e.source(t, ProtocolCBOR, nil).Fetch(ctx, queries, start, end)
	require.NoError(t, err)

	obs := &countingObserver{}
	src := e.source(t, ProtocolCBOR, obs, WithCompact())
	require.Equal(t, 2, src.MetricsPerTarget())
	got, err := src.Fetch(ctx, queries, start, end)
	require.NoError(t, err)
	require.Equal(t, 2, obs.metrics())

	// Same minutes, same utilization and concurrency; the counts unread.
	want := controller.Series{Complete: true}
	for _, p := range full[apiLive].Points {
		want.Points = append(want.Points, controller.Datapoint{Time: p.Time, Utilization: p.Utilization, HasUtilization: p.HasUtilization,
			Concurrency: p.Concurrency, HasConcurrency: p.HasConcurrency})
	}
	require.Equal(t, want, got[apiLive])
}

func TestPreflight(t *testing.T) {
	ctx := context.Background()
	t.Run("permitted", func(t *testing.T) {
		e := newSimEnv(t, trafficScenario())
		obs := &countingObserver{}
		require.NoError(t, e.source(t, ProtocolCBOR, obs).Preflight(ctx))
		require.Equal(t, []string{"cloudwatch GetMetricData ok"}, obs.callList())
	})
	for _, protocol := range []string{ProtocolCBOR, ProtocolJSON, ProtocolQuery} {
		t.Run("denied over "+protocol, func(t *testing.T) {
			srv := httptest.NewServer(accessDenied(t))
			t.Cleanup(srv.Close)
			e := &simEnv{url: srv.URL}
			err := e.source(t, protocol, nil).Preflight(ctx)
			require.Error(t, err)
			require.Equal(t, awsapi.ClassAccessDenied, awsapi.Classify(err))
			require.Contains(t, err.Error(), "missing IAM permission cloudwatch:GetMetricData: AccessDenied")
		})
	}
}

func BenchmarkFetch10kTargets(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{name: "full"},
		{name: "compact", opts: []Option{WithCompact()}},
		{name: "derived", opts: []Option{WithDerivedUtilization(func(controller.TargetID) (int, bool) { return 10, true })}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sc := &sim.Scenario{Seed: 1, Account: sim.AccountSpec{ConcurrentExecutions: 100000}}
			var queries []controller.MetricQuery
			for i := range 10000 {
				name := fmt.Sprintf("fn%05d", i)
				sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: name, Versions: 1})
				queries = append(queries, controller.MetricQuery{ID: controller.TargetID{Function: name, Qualifier: "1"}, Statistic: "Maximum"})
			}
			e := newSimEnv(b, sc)
			obs := &countingObserver{}
			src := e.source(b, ProtocolCBOR, obs, tc.opts...)
			b.ResetTimer()
			for b.Loop() {
				got, err := src.Fetch(context.Background(), queries, simStart.Add(-15*time.Minute), simStart)
				if err != nil || len(got) != len(queries) {
					b.Fatalf("fetch: %v, %d series", err, len(got))
				}
			}
			b.ReportMetric(float64(len(obs.callList()))/float64(b.N), "calls/op")
			b.ReportMetric(float64(obs.metrics())/float64(b.N), "metrics/op")
		})
	}
}

func TestFetchDerivedUtilization(t *testing.T) {
	ctx := context.Background()
	sc := trafficScenario()
	// "bare" has traffic and no PC config: everything spills.
	sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: "bare", Versions: 1,
		Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}},
		Loads:   []sim.Load{{Qualifier: "live", Kind: sim.LoadConstant, Rate: 120, DurationMS: 1000}}})
	// "fresh" has PC and traffic and is never read from Lambda.
	sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: "fresh", Versions: 1,
		Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}, Provisioned: map[string]int{"live": 5},
		Loads: []sim.Load{{Qualifier: "live", Kind: sim.LoadConstant, Rate: 600, DurationMS: 500}}})
	bareLive := controller.TargetID{Function: "bare", Qualifier: "live"}
	freshLive := controller.TargetID{Function: "fresh", Qualifier: "live"}
	e := newSimEnv(t, sc)
	e.clock.Advance(30 * time.Minute)
	start, end := simStart.Add(2*time.Minute), simStart.Add(25*time.Minute)

	// The allocation comes from the real Lambda store's last read.
	store := awsapi.NewLambda(testConfig(e.url), 0)
	for _, id := range []controller.TargetID{apiLive, bareLive} {
		_, err := store.GetPC(ctx, id)
		require.NoError(t, err)
	}
	all := []controller.MetricQuery{
		{ID: apiLive, Statistic: "Maximum"}, {ID: bareLive, Statistic: "Maximum"},
		{ID: freshLive, Statistic: "Maximum"}, // never read from Lambda: concurrency alone
	}
	full, err := e.source(t, ProtocolCBOR, nil).Fetch(ctx, all, start, end)
	require.NoError(t, err)

	obs := &countingObserver{}
	got, err := e.source(t, ProtocolCBOR, obs, WithDerivedUtilization(store.Allocated)).Fetch(ctx, all, start, end)
	require.NoError(t, err)
	require.Equal(t, 1+1+1, obs.metrics())

	t.Run("with PC: utilization as Lambda reports it", func(t *testing.T) {
		f, d := full[apiLive], got[apiLive]
		require.True(t, d.Complete)
		require.Len(t, d.Points, len(f.Points))
		spills := 0
		for i, p := range d.Points {
			w := f.Points[i]
			require.Equal(t, w.Time, p.Time)
			require.Equal(t, w.Concurrency, p.Concurrency)
			require.True(t, p.HasUtilization)
			require.InDelta(t, w.Utilization, p.Utilization, 1e-9, "minute %s", p.Time)
			require.Equal(t, w.Spillover > 0, p.Spillover > 0, "minute %s", p.Time)
			require.LessOrEqual(t, p.Spillover, w.Spillover, "a lower bound")
			require.False(t, p.HasInvocations)
			if p.Spillover > 0 {
				spills++
			}
		}
		require.Positive(t, spills)
	})
	t.Run("without PC: no utilization, all spilled", func(t *testing.T) {
		d := got[bareLive]
		require.True(t, d.Complete)
		require.NotEmpty(t, d.Points)
		for _, p := range d.Points {
			require.False(t, p.HasUtilization)
			require.Equal(t, p.Concurrency, p.Spillover)
			require.Positive(t, p.Spillover)
		}
	})
	t.Run("allocation unknown: concurrency alone", func(t *testing.T) {
		f, d := full[freshLive], got[freshLive]
		require.True(t, d.Complete)
		require.NotEmpty(t, d.Points)
		require.Len(t, d.Points, len(f.Points))
		for i, p := range d.Points {
			require.Equal(t, controller.Datapoint{Time: f.Points[i].Time, Concurrency: f.Points[i].Concurrency, HasConcurrency: true}, p)
		}
	})
	t.Run("allocating: derived from the last settled allocation", func(t *testing.T) {
		_, err := store.PutPC(ctx, apiLive, 20)
		require.NoError(t, err)
		pc, err := store.GetPC(ctx, apiLive)
		require.NoError(t, err)
		require.Equal(t, controller.StatusInProgress, pc.Status)
		a, ok := store.Allocated(apiLive)
		require.True(t, ok)
		require.Equal(t, 5, a, "the allocation that served the minutes read")
		obs := &countingObserver{}
		d, err := e.source(t, ProtocolCBOR, obs, WithDerivedUtilization(store.Allocated)).
			Fetch(ctx, []controller.MetricQuery{{ID: apiLive, Statistic: "Maximum"}}, start, end)
		require.NoError(t, err)
		require.Equal(t, 1, obs.metrics())
		require.Equal(t, got[apiLive], d[apiLive])
	})
	t.Run("Average statistic is never derived", func(t *testing.T) {
		obs := &countingObserver{}
		_, err := e.source(t, ProtocolCBOR, obs, WithDerivedUtilization(store.Allocated)).
			Fetch(ctx, []controller.MetricQuery{{ID: apiLive, Statistic: "Average"}}, start, end)
		require.NoError(t, err)
		require.Equal(t, 4, obs.metrics())
	})
}

func TestBatchPacking(t *testing.T) {
	ctx := context.Background()
	// 400 derived targets (1 query) and 100 Average ones (4, never
	// derived): 800 queries, packed into two calls without splitting a
	// target.
	sc := &sim.Scenario{Seed: 1}
	known := map[controller.TargetID]bool{}
	var queries []controller.MetricQuery
	for i := range 500 {
		name := fmt.Sprintf("fn%03d", i)
		sc.Functions = append(sc.Functions, sim.FunctionSpec{Name: name, Versions: 1})
		id := controller.TargetID{Function: name, Qualifier: "1"}
		known[id] = i%5 != 0
		stat := "Maximum"
		if !known[id] {
			stat = "Average"
		}
		queries = append(queries, controller.MetricQuery{ID: id, Statistic: stat})
	}
	e := newSimEnv(t, sc)
	obs := &countingObserver{}
	alloc := func(id controller.TargetID) (int, bool) { return 3, known[id] }
	got, err := e.source(t, ProtocolCBOR, obs, WithDerivedUtilization(alloc)).Fetch(ctx, queries, simStart.Add(-10*time.Minute), simStart)
	require.NoError(t, err)
	require.Len(t, got, 500)
	require.Equal(t, 800, obs.metrics())
	require.Len(t, obs.callList(), 2)
}
