package reliability

import (
	"strings"
	"testing"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// The instrument's own tests: each invariant, on a hand-made run, reports
// the misbehaviour it exists for and stays quiet on the behaviour it must
// allow. A suite that can't fail proves nothing.

// unitRun is a run of the standard account with no ticks or writes yet:
// minutes of busy:live at 40 concurrent (peak 56), each visible 60 s after
// it ends, from the warm-up to the end.
func unitRun(t *testing.T, mod func(sc *Scenario)) *Run {
	t.Helper()
	sc := &Scenario{Name: "unit"}
	if mod != nil {
		mod(sc)
	}
	simSc := Standard()
	if sc.Sim != nil {
		simSc = sc.Sim()
	}
	if _, err := sim.NewWorld(simSc, sim.NewVirtualClock(Epoch)); err != nil { // applies the defaults
		t.Fatal(err)
	}
	start := Epoch.Add(Warmup)
	r := &Run{Scenario: sc, Seed: 1, SimSc: simSc, Targets: StandardTargets(), Start: start, End: start.Add(time.Hour),
		Samples: map[controller.TargetID][]Sample{}, Minutes: map[controller.TargetID][]Minute{},
		Instances: []Instance{{N: 1, Started: start}}}
	for m := Epoch; m.Before(r.End); m = m.Add(minute) {
		r.Minutes[Busy] = append(r.Minutes[Busy], Minute{Start: m, Invocations: 2400, Peak: 56, Published: true, Visible: m.Add(2 * minute)})
	}
	return r
}

func at(r *Run, d time.Duration) time.Time { return r.Start.Add(d) }

// tick adds a tick at run time d with target id's observed decision; the
// other targets are within target. The run's first tick is a plain hold,
// so first_tick stays out of cases not about it.
func tick(r *Run, d time.Duration, id controller.TargetID, o Obs) {
	if len(r.Ticks) == 0 && d > time.Minute {
		tick(r, 5*time.Second, id, held(controller.ReasonWithinTarget))
	}
	o.Observed = true
	obs := map[controller.TargetID]Obs{}
	for _, t := range r.Targets {
		obs[t.ID] = Obs{Observed: true, Decision: held(controller.ReasonWithinTarget).Decision}
	}
	obs[id] = o
	r.Ticks = append(r.Ticks, Tick{Instance: 1, Index: len(r.Ticks), Time: at(r, d), Obs: obs})
}

// mirror makes the simulator's write log agree with the harness's, for the
// cases that are not about the write log.
func mirror(r *Run) {
	for _, w := range r.Writes {
		r.SimWrites = append(r.SimWrites, sim.WriteRecord{Time: w.Time, Op: w.Op, Function: w.Target.Function,
			Qualifier: w.Target.Qualifier, Value: w.Value, Result: w.Result, Caller: w.Caller})
	}
}

func scaleIn(cur, to int, reason controller.Reason) Obs {
	return Obs{Decision: controller.Decision{Current: cur, Desired: to, Direction: controller.DirIn, Reason: reason, Action: controller.ActPut}}
}

func held(reason controller.Reason) Obs {
	return Obs{Decision: controller.Decision{Reason: reason, Action: controller.ActNone, Direction: controller.DirNone}}
}

func names(vs []Violation) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Invariant)
	}
	return strings.Join(s, ",")
}

// TestScenarioYAML: a scenario may bring its account as a scenario file.
func TestScenarioYAML(t *testing.T) {
	yml, err := Standard().YAML()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Execute(t.Context(), &Scenario{Name: "yaml", SimYAML: string(yml), Duration: 10 * time.Minute}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ticks) < 9 || len(r.Minutes[Busy]) < 40 {
		t.Errorf("%d ticks, %d minutes of busy: the YAML account did not run", len(r.Ticks), len(r.Minutes[Busy]))
	}
	if _, err := Execute(t.Context(), &Scenario{Name: "bad", SimYAML: "functions: 3"}, 1); err == nil {
		t.Error("a broken scenario file ran")
	}
}

