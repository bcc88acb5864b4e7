package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

const lookbackN = 180 // three hours of one-minute periods ending at winEnd

// minuteAt is the time of index i of a lookbackN window ending at winEnd.
func minuteAt(i int) time.Time { return winEnd.Add(time.Duration(i-lookbackN) * time.Minute) }

// indexOf is the inverse of minuteAt.
func indexOf(hh, mm int) int {
	return lookbackN + int(time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC).Sub(winEnd)/time.Minute)
}

// trace builds lookbackN periods of base with the given bursts: start index →
// concurrency of each minute of the burst.
func trace(base float64, bursts map[int][]float64) []float64 {
	c := make([]float64, lookbackN)
	for i := range c {
		c[i] = base
	}
	for s, vals := range bursts {
		for j, v := range vals {
			if s+j >= 0 && s+j < lookbackN {
				c[s+j] = v
			}
		}
	}
	return c
}

// every returns bursts of shape every period periods, the last (possibly
// future, so not in the trace) starting at next.
func every(period, next int, shape ...float64) map[int][]float64 {
	m := map[int][]float64{}
	for s := next; s > -period; s -= period {
		m[s] = shape
	}
	return m
}

func TestPredict(t *testing.T) {
	type want struct {
		floor, period, base, releaseFrom int
		release                          bool
		next                             time.Time
	}
	tests := []struct {
		name       string
		conc       []float64
		now        time.Time     // zero: t0
		releaseFor time.Duration // zero: releaseSpan
		want       want
	}{
		{
			name: "every 15 min, next at 12:02: floor open from 12:00 (lead 2m)",
			conc: trace(3, every(15, indexOf(12, 2), 140)),
			want: want{floor: 200, period: 15, base: 5, next: at(12, 2)},
		},
		{
			name: "every 15 min, next at 12:03: not open yet, previous window closed 11 min ago",
			conc: trace(3, every(15, indexOf(12, 3), 140)),
			want: want{period: 15, base: 5},
		},
		{
			name:       "the same, the release held open 13 min (a quiet target's freshness holds): released",
			conc:       trace(3, every(15, indexOf(12, 3), 140)),
			releaseFor: 13 * time.Minute,
			want:       want{period: 15, base: 5, release: true, releaseFrom: 200},
		},
		{
			name: "every 15 min, last at 11:55: window closed at 11:56, release to the base",
			conc: trace(3, every(15, indexOf(11, 55), 140)),
			want: want{period: 15, base: 5, release: true, releaseFrom: 200},
		},
		{
			name: "two-minute bursts: sized by the larger minute, open until both passed",
			conc: trace(3, every(15, indexOf(12, 1), 90, 140)),
			want: want{floor: 200, period: 15, base: 5, next: at(12, 1)},
		},
		{
			name: "burst's tail (under half the peak): floor down to the tail's need, not the base",
			conc: trace(3, every(15, indexOf(11, 58), 140, 40)),
			now:  time.Date(2026, 11, 23, 11, 59, 30, 0, time.UTC),
			want: want{floor: 58, period: 15, base: 58, release: true, releaseFrom: 200},
		},
		{
			name: "the floor holds until the hot minute should be over by the clock",
			conc: trace(3, every(15, indexOf(11, 59), 140, 40)),
			now:  time.Date(2026, 11, 23, 11, 59, 50, 0, time.UTC),
			want: want{floor: 200, period: 15, base: 5, next: at(11, 59)},
		},
		{
			name: "then the tail by the clock, before CloudWatch publishes the hot minute",
			conc: trace(3, every(15, indexOf(11, 59), 140, 40)),
			want: want{floor: 58, period: 15, base: 58, release: true, releaseFrom: 200},
		},
		{
			name: "and the release once the tail should be over, the burst's minutes unpublished",
			conc: trace(3, every(15, indexOf(11, 59), 140, 40)),
			now:  time.Date(2026, 11, 23, 12, 1, 5, 0, time.UTC),
			want: want{period: 15, base: 5, release: true, releaseFrom: 200},
		},
		{
			name: "release: the base counts recent traffic outside the predicted burst",
			conc: func() []float64 {
				c := trace(3, every(15, indexOf(11, 55), 140))
				c[indexOf(11, 57)], c[indexOf(11, 58)] = 40, 30
				return c
			}(),
			want: want{period: 15, base: 58, release: true, releaseFrom: 200},
		},
		{
			name: "size is the largest of the recent cycles",
			conc: func() []float64 {
				c := trace(3, every(15, indexOf(12, 2), 140))
				c[indexOf(11, 32)] = 210
				return c
			}(),
			want: want{floor: 300, period: 15, base: 5, next: at(12, 2)},
		},
		{
			name: "a burst one minute late keeps the schedule (tolerance)",
			conc: func() []float64 {
				m := every(15, indexOf(12, 2), 140)
				delete(m, indexOf(11, 47))
				m[indexOf(11, 48)] = []float64{140}
				return trace(3, m)
			}(),
			want: want{floor: 200, period: 15, base: 5, next: at(12, 2)},
		},
		{
			name: "missing minutes between bursts are zero",
			conc: trace(0, every(15, indexOf(12, 2), 140)),
			want: want{floor: 200, period: 15, base: 0, next: at(12, 2)},
		},
		{
			name: "irregular bursts: no period",
			conc: trace(3, map[int][]float64{7: {140}, 30: {140}, 41: {140}, 72: {140}, 81: {140},
				98: {140}, 124: {140}, 137: {140}, 150: {140}, 171: {140}}),
			want: want{base: 5},
		},
		{
			name: "steady traffic: no bursts",
			conc: trace(50, nil),
			want: want{base: 72},
		},
		{
			name: "too few bursts: two at 15 min are not enough",
			conc: trace(3, map[int][]float64{indexOf(11, 32): {140}, indexOf(11, 47): {140}}),
			want: want{base: 5},
		},
		{
			name: "three bursts at 15 min are",
			conc: trace(3, map[int][]float64{indexOf(11, 17): {140}, indexOf(11, 32): {140}, indexOf(11, 47): {140}}),
			want: want{floor: 200, period: 15, base: 5, next: at(12, 2)},
		},
		{
			name: "three bursts not evenly spaced are not",
			conc: trace(3, map[int][]float64{indexOf(11, 14): {140}, indexOf(11, 34): {140}, indexOf(11, 47): {140}}),
			want: want{base: 5},
		},
		{
			name: "a level change longer than a burst is not a burst",
			conc: trace(3, every(40, indexOf(12, 1), 140, 140, 140, 140, 140, 140, 140, 140, 140, 140, 140, 140)),
			want: want{base: 5},
		},
		{
			name: "small wiggles under the absolute margin are not bursts: the base covers them",
			conc: trace(1, every(15, indexOf(12, 2), 9)),
			want: want{base: 13}, // ceil(9 / 0.7): the newest baseSpan (30) periods hold a wiggle
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			pr := Predict(tc.conc, winEnd, now, time.Minute, 2*time.Minute, tc.releaseFor, 0.70)
			require.Equal(t, tc.want.period, pr.Period, "period; %s", pr.Detail)
			require.Equal(t, tc.want.floor, pr.Floor, "floor; %s", pr.Detail)
			require.Equal(t, tc.want.base, pr.Base, "base")
			require.Equal(t, tc.want.release, pr.Release, "release; %s", pr.Detail)
			require.Equal(t, tc.want.releaseFrom, pr.ReleaseFrom, "release from")
			require.Equal(t, tc.want.next, pr.Next, "next")
			if pr.Floor > 0 || pr.Release {
				require.NotEmpty(t, pr.Detail)
			}
		})
	}
}

