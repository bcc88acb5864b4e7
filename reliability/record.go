package reliability

import (
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Run is everything one scenario and seed left behind; the checks are pure
// functions of it. Times are AWS's (the simulator's clock) unless named
// otherwise.
type Run struct {
	Scenario *Scenario
	Seed     int64
	SimSc    *sim.Scenario
	Targets  []Target
	Start    time.Time // the daemon's first start
	End      time.Time

	Writes    []Write           // every Put/Delete by anyone, in order (the harness's log)
	SimWrites []sim.WriteRecord // the simulator's own write log, for write_log
	Ticks     []Tick            // every controller tick, with what it observed
	Instances []Instance
	Samples   map[controller.TargetID][]Sample // Lambda's state, at every wake and harness instant
	Minutes   map[controller.TargetID][]Minute // per-minute truth from the simulator
	Freshness []FreshnessRec
	Logs      []LogLine // the daemons' Warn and Error lines
	// Harness lists what went wrong in driving the controller itself
	// (NextWake not advancing, a panic, a runaway loop); each one is a
	// violation.
	Harness []Violation
}

// Write is one Put or Delete as the write log holds it.
type Write struct {
	Time      time.Time
	Op        string // Put | Delete
	Target    controller.TargetID
	Value     int    // requested PC; 0 for Delete
	Result    string // "ok" or the error class (throttled, conflict, invalid, server, …) or a context error
	Caller    string // daemon#N or operator
	Before    sim.PCView
	HadBefore bool // a config existed when the write was made
	// AfterTerm: the write started after SIGTERM reached its daemon (the one
	// in flight when it arrived is not AfterTerm).
	AfterTerm bool
	// InFlightTerm: SIGTERM arrived while this write was in flight.
	InFlightTerm bool
}

func (w Write) ok() bool { return w.Result == controller.ResultOK }

// Tick is one controller tick (a Wake that called Ticked) of one daemon
// instance, with each target's decision and stall report.
type Tick struct {
	Instance int
	Index    int // ticks of this instance before this one
	Time     time.Time
	Obs      map[controller.TargetID]Obs
}

// Obs is what the recorder heard about one target in one tick.
type Obs struct {
	Observed bool // Observed was called (false: GetPC failed, not found, …)
	PC       controller.PCConfig
	Decision controller.Decision
	Acted    bool
	Result   string // of Acted
	Stall    controller.StallReason
	HasStall bool // ObserveStall was called
}

// Instance is one daemon process.
type Instance struct {
	N       int
	Started time.Time
	Stopped time.Time // zero while it ran to the end
	How     string    // "kill -9", "SIGTERM" or "" (ran to the end)
}

// Sample is Lambda's state for one target at one instant (ground truth,
// read from the simulator directly: no faults, not counted).
type Sample struct {
	Time   time.Time
	Exists bool
	sim.PCView
}

// Minute is one minute of one target: what really ran and when CloudWatch
// showed it.
type Minute struct {
	Start       time.Time
	Invocations int64
	Spillover   int64
	Peak        int
	Published   bool      // a datapoint exists
	Visible     time.Time // from when GetMetricData returns it
	Dropped     bool      // a metric_gap fault dropped it
}

// visibleAt: CloudWatch returned this minute's datapoints at t.
func (m Minute) visibleAt(t time.Time) bool { return m.Published && !m.Visible.After(t) }

// FreshnessRec is one ObserveFreshness call.
type FreshnessRec struct {
	Instance int
	Time     time.Time
	controller.Freshness
}

// recorder is the controller.Recorder of one daemon instance: it files
// every call under the Wake in progress, stamped with AWS's time. The driver
// closes each Wake (endWake); one that ticked becomes a Tick. Filing by Wake,
// not by the order of Ticked, keeps a stall report that comes after Ticked
// with its own tick.
type recorder struct {
	controller.NopRecorder
	run      *Run
	mu       *sync.Mutex
	instance int
	clock    func() time.Time
	ticks    int
	cur      *Tick
	ticked   bool
	mute     bool // drop ObserveStall (Scenario.muteStalls)
}

func (r *recorder) obs(id controller.TargetID) Obs {
	if r.cur == nil {
		r.cur = &Tick{Instance: r.instance, Time: r.clock(), Obs: map[controller.TargetID]Obs{}}
	}
	return r.cur.Obs[id]
}

func (r *recorder) put(id controller.TargetID, o Obs) { r.cur.Obs[id] = o }

func (r *recorder) Observed(id controller.TargetID, pc controller.PCConfig, _ controller.Limits, d controller.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.obs(id)
	o.Observed, o.PC, o.Decision = true, pc, d
	r.put(id, o)
}

func (r *recorder) Acted(id controller.TargetID, d controller.Decision, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.obs(id)
	o.Acted, o.Result = true, result
	if !o.Observed {
		o.Decision = d
	}
	r.put(id, o)
}

func (r *recorder) ObserveStall(id controller.TargetID, reason controller.StallReason) {
	if r.mute {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.obs(id)
	o.Stall, o.HasStall = reason, true
	r.put(id, o)
}

func (r *recorder) ObserveFreshness(f controller.Freshness) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run.Freshness = append(r.run.Freshness, FreshnessRec{Instance: r.instance, Time: r.clock(), Freshness: f})
}

func (r *recorder) Ticked(time.Time, time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ticked = true
}

// endWake files the Wake just finished as a tick if it ticked (or observed
// anything: a tick whose Ticked call never came is still a tick).
func (r *recorder) endWake() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ticked || r.cur != nil {
		t := r.cur
		if t == nil {
			t = &Tick{Instance: r.instance, Time: r.clock(), Obs: map[controller.TargetID]Obs{}}
		}
		t.Index = r.ticks
		r.run.Ticks = append(r.run.Ticks, *t)
		r.ticks++
	}
	r.cur, r.ticked = nil, false
}