func TestInvariants(t *testing.T) {
	hide := func(r *Run, from, to time.Duration, dropped bool) {
		for i, m := range r.Minutes[Busy] {
			if !m.Start.Before(at(r, from)) && m.Start.Before(at(r, to)) {
				r.Minutes[Busy][i].Published, r.Minutes[Busy][i].Dropped = !dropped, dropped
				r.Minutes[Busy][i].Visible = at(r, to+time.Hour)
			}
		}
	}
	cases := []struct {
		name  string
		scen  func(sc *Scenario)
		build func(r *Run)
		want  string // comma-separated invariants, "" none
	}{
		{"scale-in counting a 5-minute gap as quiet", nil, func(r *Run) {
			hide(r, 30*time.Minute, 35*time.Minute, true)
			tick(r, 36*time.Minute, Busy, scaleIn(80, 40, controller.ReasonUtilization))
		}, InvUnknown},
		{"scale-in on late minutes (skew) to the floor", nil, func(r *Run) {
			hide(r, 33*time.Minute, 36*time.Minute, false)
			tick(r, 36*time.Minute, Busy, scaleIn(80, 1, controller.ReasonIdle))
		}, InvUnknown},
		{"scale-in the known minutes justify, hidden tail normal", nil, func(r *Run) {
			tick(r, 36*time.Minute, Busy, scaleIn(90, 80, controller.ReasonUtilization))
		}, ""},
		{"gap as long as idle_after: missing_data idle's contract", nil, func(r *Run) {
			hide(r, 5*time.Minute, 40*time.Minute, true)
			tick(r, 40*time.Minute, Busy, scaleIn(80, 1, controller.ReasonIdle))
		}, ""},
		{"a burst hidden in the newest minute: nobody could know", nil, func(r *Run) {
			for i := range r.Minutes[Busy] {
				r.Minutes[Busy][i].Peak = 10
			}
			r.Minutes[Busy][len(r.Minutes[Busy])-25].Peak = 150 // the minute ending at +36m
			tick(r, 36*time.Minute+5*time.Second, Busy, scaleIn(40, 20, controller.ReasonUtilization))
		}, ""},
		{"write above max", nil, func(r *Run) {
			r.Writes = append(r.Writes, Write{Time: at(r, time.Minute), Op: "Put", Target: API, Value: 101, Result: "ok", Caller: "daemon#1"})
		}, InvBounds},
		{"write below the active scheduled floor", nil, func(r *Run) {
			r.Writes = append(r.Writes, Write{Time: at(r, 50*time.Minute), Op: "Put", Target: Quiet, Value: 3, Result: "ok", Caller: "daemon#1"})
		}, InvFloor},
		{"21 attempts in an hour", nil, func(r *Run) {
			for i := range 21 {
				r.Writes = append(r.Writes, Write{Time: at(r, time.Duration(i)*2*time.Minute), Op: "Put", Target: API, Value: 30, Result: "conflict", Caller: "daemon#1"})
			}
		}, InvPutsPerHour},
		{"scale-in 2 minutes after an operator's write", nil, func(r *Run) {
			r.Writes = append(r.Writes, Write{Time: at(r, 10*time.Minute), Op: "Put", Target: Busy, Value: 90, Result: "ok", Caller: operator})
			tick(r, 12*time.Minute, Busy, scaleIn(90, 80, controller.ReasonUtilization))
		}, InvCooldown},
		{"first tick scales in", nil, func(r *Run) {
			tick(r, time.Minute, Busy, scaleIn(90, 80, controller.ReasonUtilization))
		}, InvFirstTick},
		{"climbing while FAILED", nil, func(r *Run) {
			r.Writes = append(r.Writes, Write{Time: at(r, 10*time.Minute), Op: "Put", Target: API, Value: 90, Result: "ok", Caller: "daemon#1",
				HadBefore: true, Before: sim.PCView{Requested: 80, Allocated: 29, Status: "FAILED"}})
		}, InvFailed},
		{"SIGTERM abandons the write in flight and starts another", func(sc *Scenario) {
			sc.Events = []Event{{Kind: Term, At: 10 * time.Minute}}
		}, func(r *Run) {
			r.Writes = append(r.Writes,
				Write{Time: at(r, 10*time.Minute), Op: "Put", Target: API, Value: 80, Result: "context: context canceled", Caller: "daemon#1", InFlightTerm: true},
				Write{Time: at(r, 10*time.Minute), Op: "Put", Target: Busy, Value: 80, Result: "ok", Caller: "daemon#1", AfterTerm: true})
			r.SimWrites = []sim.WriteRecord{{Time: at(r, 10*time.Minute), Function: "busy", Qualifier: "live", Value: 80, Result: "ok", Caller: "daemon#1"}}
		}, InvTerm + "," + InvTerm},
		{"an event that never happened", nil, func(r *Run) {
			r.Harness = append(r.Harness, Violation{Invariant: "harness:event", Time: r.End})
		}, "harness:event"},
		{"a write the daemon's store never made", nil, func(r *Run) {
			r.SimWrites = []sim.WriteRecord{{Time: at(r, time.Minute), Function: "api", Qualifier: "live", Value: 5, Result: "ok", Caller: sim.CallerInProcess}}
		}, InvWriteLog},
		{"surge not covered in time", func(sc *Scenario) { sc.Surges = []Surge{surge} }, func(r *Run) {
			r.Samples[API] = []Sample{{Time: at(r, 0), Exists: true, PCView: sim.PCView{Requested: 29, Available: 29, Status: "READY"}},
				{Time: at(r, 30*time.Minute), Exists: true, PCView: sim.PCView{Requested: 80, Available: 80, Status: "READY"}}}
		}, InvSurge},
		{"surge covered in time", func(sc *Scenario) { sc.Surges = []Surge{surge} }, func(r *Run) {
			r.Samples[API] = []Sample{{Time: at(r, 0), Exists: true, PCView: sim.PCView{Requested: 29, Available: 29, Status: "READY"}},
				{Time: at(r, 24*time.Minute), Exists: true, PCView: sim.PCView{Requested: 80, Available: 80, Status: "READY"}}}
		}, ""},
		{"surge covered late, after a throttle storm it may wait out", func(sc *Scenario) {
			sc.Surges = []Surge{surge}
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Op: "*", Kind: sim.FaultThrottle}, SurgeAt, SurgeAt+6*time.Minute)
			})
		}, func(r *Run) {
			r.Samples[API] = []Sample{{Time: at(r, 0), Exists: true, PCView: sim.PCView{Requested: 29, Available: 29, Status: "READY"}},
				{Time: at(r, 29*time.Minute), Exists: true, PCView: sim.PCView{Requested: 80, Available: 80, Status: "READY"}}}
		}, ""},
		{"surge covered after a FAILED window within its doubled backoff", func(sc *Scenario) {
			sc.Surges = []Surge{surge}
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Kind: sim.FaultFailedAllocation, Function: "api"}, SurgeAt-5*time.Minute, SurgeAt+15*time.Minute)
			})
		}, func(r *Run) {
			// fault 15m–35m: 35m + 2 ticks + allocation + the fault's 20m again
			r.Samples[API] = []Sample{{Time: at(r, 0), Exists: true, PCView: sim.PCView{Requested: 29, Available: 29, Status: "READY"}},
				{Time: at(r, 57*time.Minute), Exists: true, PCView: sim.PCView{Requested: 80, Available: 80, Status: "READY"}}}
		}, ""},
		{"surge covered after a FAILED window, later than that", func(sc *Scenario) {
			sc.Surges = []Surge{surge}
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Kind: sim.FaultFailedAllocation, Function: "api"}, SurgeAt-5*time.Minute, SurgeAt+15*time.Minute)
			})
		}, func(r *Run) {
			r.Samples[API] = []Sample{{Time: at(r, 0), Exists: true, PCView: sim.PCView{Requested: 29, Available: 29, Status: "READY"}},
				{Time: at(r, 59*time.Minute), Exists: true, PCView: sim.PCView{Requested: 80, Available: 80, Status: "READY"}}}
		}, InvSurge},
		{"stuck 4 ticks under a CloudWatch outage, no stall reported", func(sc *Scenario) {
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Op: "GetMetricData", Kind: sim.FaultServerError}, 10*time.Minute, 20*time.Minute)
			})
		}, func(r *Run) {
			for i := range 4 {
				tick(r, 10*time.Minute+time.Duration(i)*time.Minute+5*time.Second, Busy, held(controller.ReasonMetricsMissing))
			}
		}, InvStall},
		{"stuck 4 ticks, stall reported on the 4th", func(sc *Scenario) {
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Op: "GetMetricData", Kind: sim.FaultServerError}, 10*time.Minute, 20*time.Minute)
			})
		}, func(r *Run) {
			for i := range 4 {
				o := held(controller.ReasonMetricsMissing)
				if i == 3 {
					o.Stall = controller.StallMetricsError
				}
				tick(r, 10*time.Minute+time.Duration(i)*time.Minute+5*time.Second, Busy, o)
			}
		}, ""},
		{"stuck 3 ticks: not yet a stall", func(sc *Scenario) {
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Op: "GetMetricData", Kind: sim.FaultServerError}, 10*time.Minute, 20*time.Minute)
			})
		}, func(r *Run) {
			for i := range 3 {
				tick(r, 10*time.Minute+time.Duration(i)*time.Minute+5*time.Second, Busy, held(controller.ReasonMetricsMissing))
			}
		}, ""},
		{"holding 5 ticks for the policy's own reasons is no stall", func(sc *Scenario) {
			sc.Sim = with(func(s *sim.Scenario) {
				fault(s, sim.FaultSpec{Op: "PutProvisionedConcurrencyConfig", Kind: sim.FaultConflict}, 10*time.Minute, 20*time.Minute)
			})
		}, func(r *Run) {
			for i := range 5 {
				tick(r, 10*time.Minute+time.Duration(i)*time.Minute+5*time.Second, Busy, held(controller.ReasonWithinTarget))
			}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := unitRun(t, c.scen)
			c.build(r)
			if r.SimWrites == nil {
				mirror(r)
			}
			vs := Check(r)
			if got := names(vs); got != c.want {
				t.Errorf("violations %q, want %q", got, c.want)
				for _, v := range vs {
					t.Log(v)
				}
			}
			for _, v := range vs {
				if s := v.String(); !strings.Contains(s, "unit seed=1 t=+") || !strings.Contains(s, "expected ") {
					t.Errorf("message does not name scenario, seed, time and expectation: %s", s)
				}
			}
		})
	}
}

