package backtest

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Wire modes of --wire: how ours reaches the simulated account.
const (
	// WireDirect serves the controller's two ports straight from the world
	// with what the daemon's clients would have answered (DirectPorts): the
	// default, about 20× cheaper per replay than the SDK.
	WireDirect = "direct"
	// WireSDK runs the daemon's own awsapi and metrics clients on
	// aws-sdk-go-v2 against the world's HTTP handler in memory
	// (DaemonPorts). TestDirectPortsMatchDaemonClients holds both to the
	// same decisions.
	WireSDK = "sdk"
)

// DirectPorts are the daemon's ports without the SDK: Lambda is the world's
// in-process store, remembering each target's allocated PC as
// awsapi.Lambda does (for derived utilization), with LastModified at the
// wire's one-second resolution; CloudWatch is World.GetMetricData asked the
// queries metrics.Source asks in mode (aws.cloudwatch_metrics: derived,
// compact or full) and converted as it converts them. The metrics requested
// are counted the way the metrics package reports them to telemetry (one
// per MetricDataQuery per call, probes included).
func DirectPorts(mode string) Ports {
	return func(w *sim.World, _ *sim.VirtualClock) (controller.PCStore, controller.MetricSource, func() int, error) {
		store, _ := w.InProcess()
		ds := &directStore{PCStore: store, allocated: map[controller.TargetID]int{}}
		dm := &directMetrics{w: w, mode: mode, store: ds}
		return ds, dm, dm.Requested, nil
	}
}

// directStore is the world's in-process PCStore as awsapi.Lambda presents it.
type directStore struct {
	controller.PCStore
	mu        sync.Mutex
	allocated map[controller.TargetID]int
}

// LimitsCalls forwards the in-process store's cost (controller.LimitsCoster).
func (s *directStore) LimitsCalls(id controller.TargetID) int {
	return controller.LimitsCallsOf(s.PCStore, id)
}

func (s *directStore) remember(id controller.TargetID, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allocated[id] = n
}

// rememberPC is awsapi.Lambda's: only a settled config's allocation is
// kept; while one is IN_PROGRESS the last settled one stays.
func (s *directStore) rememberPC(id controller.TargetID, pc controller.PCConfig) {
	if pc.Exists && pc.Status == controller.StatusInProgress {
		return
	}
	s.remember(id, pc.Allocated)
}

// Allocated is awsapi.Lambda.Allocated: the last allocated PC read.
func (s *directStore) Allocated(id controller.TargetID) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.allocated[id]
	return n, ok
}

// wire drops what Lambda's LastModified ("2019-11-21T19:32:12+0000") can't carry.
func wire(pc controller.PCConfig) controller.PCConfig {
	pc.LastModified = pc.LastModified.UTC().Truncate(time.Second)
	return pc
}

func (s *directStore) GetPC(ctx context.Context, id controller.TargetID) (controller.PCConfig, error) {
	pc, err := s.PCStore.GetPC(ctx, id)
	if err != nil {
		return pc, err
	}
	if !pc.Exists {
		s.remember(id, 0)
		return pc, nil
	}
	s.rememberPC(id, pc)
	return wire(pc), nil
}

func (s *directStore) PutPC(ctx context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	pc, err := s.PCStore.PutPC(ctx, id, n)
	if err != nil {
		return pc, err
	}
	s.rememberPC(id, pc)
	return wire(pc), nil
}

func (s *directStore) DeletePC(ctx context.Context, id controller.TargetID) error {
	if err := s.PCStore.DeletePC(ctx, id); err != nil {
		return err
	}
	s.remember(id, 0)
	return nil
}

// metricKind is one metric per target, as metrics.Source names them.
type metricKind struct {
	tag    byte
	metric string
	stat   string // "" = the query's statistic
}

var (
	kindUtil    = metricKind{'u', sim.MetricUtilization, ""}
	kindSpill   = metricKind{'s', sim.MetricSpillover, "Sum"}
	kindConc    = metricKind{'c', sim.MetricConcurrent, "Maximum"}
	kindInv     = metricKind{'i', sim.MetricInvocations, "Sum"}
	fullKinds   = []metricKind{kindUtil, kindSpill, kindConc, kindInv}
	compactKind = []metricKind{kindUtil, kindConc}
	derivedKind = []metricKind{kindConc}
)

// directMetrics is metrics.Source's Fetch on World.GetMetricData.
type directMetrics struct {
	w     *sim.World
	mode  string
	store *directStore

	mu        sync.Mutex
	requested int
}

// Requested is the metrics asked for so far (metrics.Observer.MetricsRequested).
func (m *directMetrics) Requested() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requested
}

type directPlan struct {
	q       controller.MetricQuery
	kinds   []metricKind
	derived bool
	alloc   int
}

func (m *directMetrics) plan(q controller.MetricQuery) directPlan {
	if m.mode == config.MetricsDerived && (q.Statistic == "" || q.Statistic == config.StatMaximum) {
		if a, ok := m.store.Allocated(q.ID); ok && a >= 0 {
			return directPlan{q: q, kinds: derivedKind, derived: true, alloc: a}
		}
		// Allocation unknown: concurrency alone, as metrics.Source.
		return directPlan{q: q, kinds: derivedKind}
	}
	if m.mode == config.MetricsCompact {
		return directPlan{q: q, kinds: compactKind}
	}
	return directPlan{q: q, kinds: fullKinds}
}

