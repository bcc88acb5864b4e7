package backtest

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// PerFunctionHeader is frontier_functions.csv's header.
const PerFunctionHeader = "function,target,pc_hours,spillover_pct,put_calls,chosen"

// FunctionPoint is ours on one function at one target of the sweep.
type FunctionPoint struct {
	Function    string
	Target      float64
	PCHours     float64
	Invocations int64
	Spillover   int64
	PutCalls    int
	Main        bool // the function's own target (the main run's)
	Chosen      bool // part of PerFunction's choice
}

// PerFunction is ours' sweep function by function, and one target per
// function chosen to spill least within the PC-hours ours held at its own
// target everywhere. One target for all is the default's bargain; functions
// differ in what a PC-hour buys (BENCHMARKS.md: 0.76 points on bursty). The
// choice is made on this very replay (in sample): a suggestion to check on
// another day, not a result.
type PerFunction struct {
	Points []FunctionPoint // by function, then target
	// Budget and MainSpillPct are ours' totals at each function's own
	// target (Main when they are all the same, else 0); PCHours and
	// SpilloverPct are the choice's; OK=false when no choice fits.
	Budget, MainSpillPct, Main float64
	PCHours, SpilloverPct      float64
	OK                         bool
}

// perFunction collects ours' points per function (get finds a function's
// result at a target: the sweep's, or the main run's at the function's own
// target) and chooses a target for each.
func perFunction(reps []*replay, targets []float64, get func(fn string, t float64) (Result, bool)) *PerFunction {
	pf := &PerFunction{}
	for i, r := range reps {
		main := r.mainTarget(PolicyOurs)
		switch {
		case i == 0:
			pf.Main = main
		case !sameTarget(main, pf.Main):
			pf.Main = 0
		}
		ts := slices.Clone(targets)
		if !slices.ContainsFunc(ts, func(t float64) bool { return sameTarget(t, main) }) {
			ts = append(ts, main)
		}
		slices.Sort(ts)
		for _, t := range ts {
			res, ok := get(r.fn.ID, t)
			if !ok {
				continue
			}
			pf.Points = append(pf.Points, FunctionPoint{Function: r.fn.ID, Target: t, PCHours: res.PCHours,
				Invocations: res.Invocations, Spillover: res.Spillover, PutCalls: res.PutCalls, Main: sameTarget(t, main)})
			if sameTarget(t, main) {
				pf.Budget += res.PCHours
			}
		}
	}
	pf.choose()
	return pf
}

// choose picks one point per function minimising the set's spilled
// invocations within Budget: for a price μ per PC-hour each function takes
// its cheapest point (spilled + μ × PC-hours); of the μ on a log grid the
// choice within the budget that spills least wins (a Lagrangian: points
// under the set's convex hull are never picked, which costs little with a
// handful of targets per function). It starts from every function at its
// own target, so it is never worse than that.
func (pf *PerFunction) choose() {
	byFn := map[string][]int{}
	var order []string
	for i, p := range pf.Points {
		if _, ok := byFn[p.Function]; !ok {
			order = append(order, p.Function)
		}
		byFn[p.Function] = append(byFn[p.Function], i)
	}
	best, bestSpill := []int(nil), math.Inf(1)
	var mains []int
	var mainSpill, mainInv int64
	for _, fn := range order {
		for _, i := range byFn[fn] {
			if p := pf.Points[i]; p.Main {
				mains = append(mains, i)
				mainSpill += p.Spillover
				mainInv += p.Invocations
			}
		}
	}
	if mainInv > 0 {
		pf.MainSpillPct = float64(mainSpill) / float64(mainInv) * 100
	}
	if len(mains) == len(order) && len(order) > 0 {
		best, bestSpill = mains, float64(mainSpill)
	}
	pick := make([]int, 0, len(order))
	for e := -3.0; e <= 7; e += 0.02 {
		mu := math.Pow(10, e)
		pick = pick[:0]
		pch, spill := 0.0, 0.0
		for _, fn := range order {
			c, cost := -1, math.Inf(1)
			for _, i := range byFn[fn] {
				p := pf.Points[i]
				if v := float64(p.Spillover) + mu*p.PCHours; v < cost {
					c, cost = i, v
				}
			}
			pick = append(pick, c)
			pch += pf.Points[c].PCHours
			spill += float64(pf.Points[c].Spillover)
		}
		if pch <= pf.Budget+1e-9 && spill < bestSpill {
			best, bestSpill = slices.Clone(pick), spill
		}
	}
	if best == nil {
		return
	}
	var inv int64
	for _, i := range best {
		p := &pf.Points[i]
		p.Chosen = true
		pf.PCHours += p.PCHours
		inv += p.Invocations
	}
	if inv > 0 {
		pf.SpilloverPct = bestSpill / float64(inv) * 100
	}
	pf.OK = true
}

// WriteCSV writes frontier_functions.csv.
func (pf *PerFunction) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(strings.Split(PerFunctionHeader, ",")); err != nil {
		return err
	}
	for _, p := range pf.Points {
		pct := 0.0
		if p.Invocations > 0 {
			pct = float64(p.Spillover) / float64(p.Invocations) * 100
		}
		chosen := "0"
		if p.Chosen {
			chosen = "1"
		}
		if err := cw.Write([]string{p.Function, ff(p.Target, 2), ff(p.PCHours, 3), ff(pct, 4), strconv.Itoa(p.PutCalls), chosen}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// markdown is report.md's line on the choice ("" without one).
func (pf *PerFunction) markdown() string {
	if pf == nil || !pf.OK {
		return ""
	}
	at := "its configured targets"
	if pf.Main > 0 {
		at = ff(pf.Main, 2) + " everywhere"
	}
	return fmt.Sprintf("- **one target per function**, chosen on this replay to spill least within the %s PC-hours ours holds at %s "+
		"(in sample: check it on another day): %s%% spillover at %s PC-hours, against %s%%; "+
		"the targets are the rows with chosen = 1 in `frontier_functions.csv`\n",
		ff(pf.Budget, 1), at, ff(pf.SpilloverPct, 3), ff(pf.PCHours, 1), ff(pf.MainSpillPct, 3))
}
