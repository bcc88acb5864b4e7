package reliability

import (
	"fmt"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Expectations most scenarios share (issue 9, "Done when").
var (
	// surge: api's 4× surge at SurgeAt is scaled out (invariant S).
	surge = Surge{Target: API, At: SurgeAt, Demand: apiSurge, Why: "4× surge"}
	// quietIn: quiet:live, over-provisioned at 40 for ~0.5 concurrent,
	// still scales in before its floor window opens.
	quietIn = ScalesIn{Target: Quiet, By: 45 * time.Minute, Value: 10}
	// idleIn: idle:live goes to its floor (min 1) once idle_after has shown
	// nothing (it has been silent since the start of the warm-up).
	idleIn = ScalesIn{Target: Idle, By: 30 * time.Minute, Value: 1}
	// busyNeed: what busy's mean demand needs at the target utilization.
	busyNeed = ceilDiv(busyMean, 0.70)
)

// healthy are the expectations of a scenario in which the daemon must work
// as if nothing were wrong.
func healthy() []Expectation { return []Expectation{quietIn, idleIn} }

// Matrix is the fault suite: every scenario runs over every seed.
func Matrix() []*Scenario {
	var out []*Scenario
	add := func(s *Scenario) { out = append(out, s) }

	// Publication delay: the freshness model must meet the data wherever it
	// lands (the 67 s froze the old fixed lag).
	add(&Scenario{Name: "publish-60s", Doc: "baseline: 60 s publication, no faults",
		Surges: []Surge{surge}, Expect: healthy()})
	for _, d := range []time.Duration{120 * time.Second, 180 * time.Second, 300 * time.Second} {
		add(&Scenario{Name: fmt.Sprintf("publish-%ds", int(d.Seconds())), Doc: fmt.Sprintf("every minute published %d s after it ends", int(d.Seconds())),
			Sim: with(func(sc *sim.Scenario) { sc.Metrics.PublishDelay.Duration = d }), Surges: []Surge{surge}, Expect: healthy()})
	}
	add(&Scenario{Name: "publish-600s", Doc: "beyond metrics_max_lag (5m): stale, so scale-in held and the stall shown; the surge still scaled out once visible",
		Sim:    with(func(sc *sim.Scenario) { sc.Metrics.PublishDelay.Duration = 600 * time.Second }),
		Surges: []Surge{surge}, Expect: []Expectation{HoldsScaleIn{Why: "CloudWatch 10 minutes late"}}})
	add(&Scenario{Name: "publish-jitter", Doc: "60 s + 0–120 s per function and minute (publish_jitter)",
		Sim: with(func(sc *sim.Scenario) { sc.Metrics.PublishJitter.Duration = 120 * time.Second }), Surges: []Surge{surge}, Expect: healthy()})

	// Per-function gaps and delays on a busy and on a quiet function.
	for _, kind := range []string{sim.FaultMetricGap, sim.FaultMetricDelay} {
		for _, fn := range []controller.TargetID{Busy, Quiet} {
			for _, d := range []time.Duration{time.Minute, 5 * time.Minute, 40 * time.Minute} {
				add(gapScenario(kind, fn, d))
			}
		}
	}

	// Clock skew: the daemon's clock minus AWS's.
	for _, skew := range []time.Duration{-60 * time.Second, 15 * time.Second, 60 * time.Second} {
		add(&Scenario{Name: fmt.Sprintf("skew%+ds", int(skew.Seconds())), Doc: fmt.Sprintf("daemon clock %+d s off AWS's, offset measured", int(skew.Seconds())),
			Skew: skew, Surges: []Surge{surge}, Expect: healthy()})
	}
	add(&Scenario{Name: "skew+45m", Doc: "beyond ±60 s: scale-out still works, every scale-in is held and the stall shown",
		Skew: 45 * time.Minute, Surges: []Surge{surge}, Expect: []Expectation{HoldsScaleIn{Why: "the clock 45 minutes off AWS's"}}})
	add(&Scenario{Name: "skew+60s-unmeasured-10m", Doc: "offset unknown for the first 10 minutes, then +60 s",
		Skew: 60 * time.Second, ClockKnownAfter: 10 * time.Minute, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "publish-300s-skew-60s", Doc: "the issue's corner: 300 s publication, clock 60 s behind",
		Sim:  with(func(sc *sim.Scenario) { sc.Metrics.PublishDelay.Duration = 300 * time.Second }),
		Skew: -60 * time.Second, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "publish-jitter-skew+60s", Doc: "jittered publication, clock 60 s ahead",
		Sim:  with(func(sc *sim.Scenario) { sc.Metrics.PublishJitter.Duration = 120 * time.Second }),
		Skew: 60 * time.Second, Surges: []Surge{surge}, Expect: healthy()})

	// Lambda and CloudWatch answering errors.
	add(&Scenario{Name: "throttle-storm", Doc: "every call 429 (Retry-After 20 s) for 6 minutes over the surge",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Op: "*", Kind: sim.FaultThrottle, RetryAfter: secs(20)}, SurgeAt-2*time.Minute, SurgeAt+4*time.Minute)
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "put-throttle-30pct", Doc: "30% of Puts 429 (Retry-After 5 s) all along",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Op: "PutProvisionedConcurrencyConfig", Kind: sim.FaultThrottle, Probability: prob(0.3), RetryAfter: secs(5)}, 0, 0)
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "5xx-short-bursts", Doc: "three 3-minute bursts of 500 on every call: never more than 3 ticks",
		Sim: with(func(sc *sim.Scenario) {
			for _, at := range []time.Duration{12, 35, 55} {
				fault(sc, sim.FaultSpec{Op: "*", Kind: sim.FaultServerError}, at*time.Minute, (at+3)*time.Minute)
			}
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "5xx-long-burst", Doc: "500 on every call for 8 minutes over the surge",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Op: "*", Kind: sim.FaultServerError}, SurgeAt-time.Minute, SurgeAt+7*time.Minute)
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "409-storm", Doc: "every Put 409 for 11 minutes over the surge",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Op: "PutProvisionedConcurrencyConfig", Kind: sim.FaultConflict}, SurgeAt-time.Minute, SurgeAt+10*time.Minute)
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "failed-allocation", Doc: "api's increases end FAILED for 20 minutes around the surge",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Kind: sim.FaultFailedAllocation, Function: API.Function}, SurgeAt-5*time.Minute, SurgeAt+15*time.Minute)
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "cloudwatch-errors", Doc: "GetMetricData throttled for 8 minutes over the surge, 10% 500 all along",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Op: "GetMetricData", Kind: sim.FaultThrottle}, SurgeAt-time.Minute, SurgeAt+7*time.Minute)
			fault(sc, sim.FaultSpec{Op: "GetMetricData", Kind: sim.FaultServerError, Probability: prob(0.1)}, 0, 0)
		}), Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "partial-data", Doc: "every series PartialData for 7 minutes over the surge (harness-injected)",
		PartialData: []Window{{From: SurgeAt - time.Minute, Until: SurgeAt + 6*time.Minute}}, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "outage", Doc: "Lambda and CloudWatch unreachable for 15 minutes over the surge (unavailable)",
		Sim: with(func(sc *sim.Scenario) {
			fault(sc, sim.FaultSpec{Op: "*", Kind: sim.FaultUnavailable}, SurgeAt-time.Minute, SurgeAt+14*time.Minute)
		}), Surges: []Surge{surge}, Expect: healthy()})

	// The process: kills, SIGTERM, other writers.
	add(&Scenario{Name: "kill9-mid-allocation", Doc: "kill -9 right after the surge's Put (IN_PROGRESS), restart 30 s later",
		Events: []Event{{Kind: Kill, At: SurgeAt, Target: API, OnPut: controller.DirOut}}, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "kill9-after-scale-in", Doc: "kill -9 right after quiet's first scale-in, restart 30 s later: cooldown from LastModified",
		Events: []Event{{Kind: Kill, At: 0, Target: Quiet, OnPut: controller.DirIn}}, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "kill9-down-10m", Doc: "kill -9 just before the surge, back 10 minutes later",
		Events: []Event{{Kind: Kill, At: SurgeAt - time.Minute, Down: 10 * time.Minute}}, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "sigterm-during-put", Doc: "SIGTERM inside the surge's Put; a new daemon 1 minute later",
		Events: []Event{{Kind: Term, At: SurgeAt, Target: API, Down: time.Minute}}, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "sigterm-two-writes-due", Doc: "SIGTERM inside the first of two writes due in one tick (quiet and idle scaling in): the second must not start",
		Events: []Event{{Kind: Term, At: time.Minute}}, Surges: []Surge{surge}, Expect: healthy()})
	add(&Scenario{Name: "out-of-band-writes", Doc: "an operator cuts busy to 10, raises quiet to 60, puts api above its max",
		Events: []Event{
			{Kind: OutOfBand, At: 35 * time.Minute, Target: Busy, Value: 10},
			{Kind: OutOfBand, At: 40 * time.Minute, Target: Quiet, Value: 60},
			{Kind: OutOfBand, At: 50 * time.Minute, Target: API, Value: 150},
		},
		Surges: []Surge{surge, {Target: Busy, At: 35 * time.Minute, Demand: busyMean, Why: "operator cut busy to 10"}},
		Expect: []Expectation{idleIn,
			BackWithin{Target: API, At: 50 * time.Minute, Within: 2*interval + 10*time.Second, Min: 1, Max: 100, Why: "operator put 150 above max 100"},
			ScalesIn{Target: Quiet, By: 68 * time.Minute, Value: 30}}})

	// Limits: reserved concurrency below what the surge asks for.
	add(&Scenario{Name: "reserved-below-surge", Doc: "api has reserved concurrency 50: PC clamps there, never above",
		Sim: with(func(sc *sim.Scenario) {
			r := 50
			sc.Functions[0].Reserved = &r
		}), Surges: []Surge{surge}, Expect: healthy()})
	return out
}

