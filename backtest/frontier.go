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

// FrontierHeader is frontier.csv's header, fixed by issue 13.
const FrontierHeader = "policy,target,pc_hours,spillover_pct,put_calls"

// FrontierPoint is one policy at one target, summed over every function.
type FrontierPoint struct {
	Policy       string
	Target       float64
	PCHours      float64
	SpilloverPct float64 // invocation-weighted over the functions
	PutCalls     int
}

// Frontier is --sweep-targets' outcome: ours' and aas' PC-hours against
// spillover, and ours compared with aas at its own target (AAS-0.70 by
// default) by interpolating along ours' points in target order.
type Frontier struct {
	Points []FrontierPoint // ours then aas, each by target ascending
	Ref    FrontierPoint   // aas at --aas-target
	HasRef bool
	// SpillAtRef is ours' spillover at Ref's PC-hours; PCHAtRef ours'
	// PC-hours at Ref's spillover; ok=false when Ref lies outside ours'
	// frontier.
	SpillAtRef, PCHAtRef     float64
	SpillAtRefOK, PCHAtRefOK bool
	// ...Bound: Ref lies beyond ours' frontier on ours' better side (every
	// ours point is cheaper than Ref, or spills less), so the value is an
	// upper bound: ours' best point on that side.
	SpillAtRefBound, PCHAtRefBound bool
	// Functions is ours function by function, with a target chosen for
	// each (frontier_functions.csv).
	Functions *PerFunction
}

// Policy returns one policy's points, by target ascending.
func (f *Frontier) Policy(p string) []FrontierPoint {
	var out []FrontierPoint
	for _, x := range f.Points {
		if x.Policy == p {
			out = append(out, x)
		}
	}
	return out
}

// frontier sums each (policy, target) over the functions: a sweep run, or
// the main run where it used that target.
func frontier(reps []*replay, main, sweep []Result, o Options) *Frontier {
	find := func(fn, p string, t float64) (Result, bool) {
		for _, rs := range [][]Result{sweep, main} {
			for _, r := range rs {
				if r.Function == fn && r.Policy == p && sameTarget(r.Target, t) {
					return r, true
				}
			}
		}
		return Result{}, false
	}
	f := &Frontier{}
	targets := slices.Clone(o.SweepTargets)
	slices.Sort(targets)
	targets = slices.Compact(targets)
	for _, p := range []string{PolicyOurs, PolicyAAS} {
		for _, t := range targets {
			pt, ok := sumPoint(p, t, reps, func(fn string) (Result, bool) { return find(fn, p, t) })
			if ok {
				f.Points = append(f.Points, pt)
			}
		}
	}
	f.Functions = perFunction(reps, targets, func(fn string, t float64) (Result, bool) { return find(fn, PolicyOurs, t) })
	ref := o.aasTarget()
	if pt, ok := sumPoint(PolicyAAS, ref, reps, func(fn string) (Result, bool) { return find(fn, PolicyAAS, ref) }); ok {
		f.Ref, f.HasRef = pt, true
	}
	ours := f.Policy(PolicyOurs)
	if f.HasRef && len(ours) > 0 {
		f.SpillAtRef, f.SpillAtRefOK = interpolate(ours, f.Ref.PCHours,
			func(p FrontierPoint) float64 { return p.PCHours }, func(p FrontierPoint) float64 { return p.SpilloverPct })
		f.PCHAtRef, f.PCHAtRefOK = interpolate(ours, f.Ref.SpilloverPct,
			func(p FrontierPoint) float64 { return p.SpilloverPct }, func(p FrontierPoint) float64 { return p.PCHours })
		// Beyond ours' frontier: if every point is cheaper than Ref, ours'
		// spillover at Ref's PC-hours is at most its lowest (more PC spills
		// no more); if every point spills less, ours' PC-hours at Ref's
		// spillover are at most its fewest.
		if !f.SpillAtRefOK && allOf(ours, func(p FrontierPoint) bool { return p.PCHours < f.Ref.PCHours }) {
			f.SpillAtRef, f.SpillAtRefOK, f.SpillAtRefBound = minOf(ours, func(p FrontierPoint) float64 { return p.SpilloverPct }), true, true
		}
		if !f.PCHAtRefOK && allOf(ours, func(p FrontierPoint) bool { return p.SpilloverPct < f.Ref.SpilloverPct }) {
			f.PCHAtRef, f.PCHAtRefOK, f.PCHAtRefBound = minOf(ours, func(p FrontierPoint) float64 { return p.PCHours }), true, true
		}
	}
	return f
}

func allOf(pts []FrontierPoint, f func(FrontierPoint) bool) bool {
	for _, p := range pts {
		if !f(p) {
			return false
		}
	}
	return len(pts) > 0
}

func minOf(pts []FrontierPoint, f func(FrontierPoint) float64) float64 {
	m := math.Inf(1)
	for _, p := range pts {
		m = math.Min(m, f(p))
	}
	return m
}

