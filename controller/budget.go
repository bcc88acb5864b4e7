package controller

import (
	"cmp"
	"slices"
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
)

// Lambda's control plane allows 15 requests a second per account and
// Region across every operation, shared with deploys and other tools
// (AWS-FACTS §3.3); the daemon's bucket takes lambda_rps of them. A tick
// plans its calls inside what the bucket gives in one interval, so it never
// runs past its interval and thousands of targets don't queue behind each
// other. Shares of one interval's calls:
const (
	// budgetUsable: what a tick plans on; the rest absorbs account-wide
	// calls (GetAccountSettings) and retries.
	budgetUsable = 0.9
	// readShare caps urgent reads of configs (allocating, FAILED due,
	// refused, weighted) once every target has been read.
	readShare = 0.4
	// writeReserveMin/Max bound what reads leave for writes: the writes
	// the last tick left plus the targets spilling or saturated now.
	writeReserveMin = 0.2
	writeReserveMax = 0.9
	// driftShare: round-robin re-reads of quiet targets' configs, to see
	// changes made by others; cut to driftShareBusy while writes wait.
	driftShare     = 0.15
	driftShareBusy = 0.02
	// limitsShare: limits refreshes (each several calls).
	limitsShare = 0.03
	// limitsCalls: calls of the shared budget one Limits read makes when
	// the store does not say (LimitsCoster).
	limitsCalls = 4
	// allocatingPoll: an allocating config is read again this long after
	// the change (preparation takes a minute or two), then every tick.
	allocatingPoll = 90 * time.Second
)

// callBudget is what one tick may spend on Lambda.
type callBudget struct {
	total, reads, drift, limits int
	// limitsDue: refresh limits on their cadence (off while writes wait:
	// then only a refusal's limits are read).
	limitsDue bool
}

// tickLoad is what the tick's metrics read and the last tick show about
// the writes this tick will have to make.
type tickLoad struct {
	backlog int // writes the last tick left for this one
	urgent  int // read targets whose newest minute shows spillover or saturation
	unread  int // targets never read since start: they cannot be decided yet
}

// budget splits a tick's calls. Writes come first: what the last tick left
// and what the metrics already show spilling or saturated is reserved for
// them (at least writeReserveMin of the tick). While some targets were never
// read, first reads take everything else and drift waits (a target cannot
// be decided before its first read, and every config was read recently);
// otherwise urgent reads are capped at readShare and drift has its share,
// cut while writes wait.
func (c *Controller) budget(l tickLoad) callBudget {
	rps := c.opts.LambdaRPS
	if rps <= 0 {
		rps = config.DefaultLambdaRPS
	}
	total := max(1, int(rps*c.opts.Interval.Seconds()*budgetUsable))
	busy := l.backlog > 0 || l.urgent > int(float64(total)*writeReserveMin)
	b := callBudget{total: total, limitsDue: !busy}
	b.drift = max(1, int(float64(total)*driftShare))
	if busy {
		b.drift = max(1, int(float64(total)*driftShareBusy))
	}
	b.limits = max(limitsCalls, int(float64(total)*limitsShare))
	reserve := min(max(l.backlog+l.urgent, int(float64(total)*writeReserveMin)), int(float64(total)*writeReserveMax))
	if l.unread > 0 {
		b.drift = 0
		b.reads = max(1, total-reserve-b.limits)
		return b
	}
	b.reads = max(1, min(int(float64(total)*readShare), total-reserve-b.drift-b.limits))
	return b
}

// readKind is why a target's config is read this tick, most urgent first.
type readKind int

const (
	readNone     readKind = iota
	readDrift             // round robin: someone else may have changed it
	readFirst             // never read since start
	readUrgent            // allocating, FAILED and due, or just refused
	readSkipped           // not found or throttled: no call
	readDeferred          // would be read, but the budget is spent: cached state
)