func TestPredictDegenerateInputs(t *testing.T) {
	tests := []struct {
		name   string
		conc   []float64
		target float64
		period time.Duration
	}{
		{name: "empty", conc: nil, target: 0.7, period: time.Minute},
		{name: "one point", conc: []float64{500}, target: 0.7, period: time.Minute},
		{name: "zero target", conc: trace(3, every(15, 182, 140)), target: 0, period: time.Minute},
		{name: "zero period", conc: trace(3, every(15, 182, 140)), target: 0.7, period: 0},
		{name: "all zero", conc: make([]float64, 300), target: 0.7, period: time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pr := Predict(tc.conc, winEnd, t0, tc.period, 2*time.Minute, 0, tc.target)
			require.Zero(t, pr.Floor)
			require.False(t, pr.Release)
		})
	}
}

func predictPolicy() config.Policy {
	p := rulesPolicy()
	p.Predict = config.PredictPeriodic
	p.PredictLead = config.Duration{Duration: 2 * time.Minute}
	p.PredictLookback = config.Duration{Duration: 3 * time.Hour}
	p.Max = 1000
	return p
}

// predictInput: a three-hour window of the given concurrency per minute
// (0 = no datapoint), current PC cur changed at changed.
func predictInput(conc []float64, cur int, changed time.Time) Input {
	in := baseInput()
	in.Policy = predictPolicy()
	in.WindowStart = winEnd.Add(-lookbackN * time.Minute)
	in.PC.Requested, in.PC.Allocated, in.PC.Available, in.PC.LastModified = cur, cur, cur, changed
	in.Series.Points = nil
	for i, c := range conc {
		if c <= 0 {
			continue
		}
		u := min(1, c/float64(cur))
		in.Series.Points = append(in.Series.Points, Datapoint{Time: minuteAt(i), Utilization: u, HasUtilization: true,
			Concurrency: c, HasConcurrency: true})
	}
	return in
}