// Fetch mirrors metrics.Source.Fetch: whole minutes, one Series per
// distinct target, a failed call marks its batch incomplete.
func (m *directMetrics) Fetch(_ context.Context, queries []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	start, end = start.UTC().Truncate(time.Minute), end.UTC().Truncate(time.Minute)
	var uniq []controller.MetricQuery
	seen := map[controller.TargetID]bool{}
	for _, q := range queries {
		if !seen[q.ID] {
			seen[q.ID] = true
			uniq = append(uniq, q)
		}
	}
	out := make(map[controller.TargetID]controller.Series, len(uniq))
	if !end.After(start) {
		for _, q := range uniq {
			out[q.ID] = controller.Series{}
		}
		if len(uniq) == 0 {
			return out, nil
		}
		return out, fmt.Errorf("metrics: empty window [%s, %s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	var batches [][]directPlan
	var cur []directPlan
	n := 0
	for _, q := range uniq {
		p := m.plan(q)
		if n+len(p.kinds) > sim.MaxMetricDataQueries && len(cur) > 0 {
			batches, cur, n = append(batches, cur), nil, 0
		}
		cur, n = append(cur, p), n+len(p.kinds)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	var errs error
	for _, b := range batches {
		series, err := m.fetchBatch(b, start, end)
		for id, s := range series {
			out[id] = s
		}
		if err != nil && errs == nil {
			errs = err
		}
	}
	return out, errs
}

// directResult is one query's answer over pages: the value per minute of
// the read (index = minutes since its start), NaN where there is none.
type directResult struct {
	values []float64
	status string
	seen   bool
}

func (m *directMetrics) fetchBatch(batch []directPlan, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	minutes := int(end.Sub(start) / time.Minute)
	var mdq []sim.MetricDataQuery
	results := map[string]*directResult{}
	for j, p := range batch {
		fn := p.q.ID.Function
		dims := []sim.Dimension{{Name: sim.DimFunctionName, Value: fn}, {Name: sim.DimResource, Value: fn + ":" + p.q.ID.Qualifier}}
		for _, k := range p.kinds {
			stat := k.stat
			if stat == "" {
				stat = p.q.Statistic
				if stat == "" {
					stat = config.StatMaximum
				}
			}
			id := queryID(j, k.tag)
			r := &directResult{values: make([]float64, minutes)}
			for i := range r.values {
				r.values[i] = math.NaN()
			}
			results[id] = r
			mdq = append(mdq, sim.MetricDataQuery{Id: id, MetricStat: &sim.MetricStat{
				Metric: sim.Metric{Namespace: sim.NamespaceLambda, MetricName: k.metric, Dimensions: dims},
				Period: 60, Stat: stat,
			}})
		}
	}
	in := sim.MetricDataInput{MetricDataQueries: mdq, StartTime: start, EndTime: end, ScanBy: "TimestampAscending"}
	var callErr error
	for page := 0; ; page++ {
		resp, err := m.w.GetMetricData(in)
		m.mu.Lock()
		m.requested += len(mdq)
		m.mu.Unlock()
		if err != nil {
			callErr = err
			break
		}
		for _, r := range resp.MetricDataResults {
			acc := results[r.Id]
			if acc == nil {
				continue
			}
			acc.seen, acc.status = true, r.StatusCode
			for i, ts := range r.Timestamps {
				if i >= len(r.Values) {
					break
				}
				v := r.Values[i]
				k := int(ts.Sub(start) / time.Minute) // ts ≥ start: minutes since it (floor)
				if math.IsNaN(v) || math.IsInf(v, 0) || ts.Before(start) || k >= minutes {
					continue
				}
				acc.values[k] = v
			}
		}
		if resp.NextToken == "" || resp.NextToken == in.NextToken || page >= 1000 {
			break
		}
		in.NextToken = resp.NextToken
	}
	out := make(map[controller.TargetID]controller.Series, len(batch))
	for j, p := range batch {
		if callErr != nil {
			out[p.q.ID] = controller.Series{}
			continue
		}
		s := buildSeries(j, p.kinds, results, start)
		if p.derived {
			derive(s.Points, p.alloc)
		}
		out[p.q.ID] = s
	}
	return out, callErr
}

func queryID(j int, tag byte) string { return "t" + strconv.Itoa(j) + string(tag) }

// buildSeries is metrics' build: one point per minute with any value, in
// time order.
func buildSeries(j int, kinds []metricKind, results map[string]*directResult, start time.Time) controller.Series {
	complete := true
	var rs []*directResult
	n := 0
	for _, k := range kinds {
		r := results[queryID(j, k.tag)]
		if !r.seen || r.status != "Complete" {
			complete = false
		}
		rs = append(rs, r)
		n = max(n, len(r.values))
	}
	var pts []controller.Datapoint
	for i := range n {
		var p controller.Datapoint
		has := false
		for ki, k := range kinds {
			v := rs[ki].values[i]
			if math.IsNaN(v) {
				continue
			}
			has = true
			switch k.tag {
			case 'u':
				p.Utilization, p.HasUtilization = v, true
			case 's':
				p.Spillover = v
			case 'c':
				p.Concurrency, p.HasConcurrency = v, true
			case 'i':
				p.Invocations, p.HasInvocations = v, true
			}
		}
		if has {
			p.Time = start.Add(time.Duration(i) * time.Minute)
			pts = append(pts, p)
		}
	}
	return controller.Series{Points: pts, Complete: complete}
}

// derive is metrics' derived utilization (metrics.WithDerivedUtilization):
// utilization = min(1, concurrency / allocated), spillover = max(0,
// concurrency − allocated); without PC no utilization.
func derive(pts []controller.Datapoint, allocated int) {
	for i := range pts {
		p := &pts[i]
		if !p.HasConcurrency {
			continue
		}
		p.Spillover = max(0, p.Concurrency-float64(allocated))
		if allocated > 0 {
			p.Utilization, p.HasUtilization = min(1, p.Concurrency/float64(allocated)), true
		}
	}
}
