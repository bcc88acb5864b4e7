// Package metrics reads the Lambda metrics the controller decides on from
// CloudWatch (GetMetricData), for many targets in as few calls as possible.
//
// Per target it asks for up to four one-minute series, all with dimensions
// FunctionName=fn and Resource=fn:qualifier and no Unit (a Unit that does not
// match the stored data silently yields nothing):
//
//	ProvisionedConcurrencyUtilization           configured statistic
//	ProvisionedConcurrencySpilloverInvocations  Sum
//	ConcurrentExecutions                        Maximum
//	Invocations                                 Sum
//
// A minute for which CloudWatch has none of them is absent from the series —
// Lambda publishes nothing for a minute without invocations — never a zero.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/aws/smithy-go/transport/http/protocol/rpcv2"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// CloudWatch wire protocols (config aws.cloudwatch_protocol).
const (
	ProtocolCBOR  = "cbor"  // Smithy RPC v2 CBOR, the SDK's default and the fastest
	ProtocolJSON  = "json"  // AWS JSON 1.0, as the AWS CLI sends it
	ProtocolQuery = "query" // AWS Query, for emulators such as moto
)

// MaxQueriesPerCall is GetMetricData's fixed limit of MetricDataQuery
// structures a request.
const MaxQueriesPerCall = 500

const (
	namespace = "AWS/Lambda"
	period    = 60 // seconds; Lambda's metrics are one-minute
	// parallelCalls bounds GetMetricData calls in flight: a tick over
	// thousands of targets overlaps them, far below CloudWatch's 50 TPS.
	parallelCalls = 4
)

// Observer counts what the source does: every call (awsapi.CallObserver) and
// every metric requested, which is what CloudWatch bills (each page of a
// paginated call requests its metrics again).
type Observer interface {
	awsapi.CallObserver
	MetricsRequested(n int)
}

// Source reads CloudWatch (controller.MetricSource). Safe for concurrent use.
type Source struct {
	api      cloudwatch.GetMetricDataAPIClient
	caller   *awsapi.Caller
	observer Observer
	maxQ     int
	pageSize int32  // MaxDatapoints a page; 0 = CloudWatch's default (tests page small)
	kinds    []kind // per target, unless derived
	alloc    AllocatedFunc
	clock    controller.Clock
}

var _ controller.MetricSource = (*Source)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	observer Observer
	clock    controller.Clock
	client   []func(*cloudwatch.Options)
	compact  bool
	alloc    AllocatedFunc
}

// AllocatedFunc reports a target's allocated PC as last read from Lambda
// (awsapi.Lambda.Allocated); ok=false when not known yet.
type AllocatedFunc func(id controller.TargetID) (allocated int, ok bool)

// WithDerivedUtilization reads one metric per target instead of four:
// ConcurrentExecutions (Maximum) of the alias, with the rest derived from
// the allocated PC that the controller reads from Lambda every tick anyway:
//
//	Utilization = min(1, concurrency / allocated)
//	Spillover   = max(0, concurrency − allocated)
//
// Lambda serves an alias's requests on its PC first, so while concurrency ≤
// allocated every execution is on PC and the two utilizations are the same
// number; above it utilization is 1 both ways. Spillover is then a lower
// bound of the spilled invocations (that many ran on standard concurrency
// at the peak), enough for the controller's spillover fast path, which only
// asks whether it is positive. Invocations are not read (HasInvocations
// false; idle detection uses concurrency). Periods before the allocation
// last changed get a wrong denominator, but the controller ignores periods
// before the config settled.
//
// Applies to targets with the Maximum statistic whose allocation is known;
// others (Average, or not read from Lambda yet) get the full four metrics
// (two with WithCompact). 10,000 targets: 20 GetMetricData calls a tick
// instead of 80, and a quarter of the CloudWatch cost.
func WithDerivedUtilization(allocated AllocatedFunc) Option {
	return func(p *options) { p.alloc = allocated }
}

// WithCompact reads two metrics per target instead of four: utilization and
// concurrent executions, which are all the scaling decisions need to size a
// step. Spillover and invocation counts are not read (Spillover stays 0 and
// HasInvocations false), so the controller's one-period spillover fast path
// is off: a burst is seen as saturated utilization (with the Maximum
// statistic, any spillover means the PC was fully busy at some instant) and
// scales out after scale_out_datapoints periods. Halves GetMetricData calls
// and CloudWatch cost.
func WithCompact() Option { return func(p *options) { p.compact = true } }

// WithObserver reports calls and metrics requested to o (telemetry).
func WithObserver(o Observer) Option { return func(p *options) { p.observer = o } }

// WithClock sets the clock used to time calls (default: wall time).
func WithClock(c controller.Clock) Option { return func(p *options) { p.clock = c } }

// WithClientOptions passes options to the *cloudwatch.Client.
func WithClientOptions(fns ...func(*cloudwatch.Options)) Option {
	return func(p *options) { p.client = append(p.client, fns...) }
}