// gapScenario: a metric_gap (never published) or metric_delay (published
// d late) on fn's minutes of [FaultAt, FaultAt+d). Shorter than idle_after
// on busy, it must keep its PC; 40 minutes of nothing looks like idleness
// by design, and the PC must come back once the data does.
func gapScenario(kind string, fn controller.TargetID, d time.Duration) *Scenario {
	name, how := "gap", "never published"
	fs := sim.FaultSpec{Kind: kind, Function: fn.Function}
	if kind == sim.FaultMetricDelay {
		name, how, fs.Latency = "delay", fmt.Sprintf("published %s late", d), sim.Duration{Duration: d}
	}
	end := FaultAt + d
	s := &Scenario{
		Name:   fmt.Sprintf("%s-%dm-%s", name, int(d.Minutes()), fn.Function),
		Doc:    fmt.Sprintf("%s's minutes from +%s to +%s %s", fn.Function, FaultAt, end, how),
		Sim:    with(func(sc *sim.Scenario) { fault(sc, fs, FaultAt, end) }),
		Surges: []Surge{surge}, Expect: healthy(),
	}
	switch {
	case fn == Busy && d < 30*time.Minute:
		s.Expect = append(s.Expect, Keeps{Target: Busy, From: FaultAt, Until: end + 20*time.Minute, Value: busyNeed,
			Why: "a " + kind + " shorter than idle_after"})
	case fn == Busy:
		s.Surges = append(s.Surges, Surge{Target: Busy, At: end, Demand: busyMean, Why: "busy's data back after the " + kind})
		s.Duration = end + 20*time.Minute
	}
	return s
}
