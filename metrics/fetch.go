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
