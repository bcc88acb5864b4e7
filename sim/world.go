package sim

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// World is the simulated account: Lambda control plane, traffic and the
// CloudWatch metric store. Every operation first simulates, second by
// second, up to the clock's Now (lazily: nothing runs between calls).
// Safe for concurrent use.
type World struct {
	mu     sync.Mutex
	clk    controller.Clock
	sc     *Scenario
	start  time.Time // first simulated second
	sec    int64     // next second to simulate, counted from start
	funcs  map[string]*function
	order  []string    // function names, sorted
	fnList []*function // functions in name order, for the per-second loop
	rng    *rand.Rand
	faults []*faultState
	bucket tokenBucket // Lambda control plane (account.control_plane_rps)
	tagger tokenBucket // Resource Groups Tagging API (account.tagging_rps)
	getFn  tokenBucket // GetFunction's own quota (account.get_function_rps)

	// Running totals behind every account-limit check, kept exact by
	// setPC, deletePC and setReserved so no check sums over all functions
	// (10,000-function worlds): Σ reserved concurrency, and Σ requested PC
	// on functions without reserved concurrency (it comes out of the
	// unreserved pool).
	reservedTotal int
	unreservedPC  int

	deploys    []scriptedDeploy // the scenario's deploys, in time order
	nextDeploy int              // first of deploys not yet applied

	store    *metricStore
	account  minuteAcc // account-wide ConcurrentExecutions and Invocations
	stats    statsState
	writes   []WriteRecord  // the write log, oldest first
	aliasLog []DeployRecord // the deploy log, oldest first
}

type function struct {
	name     string
	memoryMB int
	reserved *int
	versions int
	aliases  map[string]*alias
	pcs      map[string]*pcConfig // by qualifier (alias name or version)
	pcOrder  []string             // keys of pcs, sorted; kept by setPC/deletePC
	pcList   []*pcConfig          // pcs in pcOrder
	pcTotal  int                  // Σ requested over pcs
	loads    []*loadState
	groups   []*versionGroup // load parts by the version they run on
	pcGen    int             // bumped when pcs changes, to revalidate versionGroup.pc
	routeGen int             // bumped when an alias changes, to rebuild groups
	groupGen int             // routeGen the groups were built for
	acc      minuteAcc       // FunctionName-only dimension
	created  time.Time
	revision int
	// Versions published while the world runs (PublishVersion), by number.
	published map[int]publishedVersion
	tags      map[string]string
	tagged    bool // has ever had a tag: GetResources lists it even with none left
}

// publishedVersion is what PublishVersion recorded about a new version.
type publishedVersion struct {
	at          time.Time
	description string
}

// versionGroup is the load parts running on one version, which share its PC.
type versionGroup struct {
	version string
	parts   []*loadPart
	pc      *pcConfig // cached f.pcForVersion(version), valid while pcGen == f.pcGen
	pcGen   int
}

type alias struct {
	name        string
	version     string
	routing     map[string]float64
	description string
	revision    int
}

type loadState struct {
	qualifier string
	traffic   *Traffic
	stats     *TargetStats
	a, c      int       // this second's arrivals and concurrency
	rem       int       // scratch for capConcurrency
	acc       minuteAcc // FunctionName + Resource dimensions
	minute    minuteStatAcc
	minutes   []MinuteStat
	parts     []*loadPart // where its traffic runs (routing.go); none if its alias is gone
}

