package scale

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Plan is what one measurement runs after NewRun.
type Plan struct {
	Preflight Preflight
	// StartupOnly stops once every target has been decided on.
	StartupOnly bool
	// MaxStartup gives up waiting for every target to be read after this
	// long (the figures then say so).
	MaxStartup time.Duration
	// Settle: the steady window starts this long after every target has
	// been read, and ends at the surge (Fleet.SurgeAt), or after Steady
	// when there is no surge.
	Settle, Steady time.Duration
	// SurgeRun: how long after the surge starts the run goes on.
	SurgeRun time.Duration
}

// DefaultPlan measures start-up, the steady state and the surge in one run.
func DefaultPlan() Plan {
	return Plan{Preflight: PreflightDaemon, MaxStartup: 3 * time.Hour, Settle: 5 * time.Minute,
		Steady: 20 * time.Minute, SurgeRun: 8 * time.Minute}
}

// Report holds every figure of one run. Times are simulated unless named
// Wall.
type Report struct {
	Fleet     Fleet
	Preflight Preflight
	Startup   Startup
	Steady    *Steady
	Surge     *Surge
	Logs      map[string]int // the controller's Info+ lines by message
	Wall      time.Duration  // the whole run, simulator included

	run *Run
}

// Startup is the time from the daemon's start until it decides.
type Startup struct {
	PreflightCalls   int64
	PreflightSeconds float64
	FirstTickSeconds float64 // from start to the first tick's wake
	FirstTickLambda  int64   // that tick's Lambda calls
	FirstTickGMD     int64   // and GetMetricData calls
	// FirstDecision: the first target decided on (after its config was read).
	FirstDecisionSeconds float64
	FirstDecisionCalls   int64 // Lambda calls from start until then, preflight included
	// AllRead: every target decided on at least once.
	AllRead        bool
	AllReadSeconds float64
	AllReadCalls   int64
	AllReadTicks   int
	AllReadGMD     int64 // GetMetricData calls until then
}

// Steady is a window of the steady state.
type Steady struct {
	From, To       time.Time
	Ticks          int
	Lambda         Counts
	CallsPerSecond float64 // Lambda control-plane calls per second over the window
	GMDPerTick     float64 // a tick's read, probes excluded
	GMDMaxTick     int64
	ProbeWakes     int64   // wakes that probed and did not tick
	ProbeGMD       int64   // GetMetricData calls of every probe in the window
	GMDPerMinute   float64 // everything: tick reads and probes
	MetricsPerTick float64
	Writes         int64
	TickWall       Dist // wall time per tick, simulator included
	TickTook       Dist // simulated time per tick (Lambda calls at lambda_rps)
}

// Dist summarises durations.
type Dist struct {
	N                   int
	Mean, P50, P90, Max time.Duration
}

func dist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return Dist{N: len(s), Mean: sum / time.Duration(len(s)), P50: q(0.5), P90: q(0.9), Max: s[len(s)-1]}
}

// Surge is the scale-out of the surged targets.
type Surge struct {
	At             time.Time // the traffic change (world time)
	Targets        int
	Breached       int // targets whose first surged minute breached the target utilization
	Scaled         int // targets with a scale-out Put after their first breaching datapoint was published
	FromPublished  Dist
	FromSurge      Dist // from the traffic change itself (publication delay included)
	FirstPublished time.Time
	LastPut        time.Time
	Ticks          []TickStat // from the surge on
	MaxQueue       int
	OtherWrites    int // Puts and Deletes on targets not surged, in the same time
	TickTook       Dist
}

// Measure builds a run of f and carries out p.
func Measure(ctx context.Context, f Fleet, p Plan) (*Report, error) {
	wall := time.Now()
	r, err := NewRun(f)
	if err != nil {
		return nil, err
	}
	rep, err := r.Measure(ctx, p)
	if rep != nil {
		rep.Wall = time.Since(wall)
	}
	return rep, err
}