// readPlan decides, per observation, whether its config (and limits) are
// read from Lambda this tick. Everything else uses the loop's cached state:
// a Put's answer is the new state, so a quiet target needs no read at all
// except the drift round robin. obs carry their series already; first reads
// go to the targets whose metrics look most urgent.
func (c *Controller) readPlan(now time.Time, obs []observation, b callBudget) {
	type cand struct {
		i       int
		kind    readKind
		urgency float64
		last    time.Time
	}
	var cands []cand
	for i := range obs {
		ob := &obs[i]
		if ob.skipped {
			continue
		}
		st := c.stateCopy(ob.t.ID)
		ob.pc, ob.limits, ob.cachedPC = st.pc, st.limits, st.hasPC
		if now.Before(st.ThrottledUntil) {
			ob.read = readSkipped
			continue
		}
		k := readDrift
		switch {
		case !st.hasPC:
			k = readFirst
		case st.pc.Exists && st.pc.Status == StatusInProgress && now.Sub(st.LastChange) >= allocatingPoll,
			st.pc.Exists && st.pc.Status == StatusInProgress && st.LastChange.IsZero(),
			st.pc.Exists && st.pc.Status == StatusFailed && !now.Before(st.FailedUntil),
			st.Rejected > 0 && st.limitsAt.Before(st.RejectedAt),
			!st.WeightedSince.IsZero():
			k = readUrgent
		case st.pc.Exists && st.pc.Status == StatusInProgress:
			continue // allocating: not due yet
		}
		cands = append(cands, cand{i: i, kind: k, urgency: urgency(ob.series), last: st.readAt})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		// A spilling or saturated target's first read goes before any
		// allocating re-read: it may need a write; the re-read only
		// learns when an allocation is READY.
		if ua, ub := a.kind == readFirst && a.urgency >= urgentRank, b.kind == readFirst && b.urgency >= urgentRank; ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		if a.kind != b.kind {
			return cmp.Compare(b.kind, a.kind)
		}
		if a.kind == readDrift {
			return a.last.Compare(b.last) // the oldest read first
		}
		return cmp.Compare(b.urgency, a.urgency)
	})
	reads, drift := b.reads, b.drift
	limitsLeft := b.limits
	for _, cd := range cands {
		ob := &obs[cd.i]
		switch {
		case cd.kind == readDrift && drift > 0:
			drift--
		case cd.kind != readDrift && reads > 0:
			reads--
		default:
			ob.read = readDeferred
			continue
		}
		ob.read = cd.kind
		st := c.stateCopy(ob.t.ID)
		rejected := st.Rejected > 0 && st.limitsAt.Before(st.RejectedAt)
		if !st.WeightedSince.IsZero() {
			// A weighted alias is checked every tick (the limits read
			// looks at the alias): the write comes as soon as they clear.
			ob.readLimits = true
			continue
		}
		cost := c.limitsCost(ob.t.ID)
		due := st.limitsAt.IsZero() || now.Sub(st.limitsAt) >= c.opts.LimitsRefresh
		if (rejected || b.limitsDue && due) && limitsLeft >= cost {
			ob.readLimits = true
			limitsLeft -= cost
		} else if rejected && reads >= cost {
			ob.readLimits = true
			reads -= cost
		}
	}
}

// LimitsCoster is implemented by a PCStore that knows what one Limits read
// costs in the shared Lambda budget (calls with their own quota, such as
// GetFunction's, and cached ones do not count).
type LimitsCoster interface {
	LimitsCalls(id TargetID) int
}

// limitsCost is what a Limits read of id spends of the tick's budget.
func (c *Controller) limitsCost(id TargetID) int { return LimitsCallsOf(c.opts.Store, id) }

// LimitsCallsOf is what one Limits read of id through s costs of the shared
// Lambda budget: s's own figure when it is a LimitsCoster, else a
// conservative default. A store wrapping another forwards it with this.
func LimitsCallsOf(s PCStore, id TargetID) int {
	if lc, ok := s.(LimitsCoster); ok {
		return max(0, lc.LimitsCalls(id))
	}
	return limitsCalls
}

// urgentRank: urgency at or above it is spillover or saturation.
const urgentRank = 2e9

// load is what this tick's metrics and the last tick say about the writes
// to come (see budget).
func (c *Controller) load(now time.Time, obs []observation) tickLoad {
	l := tickLoad{backlog: c.loop.backlog}
	for i := range obs {
		st := c.stateCopy(obs[i].t.ID)
		switch {
		case !st.hasPC:
			l.unread++
		case urgency(obs[i].series) >= urgentRank && !(st.pc.Exists && st.pc.Status == StatusInProgress):
			l.urgent++
		}
	}
	return l
}

// urgency ranks a target by its newest datapoint: spillover, then
// saturation, then utilization, then concurrency.
func urgency(s Series) float64 {
	if len(s.Points) == 0 {
		return 0
	}
	pt := s.Points[len(s.Points)-1]
	switch {
	case pt.Spillover > 0:
		return 3e9 + pt.Spillover
	case pt.HasUtilization && pt.Utilization >= saturatedUtilization:
		return 2e9 + pt.Concurrency
	case pt.HasUtilization:
		return 1e9 + pt.Utilization*1e6
	}
	return pt.Concurrency
}