// New returns a Source reading CloudWatch with cfg over protocol (cbor when
// empty).
func New(cfg aws.Config, protocol string, opts ...Option) (*Source, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	setProtocol, err := protocolOption(protocol)
	if err != nil {
		return nil, err
	}
	client := cloudwatch.NewFromConfig(cfg, append([]func(*cloudwatch.Options){setProtocol}, o.client...)...)
	return newSource(client, o), nil
}

// protocolOption selects the client's wire protocol.
func protocolOption(protocol string) (func(*cloudwatch.Options), error) {
	svc := schemas.GraniteServiceVersion20100801
	switch protocol {
	case "", ProtocolCBOR:
		return func(co *cloudwatch.Options) { co.Protocol = rpcv2.NewCBOR(svc) }, nil
	case ProtocolJSON:
		return func(co *cloudwatch.Options) { co.Protocol = awsjson.New10(svc) }, nil
	case ProtocolQuery:
		return func(co *cloudwatch.Options) { co.Protocol = awsquery.New(svc) }, nil
	}
	return nil, fmt.Errorf("aws.cloudwatch_protocol: %q is not one of cbor, json, query", protocol)
}

func newSource(api cloudwatch.GetMetricDataAPIClient, o options) *Source {
	var obs awsapi.CallObserver
	if o.observer != nil {
		obs = o.observer
	}
	ks := fullKinds
	if o.compact {
		ks = compactKinds
	}
	if o.clock == nil {
		o.clock = awsapi.WallClock{}
	}
	return &Source{api: api, caller: awsapi.NewCaller(nil, obs, o.clock), clock: o.clock, observer: o.observer,
		maxQ: MaxQueriesPerCall, kinds: ks, alloc: o.alloc}
}

// kind is one metric asked for per target.
type kind struct {
	tag    byte // query ID suffix
	metric string
	stat   string // "" = the target's configured statistic
}

var fullKinds = []kind{
	{'u', "ProvisionedConcurrencyUtilization", ""},
	{'s', "ProvisionedConcurrencySpilloverInvocations", "Sum"},
	{'c', "ConcurrentExecutions", "Maximum"},
	{'i', "Invocations", "Sum"},
}

var (
	compactKinds = []kind{fullKinds[0], fullKinds[2]}
	derivedKinds = []kind{fullKinds[2]}
)

// MetricsPerTarget is how many metrics a target costs a Fetch when its
// utilization is not derived.
func (s *Source) MetricsPerTarget() int { return len(s.kinds) }

// plan is one target's part of a Fetch.
type plan struct {
	q       controller.MetricQuery
	kinds   []kind
	derived bool
	alloc   int
}

func (s *Source) plan(q controller.MetricQuery) plan {
	if s.alloc != nil && (q.Statistic == "" || q.Statistic == "Maximum") {
		if a, ok := s.alloc(q.ID); ok && a >= 0 {
			return plan{q: q, kinds: derivedKinds, derived: true, alloc: a}
		}
	}
	return plan{q: q, kinds: s.kinds}
}