// Measure carries out p on a fresh run.
func (r *Run) Measure(ctx context.Context, p Plan) (*Report, error) {
	f := r.Fleet
	if p.MaxStartup <= 0 {
		p.MaxStartup = DefaultPlan().MaxStartup
	}
	rep := &Report{Fleet: f, Preflight: p.Preflight, run: r}
	start := r.Clock.Now()
	if err := r.Preflight(ctx, p.Preflight); err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	pre := r.Calls()
	rep.Startup.PreflightCalls = pre.Lambda
	rep.Startup.PreflightSeconds = r.Clock.Now().Sub(start).Seconds()

	// Start-up: minute by minute until every target has been decided on.
	deadline := start.Add(p.MaxStartup)
	for r.Decided() < len(r.fl.ids) && r.Clock.Now().Before(deadline) {
		if err := r.RunUntil(ctx, r.Clock.Now().Add(f.Interval)); err != nil {
			return nil, err
		}
	}
	st := &rep.Startup
	r.rec.mu.Lock()
	first, firstCalls, all, allCalls := r.rec.firstDecision, r.rec.firstCalls, r.rec.allDecided, r.rec.allCalls
	r.rec.mu.Unlock()
	if ticks := r.Ticks(); len(ticks) > 0 {
		st.FirstTickSeconds = ticks[0].Start.Sub(start).Seconds()
		st.FirstTickLambda, st.FirstTickGMD = ticks[0].Lambda, ticks[0].GMD
		for _, t := range ticks {
			if !all.IsZero() && t.Start.After(all) {
				break
			}
			st.AllReadTicks++
		}
	}
	if !first.IsZero() {
		st.FirstDecisionSeconds, st.FirstDecisionCalls = first.Sub(start).Seconds(), firstCalls
	}
	if !all.IsZero() {
		st.AllRead, st.AllReadSeconds, st.AllReadCalls = true, all.Sub(start).Seconds(), allCalls
		st.AllReadGMD = r.Calls().GMD
	}
	if p.StartupOnly || all.IsZero() {
		rep.Logs = r.LogCounts()
		return rep, nil
	}

	// Steady state.
	from := all.Add(p.Settle).Truncate(time.Minute)
	to := from.Add(p.Steady)
	surgeAt := r.fl.surgeMin
	if len(r.fl.surged) > 0 {
		to = surgeAt
		if !to.After(from.Add(5 * time.Minute)) {
			return rep, fmt.Errorf("scale: the surge at %s leaves no steady window after every target was read (%s + settle %s)",
				surgeAt.Format(time.TimeOnly), all.Format(time.TimeOnly), p.Settle)
		}
	}
	if err := r.RunUntil(ctx, from); err != nil {
		return nil, err
	}
	c0, t0, pw0, pg0 := r.Calls(), len(r.ticks), r.probes, r.probeGMD
	if err := r.RunUntil(ctx, to); err != nil {
		return nil, err
	}
	c1, ticks := r.Calls(), r.ticks[t0:]
	sd := &Steady{From: from, To: to, Ticks: len(ticks), Lambda: c1.Sub(c0),
		ProbeWakes: r.probes - pw0, ProbeGMD: r.probeGMD - pg0}
	secs := to.Sub(from).Seconds()
	sd.CallsPerSecond = float64(sd.Lambda.Lambda) / secs
	sd.GMDPerMinute = float64(sd.Lambda.GMD) / (secs / 60)
	var walls, tooks []time.Duration
	var gmd int64
	for _, t := range ticks {
		gmd += t.GMD
		sd.GMDMaxTick = max(sd.GMDMaxTick, t.GMD)
		sd.Writes += t.Writes
		walls, tooks = append(walls, t.Wall), append(tooks, t.Took)
	}
	if len(ticks) > 0 {
		sd.GMDPerTick = float64(gmd) / float64(len(ticks))
		sd.MetricsPerTick = float64(sd.Lambda.Metrics) / float64(len(ticks))
	}
	sd.TickWall, sd.TickTook = dist(walls), dist(tooks)
	rep.Steady = sd
	if len(r.fl.surged) == 0 {
		rep.Logs = r.LogCounts()
		return rep, nil
	}

	// Surge.
	t1 := len(r.ticks)
	if err := r.RunUntil(ctx, surgeAt.Add(p.SurgeRun)); err != nil {
		return nil, err
	}
	rep.Surge = r.surgeFigures(surgeAt, r.ticks[t1:])
	rep.Logs = r.LogCounts()
	return rep, nil
}

// surgeFigures reads the simulator's ground truth: when each surged
// target's first breaching minute was published (sim.MinuteVisibility),
// and the write log for its scale-out Put.
func (r *Run) surgeFigures(at time.Time, ticks []TickStat) *Surge {
	s := &Surge{At: at, Targets: len(r.fl.surged), Ticks: ticks}
	surged := map[string]controller.TargetID{}
	for _, id := range r.fl.surged {
		surged[id.Function] = id
	}
	puts := map[string][]sim.WriteRecord{}
	for _, w := range r.World.WriteLog() {
		if w.Time.Before(at) || w.Result != sim.WriteOK {
			continue
		}
		if _, ok := surged[w.Function]; !ok {
			s.OtherWrites++
			continue
		}
		puts[w.Function] = append(puts[w.Function], w)
	}
	target := r.fl.targets[0].Policy.TargetUtilization
	var fromPub, fromSurge []time.Duration
	for _, id := range r.fl.surged {
		pc := float64(r.fl.pc[id])
		var breach time.Time
		for _, m := range r.World.Minutes(id.Function, id.Qualifier) {
			if !m.Start.Before(at) && float64(m.PeakConcurrency) > target*pc {
				breach = m.Start
				break
			}
		}
		if breach.IsZero() {
			continue
		}
		s.Breached++
		vis, ok, _ := r.World.MinuteVisibility(id.Function, id.Qualifier, breach)
		if !ok {
			continue
		}
		if s.FirstPublished.IsZero() || vis.Before(s.FirstPublished) {
			s.FirstPublished = vis
		}
		for _, w := range puts[id.Function] {
			if w.Op == "PutProvisionedConcurrencyConfig" && !w.Time.Before(vis) && w.Value > r.fl.pc[id] {
				s.Scaled++
				fromPub, fromSurge = append(fromPub, w.Time.Sub(vis)), append(fromSurge, w.Time.Sub(at))
				if w.Time.After(s.LastPut) {
					s.LastPut = w.Time
				}
				break
			}
		}
	}
	s.FromPublished, s.FromSurge = dist(fromPub), dist(fromSurge)
	var tooks []time.Duration
	for _, t := range ticks {
		s.MaxQueue = max(s.MaxQueue, t.Queue)
		tooks = append(tooks, t.Took)
	}
	s.TickTook = dist(tooks)
	return s
}