func TestDecidePredicted(t *testing.T) {
	burstAt := func(hh, mm int) []float64 { return trace(3, every(15, indexOf(hh, mm), 140)) }
	tests := []struct {
		name    string
		in      Input
		desired int
		reason  Reason
		action  Action
	}{
		{
			name:    "predicted floor: raised before the burst",
			in:      predictInput(burstAt(12, 2), 5, t0.Add(-6*time.Minute)),
			desired: 200, reason: ReasonPredicted, action: ActPut,
		},
		{
			name: "predicted floor: off by policy",
			in: func() Input {
				in := predictInput(burstAt(12, 2), 5, t0.Add(-6*time.Minute))
				in.Policy.Predict = config.PredictOff
				return in
			}(),
			desired: 5, reason: ReasonInsufficient, action: ActNone,
		},
		{
			name: "predicted floor: never from a partial read",
			in: func() Input {
				in := predictInput(burstAt(12, 2), 5, t0.Add(-6*time.Minute))
				in.Series.Complete = false
				return in
			}(),
			desired: 5, reason: ReasonMetricsMissing, action: ActNone,
		},
		{
			name: "predicted floor below a schedule floor: the schedule's",
			in: func() Input {
				in := predictInput(burstAt(12, 2), 5, t0.Add(-6*time.Minute))
				in.Bounds = Bounds{Floor: 250, HasFloor: true}
				return in
			}(),
			desired: 250, reason: ReasonFloor, action: ActPut,
		},
		{
			name: "predicted floor capped by max",
			in: func() Input {
				in := predictInput(burstAt(12, 2), 5, t0.Add(-6*time.Minute))
				in.Policy.Max = 150
				return in
			}(),
			desired: 150, reason: ReasonPredicted, action: ActPut,
		},
		{
			name:    "release: window closed, back to the base at once (no datapoints, cooldown or step needed)",
			in:      predictInput(burstAt(11, 55), 200, t0.Add(-3*time.Minute)),
			desired: 5, reason: ReasonPredicted, action: ActPut,
		},
		{
			name:    "tail: down to what the burst's tail needs, by the clock",
			in:      predictInput(trace(3, every(15, indexOf(11, 59), 140, 40)), 200, t0.Add(-3*time.Minute)),
			desired: 58, reason: ReasonPredicted, action: ActPut,
		},
		{
			name:    "release: not of PC that last changed before the window opened (something else raised it)",
			in:      predictInput(burstAt(11, 55), 200, t0.Add(-8*time.Minute)),
			desired: 200, reason: ReasonWithinTarget, action: ActNone,
		},
		{
			name: "release: not below min",
			in: func() Input {
				in := predictInput(burstAt(11, 55), 200, t0.Add(-3*time.Minute))
				in.Policy.Min = 20
				return in
			}(),
			desired: 20, reason: ReasonPredicted, action: ActPut,
		},
		{
			name:    "release: not of PC something else raised above the burst's need",
			in:      predictInput(burstAt(11, 55), 400, t0.Add(-3*time.Minute)),
			desired: 400, reason: ReasonInsufficient, action: ActNone,
		},
		{
			name: "release: not while the newest period spilled",
			in: func() Input {
				in := predictInput(burstAt(11, 55), 200, t0.Add(-3*time.Minute))
				n := len(in.Series.Points)
				in.Series.Points[n-1].Concurrency, in.Series.Points[n-1].Utilization = 260, 1
				in.Series.Points[n-1].Spillover = 60
				return in
			}(),
			desired: 372, reason: ReasonSpillover, action: ActPut,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			require.Equal(t, tc.desired, d.Desired, "desired; detail %q", d.Detail)
			require.Equal(t, tc.reason, d.Reason, "reason; detail %q", d.Detail)
			require.Equal(t, tc.action, d.Action, "action")
		})
	}
}

