package sim

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTrafficDeterministic(t *testing.T) {
	load := Load{Qualifier: "live", Kind: LoadConstant, Rate: 6000, DurationMS: 1500}
	a := NewTraffic(load, 42, t0)
	b := NewTraffic(load, 42, t0)
	c := NewTraffic(load, 43, t0)
	other := load
	other.Qualifier = "prod"
	d := NewTraffic(other, 42, t0)
	same, diffSeed, diffQual := true, 0, 0
	for i := range int64(600) {
		aa, ac := a.Second(i)
		ba, bc := b.Second(i)
		ca, _ := c.Second(i)
		da, _ := d.Second(i)
		same = same && aa == ba && ac == bc
		if aa != ca {
			diffSeed++
		}
		if aa != da {
			diffQual++
		}
	}
	require.True(t, same, "same seed and load must give the same traffic")
	require.Greater(t, diffSeed, 300, "another seed must give other arrivals")
	require.Greater(t, diffQual, 300, "another qualifier must give other arrivals")
}

func TestTrafficRandomAccessMatchesSequential(t *testing.T) {
	for _, ms := range []float64{80, 1000, 2500, 20000} {
		load := Load{Qualifier: "q", Kind: LoadConstant, Rate: 3000, DurationMS: ms}
		seq := NewTraffic(load, 1, t0)
		type sc struct{ a, c int }
		want := map[int64]sc{}
		for i := range int64(200) {
			a, c := seq.Second(i)
			want[i] = sc{a, c}
		}
		ra := NewTraffic(load, 1, t0)
		for _, i := range []int64{150, 3, 199, 3, 0, 77, 78, 79, 20} {
			a, c := ra.Second(i)
			require.Equal(t, want[i], sc{a, c}, "duration %v second %d", ms, i)
		}
	}
}

// Over an hour, arrivals average the rate and concurrency averages λ·D
// (Little's law); the seed is fixed, so these bounds cannot flake.
func TestTrafficMeans(t *testing.T) {
	tests := []struct {
		name       string
		perMinute  float64
		durationMS float64
		eps        float64 // a few standard errors of the mean for this sample size
	}{
		{name: "sub-second small rate", perMinute: 600, durationMS: 200, eps: 0.03},
		{name: "sub-second large rate", perMinute: 60000, durationMS: 250, eps: 0.01},
		{name: "whole seconds", perMinute: 1200, durationMS: 3000, eps: 0.03},
		{name: "fractional seconds", perMinute: 3000, durationMS: 2500, eps: 0.03},
		{name: "tiny rate", perMinute: 3, durationMS: 20000, eps: 0.12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTraffic(Load{Qualifier: "q", Kind: LoadConstant, Rate: tt.perMinute, DurationMS: tt.durationMS}, 9, t0)
			const n = 3600 * 6
			var arr, conc float64
			for i := range int64(n) {
				a, c := tr.Second(i)
				arr += float64(a)
				conc += float64(c)
			}
			lambda := tt.perMinute / 60
			require.InEpsilon(t, lambda, arr/n, tt.eps)
			require.InEpsilon(t, lambda*tt.durationMS/1000, conc/n, tt.eps)
		})
	}
}

func TestTrafficShapes(t *testing.T) {
	tests := []struct {
		name string
		load Load
		at   map[time.Duration]float64 // offset → expected rate per minute
	}{
		{name: "constant", load: Load{Kind: LoadConstant, Rate: 120},
			at: map[time.Duration]float64{0: 120, 5 * time.Hour: 120}},
		{name: "step", load: Load{Kind: LoadStep, Rate: 60, Steps: []StepAt{{At: Duration{Duration: time.Hour}, Rate: 600}, {At: Duration{Duration: 10 * time.Minute}, Rate: 300}}},
			at: map[time.Duration]float64{0: 60, 10 * time.Minute: 300, 59 * time.Minute: 300, time.Hour: 600}},
		{name: "bursts", load: Load{Kind: LoadBursts, Rate: 60, Peak: 6000, Every: Duration{Duration: 30 * time.Minute}, Width: Duration{Duration: 2 * time.Minute}, Offset: Duration{Duration: 5 * time.Minute}},
			at: map[time.Duration]float64{0: 60, 5 * time.Minute: 6000, 7*time.Minute - time.Second: 6000, 7 * time.Minute: 60, 35 * time.Minute: 6000, 38 * time.Minute: 60}},
		{name: "trace", load: Load{Kind: LoadTrace, PerMinute: []float64{10, 20, 30}},
			at: map[time.Duration]float64{0: 10, 90 * time.Second: 20, 2 * time.Minute: 30, 3 * time.Minute: 0}},
		// t0 is 09:00 UTC = 10:00 in Berlin (CET); the peak is at 13:00 local.
		{name: "diurnal", load: Load{Kind: LoadDiurnal, Rate: 100, Peak: 1100, PeakAt: "13:00", Timezone: "Europe/Berlin", Width: Duration{Duration: 2 * time.Hour}},
			at: map[time.Duration]float64{3 * time.Hour: 1100, time.Hour: 100 + 1000*math.Exp(-0.5), 15 * time.Hour: 100 + 1000*math.Exp(-0.5*36)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.load.DurationMS = 100
			tr := NewTraffic(tt.load, 1, t0)
			for off, want := range tt.at {
				require.InDelta(t, want, tr.RatePerMinute(int64(off/time.Second)), 1e-9, "at %s", off)
			}
		})
	}
}

func TestTrafficBurstConcurrency(t *testing.T) {
	// A 2-minute burst to 150 concurrent (375/s × 400 ms) over a baseline of 20.
	tr := NewTraffic(Load{Qualifier: "live", Kind: LoadBursts, DurationMS: 400, Rate: 3000, Peak: 22500,
		Every: Duration{Duration: 30 * time.Minute}, Width: Duration{Duration: 2 * time.Minute}, Offset: Duration{Duration: 10 * time.Minute}}, 1, t0)
	peak := func(from, to int64) int {
		m := 0
		for i := from; i < to; i++ {
			_, c := tr.Second(i)
			m = max(m, c)
		}
		return m
	}
	require.Less(t, peak(0, 600), 45)
	require.Greater(t, peak(600, 720), 140)
	require.Less(t, peak(721, 1800), 45)
}
