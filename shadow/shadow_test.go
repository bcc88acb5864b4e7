package shadow

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

const (
	fn, qual = "checkout-api", "live"
	fixedPC  = 60 // the other controller's value, never changed
)

// loads of the simulated day: a diurnal day (~10 concurrent at night,
// ~200 at 13:00 UTC), and 2-minute bursts to ~150 every 45 minutes over
// ~20 (where ours spills too, at each burst's onset).
var loads = []struct {
	name   string
	load   sim.Load
	deploy bool // an alias move to version 2 at 10:00 (a Terraform apply)
	// spillTol: ours' spillover tolerance. The move is seen at the first
	// read after it (here 5 s late), so ours is taken as reallocating 55 of
	// the 60 seconds it really was: -6.9% on a day whose only spill of ours
	// is that minute.
	spillTol float64
}{
	{"diurnal", sim.Load{Qualifier: qual, Kind: "diurnal", DurationMS: 250, Rate: 2400, Peak: 48000,
		PeakAt: "13:00", Timezone: "UTC", Width: sim.Duration{Duration: 3 * time.Hour}}, false, 0.05},
	{"bursts", sim.Load{Qualifier: qual, Kind: "bursts", DurationMS: 400, Rate: 3000, Peak: 22500,
		Every: sim.Duration{Duration: 45 * time.Minute}, Width: sim.Duration{Duration: 2 * time.Minute},
		Offset: sim.Duration{Duration: 10 * time.Minute}}, false, 0.05},
	{"diurnal with an alias move", sim.Load{Qualifier: qual, Kind: "diurnal", DurationMS: 250, Rate: 2400, Peak: 48000,
		PeakAt: "13:00", Timezone: "UTC", Width: sim.Duration{Duration: 3 * time.Hour}}, true, 0.10},
}

var dayStart = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// scenario: one alias with load whose PC the "other controller" holds at
// fixedPC all day.
func scenario(load sim.Load, deploy bool) *sim.Scenario {
	sc := sim.DefaultScenario()
	sc.Seed = 7
	sc.Faults = nil
	sc.Functions = []sim.FunctionSpec{{
		Name: fn, MemoryMB: 1024, Versions: 1,
		Aliases:     []sim.AliasSpec{{Name: qual, Version: "1"}},
		Provisioned: map[string]int{qual: fixedPC},
		Loads:       []sim.Load{load},
	}}
	if deploy {
		sc.Functions[0].Versions = 2
		sc.Deploys.Script = []sim.DeploySpec{{At: sim.Duration{Duration: 10 * time.Hour}, Function: fn, Alias: qual, ToVersion: "2"}}
	}
	return sc
}

func policy(t *testing.T) config.Policy {
	t.Helper()
	cfg, err := config.Parse([]byte("targets:\n  - {function: " + fn + ", qualifier: " + qual + ", min: 1, max: 400}\n"))
	require.NoError(t, err)
	return cfg.Targets[0].Policy
}

// day runs the real controller on the world for a simulated day, as the
// daemon's Run loop does (NextWake, Wake) on the virtual clock.
func day(t *testing.T, w *sim.World, clk *sim.VirtualClock, store controller.PCStore, ms controller.MetricSource) {
	t.Helper()
	ctx := context.Background()
	c, err := controller.New(controller.Options{
		Targets: []controller.Target{{ID: controller.TargetID{Function: fn, Qualifier: qual}, Policy: policy(t)}},
		Store:   store, Metrics: ms, Clock: clk, Workers: 1,
	})
	require.NoError(t, err)
	end := dayStart.Add(24*time.Hour + 5*time.Minute)
	for now := dayStart; now.Before(end); {
		next := c.NextWake(now)
		if !next.After(now) {
			next = now.Add(time.Second)
		}
		now = next
		clk.Set(now)
		_ = c.Wake(ctx, now)
	}
	w.AdvanceTo(end)
}

// truth sums the simulator's own per-minute accounting over [from, to).
func truth(w *sim.World, from, to time.Time) (pcSeconds, spill float64) {
	for _, m := range w.Minutes(fn, qual) {
		if !m.Start.Before(from) && m.Start.Before(to) {
			pcSeconds += m.PCAllocated * 60
			spill += float64(m.Spillover)
		}
	}
	return pcSeconds, spill
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	t.Logf("%-22s shadow %12.1f  simulator %12.1f  (%+.2f%%)", what, got, want, 100*(got-want)/math.Max(want, 1e-9))
	require.InDelta(t, want, got, tol*want, what)
}

