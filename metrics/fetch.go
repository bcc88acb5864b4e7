package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// kind is one metric asked for per target.
type kind struct {
	tag    byte // query ID suffix
	metric string
	stat   string  // "" = the target's configured statistic
	name   *string // &metric, shared by every query of the kind
}

func newKind(tag byte, metric, stat string) kind {
	return kind{tag: tag, metric: metric, stat: stat, name: aws.String(metric)}
}

var fullKinds = []kind{
	newKind('u', "ProvisionedConcurrencyUtilization", ""),
	newKind('s', "ProvisionedConcurrencySpilloverInvocations", "Sum"),
	newKind('c', "ConcurrentExecutions", "Maximum"),
	newKind('i', "Invocations", "Sum"),
}

// Members every query has alike, one pointer each.
var (
	namespacePtr    = aws.String(namespace)
	periodPtr       = aws.Int32(period)
	returnData      = aws.Bool(true)
	dimFunctionName = aws.String("FunctionName")
	dimResource     = aws.String("Resource")
	statPtrs        = map[string]*string{}
)

func init() {
	for _, st := range []string{"Maximum", "Average", "Minimum", "Sum", "SampleCount"} {
		statPtrs[st] = aws.String(st)
	}
}

// statPtr is a shared pointer to a known statistic, a new one otherwise
// (a percentile such as p99).
func statPtr(stat string) *string {
	if p := statPtrs[stat]; p != nil {
		return p
	}
	return aws.String(stat)
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
		// Allocation unknown (not read from Lambda yet): concurrency alone
		// ranks its urgency until it is read, at one metric, not four.
		return plan{q: q, kinds: derivedKinds}
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

func (s *Source) fetchBatch(ctx context.Context, batch []plan, start, end time.Time) (map[controller.TargetID]Series, error) {
	results := newResults(batch, start, end)
	mdq := make([]types.MetricDataQuery, 0, len(results.row))
	// One MetricStat and Metric per query, in two slices; the constant
	// members share one pointer each (the SDK only reads them).
	stats := make([]types.MetricStat, 0, len(results.row))
	metrics := make([]types.Metric, 0, len(results.row))
	for j, p := range batch {
		q := p.q
		fn := awsapi.FunctionName(q.ID.Function)
		dims := []types.Dimension{
			{Name: dimFunctionName, Value: aws.String(fn)},
			{Name: dimResource, Value: aws.String(fn + ":" + q.ID.Qualifier)},
		}
		for _, k := range p.kinds {
			stat := k.stat
			if stat == "" {
				stat = q.Statistic
				if stat == "" {
					stat = "Maximum"
				}
			}
			metrics = append(metrics, types.Metric{Namespace: namespacePtr, MetricName: k.name, Dimensions: dims})
			stats = append(stats, types.MetricStat{Metric: &metrics[len(metrics)-1], Period: periodPtr, Stat: statPtr(stat)})
			mdq = append(mdq, types.MetricDataQuery{
				Id:         aws.String(queryID(j, k.tag)),
				MetricStat: &stats[len(stats)-1],
				ReturnData: returnData,
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
		results.merge(resp.MetricDataResults)
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
		se := results.build(j)
		if p.derived {
			derive(se.Points, p.alloc)
		}
		out[p.q.ID] = se
	}
	return out, callErr
}