// NewWorld builds a world from a scenario, starting at clk.Now() truncated
// to the second. It fills the scenario's unset fields with defaults and
// validates it. Initial PC configs are READY.
func NewWorld(sc *Scenario, clk controller.Clock) (*World, error) {
	if sc == nil || clk == nil {
		return nil, errors.New("sim: NewWorld needs a scenario and a clock")
	}
	sc.applyDefaults()
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	start := clk.Now().UTC().Truncate(time.Second)
	w := &World{
		clk:   clk,
		sc:    sc,
		start: start,
		funcs: map[string]*function{},
		rng:   rand.New(rand.NewPCG(uint64(sc.Seed), 0x9e3779b97f4a7c15)),
		store: newMetricStore(),
		stats: newStatsState(),
	}
	w.account.out = newAccSeries(w.store, nil)
	for i, fs := range sc.Faults {
		w.faults = append(w.faults, newFaultState(fs, sc.Seed, i))
	}
	for _, fs := range sc.Functions {
		f := &function{
			name:      fs.Name,
			memoryMB:  fs.MemoryMB,
			versions:  fs.Versions,
			aliases:   map[string]*alias{},
			pcs:       map[string]*pcConfig{},
			created:   start,
			revision:  1,
			groupGen:  -1, // groups are built before the first second
			published: map[int]publishedVersion{},
		}
		f.acc.out = newAccSeries(w.store, []Dimension{{Name: DimFunctionName, Value: f.name}})
		if fs.Reserved != nil {
			r := *fs.Reserved
			w.setReserved(f, &r)
		}
		if len(fs.Tags) > 0 {
			f.tags, f.tagged = maps.Clone(fs.Tags), true
		}
		for _, as := range fs.Aliases {
			a := &alias{name: as.Name, version: as.Version, revision: 1}
			if len(as.Routing) > 0 {
				a.routing = maps.Clone(as.Routing)
			}
			f.aliases[as.Name] = a
		}
		for q, n := range fs.Provisioned {
			w.setPC(f, &pcConfig{qualifier: q, requested: n, old: n, putAt: start, readyAt: start, modified: start})
		}
		for _, l := range fs.Loads {
			f.loads = append(f.loads, &loadState{qualifier: l.Qualifier, traffic: NewTraffic(l, sc.Seed, start),
				stats: w.stats.target(f.name, l.Qualifier),
				acc:   minuteAcc{out: newAccSeries(w.store, []Dimension{{Name: DimFunctionName, Value: f.name}, {Name: DimResource, Value: f.name + ":" + l.Qualifier}})}})
		}
		w.funcs[f.name] = f
		w.order = append(w.order, f.name)
	}
	w.deploys = scriptDeploys(sc, start)
	sort.Strings(w.order)
	for _, name := range w.order {
		w.fnList = append(w.fnList, w.funcs[name])
	}
	return w, nil
}

// Clock returns the world's clock.
func (w *World) Clock() controller.Clock { return w.clk }

// Start returns the first simulated second.
func (w *World) Start() time.Time { return w.start }

// Scenario returns the world's scenario (do not modify).
func (w *World) Scenario() *Scenario { return w.sc }

// AdvanceTo simulates every whole second before t. Every operation calls it
// with the clock's Now; calling it directly only helps to flush metrics.
func (w *World) AdvanceTo(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advanceLocked(t)
}

// sync advances to the clock's now and returns it; w.mu must be held.
func (w *World) sync() time.Time {
	now := w.clk.Now().UTC()
	w.advanceLocked(now)
	return now
}

// advanceLocked simulates every whole second before t. A scripted deploy
// due at or before t is applied at its second, before that second runs.
func (w *World) advanceLocked(t time.Time) {
	for w.nextDeploy < len(w.deploys) && !w.deploys[w.nextDeploy].at.After(t) {
		d := w.deploys[w.nextDeploy]
		w.nextDeploy++
		w.runUntil(int64(d.at.Sub(w.start) / time.Second))
		w.applyScripted(d)
	}
	w.runUntil(int64(t.Sub(w.start) / time.Second))
}

func (w *World) runUntil(end int64) {
	for ; w.sec < end; w.sec++ {
		w.step(w.sec)
	}
}

