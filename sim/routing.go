package sim

// Where a load's traffic runs. A load on a version runs on it; a load on an
// alias runs on the alias's version, and a weighted alias sends the weight's
// share of its arrivals and of its concurrency to the additional version
// (each rounded stochastically from the world's stream, so the split is
// deterministic for the seed). A load on a deleted alias runs nowhere.
// The split is recomputed whenever an alias changes (f.routeGen), so a
// deploy moves traffic at the second it happens; in-flight invocations move
// with it (a simplification: Lambda would finish them on the old version).

// loadPart is the share of one load that runs on one version.
type loadPart struct {
	ls     *loadState
	weight float64 // the additional version's share; 0 for the alias's own version
	a, c   int     // this second's arrivals and concurrency

	spill, avail, allocated int // this second's outcome on its version
}

// rebuildGroups recomputes every load's parts and groups them by version,
// in the order the versions first appear (as they were before deploys
// existed, so a scenario without them draws the same random numbers).
func (f *function) rebuildGroups() {
	byVersion := map[string]*versionGroup{}
	f.groups = f.groups[:0]
	add := func(v string, p *loadPart) {
		g := byVersion[v]
		if g == nil {
			g = &versionGroup{version: v, pcGen: -1}
			byVersion[v] = g
			f.groups = append(f.groups, g)
		}
		g.parts = append(g.parts, p)
		p.ls.parts = append(p.ls.parts, p)
	}
	for _, ls := range f.loads {
		ls.parts = ls.parts[:0]
		if !f.hasQualifier(ls.qualifier) {
			continue
		}
		add(f.versionOf(ls.qualifier), &loadPart{ls: ls})
		if a := f.aliases[ls.qualifier]; a != nil {
			for _, v := range sortedKeys(a.routing) { // at most one
				add(v, &loadPart{ls: ls, weight: a.routing[v]})
			}
		}
	}
	f.groupGen = f.routeGen
}

// route splits this second's arrivals and concurrency of ls over its parts.
func (w *World) route(ls *loadState) {
	switch len(ls.parts) {
	case 0:
	case 1:
		ls.parts[0].a, ls.parts[0].c = ls.a, ls.c
	default:
		a, c := ls.a, ls.c
		for _, p := range ls.parts[1:] {
			p.a, p.c = w.share(ls.a, p.weight), w.share(ls.c, p.weight)
			a, c = a-p.a, c-p.c
		}
		ls.parts[0].a, ls.parts[0].c = max(a, 0), max(c, 0)
	}
}