func sumPoint(p string, t float64, reps []*replay, get func(fn string) (Result, bool)) (FrontierPoint, bool) {
	pt := FrontierPoint{Policy: p, Target: t}
	var inv, spill int64
	for _, r := range reps {
		res, ok := get(r.fn.ID)
		if !ok {
			return pt, false
		}
		pt.PCHours += res.PCHours
		pt.PutCalls += res.PutCalls
		inv += res.Invocations
		spill += res.Spillover
	}
	if inv > 0 {
		pt.SpilloverPct = float64(spill) / float64(inv) * 100
	}
	return pt, len(reps) > 0
}

// interpolate walks the polyline of pts (in target order) and returns y
// where x(p) = at, linearly between the two points around it; where the
// line passes at more than once, the smallest y (the better one).
func interpolate(pts []FrontierPoint, at float64, x, y func(FrontierPoint) float64) (float64, bool) {
	best, ok := math.Inf(1), false
	for i := range pts {
		if x(pts[i]) == at {
			best, ok = math.Min(best, y(pts[i])), true
		}
		if i == 0 {
			continue
		}
		x0, x1 := x(pts[i-1]), x(pts[i])
		if (at-x0)*(at-x1) < 0 {
			v := y(pts[i-1]) + (y(pts[i])-y(pts[i-1]))*(at-x0)/(x1-x0)
			best, ok = math.Min(best, v), true
		}
	}
	return best, ok
}

// WriteCSV writes frontier.csv.
func (f *Frontier) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(strings.Split(FrontierHeader, ",")); err != nil {
		return err
	}
	for _, p := range f.Points {
		if err := cw.Write([]string{p.Policy, ff(p.Target, 2), ff(p.PCHours, 3), ff(p.SpilloverPct, 4), strconv.Itoa(p.PutCalls)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// markdown is report.md's frontier section.
func (f *Frontier) markdown(aasTarget float64) string {
	var b strings.Builder
	b.WriteString("\n## Frontier (`--sweep-targets`)\n\n")
	b.WriteString("ours at each `target_utilization` (its scale-in threshold stays `scale_in_ratio` × target), aas at each `--aas-target` (AlarmLow 0.9 × target); every function summed, spillover invocation-weighted. ")
	b.WriteString("Chart: `frontier.png`; data: `frontier.csv`.\n\n")
	b.WriteString("| policy | target | PC-hours | spillover % | Puts |\n|---|---|---|---|---|\n")
	for _, p := range f.Points {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", p.Policy, ff(p.Target, 2), ff(p.PCHours, 1), ff(p.SpilloverPct, 3), p.PutCalls)
	}
	if !f.HasRef {
		if s := f.Functions.markdown(); s != "" {
			b.WriteString("\n" + s)
		}
		return b.String()
	}
	ref := fmt.Sprintf("AAS-%s", ff(aasTarget, 2))
	fmt.Fprintf(&b, "\n%s: %s PC-hours at %s%% spillover. Interpolated linearly between ours' neighbouring targets:\n\n",
		ref, ff(f.Ref.PCHours, 1), ff(f.Ref.SpilloverPct, 3))
	le := func(bound bool) string {
		if bound {
			return "≤ "
		}
		return ""
	}
	if f.SpillAtRefOK {
		fmt.Fprintf(&b, "- **ours' spillover at %s's PC-hours: %s%s%%** (%s%s× %s's)%s\n", ref, le(f.SpillAtRefBound), ff(f.SpillAtRef, 3),
			le(f.SpillAtRefBound), ratio(f.SpillAtRef, f.Ref.SpilloverPct), ref, boundNote(f.SpillAtRefBound, "every ours point holds fewer PC-hours; its lowest spillover"))
	} else {
		fmt.Fprintf(&b, "- ours' spillover at %s's PC-hours: not on ours' frontier (%s)\n", ref, span(f.Policy(PolicyOurs), func(p FrontierPoint) float64 { return p.PCHours }, 1, " PC-hours"))
	}
	if f.PCHAtRefOK {
		fmt.Fprintf(&b, "- **ours' PC-hours at %s's spillover: %s%s** (%s%s× %s's)%s\n", ref, le(f.PCHAtRefBound), ff(f.PCHAtRef, 1),
			le(f.PCHAtRefBound), ratio(f.PCHAtRef, f.Ref.PCHours), ref, boundNote(f.PCHAtRefBound, "every ours point spills less; its fewest PC-hours"))
	} else {
		fmt.Fprintf(&b, "- ours' PC-hours at %s's spillover: not on ours' frontier (%s)\n", ref, span(f.Policy(PolicyOurs), func(p FrontierPoint) float64 { return p.SpilloverPct }, 3, "% spillover"))
	}
	b.WriteString(f.Functions.markdown())
	return b.String()
}

func boundNote(bound bool, why string) string {
	if !bound {
		return ""
	}
	return ": a bound, " + why
}

func ratio(a, b float64) string {
	if b == 0 {
		return "∞"
	}
	return ff(a/b, 2)
}

func span(pts []FrontierPoint, x func(FrontierPoint) float64, prec int, unit string) string {
	if len(pts) == 0 {
		return "no points"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, x(p)), math.Max(hi, x(p))
	}
	return "ours spans " + ff(lo, prec) + "–" + ff(hi, prec) + unit
}