// String is the report as text, one figure a line.
func (rep *Report) String() string {
	var b strings.Builder
	f := rep.Fleet
	fmt.Fprintf(&b, "fleet: %d targets, lambda_rps %g, control_plane_rps %g, interval %s, history %s, preflight %s, wall %s\n",
		f.Targets, f.LambdaRPS, f.ControlPlaneRPS, f.Interval, f.History, rep.Preflight, rep.Wall.Round(time.Millisecond))
	st := rep.Startup
	fmt.Fprintf(&b, "startup: preflight %d calls %.1f s; first tick at %.1f s (%d Lambda, %d GetMetricData calls); first decision at %.1f s after %d Lambda calls\n",
		st.PreflightCalls, st.PreflightSeconds, st.FirstTickSeconds, st.FirstTickLambda, st.FirstTickGMD,
		st.FirstDecisionSeconds, st.FirstDecisionCalls)
	if st.AllRead {
		fmt.Fprintf(&b, "startup: every target read at %.1f s (%.1f min) after %d Lambda calls, %d ticks, %d GetMetricData calls\n",
			st.AllReadSeconds, st.AllReadSeconds/60, st.AllReadCalls, st.AllReadTicks, st.AllReadGMD)
	} else {
		b.WriteString("startup: not every target was read\n")
	}
	if sd := rep.Steady; sd != nil {
		fmt.Fprintf(&b, "steady: %s..%s (%d ticks): %.3f Lambda calls/s (%d calls, %d writes), %.1f GetMetricData calls/tick (max %d) + %d probe calls (%d probe wakes); %.1f GetMetricData/min in all; %.0f metrics/tick\n",
			sd.From.Format(time.TimeOnly), sd.To.Format(time.TimeOnly), sd.Ticks, sd.CallsPerSecond, sd.Lambda.Lambda,
			sd.Writes, sd.GMDPerTick, sd.GMDMaxTick, sd.ProbeGMD, sd.ProbeWakes, sd.GMDPerMinute, sd.MetricsPerTick)
		fmt.Fprintf(&b, "steady: calls by operation %v\n", sd.Lambda.ByOp)
		fmt.Fprintf(&b, "steady: tick wall mean %s p50 %s max %s; simulated per tick mean %s max %s\n",
			sd.TickWall.Mean.Round(time.Millisecond), sd.TickWall.P50.Round(time.Millisecond), sd.TickWall.Max.Round(time.Millisecond),
			sd.TickTook.Mean.Round(100*time.Millisecond), sd.TickTook.Max.Round(100*time.Millisecond))
	}
	if s := rep.Surge; s != nil {
		fmt.Fprintf(&b, "surge: %d targets ×%g at %s: %d breached, %d scaled out; from publication p50 %s p90 %s max %s; from the traffic change p50 %s max %s; first publication %s, last Put %s\n",
			s.Targets, f.SurgeFactor, s.At.Format(time.TimeOnly), s.Breached, s.Scaled,
			s.FromPublished.P50.Round(time.Second), s.FromPublished.P90.Round(time.Second), s.FromPublished.Max.Round(time.Second),
			s.FromSurge.P50.Round(time.Second), s.FromSurge.Max.Round(time.Second),
			s.FirstPublished.Format(time.TimeOnly), s.LastPut.Format(time.TimeOnly))
		fmt.Fprintf(&b, "surge: max queue %d, other writes %d, simulated per tick max %s\n", s.MaxQueue, s.OtherWrites,
			s.TickTook.Max.Round(100*time.Millisecond))
		for _, t := range s.Ticks {
			fmt.Fprintf(&b, "  tick %s took %5.1fs: %4d Lambda calls (%4d writes), %3d GetMetricData, queue %4d, wall %s\n",
				t.Start.Format(time.TimeOnly), t.Took.Seconds(), t.Lambda, t.Writes, t.GMD, t.Queue, t.Wall.Round(time.Millisecond))
		}
	}
	if len(rep.Logs) > 0 {
		keys := slices.Sorted(maps.Keys(rep.Logs))
		b.WriteString("logs:")
		for _, k := range keys {
			fmt.Fprintf(&b, " [%s]×%d", k, rep.Logs[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}
