package sim

import (
	"maps"
	"time"
)

// statsState is the running accounting behind Stats; guarded by World.mu.
type statsState struct {
	pcSeconds   float64
	invocations int64
	spillover   int64
	targets     map[string]*TargetStats
	apiCalls    map[string]map[string]int64
}

func newStatsState() statsState {
	return statsState{targets: map[string]*TargetStats{}, apiCalls: map[string]map[string]int64{}}
}

func (s *statsState) target(fn, q string) *TargetStats {
	k := fn + ":" + q
	t := s.targets[k]
	if t == nil {
		t = &TargetStats{}
		s.targets[k] = t
	}
	return t
}

// minuteStatAcc accumulates one qualifier's MinuteStat.
type minuteStatAcc struct {
	inv, spill         int64
	peak               int
	allocSum, availSum int64
	seconds            int64
}

func (m *minuteStatAcc) record(a, c, spill, avail, allocated int) {
	m.inv += int64(a)
	m.spill += int64(spill)
	m.peak = max(m.peak, c)
	m.allocSum += int64(allocated)
	m.availSum += int64(avail)
	m.seconds++
}

func (m *minuteStatAcc) stat(start time.Time) MinuteStat {
	s := MinuteStat{Start: start, Invocations: m.inv, Spillover: m.spill, PeakConcurrency: m.peak}
	if m.seconds > 0 {
		s.PCAllocated = float64(m.allocSum) / float64(m.seconds)
		s.PCAvailable = float64(m.availSum) / float64(m.seconds)
	}
	*m = minuteStatAcc{}
	return s
}

// CountAPICall records one answered API call; code is CodeOK for success,
// else the error code. The HTTP layer calls it once per request.
func (w *World) CountAPICall(op, code string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.countLocked(op, code)
}

func (w *World) countLocked(op, code string) {
	if code == "" {
		code = CodeOK
	}
	m := w.stats.apiCalls[op]
	if m == nil {
		m = map[string]int64{}
		w.stats.apiCalls[op] = m
	}
	m[code]++
}

// Stats returns the accounting up to the clock's now: PC-seconds allocated,
// invocations, spillover, per qualifier, and API calls by operation and code.
func (w *World) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.sync()
	s := Stats{
		Start:       w.start,
		Now:         now,
		PCSeconds:   w.stats.pcSeconds,
		Invocations: w.stats.invocations,
		Spillover:   w.stats.spillover,
		Targets:     make(map[string]TargetStats, len(w.stats.targets)),
		APICalls:    make(map[string]map[string]int64, len(w.stats.apiCalls)),
	}
	for k, t := range w.stats.targets {
		s.Targets[k] = *t
	}
	for op, codes := range w.stats.apiCalls {
		s.APICalls[op] = maps.Clone(codes)
	}
	return s
}

// Minutes returns the completed simulated minutes of a qualifier with
// traffic: invocations, spillover, peak concurrency and the average PC
// allocated and available. Nil for an unknown function or a qualifier
// without a load.
func (w *World) Minutes(fn, qualifier string) []MinuteStat {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	name, _ := splitFunctionRef(fn)
	f := w.funcs[name]
	if f == nil {
		return nil
	}
	for _, ls := range f.loads {
		if ls.qualifier == qualifier {
			return append([]MinuteStat(nil), ls.minutes...)
		}
	}
	return nil
}