// Fetch reads every query's series over the minutes in [start, end). The map
// always holds one Series per distinct target asked for; a target whose
// batch failed, or whose data CloudWatch marked PartialData, InternalError or
// Forbidden, gets Complete=false. err joins the failed calls' errors (each an
// *awsapi.Error) and is nil when every call succeeded.
func (s *Source) Fetch(ctx context.Context, queries []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]Series, error) {
	start, end = start.UTC().Truncate(time.Minute), end.UTC().Truncate(time.Minute)
	uniq := make([]controller.MetricQuery, 0, len(queries))
	seen := make(map[controller.TargetID]bool, len(queries))
	for _, q := range queries {
		if !seen[q.ID] {
			seen[q.ID] = true
			uniq = append(uniq, q)
		}
	}
	out := make(map[controller.TargetID]Series, len(uniq))
	if !end.After(start) {
		for _, q := range uniq {
			out[q.ID] = Series{}
		}
		if len(uniq) == 0 {
			return out, nil
		}
		return out, fmt.Errorf("metrics: empty window [%s, %s)", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	// Pack whole targets into calls of at most maxQ queries, so a failed
	// call leaves a target wholly incomplete, never half read.
	var batches [][]plan
	var cur []plan
	n := 0
	for _, q := range uniq {
		p := s.plan(q)
		if n+len(p.kinds) > s.maxQ && len(cur) > 0 {
			batches, cur, n = append(batches, cur), nil, 0
		}
		cur, n = append(cur, p), n+len(p.kinds)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, parallelCalls)
	)
	for _, batch := range batches {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			series, err := s.fetchBatch(ctx, batch, start, end)
			mu.Lock()
			defer mu.Unlock()
			for id, se := range series {
				out[id] = se
			}
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Series is controller.Series (an alias keeps signatures short).
type Series = controller.Series

// result accumulates one query's answer over pages.
type result struct {
	values map[int64]float64 // minute (unix seconds) → value
	status types.StatusCode
	seen   bool
}

func (s *Source) fetchBatch(ctx context.Context, batch []plan, start, end time.Time) (map[controller.TargetID]Series, error) {
	mdq := make([]types.MetricDataQuery, 0, s.maxQ)
	results := make(map[string]*result, s.maxQ)
	for j, p := range batch {
		q := p.q
		fn := awsapi.FunctionName(q.ID.Function)
		dims := []types.Dimension{
			{Name: aws.String("FunctionName"), Value: aws.String(fn)},
			{Name: aws.String("Resource"), Value: aws.String(fn + ":" + q.ID.Qualifier)},
		}
		for _, k := range p.kinds {
			stat := k.stat
			if stat == "" {
				stat = q.Statistic
				if stat == "" {
					stat = "Maximum"
				}
			}
			id := queryID(j, k.tag)
			results[id] = &result{values: map[int64]float64{}}
			mdq = append(mdq, types.MetricDataQuery{
				Id: aws.String(id),
				MetricStat: &types.MetricStat{
					Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(k.metric), Dimensions: dims},
					Period: aws.Int32(period),
					Stat:   aws.String(stat),
				},
				ReturnData: aws.Bool(true),
			})
		}
	}
	in := &cloudwatch.GetMetricDataInput{
		MetricDataQueries: mdq,
		StartTime:         aws.Time(start),
		EndTime:           aws.Time(end),
		ScanBy:            types.ScanByTimestampAscending,
	}
	if s.pageSize > 0 {
		in.MaxDatapoints = aws.Int32(s.pageSize)
	}
	var callErr error
	for page := 0; ; page++ {
		var resp *cloudwatch.GetMetricDataOutput
		err := s.caller.Call(ctx, awsapi.OpGetMetricData, "", func(ctx context.Context) (err error) {
			resp, err = s.api.GetMetricData(ctx, in)
			return err
		})
		if s.observer != nil {
			s.observer.MetricsRequested(len(mdq))
		}
		if err != nil {
			callErr = err
			break
		}
		merge(results, resp.MetricDataResults, start, end)
		next := aws.ToString(resp.NextToken)
		// A token that repeats would loop forever; 1000 pages of 100,800
		// datapoints is far beyond any lookback the controller asks for.
		if next == "" || next == aws.ToString(in.NextToken) || page >= 1000 {
			if next != "" {
				callErr = &awsapi.Error{Op: awsapi.OpGetMetricData.Action(), Class: awsapi.ClassError,
					Err: fmt.Errorf("NextToken %q did not advance after %d pages", next, page+1)}
			}
			break
		}
		in.NextToken = aws.String(next)
	}
	out := make(map[controller.TargetID]Series, len(batch))
	for j, p := range batch {
		if callErr != nil {
			out[p.q.ID] = Series{}
			continue
		}
		se := build(j, p.kinds, results)
		if p.derived {
			derive(se.Points, p.alloc)
		}
		out[p.q.ID] = se
	}
	return out, callErr
}

// merge adds one page's results to their accumulators. The status that
// counts is the one from the last page naming the query: CloudWatch marks a
// result PartialData on a page that a NextToken continues.
func merge(results map[string]*result, page []types.MetricDataResult, start, end time.Time) {
	for _, r := range page {
		acc := results[aws.ToString(r.Id)]
		if acc == nil {
			continue
		}
		acc.seen, acc.status = true, r.StatusCode
		for i, ts := range r.Timestamps {
			if i >= len(r.Values) {
				break
			}
			v := r.Values[i]
			m := ts.UTC().Truncate(time.Minute)
			if math.IsNaN(v) || math.IsInf(v, 0) || m.Before(start) || !m.Before(end) {
				continue
			}
			acc.values[m.Unix()] = v
		}
	}
}

func queryID(j int, tag byte) string { return fmt.Sprintf("t%d%c", j, tag) }

// build turns target j's results into its Series.
func build(j int, kinds []kind, results map[string]*result) Series {
	complete := true
	minutes := map[int64]*controller.Datapoint{}
	point := func(m int64) *controller.Datapoint {
		p := minutes[m]
		if p == nil {
			p = &controller.Datapoint{Time: time.Unix(m, 0).UTC()}
			minutes[m] = p
		}
		return p
	}
	for _, k := range kinds {
		r := results[queryID(j, k.tag)]
		if !r.seen || r.status != types.StatusCodeComplete {
			complete = false
		}
		for m, v := range r.values {
			p := point(m)
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
	}
	pts := make([]controller.Datapoint, 0, len(minutes))
	for _, p := range minutes {
		pts = append(pts, *p)
	}
	slices.SortFunc(pts, func(a, b controller.Datapoint) int { return a.Time.Compare(b.Time) })
	return Series{Points: pts, Complete: complete}
}

// derive fills utilization and a spillover lower bound from concurrency and
// the allocated PC (see WithDerivedUtilization). Without PC there is no
// utilization; everything that ran spilled.
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