// TestShadowDay: shadow mode next to a fixed-PC other controller for a
// simulated day. Theirs is checked against the world it ran in; ours
// against a second world, same seed, where the controller wrote for real.
func TestShadowDay(t *testing.T) {
	if testing.Short() {
		t.Skip("two simulated days of the controller; skipped with -short")
	}
	for _, tc := range loads {
		t.Run(tc.name, func(t *testing.T) {
			id := controller.TargetID{Function: fn, Qualifier: qual}

			// Shadow: nothing reaches the world; its PC stays fixedPC.
			clkA := sim.NewVirtualClock(dayStart)
			wA, err := sim.NewWorld(scenario(tc.load, tc.deploy), clkA)
			require.NoError(t, err)
			realA, msA := wA.InProcess()
			sh := New(realA, Options{Clock: clkA})
			day(t, wA, clkA, sh, NewMetrics(msA, sh))
			for _, wr := range wA.WriteLog() {
				require.Failf(t, "shadow mode wrote to Lambda", "%+v", wr)
			}
			rep := sh.Report(dayStart)
			require.Len(t, rep.Rows, 1)
			row := rep.Rows[0]
			require.Equal(t, id.String(), row.Target)
			require.Equal(t, fixedPC, row.TheirsNow)
			// The booked span: every minute from the first after the first read.
			from := dayStart.Add(time.Minute)
			to := from.Add(time.Duration(row.Minutes) * time.Minute)
			require.GreaterOrEqual(t, row.Minutes, 24*60-5, "minutes booked")

			// Normal: the same controller writes to a second world, same seed.
			clkB := sim.NewVirtualClock(dayStart)
			wB, err := sim.NewWorld(scenario(tc.load, tc.deploy), clkB)
			require.NoError(t, err)
			realB, msB := wB.InProcess()
			day(t, wB, clkB, realB, msB)

			_, theirsSpill := truth(wA, from, to)
			_, oursSpill := truth(wB, from, to)
			// PC is booked by time, from the first read to the last.
			pcFrom, pcTo := row.PCFrom.Truncate(time.Minute).Add(time.Minute), row.PCTo.Truncate(time.Minute)
			theirsPC, _ := truth(wA, pcFrom, pcTo)
			oursPC, _ := truth(wB, pcFrom, pcTo)
			within(t, "theirs PC-hours", row.Theirs.PCSeconds/3600, theirsPC/3600, 0.05)
			within(t, "theirs spillover", row.Theirs.Spillover, theirsSpill, 0.05)
			within(t, "theirs spillover (CW)", row.TheirsMeasured, theirsSpill, 0.05)
			within(t, "ours PC-hours", row.Ours.PCSeconds/3600, oursPC/3600, 0.05)
			within(t, "ours spillover (est)", row.Ours.Spillover, oursSpill, tc.spillTol)
			// The comparison means something: the fixed PC spills at the peak and
			// idles at night, ours follows the day.
			require.Greater(t, row.Theirs.Spillover, row.Ours.Spillover)
		})
	}
}

// TestCollector: the totals as Prometheus series, both sides.
func TestCollector(t *testing.T) {
	clk := sim.NewVirtualClock(dayStart)
	w, err := sim.NewWorld(scenario(loads[0].load, false), clk)
	require.NoError(t, err)
	real, _ := w.InProcess()
	sh := New(real, Options{Clock: clk})
	ctx := context.Background()
	id := controller.TargetID{Function: fn, Qualifier: qual}
	_, err = sh.GetPC(ctx, id)
	require.NoError(t, err)
	_, err = sh.PutPC(ctx, id, 30) // a decrease: at once
	require.NoError(t, err)
	clk.Set(dayStart.Add(time.Hour))
	w.AdvanceTo(dayStart.Add(time.Hour))
	_, err = sh.GetPC(ctx, id)
	require.NoError(t, err)
	require.NoError(t, testutil.CollectAndCompare(NewCollector(sh), strings.NewReader(`
# HELP pcautoscaler_shadow_pc_requested Shadow mode: provisioned concurrency requested now, ours (virtual) and theirs (read from Lambda).
# TYPE pcautoscaler_shadow_pc_requested gauge
pcautoscaler_shadow_pc_requested{function="checkout-api",qualifier="live",side="ours"} 30
pcautoscaler_shadow_pc_requested{function="checkout-api",qualifier="live",side="theirs"} 60
# HELP pcautoscaler_shadow_pc_seconds_total Shadow mode: allocated PC integrated over time (instance-seconds), ours and theirs.
# TYPE pcautoscaler_shadow_pc_seconds_total counter
pcautoscaler_shadow_pc_seconds_total{function="checkout-api",qualifier="live",side="ours"} 108000
pcautoscaler_shadow_pc_seconds_total{function="checkout-api",qualifier="live",side="theirs"} 216000
`), "pcautoscaler_shadow_pc_requested", "pcautoscaler_shadow_pc_seconds_total"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(sh))
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	require.ElementsMatch(t, Names(), names)
}