// step simulates second i: traffic against available PC, accounting and,
// after a minute's last second, that minute's metric publication.
func (w *World) step(i int64) {
	at := w.start.Add(time.Duration(i) * time.Second)
	var acctConc, acctInv int
	for _, f := range w.fnList {
		for _, pc := range f.pcList {
			st := pc.state(at, w.sc)
			pc.stats.PCSeconds += float64(st.allocated)
			w.stats.pcSeconds += float64(st.allocated)
		}
		if f.groupGen != f.routeGen {
			f.rebuildGroups()
		}
		fnConc, fnInv := 0, 0
		for _, ls := range f.loads {
			ls.a, ls.c = ls.traffic.Second(i)
			if len(ls.parts) == 0 { // its alias was deleted: invoking it fails
				ls.a, ls.c = 0, 0
			}
			fnConc += ls.c
		}
		if f.reserved != nil && fnConc > *f.reserved {
			// Above reserved concurrency Lambda throttles: that share of
			// the arrivals never runs, and concurrency stays at the cap.
			p := float64(fnConc-*f.reserved) / float64(fnConc)
			for _, ls := range f.loads {
				throttled := w.share(ls.a, p)
				ls.acc.throttled += int64(throttled)
				f.acc.throttled += int64(throttled)
				ls.a -= throttled
			}
			capConcurrency(f.loads, fnConc, *f.reserved)
			fnConc = *f.reserved
		}
		for _, ls := range f.loads {
			w.route(ls)
		}
		for _, g := range f.groups {
			// Parts on one version (an alias and its version, a weighted
			// alias's share) share its PC.
			if g.pcGen != f.pcGen {
				g.pc, g.pcGen = f.pcForVersion(g.version), f.pcGen
			}
			hasPC, avail, allocated := false, 0, 0
			if g.pc != nil {
				st := g.pc.state(at, w.sc)
				hasPC, avail, allocated = true, st.available, st.allocated
			}
			conc := 0
			for _, p := range g.parts {
				conc += p.c
			}
			for _, p := range g.parts {
				a := p.a
				spill := 0
				if conc > avail && a > 0 {
					spill = w.share(a, float64(conc-avail)/float64(conc))
				}
				p.spill, p.avail, p.allocated = spill, avail, allocated
				ls := p.ls
				ls.acc.recordLoad(a, spill, hasPC, avail, conc)
				ts := ls.stats
				ts.Invocations += int64(a)
				ts.Spillover += int64(spill)
				if hasPC {
					ts.ProvisionedInvocations += int64(a - spill)
				}
				w.stats.invocations += int64(a)
				w.stats.spillover += int64(spill)
				f.acc.recordLoad(a, spill, hasPC, avail, conc)
				fnInv += a
			}
		}
		for _, ls := range f.loads {
			spill, avail, allocated := 0, 0, 0
			for k, p := range ls.parts {
				spill += p.spill
				if k == 0 { // the alias's own version: its config's allocation
					avail, allocated = p.avail, p.allocated
				}
			}
			ls.acc.recordConcurrency(ls.a, ls.c)
			ls.minute.record(ls.a, ls.c, spill, avail, allocated)
			ls.stats.PeakConcurrency = max(ls.stats.PeakConcurrency, ls.c)
		}
		f.acc.recordConcurrency(fnInv, fnConc)
		acctConc += fnConc
		acctInv += fnInv
	}
	w.account.inv += int64(acctInv)
	w.account.recordConcurrency(acctInv, acctConc)
	if next := at.Add(time.Second); next.Unix()%60 == 0 {
		w.flushMinute(next.Add(-time.Minute)) // the minute is complete
	}
}

// capConcurrency scales the loads' concurrency (summing to total) down to
// exactly limit, by largest remainder.
func capConcurrency(loads []*loadState, total, limit int) {
	given := 0
	for _, ls := range loads {
		n := ls.c * limit / total
		ls.rem = ls.c*limit - n*total
		ls.c = n
		given += n
	}
	for ; given < limit; given++ {
		best := loads[0]
		for _, ls := range loads[1:] {
			if ls.rem > best.rem {
				best = ls
			}
		}
		best.c++
		best.rem = -1
	}
}

// share returns round(n·p) with stochastic rounding from the world's stream.
func (w *World) share(n int, p float64) int {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	x := float64(n) * p
	k := math.Floor(x)
	if w.rng.Float64() < x-k {
		k++
	}
	return int(k)
}

// pcForVersion returns the PC config serving invocations of version v:
// the one on v itself or on an alias whose version is v (there is at most
// one: Put and UpdateAlias refuse a second).
func (f *function) pcForVersion(v string) *pcConfig {
	for _, k := range f.pcOrder {
		if f.versionOf(k) == v {
			return f.pcs[k]
		}
	}
	return nil
}

// versionOf resolves an alias to its version; a version is itself.
func (f *function) versionOf(q string) string {
	if a, ok := f.aliases[q]; ok {
		return a.version
	}
	return q
}

// hasQualifier reports whether q is "$LATEST", a published version or an alias.
func (f *function) hasQualifier(q string) bool {
	if q == "$LATEST" {
		return true
	}
	if _, ok := f.aliases[q]; ok {
		return true
	}
	n, err := strconv.Atoi(q)
	return err == nil && n >= 1 && n <= f.versions && strconv.Itoa(n) == q
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (w *World) functionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", w.sc.Region, w.sc.AccountID, name)
}

func (f *function) reindexPCs() {
	f.pcOrder = sortedKeys(f.pcs)
	f.pcList = f.pcList[:0]
	for _, q := range f.pcOrder {
		f.pcList = append(f.pcList, f.pcs[q])
	}
	f.pcGen++
}
