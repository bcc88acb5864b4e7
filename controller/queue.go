package controller

import (
	"cmp"
	"slices"
	"time"
)

// The write queue: when more writes are due than a tick's budget allows,
// the ones that stop cold starts go first — spillover and saturation
// scale-outs, then other scale-outs, then floors (scheduled or predicted),
// then everything that lowers PC. A write that waits gains one level a
// tick, so nothing starves; whatever is left is decided again next tick
// (with fresher data) and keeps its place by its waiting time.

// writeClass orders writes, most urgent first (lower goes first).
func writeClass(d Decision) int {
	switch {
	case d.Direction == DirOut && (d.Reason == ReasonSpillover || d.Reason == ReasonSaturated):
		return 0
	case d.Direction == DirOut && d.Reason == ReasonUtilization:
		return 1
	case d.Direction == DirOut:
		return 2 // floors, predicted floors, FAILED retries
	case d.Reason == ReasonCeiling:
		return 3
	}
	return 4 // scale-ins, idle, releases
}

// queueWrites orders the due writes and cuts them at budget; it returns the
// writes to make now and records, per target, how long a deferred one has
// waited.
func (c *Controller) queueWrites(now time.Time, jobs []job, budget int) (run []job, depth int, oldest time.Duration) {
	type queued struct {
		j     job
		prio  int
		since time.Time
	}
	q := make([]queued, 0, len(jobs))
	for _, j := range jobs {
		st := c.stateCopy(j.t.ID)
		since := st.queuedSince
		if since.IsZero() {
			since = now
		}
		waited := int(now.Sub(since) / c.opts.Interval)
		q = append(q, queued{j: j, prio: writeClass(j.d) - waited, since: since})
	}
	slices.SortStableFunc(q, func(a, b queued) int {
		if a.prio != b.prio {
			return cmp.Compare(a.prio, b.prio)
		}
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return cmp.Compare(abs(b.j.d.Desired-b.j.d.Current), abs(a.j.d.Desired-a.j.d.Current))
	})
	budget = max(budget, 0)
	for i, e := range q {
		if i < budget {
			run = append(run, e.j)
			c.update(e.j.t.ID, func(st *targetState) { st.queuedSince = time.Time{} })
			continue
		}
		depth++
		oldest = max(oldest, now.Sub(e.since))
		c.update(e.j.t.ID, func(st *targetState) { st.queuedSince = e.since })
	}
	return run, depth, oldest
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
