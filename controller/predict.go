package controller

import (
	"fmt"
	"slices"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// Periodic burst prediction (predict: periodic). Timer-driven functions burst
// on a schedule; a reactive policy sees a burst two minutes late and can only
// cover the next one by holding PC in between. Prediction reads the same
// datapoints (ConcurrentExecutions, Maximum) over predict_lookback, finds a
// period the bursts recur on and raises the floor from predict_lead before
// the next one until it should be over. Everything comes from the
// datapoints, so a restarted daemon predicts again after one lookback.
const (
	// A minute is a burst minute when its concurrency exceeds
	// max(burstFactor × median, median + burstMargin).
	burstFactor = 3.0
	burstMargin = 10.0
	// maxBurstWidth: longer runs are a level change, not a burst.
	maxBurstWidth = 10
	// minPeriod: a shorter period can't be acted on in time (publication
	// delay + tick + allocation) and its bursts merge.
	minPeriod = 5
	// periodTolerance: a burst may start this many periods early or late.
	periodTolerance = 1
	// minHits: starts explained by their two previous cycles before a period
	// is trusted: one means three bursts spaced by it.
	minHits = 1
	// minHitRatio: share of the starts that could be explained that were.
	minHitRatio = 0.5
	// releaseSpan: after a predicted window closes, for at least this long
	// PC above the base traffic's need is released at once (no datapoints,
	// cooldown or step needed): it was raised for the burst, not by the
	// traffic. predictFor stretches it to cover the freshness model's holds
	// (releaseFor).
	releaseSpan = 10
	// baseSpan: the base a release goes back to is what the newest baseSpan
	// periods outside the bursts needed: over 10 minutes the next minute's
	// noise exceeds it, and bursts that cluster with the predicted ones
	// find nothing left.
	baseSpan = 30
	// hotShare: a burst's periods at this share of its peak are covered.
	hotShare = 0.5
	// closeSlack: periods the window stays open after the hot part.
	closeSlack = 0
)

// Prediction is what the periodic predictor says at one instant.
type Prediction struct {
	Floor   int  // PC wanted now for a predicted burst; 0: none
	Release bool // a predicted window closed within releaseFor and none is open
	Base    int  // PC the traffic between bursts needs (for Release)
	// ReleaseFrom: the release applies only up to this PC (what the closed
	// windows' bursts needed; Decide adds what the loop raised for them
	// before they began); more was asked for by something else.
	ReleaseFrom int
	// OpenedAt: when the earliest window being released opened; PC last
	// changed before it was not raised for the burst and is not released.
	OpenedAt time.Time
	Period   int       // detected period in periods; 0: none
	Next     time.Time // start of the predicted burst the floor is for (zero: none)
	Detail   string
}

type burst struct {
	start, width int
	hot          int     // periods from the start to the last one at hotShare of the peak
	peak         float64 // largest concurrency
	tail         float64 // largest concurrency after the hot periods

}

// Predict runs the periodic predictor over the complete periods of
// [start, end) at now. conc holds one value per period (missing = 0).
// lead is how long before a predicted start the floor begins; releaseFor
// how long after a window closes its PC may still be released (0:
// releaseSpan periods).
func Predict(conc []float64, end, now time.Time, period, lead, releaseFor time.Duration, target float64) Prediction {
	var pr Prediction
	n := len(conc)
	if n == 0 || target <= 0 || period <= 0 {
		return pr
	}
	if releaseFor <= 0 {
		releaseFor = releaseSpan * period
	}
	med := median(conc)
	thr := max(burstFactor*med, med+burstMargin)
	bursts := findBursts(conc, thr)
	P := findPeriod(bursts)
	pr.Period = P
	// Base: what the newest releaseSpan periods need, leaving out the
	// predicted bursts being released (all bursts while no period is known).
	predicted := make([]bool, n) // periods of predicted bursts
	baseOf := func() int {
		base := 0.0
		for i := max(0, n-baseSpan); i < n; i++ {
			if !predicted[i] && (P > 0 || conc[i] <= thr) {
				base = max(base, conc[i])
			}
		}
		return ceilDiv(base, target)
	}
	if P == 0 {
		pr.Base = baseOf()
		return pr
	}

	// Period index of now (0 = the first period of the window).
	first := end.Add(-time.Duration(n) * period)
	at := func(i int) time.Time { return first.Add(time.Duration(i) * period) }
	byStart := indexStarts(bursts)
	var closedAt time.Time
	tailFloor, tailFrom := 0, 0
	for _, b := range bursts {
		prev, ok := match(byStart, b.start-P)
		if !ok {
			continue
		}
		// b and prev are on the period: their minutes are the predictor's,
		// not the base traffic's.
		for _, x := range []burst{b, prev} {
			for i := max(x.start, n-baseSpan); i < min(x.start+x.width, n); i++ {
				predicted[i] = true
			}
		}
		// b and prev are one period apart: predict the next two cycles
		// (the nearer may already be visible, the farther not yet).
		for j := 1; j <= 2; j++ {
			f := b.start + j*P
			c := cycle(b, prev)
			if j == 2 {
				if mid, ok := match(byStart, b.start+P); ok {
					c = cycle(c, mid)
				}
			}
			open := at(f).Add(-lead)
			hotClose := at(f + c.hot + closeSlack)
			closeT := at(f + c.width + closeSlack)
			// Raising and lowering go by the clock. Waiting for the burst's
			// minutes to be published before lowering held the whole peak
			// for publication's 2–2.5 minutes after every burst (a third of
			// a 10-minute timer's PC-hours, BENCHMARKS.md); a burst that runs
			// late shows as spillover and the reactive rules answer it, and
			// on stale data the freshness stage holds the release.
			if !now.Before(hotClose) {
				for i := max(f-periodTolerance, n-baseSpan, 0); i < min(f+c.width+periodTolerance, n); i++ {
					predicted[i] = true
				}
			}
			switch {
			case !now.Before(open) && now.Before(hotClose):
				if fl := ceilDiv(c.peak, target); fl > pr.Floor {
					pr.Floor, pr.Next = fl, at(f)
					pr.Detail = fmt.Sprintf("burst every %d periods predicted at %s, peak %.0f", P, at(f).UTC().Format(time.RFC3339), c.peak)
				}
			case !now.Before(hotClose) && now.Before(closeT):
				// The burst's tail: down to what it needs, not to the base.
				tailFloor = max(tailFloor, ceilDiv(c.tail, target))
				tailFrom = max(tailFrom, ceilDiv(c.peak, target))
				pr.OpenedAt = earliestSet(pr.OpenedAt, open)
			case !now.Before(closeT) && now.Before(closeT.Add(releaseFor)):
				closedAt = latest(closedAt, closeT)
				pr.OpenedAt = earliestSet(pr.OpenedAt, open)
				peak := c.peak
				if got, ok := match(byStart, f); ok {
					peak = max(peak, got.peak)
				}
				pr.ReleaseFrom = max(pr.ReleaseFrom, ceilDiv(peak, target))
			}
		}
	}
	pr.Base = baseOf()
	switch {
	case pr.Floor > 0:
	case tailFloor > 0:
		pr.Floor, pr.Release = tailFloor, true
		pr.ReleaseFrom, pr.Base = max(pr.ReleaseFrom, tailFrom), max(pr.Base, tailFloor)
		pr.Detail = fmt.Sprintf("tail of a burst every %d periods: %d until it should be over", P, tailFloor)
	case !closedAt.IsZero():
		pr.Release = true
		// Never below what the newest published minute needs: a burst
		// running late, or unpredicted traffic around it, is still in it
		// (leaving it out costs spiky-idle 4.5 points of spillover).
		pr.Base = max(pr.Base, ceilDiv(conc[n-1], target))
		pr.Detail = fmt.Sprintf("predicted burst window closed at %s: back to the base traffic's %d", closedAt.UTC().Format(time.RFC3339), pr.Base)
	}
	return pr
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// findBursts returns runs of periods above thr, at most maxBurstWidth long.
// A run touching the window's end is still open: its width is a lower bound.
func findBursts(conc []float64, thr float64) []burst {
	var out []burst
	for i := 0; i < len(conc); {
		if conc[i] <= thr {
			i++
			continue
		}
		b := burst{start: i}
		for ; i < len(conc) && conc[i] > thr; i++ {
			b.width++
			b.peak = max(b.peak, conc[i])
		}
		// hot: up to the last period at half the peak or more; the tail
		// after it is left to the reactive rules.
		for j := b.start; j < i; j++ {
			if conc[j] >= b.peak*hotShare {
				b.hot = j - b.start + 1
			}
		}
		for j := b.start + b.hot; j < i; j++ {
			b.tail = max(b.tail, conc[j])
		}
		if b.width <= maxBurstWidth {
			out = append(out, b)
		}
	}
	return out
}

// cycle merges two occurrences of a burst: the larger of each measure.
func cycle(a, b burst) burst {
	return burst{start: a.start, width: max(a.width, b.width), hot: max(a.hot, b.hot),
		peak: max(a.peak, b.peak), tail: max(a.tail, b.tail)}
}

// startIndex maps a period index to the burst starting there.
type startIndex struct {
	bursts []burst
	at     []int // period index → position in bursts + 1; 0: none
}

func indexStarts(bs []burst) startIndex {
	n := 0
	if len(bs) > 0 {
		n = bs[len(bs)-1].start + 1
	}
	ix := startIndex{bursts: bs, at: make([]int, n)}
	for i, b := range bs {
		ix.at[b.start] = i + 1
	}
	return ix
}

// match finds a burst starting within periodTolerance of i.
func match(ix startIndex, i int) (burst, bool) {
	for d := 0; d <= periodTolerance; d++ {
		for _, j := range [2]int{i - d, i + d} {
			if j >= 0 && j < len(ix.at) && ix.at[j] > 0 {
				return ix.bursts[ix.at[j]-1], true
			}
		}
	}
	return burst{}, false
}

// findPeriod picks the period whose two previous cycles explain the most
// burst starts (ties: the shortest); 0 when none explains enough of them.
func findPeriod(bs []burst) int {
	if len(bs) < minHits+2 {
		return 0
	}
	last := bs[len(bs)-1].start
	// near[i]: a burst starts within periodTolerance of i − periodTolerance
	// (shifted so that i may be slightly negative).
	near := make([]bool, last+1+2*periodTolerance)
	for _, b := range bs {
		for d := 0; d <= 2*periodTolerance; d++ {
			near[b.start+d] = true
		}
	}
	isNear := func(i int) bool {
		i += periodTolerance
		return i >= 0 && i < len(near) && near[i]
	}
	best, bestHits := 0, 0
	for P := minPeriod; 3*P <= last+P+periodTolerance; P++ {
		hits, eligible := 0, 0
		for _, b := range bs {
			if b.start-2*P < bs[0].start-periodTolerance {
				continue // its cycles would be before the first burst seen
			}
			eligible++
			if isNear(b.start-P) && isNear(b.start-2*P) {
				hits++
			}
		}
		if hits >= minHits && float64(hits) >= minHitRatio*float64(eligible) && hits > bestHits {
			best, bestHits = P, hits
		}
	}
	return best
}

// predictFor runs the predictor on a Decide input: nothing when prediction
// is off or the read was incomplete (never act on partial data).
func predictFor(in Input, period time.Duration) Prediction {
	p := in.Policy
	if p.Predict != config.PredictPeriodic || !in.Series.Complete {
		return Prediction{}
	}
	start, end := window(in, period)
	if end.IsZero() {
		return Prediction{}
	}
	// Minutes after the target's own newest datapoint, within MaxLag of
	// the watermark, may only be late for it (see buildSlots): the
	// predictor must not read them as quiet, or it releases a burst that
	// is still running.
	if pts := in.Series.Points; len(pts) > 0 {
		own := pts[len(pts)-1].Time.Truncate(period).Add(period)
		if own.Before(end) && end.Sub(own) <= maxLagOf(in) {
			end = own
		}
	}
	n := int(end.Sub(start) / period)
	if lb := int(p.PredictLookback.Duration / period); lb > 0 && lb < n {
		n = lb
	}
	if n <= 0 {
		return Prediction{}
	}
	first := end.Add(-time.Duration(n) * period)
	conc := make([]float64, n)
	for _, pt := range in.Series.Points {
		t := pt.Time.Truncate(period)
		if !pt.HasConcurrency || t.Before(first) || !t.Before(end) {
			continue
		}
		conc[int(t.Sub(first)/period)] = pt.Concurrency
	}
	return Predict(conc, end, in.Now, period, p.PredictLead.Duration, releaseFor(in, period), p.TargetUtilization)
}

// releaseFor is how long after a predicted window closes its PC may still
// be released: releaseSpan, or longer when the freshness model may hold the
// release that long. A target quiet after its burst has no newer datapoint:
// its minutes count as late, not quiet, for metrics_max_lag after the
// watermark, and alone in the account it makes CloudWatch look stale until
// its newest datapoint is metrics_max_lag older than the bound (freshness.go)
// — about 2 × metrics_max_lag after the burst. Closing sooner left an
// hourly spike's PC to the idle rule, 30 minutes (BENCHMARKS.md, spiky-idle
// at 60 s delays).
func releaseFor(in Input, period time.Duration) time.Duration {
	return max(releaseSpan*period, 2*maxLagOf(in)+3*period)
}

// earliestSet is the earlier of a and b, a zero a counting as unset.
func earliestSet(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