// A burst every 15 minutes on a base of 3: after a few occurrences every
// burst is covered by predicted PC, and between bursts PC is back near the
// base's need instead of held. A restarted controller (no memory) predicts
// the next one from the datapoints alone.
func TestLoopPeriodicBurstPredicted(t *testing.T) {
	burst := func(m time.Time) float64 {
		if m.Before(at(6, 0)) {
			return 0 // the function was deployed at 06:00: no history
		}
		if m.Minute()%15 == 7 {
			return 140
		}
		return 3
	}
	pol := config.DefaultPolicy() // predict: periodic, predict_lead 3m
	pol.Max = 1000
	h := newHarness(t, at(6, 0), 5, burst, func(o *Options) { o.Targets[0].Policy = pol })
	h.run(t, at(6, 0), at(10, 0))

	var covered, late []time.Time
	for m := at(6, 7); m.Before(at(10, 0)); m = m.Add(15 * time.Minute) {
		if h.store.allocated(checkout, m) >= 140 {
			covered = append(covered, m)
		} else {
			late = append(late, m)
		}
	}
	// Three bursts seen (06:07, 06:22, 06:37, each seen two minutes
	// later) predict the 4th: covered from 06:52 on.
	require.LessOrEqual(t, len(late), 3, "covered from the 4th occurrence at the latest; late: %v", late)
	for m := at(6, 52); m.Before(at(10, 0)); m = m.Add(15 * time.Minute) {
		require.GreaterOrEqual(t, h.store.allocated(checkout, m), 140, "burst at %s not covered", m)
		require.GreaterOrEqual(t, h.store.allocated(checkout, m.Add(59*time.Second)), 140, "burst at %s dropped early", m)
		// Between bursts: back to what the base needs.
		require.LessOrEqual(t, h.store.allocated(checkout, m.Add(7*time.Minute)), 10, "held after the burst at %s", m)
	}
	require.Positive(t, h.rec.reasons()[ReasonPredicted])
	// After the first tick the loop reads the decision window and joins its
	// own history of the lookback (history.go), probes aside.
	h.metrics.mu.Lock()
	long := 0
	for _, w := range h.metrics.windows {
		if w > time.Hour {
			long++
		}
	}
	h.metrics.mu.Unlock()
	require.Equal(t, 1, long, "the whole lookback is read once")

	// A new controller over the same function and metrics: no memory.
	h2 := newHarness(t, at(10, 0), 0, burst, func(o *Options) {
		o.Targets[0].Policy = pol
		o.Store, o.Metrics, o.Clock = h.store, h.metrics, h.clock
	})
	h2.run(t, at(10, 0), at(10, 30))
	for _, m := range []time.Time{at(10, 7), at(10, 22)} {
		require.GreaterOrEqual(t, h.store.allocated(checkout, m), 140, "after restart: burst at %s not covered", m)
	}
}

// FuzzPredict: any concurrency series, period and target: no panic, and a
// floor only with a detected period.
func FuzzPredict(f *testing.F) {
	f.Add([]byte{3, 3, 140, 3, 3, 3, 140, 3, 3, 3, 140, 3, 3, 3, 140}, 5, 0.7, int64(120))
	f.Add([]byte{}, 0, 0.0, int64(0))
	f.Add([]byte{255, 0, 255, 0}, -1, -1.0, int64(-60))
	f.Fuzz(func(t *testing.T, raw []byte, scale int, target float64, leadSec int64) {
		conc := make([]float64, 0, len(raw)*4)
		for range 4 { // four repeats: long enough for a period to show
			for _, b := range raw {
				conc = append(conc, float64(b)*float64(scale))
			}
		}
		pr := Predict(conc, winEnd, t0, time.Minute, time.Duration(leadSec)*time.Second, 0, target)
		if pr.Floor != 0 && pr.Period == 0 {
			t.Fatalf("floor %d without a period", pr.Floor)
		}
	})
}

func TestReleaseFor(t *testing.T) {
	for _, tc := range []struct {
		maxLag, want time.Duration
	}{
		{maxLag: 0, want: 13 * time.Minute}, // the default 5m: 2 × 5 + 3
		{maxLag: time.Minute, want: 10 * time.Minute},
		{maxLag: 20 * time.Minute, want: 43 * time.Minute},
	} {
		require.Equal(t, tc.want, releaseFor(Input{MaxLag: tc.maxLag}, time.Minute), "metrics_max_lag %s", tc.maxLag)
	}
}
