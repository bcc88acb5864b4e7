package metrics

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// results accumulates one batch's answers over pages, indexed by query
// position and minute offset from the window's start: no map per query and
// no sort, since building walks the minutes in order (every tick reads the
// whole lookback of every target, 10,000 × 185 minutes). A query's row is
// taken from vals when its first value arrives, so queries without data
// (idle targets) cost nothing; NaN marks a minute without a datapoint
// (merge drops NaN values, as CloudWatch never means one).
type results struct {
	start   int64 // the window's first minute, Unix seconds
	minutes int
	first   []int    // plan j → position of its first query
	kinds   [][]kind // plan j → its queries' kinds, in position order
	row     []int32  // query → offset of its row in vals; -1 none yet
	vals    []float64
	nanRow  []float64 // minutes NaNs, a new row's start
	status  []types.StatusCode
	seen    []bool
}

// newResults sizes the accumulators for batch over [start, end).
func newResults(batch []plan, start, end time.Time) *results {
	r := &results{start: start.Unix(), minutes: int(end.Sub(start) / time.Minute),
		first: make([]int, len(batch)), kinds: make([][]kind, len(batch))}
	n := 0
	for j, p := range batch {
		r.first[j], r.kinds[j] = n, p.kinds
		n += len(p.kinds)
	}
	r.row = make([]int32, n)
	for i := range r.row {
		r.row[i] = -1
	}
	r.status = make([]types.StatusCode, n)
	r.seen = make([]bool, n)
	r.nanRow = make([]float64, r.minutes)
	for i := range r.nanRow {
		r.nanRow[i] = math.NaN()
	}
	return r
}

// position is the query an ID names ("t<j><tag>", see queryID); -1 for an
// ID this batch did not ask.
func (r *results) position(id string) int {
	if len(id) < 3 || id[0] != 't' || (id[1] == '0' && len(id) > 3) {
		return -1
	}
	j := 0
	for _, c := range []byte(id[1 : len(id)-1]) {
		if c < '0' || c > '9' || j > len(r.kinds) {
			return -1
		}
		j = j*10 + int(c-'0')
	}
	if j >= len(r.kinds) {
		return -1
	}
	for k, kd := range r.kinds[j] {
		if kd.tag == id[len(id)-1] {
			return r.first[j] + k
		}
	}
	return -1
}

// set records query q's value for minute offset m (later pages win, as
// CloudWatch's last word on a minute is its answer).
func (r *results) set(q, m int, v float64) {
	if r.row[q] < 0 {
		off := len(r.vals)
		if off+r.minutes > math.MaxInt32 {
			return // beyond any window the controller reads
		}
		r.row[q] = int32(off)
		r.vals = append(r.vals, r.nanRow...)
	}
	r.vals[int(r.row[q])+m] = v
}

// merge adds one page's results to their accumulators. The status that
// counts is the one from the last page naming the query: CloudWatch marks a
// result PartialData on a page that a NextToken continues.
func (r *results) merge(page []types.MetricDataResult) {
	// Room for the rows this page starts, at once: one allocation a page
	// instead of a growing copy per row.
	rows := 0
	for _, res := range page {
		if q := r.position(aws.ToString(res.Id)); q >= 0 && r.row[q] < 0 && len(res.Timestamps) > 0 {
			rows++
		}
	}
	r.vals = slices.Grow(r.vals, rows*r.minutes)
	for _, res := range page {
		q := r.position(aws.ToString(res.Id))
		if q < 0 {
			continue
		}
		r.seen[q], r.status[q] = true, res.StatusCode
		for i, ts := range res.Timestamps {
			if i >= len(res.Values) {
				break
			}
			v := res.Values[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			sec := ts.Unix()
			sec -= ((sec % 60) + 60) % 60 // the minute's start, also before 1970
			if sec < r.start {
				continue
			}
			if m := (sec - r.start) / 60; m < int64(r.minutes) {
				r.set(q, int(m), v)
			}
		}
	}
}

// queryID names target j's query of kind tag: "t<j><tag>".
func queryID(j int, tag byte) string {
	var b [24]byte
	out := append(strconv.AppendInt(append(b[:0], 't'), int64(j), 10), tag)
	return string(out)
}

// build turns plan j's results into its Series, points oldest first.
func (r *results) build(j int) Series {
	complete := true
	first, kinds := r.first[j], r.kinds[j]
	rows := make([][]float64, 0, 4)
	tags := make([]byte, 0, 4)
	for k, kd := range kinds {
		q := first + k
		if !r.seen[q] || r.status[q] != types.StatusCodeComplete {
			complete = false
		}
		if off := r.row[q]; off >= 0 {
			rows = append(rows, r.vals[off:int(off)+r.minutes])
			tags = append(tags, kd.tag)
		}
	}
	count := 0
	for m := range r.minutes {
		for _, row := range rows {
			if !math.IsNaN(row[m]) {
				count++
				break
			}
		}
	}
	pts := make([]controller.Datapoint, 0, count)
	for m := range r.minutes {
		var p controller.Datapoint
		found := false
		for i, row := range rows {
			v := row[m]
			if math.IsNaN(v) {
				continue
			}
			found = true
			switch tags[i] {
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
		if found {
			p.Time = time.Unix(r.start+int64(m)*60, 0).UTC()
			pts = append(pts, p)
		}
	}
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
