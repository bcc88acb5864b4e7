package scale

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// AppID is the harness's aws.Config.AppID: its writes in the simulator's
// write log carry "app/" + AppID.
const AppID = "pcautoscaler-scale"

// Run is one simulated account with the daemon running against it.
type Run struct {
	Fleet  Fleet
	World  *sim.World
	Clock  *sim.VirtualClock
	Ctrl   *controller.Controller
	Lambda *awsapi.Lambda
	Source *metrics.Source

	fl    *fleet
	calls *callCounter
	rec   *recorder
	src   *countingSource
	logs  logCounter

	lastWake time.Time
	ticks    []TickStat
	probes   int64 // wakes that probed and did not tick
	probeGMD int64 // their GetMetricData calls, plus probes that led to a tick
}

// TickStat is one tick as the harness saw it.
type TickStat struct {
	Start  time.Time     // virtual: when it woke
	Took   time.Duration // virtual: until its last call returned
	Lambda int64         // Lambda calls it made (reads, limits, writes)
	Writes int64         // of which Puts and Deletes
	GMD    int64         // GetMetricData calls of its read (probes excluded)
	Wall   time.Duration // wall time of the wake, simulator included
	Queue  int           // writes it left for the next tick
}

// NewRun builds the account, simulates its History, and wires the daemon's
// clients and controller against it. Nothing is called yet.
func NewRun(f Fleet) (*Run, error) {
	fl, err := buildFleet(f)
	if err != nil {
		return nil, err
	}
	f = fl.f
	clk := sim.NewVirtualClock(f.Start.Add(-f.History))
	w, err := sim.NewWorld(fl.sc, clk)
	if err != nil {
		return nil, err
	}
	clk.Set(f.Start)
	w.AdvanceTo(f.Start)

	calls := newCallCounter()
	cfg := aws.Config{
		Region:       sim.DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSCALE", "scale", ""),
		BaseEndpoint: aws.String("http://sim.invalid"), // never dialled: the transport serves it
		HTTPClient:   &http.Client{Transport: sim.Transport{Handler: sim.NewHandler(w, nil)}},
		AppID:        AppID,
	}
	// As cmd/pcautoscaler's wire: one bucket of lambda_rps for every Lambda
	// call, derived utilization (one metric a target) reading the allocation
	// the Lambda client last saw.
	lam := awsapi.NewLambda(cfg, f.LambdaRPS, awsapi.WithClock(spendClock{clk}), awsapi.WithObserver(calls))
	src, err := metrics.New(cfg, metrics.ProtocolCBOR, metrics.WithClock(clk), metrics.WithObserver(calls),
		metrics.WithDerivedUtilization(lam.Allocated))
	if err != nil {
		return nil, err
	}
	rec := newRecorder(clk, calls, len(fl.targets))
	cs := &countingSource{MetricSource: src, calls: calls}
	logs := newLogCounter()
	c, err := controller.New(controller.Options{
		Targets:   fl.targets,
		Store:     lam,
		Metrics:   cs,
		Clock:     clk,
		Logger:    slog.New(logs),
		Recorder:  rec,
		Workers:   1,
		Interval:  f.Interval,
		LambdaRPS: f.LambdaRPS,
	})
	if err != nil {
		return nil, err
	}
	return &Run{Fleet: f, World: w, Clock: clk, Ctrl: c, Lambda: lam, Source: src,
		fl: fl, calls: calls, rec: rec, src: cs, logs: logs}, nil
}

// Preflight is how the start-up check is made before the loop.
type Preflight string

const (
	// PreflightDaemon is what `pcautoscaler run` does: awsapi.Lambda.Preflight
	// over the targets (each permission once, on one target: at most
	// awsapi.PreflightCalls calls), then metrics' one call.
	PreflightDaemon Preflight = "daemon"
	// PreflightNone starts the loop at once.
	PreflightNone Preflight = "none"
)

// Preflight makes the start-up check; its calls go through the bucket and
// spend virtual time.
func (r *Run) Preflight(ctx context.Context, p Preflight) error {
	switch p {
	case PreflightNone:
		return nil
	case PreflightDaemon:
	default:
		return errors.New("scale: unknown preflight " + string(p))
	}
	if err := r.Lambda.Preflight(ctx, r.fl.ids); err != nil {
		return err
	}
	return r.Source.Preflight(ctx)
}

// RunUntil drives the controller as controller.Run does — sleep until
// NextWake, then Wake — on the virtual clock, until the next wake would be
// at or after until; the clock is then at until.
func (r *Run) RunUntil(ctx context.Context, until time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := r.Clock.Now()
		next := r.Ctrl.NextWake(now)
		if !next.After(r.lastWake) {
			next = r.lastWake.Add(time.Second) // never two wakes at one instant
		}
		if !next.Before(until) {
			r.Clock.Set(until)
			return nil
		}
		r.Clock.Set(next)
		r.World.AdvanceTo(next) // the world's seconds up to the wake, outside its wall time
		r.wake(ctx, next)
	}
}

func (r *Run) wake(ctx context.Context, at time.Time) {
	r.lastWake = at
	before := r.calls.snapshot()
	r.rec.mu.Lock()
	r.rec.ticked = false
	r.rec.mu.Unlock()
	wall := time.Now()
	_ = r.Ctrl.Wake(ctx, at) // errors are the loop's to log; it keeps going
	took := time.Since(wall)
	fetches := r.src.take()
	r.rec.mu.Lock()
	ticked, start, vtook, depth := r.rec.ticked, r.rec.tickStart, r.rec.tickTook, r.rec.depth
	r.rec.mu.Unlock()
	if !ticked {
		r.probes++
		for _, n := range fetches {
			r.probeGMD += n
		}
		return
	}
	d := r.calls.snapshot().Sub(before)
	ts := TickStat{Start: start, Took: vtook, Lambda: d.Lambda,
		Writes: d.ByOp["PutProvisionedConcurrencyConfig"] + d.ByOp["DeleteProvisionedConcurrencyConfig"],
		Wall:   took, Queue: depth}
	if n := len(fetches); n > 0 {
		ts.GMD = fetches[n-1] // the tick's own read is the wake's last Fetch
		for _, k := range fetches[:n-1] {
			r.probeGMD += k
		}
	}
	r.ticks = append(r.ticks, ts)
}

// Calls returns the daemon's calls so far.
func (r *Run) Calls() Counts { return r.calls.snapshot() }

// Ticks returns the ticks so far.
func (r *Run) Ticks() []TickStat { return append([]TickStat(nil), r.ticks...) }

// Targets returns the managed targets.
func (r *Run) Targets() []controller.TargetID { return append([]controller.TargetID(nil), r.fl.ids...) }

// Decided reports how many targets have had a decision (their config was
// read, or written, at least once).
func (r *Run) Decided() int { return r.rec.decidedCount() }

// LogCounts returns the controller's Info-and-above log lines by level and
// message.
func (r *Run) LogCounts() map[string]int { return r.logs.snapshot() }

// SimThrottles is the simulator's count of Lambda calls it answered 429.
func (r *Run) SimThrottles() int64 {
	var n int64
	for op, codes := range r.World.Stats().APICalls {
		if op == "GetMetricData" {
			continue
		}
		n += codes[sim.CodeTooManyRequests]
	}
	return n
}
