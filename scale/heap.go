package scale

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	pcmetrics "github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// Heap is the daemon's own memory for N targets, with no simulator in the
// process: the controller and the daemon's clients (awsapi.Lambda,
// metrics.Source on the SDK) answered by a stub inside the SDK's
// middleware stack, every target quiet, each tick's CloudWatch read over
// the full window (predict_lookback 3 h + metrics_max_lag 5 min = 185
// minutes, 183 of them published).
type Heap struct {
	Targets int
	Ticks   int // ticks run (until every target was read, and a few more)
	// Failed: Lambda calls that did not succeed (a call the stub does not
	// answer would make the figures describe a daemon that reads less).
	Failed  int
	AllRead int // the tick by which every target had been read
	// LiveMB: heap after a GC following the last tick, minus the heap before
	// the daemon was built (the stub's own tables excluded).
	LiveMB float64
	// PeakMB: the largest heap seen during the ticks (sampled every
	// millisecond, garbage not yet collected included), minus the same
	// baseline: what the heap reaches at the default GOGC.
	PeakMB float64
	// SteadyPeakMB: the same, over the ticks after every target was read
	// (start-up's first reads excluded).
	SteadyPeakMB float64
	// AllocMBPerTick: bytes allocated per steady tick (after every target
	// was read).
	AllocMBPerTick float64
	WallPerTick    time.Duration // mean wall time of a steady tick
	// CPUPerTick: the process's CPU time (user + system, GC included) per
	// steady tick; unlike wall time it does not depend on what else runs
	// on the machine.
	CPUPerTick time.Duration
}

// HeapOptions tune MeasureHeap; zero values take the defaults.
type HeapOptions struct {
	Targets   int     // default 10,000
	LambdaRPS float64 // default 10: the read plan's budget, as in the daemon
	Extra     int     // ticks after every target was read; default 5
	// OnSteady, if set, is called once every target has been read, before
	// the steady ticks (start a profile there).
	OnSteady func()
}

// noWaitClock is a virtual clock whose waits end at once: the bucket spends
// no time here (the heap, not the timing, is measured), and the daemon's
// default worker pool runs as it would.
type noWaitClock struct{ *sim.VirtualClock }

func (c noWaitClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

type tickCounter struct {
	controller.NopRecorder
	ticks   atomic.Int64
	failed  atomic.Int64
	mu      sync.Mutex
	decided map[controller.TargetID]struct{}
}

func (t *tickCounter) Ticked(time.Time, time.Duration, error) { t.ticks.Add(1) }

// ObserveCall (awsapi.CallObserver) counts the calls that failed.
func (t *tickCounter) ObserveCall(_, _, code string, _ time.Duration) {
	if code != "ok" {
		t.failed.Add(1)
	}
}
func (t *tickCounter) Observed(id controller.TargetID, _ controller.PCConfig, _ controller.Limits, _ controller.Decision) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.decided[id] = struct{}{}
}
func (t *tickCounter) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.decided)
}

// MeasureHeap builds the daemon for o.Targets targets against the stub and
// runs its loop on a virtual clock, a tick a minute, until every target has
// been read and o.Extra ticks more.
func MeasureHeap(ctx context.Context, o HeapOptions) (Heap, error) {
	if o.Targets <= 0 {
		o.Targets = 10000
	}
	if o.LambdaRPS <= 0 {
		o.LambdaRPS = config.DefaultLambdaRPS
	}
	if o.Extra <= 0 {
		o.Extra = 5
	}
	st := newStub(o.Targets)
	start := DefaultFleet().Start
	clk := sim.NewVirtualClock(start)
	pol := config.DefaultPolicy()
	pol.Max = 100000
	targets := make([]controller.Target, 0, o.Targets)
	for i := range o.Targets {
		targets = append(targets, controller.Target{ID: controller.TargetID{Function: functionName(i), Qualifier: qualifierName(i)}, Policy: pol})
	}
	h := Heap{Targets: o.Targets}
	base := liveHeap()

	cfg := aws.Config{
		Region:       sim.DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSCALE", "scale", ""),
		BaseEndpoint: aws.String("http://stub.invalid"),
	}
	rec := &tickCounter{decided: map[controller.TargetID]struct{}{}}
	lam := awsapi.NewLambda(cfg, o.LambdaRPS, awsapi.WithClock(noWaitClock{clk}), awsapi.WithClientOptions(st.lambdaOption),
		awsapi.WithObserver(rec))
	src, err := pcmetrics.New(cfg, pcmetrics.ProtocolCBOR, pcmetrics.WithClock(clk),
		pcmetrics.WithDerivedUtilization(lam.Allocated), pcmetrics.WithClientOptions(st.cloudwatchOption))
	if err != nil {
		return h, err
	}
	c, err := controller.New(controller.Options{Targets: targets, Store: lam, Metrics: src, Clock: clk, Recorder: rec,
		Interval: config.DefaultInterval, LambdaRPS: o.LambdaRPS})
	if err != nil {
		return h, err
	}

	peak := startPeakSampler()
	var steadyPeak *peakSampler
	var allocAt uint64
	var wallSteady, cpuSteady time.Duration
	steady := 0
	now := clk.Now()
	for h.AllRead == 0 || int(rec.ticks.Load()) < h.AllRead+o.Extra {
		if err := ctx.Err(); err != nil {
			return h, err
		}
		if rec.ticks.Load() > 500 {
			break // not every target read after 500 ticks: report what there is
		}
		next := c.NextWake(now)
		if !next.After(now) {
			next = now.Add(time.Second)
		}
		now = next
		clk.Set(now)
		before := rec.ticks.Load()
		inSteady := h.AllRead > 0
		var ms runtime.MemStats
		var cpu0 time.Duration
		if inSteady {
			runtime.ReadMemStats(&ms)
			cpu0 = processCPU()
		}
		wall := time.Now()
		_ = c.Wake(ctx, now)
		if rec.ticks.Load() == before {
			continue // a probe
		}
		if inSteady {
			wallSteady += time.Since(wall)
			cpuSteady += processCPU() - cpu0
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			allocAt += after.TotalAlloc - ms.TotalAlloc
			steady++
		}
		if h.AllRead == 0 && rec.count() == o.Targets {
			h.AllRead = int(rec.ticks.Load())
			steadyPeak = startPeakSampler()
			if o.OnSteady != nil {
				o.OnSteady()
			}
		}
	}
	h.Ticks = int(rec.ticks.Load())
	h.Failed = int(rec.failed.Load())
	h.PeakMB = mb(peak.stop() - base)
	if steadyPeak != nil {
		h.SteadyPeakMB = mb(steadyPeak.stop() - base)
	}
	h.LiveMB = mb(liveHeap() - base)
	if steady > 0 {
		h.AllocMBPerTick = mb(allocAt / uint64(steady))
		h.WallPerTick = wallSteady / time.Duration(steady)
		h.CPUPerTick = cpuSteady / time.Duration(steady)
	}
	runtime.KeepAlive(c)
	runtime.KeepAlive(lam)
	runtime.KeepAlive(src)
	runtime.KeepAlive(st)
	return h, nil
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// liveHeap is the heap's live bytes after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

type peakSampler struct {
	done chan struct{}
	max  chan uint64
}

// startPeakSampler polls the heap's object bytes every millisecond.
func startPeakSampler() *peakSampler {
	p := &peakSampler{done: make(chan struct{}), max: make(chan uint64, 1)}
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var hi uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			hi = max(hi, s[0].Value.Uint64())
			select {
			case <-p.done:
				p.max <- hi
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) stop() uint64 { close(p.done); return <-p.max }