// TestSuiteBites: the whole pipeline — real controller, runner, recorder,
// checker — reports real misbehaviour, so a table of zeros means the
// controller behaves, not that the instrument went blind.
func TestSuiteBites(t *testing.T) {
	find := func(name string) Scenario {
		for _, sc := range Matrix() {
			if sc.Name == name {
				return *sc
			}
		}
		t.Fatalf("no scenario %s", name)
		return Scenario{}
	}
	cases := []struct {
		name string
		sc   func() Scenario
		want string
	}{
		{"one instance a step: the surge is not covered", func() Scenario {
			sc := find("publish-60s")
			sc.Targets = StandardTargets()
			sc.Targets[0].Policy.MaxScaleOutStep.Absolute = 1
			return sc
		}, InvSurge},
		{"stall reports lost: an outage is an invisible stall", func() Scenario {
			sc := find("outage")
			sc.muteStalls = true
			return sc
		}, InvStall},
		{"no scale-in cooldown in the policy: the invariant follows it", func() Scenario {
			sc := find("out-of-band-writes")
			sc.Targets = StandardTargets()
			for i := range sc.Targets {
				sc.Targets[i].Policy.ScaleInCooldown.Duration = 0
			}
			return sc
		}, ""}, // the policy's own cooldown is the bound: 0 allows it
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := c.sc()
			r, err := Execute(t.Context(), &sc, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, v := range Check(r) {
				got[v.Invariant] = true
			}
			if c.want != "" && !got[c.want] {
				t.Errorf("no %s violation; got %v", c.want, got)
			}
			if c.want == "" && got[InvCooldown] {
				t.Errorf("cooldown violated under a policy without one")
			}
		})
	}
}
