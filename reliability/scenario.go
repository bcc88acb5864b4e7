package reliability

import (
	"time"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Times in a Scenario are offsets from the daemon's start in AWS's (the
// simulator's) time, "run time". The simulated account runs for Warmup
// before that, so the daemon starts against an account with history, as a
// real daemon does; fault windows written with the helpers in world.go are
// shifted by Warmup into the simulator's own offsets.
const (
	// Warmup is longer than the default idle_after (30m) plus the default
	// metrics_max_lag (5m): every minute a first decision could look at
	// exists in the simulator's ground truth.
	Warmup = 40 * time.Minute
	// DefaultDuration keeps the whole matrix inside the CI budget (the race
	// detector makes a run about six times slower): every scenario's events
	// happen within it, with room for their deadlines.
	DefaultDuration = 70 * time.Minute
)

// Scenario is one row of the fault suite.
type Scenario struct {
	Name string
	// Doc says in one line what the scenario provokes and what it expects.
	Doc string
	// Sim builds the simulated account (its Seed is set by the runner).
	// Nil means SimYAML if set, else Standard().
	Sim func() *sim.Scenario
	// SimYAML is the simulated account as a scenario file (sim/README.md),
	// fault windows in the simulator's own offsets (Warmup + run time).
	SimYAML string
	// Targets the daemon manages; nil means StandardTargets().
	Targets []Target
	// Skew is the daemon's clock minus AWS's. The daemon is told the offset
	// (ServerClock = FixedOffset(-Skew)) from ClockKnownAfter on; before
	// that ClockOffset reports unknown.
	Skew            time.Duration
	ClockKnownAfter time.Duration
	// Duration of the run; 0 means DefaultDuration.
	Duration time.Duration
	// Events are process-level happenings: kills, SIGTERM, operators.
	Events []Event
	// PartialData: windows in which the metric port answers every series
	// incomplete, as the daemon's CloudWatch client does for a PartialData
	// answer (the in-process simulator never cuts a page at these sizes).
	PartialData []Window
	// Surges the daemon must cover (see RELIABILITY.md, invariant S).
	Surges []Surge
	// Expect: behaviour the issue asks of this scenario in particular.
	Expect []Expectation

	// muteStalls drops the controller's stall reports on their way to the
	// recorder: for the suite's own test that stall_visible bites.
	muteStalls bool
}

// Target is a managed alias with its policy and scheduled floors.
type Target struct {
	ID     controller.TargetID
	Policy config.Policy
	Floors []Floor
}

// Floor is a scheduled floor window [From, Until) in run time. The daemon
// evaluates it on its own clock, as the schedule package does.
type Floor struct {
	From, Until time.Duration
	Value       int
}

// Window is [From, Until) in run time.
type Window struct{ From, Until time.Duration }

func (w Window) contains(d time.Duration) bool { return d >= w.From && d < w.Until }

// EventKind is what a process event does.
type EventKind int

const (
	// Kill drops the daemon like kill -9: no shutdown, no memory kept. With
	// OnPut it fires right after the first successful daemon write to
	// Target at or after At that moves in that direction (so an increase
	// is still allocating: "mid-allocation"). A new daemon starts Down later.
	Kill EventKind = iota
	// Term is SIGTERM arriving while a write is in flight: the context is
	// cancelled inside the first daemon Put/Delete to Target (any target
	// when zero) at or after At. The daemon must finish that write, start
	// no other, and stop; a new one starts Down later (a rolling restart).
	Term
	// OutOfBand is another caller (an operator, a deploy pipeline) putting
	// Value on Target at At through the simulated account directly.
	OutOfBand
)

func (k EventKind) String() string {
	switch k {
	case Kill:
		return "kill -9"
	case Term:
		return "SIGTERM"
	case OutOfBand:
		return "out-of-band write"
	}
	return "event"
}

// Event is one process event.
type Event struct {
	Kind   EventKind
	At     time.Duration
	Target controller.TargetID
	OnPut  controller.Direction // Kill: fire after such a write (empty or DirNone: at At)
	Value  int                  // OutOfBand
	Down   time.Duration        // Kill, Term: until the next daemon starts; 0 means 30s
}

// onPut: the event waits for a write (OnPut is a direction, not DirNone).
func (ev Event) onPut() bool { return ev.OnPut == controller.DirOut || ev.OnPut == controller.DirIn }

// Surge is a rise of Target's traffic at At (a minute boundary, run time)
// to a mean concurrency of Demand. The daemon must have Demand available
// (capped at what the target's bounds allow) by the deadline of invariant S.
type Surge struct {
	Target controller.TargetID
	At     time.Duration
	Demand int
	// Why names the cause in messages: "4× surge", "after the gap", …
	Why string
}

// Expectation is a scenario's own behavioural check over a finished run.
type Expectation interface {
	check(r *Run) []Violation
}
