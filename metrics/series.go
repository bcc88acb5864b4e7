package metrics

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

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
