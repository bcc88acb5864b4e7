package controller

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/config"
)

var (
	t0     = time.Date(2026, 11, 23, 12, 0, 5, 0, time.UTC)  // a tick: boundary + 5 s
	winEnd = time.Date(2026, 11, 23, 11, 59, 0, 0, time.UTC) // lag 1: 11:59 not complete yet
)

// rulesPolicy is the explicit policy the rule-by-rule cases are written
// against (15 datapoints in, 25% steps: the rules' original defaults). The
// freshness tests run the shipped config.DefaultPolicy().
func rulesPolicy() config.Policy {
	return config.Policy{
		Statistic:          config.StatMaximum,
		TargetUtilization:  0.70,
		ScaleInRatio:       0.90,
		ScaleOutDatapoints: 2,
		ScaleInDatapoints:  15,
		ScaleInCooldown:    config.Duration{Duration: 5 * time.Minute},
		MaxScaleInStep:     config.Step{Percent: 25},
		MissingData:        config.MissingIdle,
		IdleAfter:          config.Duration{Duration: 30 * time.Minute},
		Min:                1,
		Max:                100,
	}
}

// baseInput: 10 PC, READY, changed two hours ago, 45 min window, no points.
func baseInput() Input {
	return Input{
		Now:         t0,
		Period:      time.Minute,
		WindowStart: winEnd.Add(-45 * time.Minute),
		WindowEnd:   winEnd,
		Policy:      rulesPolicy(),
		PC: PCConfig{Exists: true, Requested: 10, Allocated: 10, Available: 10, Status: StatusReady,
			LastModified: t0.Add(-2 * time.Hour)},
		Series: Series{Complete: true},
	}
}

// p is one minute's datapoint: utilization u, max concurrency c, spillover s.
func p(u, c, s float64) *Datapoint {
	return &Datapoint{Utilization: u, HasUtilization: true, Concurrency: c, HasConcurrency: true,
		Spillover: s, Invocations: 100, HasInvocations: true}
}

// withPoints puts pts into the window so the last one is the newest complete
// period; a nil entry is a minute Lambda published nothing for.
func withPoints(in *Input, pts ...*Datapoint) {
	in.Series.Points = nil
	for i, pt := range pts {
		if pt == nil {
			continue
		}
		dp := *pt
		dp.Time = in.WindowEnd.Add(-time.Duration(len(pts)-i) * time.Minute)
		in.Series.Points = append(in.Series.Points, dp)
	}
}

func repeat(n int, pt *Datapoint) []*Datapoint {
	out := make([]*Datapoint, n)
	for i := range out {
		out[i] = pt
	}
	return out
}

func intp(n int) *int { return &n }

func TestDecide(t *testing.T) {
	type want struct {
		desired     int
		reason      Reason
		action      Action
		constrained bool
		detail      string // substring, optional
	}
	tests := []struct {
		name string
		mod  func(in *Input)
		want want
	}{
		{
			name: "within target: deadband between 0.63 and 0.70 holds",
			mod:  func(in *Input) { withPoints(in, repeat(20, p(0.65, 7, 0))...) },
			want: want{desired: 10, reason: ReasonWithinTarget, action: ActNone},
		},
		{
			name: "rule1 IN_PROGRESS holds (allocating) even when saturated",
			mod: func(in *Input) {
				in.PC.Status, in.PC.Allocated = StatusInProgress, 4
				withPoints(in, p(1, 30, 50), p(1, 30, 50))
			},
			want: want{desired: 10, reason: ReasonAllocating, action: ActNone},
		},
		{
			name: "rule1 IN_PROGRESS holds even below the floor",
			mod: func(in *Input) {
				in.PC.Status = StatusInProgress
				in.Bounds = Bounds{Floor: 50, HasFloor: true}
			},
			want: want{desired: 10, reason: ReasonAllocating, action: ActNone},
		},
		{
			name: "rule2 datapoints older than the last change are ignored",
			mod: func(in *Input) {
				// Changed at 11:57:35: only the 11:58 period describes the new capacity.
				in.PC.LastModified = time.Date(2026, 11, 23, 11, 57, 35, 0, time.UTC)
				withPoints(in, p(0.9, 9, 0), p(0.9, 9, 0))
			},
			want: want{desired: 10, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule2 settled time from memory (READY seen) also cuts the window",
			mod: func(in *Input) {
				in.State.SettledAt = time.Date(2026, 11, 23, 11, 57, 10, 0, time.UTC)
				withPoints(in, p(0.9, 9, 0), p(0.9, 9, 0))
			},
			want: want{desired: 10, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule2 saturated demand while the change allocated still asks for more (concurrency)",
			mod: func(in *Input) {
				// 10→43 at 11:55:05, READY seen 11:57:05: 11:56 and 11:57 ran on the
				// old capacity, but their concurrency (45) is demand.
				in.PC.Requested = 43
				in.PC.LastModified = time.Date(2026, 11, 23, 11, 55, 5, 0, time.UTC)
				in.State.SettledAt = time.Date(2026, 11, 23, 11, 57, 5, 0, time.UTC)
				withPoints(in, p(1, 45, 300), p(1, 40, 200), p(0.65, 28, 0))
			},
			want: want{desired: 65, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "rule2 utilization while the change allocated never counts (no staircase)",
			mod: func(in *Input) {
				// Same, demand 30: the old capacity was saturated, but 43 covers it.
				// Counting u=1 against the new 43 would ask for 62.
				in.PC.Requested = 43
				in.PC.LastModified = time.Date(2026, 11, 23, 11, 55, 5, 0, time.UTC)
				in.State.SettledAt = time.Date(2026, 11, 23, 11, 57, 5, 0, time.UTC)
				withPoints(in, p(1, 30, 300), p(1, 30, 200), p(0.69, 30, 0))
			},
			want: want{desired: 43, reason: ReasonWithinTarget, action: ActNone},
		},
		{
			name: "rule3 scale out ceil(current×u/target) 10→13",
			mod:  func(in *Input) { withPoints(in, p(0.85, 9, 0), p(0.85, 9, 0)) },
			want: want{desired: 13, reason: ReasonUtilization, action: ActPut},
		},
		{
			name: "rule3 scale out needs scale_out_datapoints above target",
			mod:  func(in *Input) { withPoints(in, p(0.6, 6, 0), p(0.85, 9, 0)) },
			want: want{desired: 10, reason: ReasonWithinTarget, action: ActNone},
		},
		{
			name: "rule3 saturation jump 10→43 from concurrent executions",
			mod:  func(in *Input) { withPoints(in, p(1, 30, 0), p(1, 28, 0)) },
			want: want{desired: 43, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "rule3 saturation at u ≥ 0.99 counts as saturated",
			mod:  func(in *Input) { withPoints(in, p(0.995, 30, 0), p(0.995, 30, 0)) },
			want: want{desired: 43, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "rule3 spillover fast path: a single datapoint with spillover jumps",
			mod:  func(in *Input) { withPoints(in, p(0.5, 5, 0), p(1, 30, 120)) },
			want: want{desired: 43, reason: ReasonSpillover, action: ActPut},
		},
		{
			name: "rule3 spillover fast path right after a change (one period settled)",
			mod: func(in *Input) {
				in.PC.LastModified = time.Date(2026, 11, 23, 11, 57, 30, 0, time.UTC)
				withPoints(in, p(1, 30, 120), p(1, 30, 120))
			},
			want: want{desired: 43, reason: ReasonSpillover, action: ActPut},
		},
		{
			name: "rule3 max_scale_out_step limits the jump 10→20",
			mod: func(in *Input) {
				in.Policy.MaxScaleOutStep = config.Step{Absolute: 10}
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 20, reason: ReasonSaturated, action: ActPut, detail: "max_scale_out_step 10"},
		},
		{
			name: "rule4 scale in puts the window's max u at the low threshold 20→18",
			mod: func(in *Input) {
				in.PC.Requested = 20
				pts := repeat(15, p(0.3, 6, 0))
				pts[3] = p(0.55, 11, 0)
				withPoints(in, pts...)
			},
			want: want{desired: 18, reason: ReasonUtilization, action: ActPut},
		},
		{
			name: "rule4 max_scale_in_step 25% limits 100→75",
			mod: func(in *Input) {
				in.PC.Requested = 100
				withPoints(in, repeat(15, p(0.1, 10, 0))...)
			},
			want: want{desired: 75, reason: ReasonUtilization, action: ActPut},
		},
		{
			name: "rule4 one period above target×ratio breaks the run",
			mod: func(in *Input) {
				in.PC.Requested = 20
				pts := repeat(15, p(0.3, 6, 0))
				pts[7] = p(0.65, 13, 0)
				withPoints(in, pts...)
			},
			want: want{desired: 20, reason: ReasonWithinTarget, action: ActNone},
		},
		{
			name: "rule4 too few low periods since the change",
			mod: func(in *Input) {
				in.PC.Requested = 20
				in.PC.LastModified = winEnd.Add(-10 * time.Minute)
				withPoints(in, repeat(15, p(0.3, 6, 0))...)
			},
			want: want{desired: 20, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule5 failed or partial metrics read holds, never scales in",
			mod: func(in *Input) {
				in.PC.Requested = 100
				withPoints(in, repeat(15, p(0.1, 10, 0))...)
				in.Series.Complete = false
			},
			want: want{desired: 100, reason: ReasonMetricsMissing, action: ActNone},
		},
		{
			name: "rule5 failed metrics read still honours a floor",
			mod: func(in *Input) {
				in.Series.Complete = false
				in.Bounds = Bounds{Floor: 50, HasFloor: true}
			},
			want: want{desired: 50, reason: ReasonFloor, action: ActPut},
		},
		{
			name: "rule5 idle: minutes without invocations neither count nor break a scale-in run",
			mod: func(in *Input) {
				in.PC.Requested = 8
				pts := repeat(9, p(0.3, 3, 0))
				pts = append(pts, nil, nil, nil, nil, nil)
				pts = append(pts, repeat(6, p(0.2, 2, 0))...)
				withPoints(in, pts...)
			},
			want: want{desired: 6, reason: ReasonUtilization, action: ActPut},
		},
		{
			name: "rule5 idle: missing minutes after the newest datapoint may be late, not quiet",
			mod: func(in *Input) {
				in.PC.Requested = 8
				pts := repeat(14, p(0.3, 3, 0))
				pts = append(pts, nil)
				withPoints(in, pts...)
			},
			want: want{desired: 8, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule5 idle: a published zero-invocation minute is quiet even at the end",
			mod: func(in *Input) {
				in.PC.Requested = 8
				pts := repeat(15, p(0.3, 3, 0))
				pts = append(pts, &Datapoint{HasInvocations: true})
				withPoints(in, pts...)
			},
			want: want{desired: 6, reason: ReasonUtilization, action: ActPut},
		},
		{
			name: "rule5 hold: minutes without invocations break the run",
			mod: func(in *Input) {
				in.Policy.MissingData = config.MissingHold
				in.PC.Requested = 8
				pts := repeat(9, p(0.3, 3, 0))
				pts = append(pts, nil, nil, nil, nil, nil, p(0.2, 2, 0))
				withPoints(in, pts...)
			},
			want: want{desired: 8, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule5 idle_after: no invocations for 30m → effective floor at once",
			mod:  func(in *Input) { in.PC.Requested = 40 },
			want: want{desired: 1, reason: ReasonIdle, action: ActPut},
		},
		{
			name: "rule5 idle_after goes to an active floor, not below",
			mod: func(in *Input) {
				in.PC.Requested = 40
				in.Bounds = Bounds{Floor: 5, HasFloor: true}
			},
			want: want{desired: 5, reason: ReasonIdle, action: ActPut},
		},
		{
			name: "rule5 idle_after not reached (invocations 20 min ago): hold",
			mod: func(in *Input) {
				in.PC.Requested = 40
				pts := []*Datapoint{p(0.3, 12, 0)}
				pts = append(pts, repeat(19, nil)...)
				withPoints(in, pts...)
			},
			want: want{desired: 40, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule5 idle_after uses remembered invocations older than the window",
			mod: func(in *Input) {
				in.PC.Requested = 40
				in.State.LastInvocation = winEnd.Add(-25 * time.Minute)
			},
			want: want{desired: 40, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule5 hold: no invocations at all never scales in (AAS behaviour)",
			mod: func(in *Input) {
				in.Policy.MissingData = config.MissingHold
				in.PC.Requested = 40
			},
			want: want{desired: 40, reason: ReasonInsufficient, action: ActNone},
		},
		{
			name: "rule6 floor window opening moves in at once",
			mod: func(in *Input) {
				in.Bounds = Bounds{Floor: 50, HasFloor: true}
				withPoints(in, repeat(20, p(0.65, 7, 0))...)
			},
			want: want{desired: 50, reason: ReasonFloor, action: ActPut},
		},
		{
			name: "rule6 ceiling lowers at once",
			mod: func(in *Input) {
				in.Bounds = Bounds{Ceiling: 5, HasCeiling: true}
				withPoints(in, repeat(20, p(0.65, 7, 0))...)
			},
			want: want{desired: 5, reason: ReasonCeiling, action: ActPut},
		},
		{
			name: "rule6 config max caps a jump: the cause stays the reason, constrained",
			mod: func(in *Input) {
				in.Policy.Max = 30
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 30, reason: ReasonSaturated, action: ActPut, constrained: true, detail: "capped at effective max 30 (max)"},
		},
		{
			name: "rule6 reserved concurrency − other PC caps and constrains",
			mod: func(in *Input) {
				in.Limits = Limits{Known: true, Reserved: intp(40), OtherPC: 10, AccountUnreserved: 900}
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 30, reason: ReasonSaturated, action: ActPut, constrained: true, detail: "reserved"},
		},
		{
			name: "rule6 account unreserved − 100 (− other qualifiers' PC) caps and constrains",
			mod: func(in *Input) {
				in.Limits = Limits{Known: true, AccountUnreserved: 150, OtherPC: 20}
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 30, reason: ReasonSaturated, action: ActPut, constrained: true, detail: "account"},
		},
		{
			name: "rule6 effective min above effective max: use max, constrained",
			mod: func(in *Input) {
				in.Bounds = Bounds{Floor: 50, HasFloor: true}
				in.Limits = Limits{Known: true, Reserved: intp(30)}
			},
			want: want{desired: 30, reason: ReasonFloor, action: ActPut, constrained: true},
		},
		{
			name: "rule6 a manual change above max moves in at once",
			mod: func(in *Input) {
				in.PC.Requested, in.PC.LastModified = 300, t0.Add(-time.Minute)
			},
			want: want{desired: 100, reason: ReasonCeiling, action: ActPut},
		},
		{
			name: "rule7 no scale-in within scale_in_cooldown, rebuilt from LastModified after restart",
			mod: func(in *Input) {
				// Idle for long, but Lambda says the config changed 3 minutes ago;
				// State is empty as after a restart.
				in.PC.Requested, in.PC.LastModified = 40, t0.Add(-3*time.Minute)
			},
			want: want{desired: 40, reason: ReasonCooldown, action: ActNone},
		},
		{
			name: "rule7 scale-in after scale_in_cooldown",
			mod: func(in *Input) {
				in.PC.Requested, in.PC.LastModified = 40, t0.Add(-6*time.Minute)
			},
			want: want{desired: 1, reason: ReasonIdle, action: ActPut},
		},
		{
			name: "rule7 floors ignore cooldowns",
			mod: func(in *Input) {
				in.PC.LastModified = t0.Add(-30 * time.Second)
				in.State = State{LastChange: in.PC.LastModified, LastFrom: 8, LastTo: 10, LastDirection: DirOut}
				in.Policy.ScaleOutCooldown = config.Duration{Duration: 10 * time.Minute}
				in.Bounds = Bounds{Floor: 50, HasFloor: true}
			},
			want: want{desired: 50, reason: ReasonFloor, action: ActPut},
		},
		{
			name: "rule7 ceilings ignore the scale-in cooldown",
			mod: func(in *Input) {
				in.PC.Requested, in.PC.LastModified = 40, t0.Add(-30*time.Second)
				in.Bounds = Bounds{Ceiling: 20, HasCeiling: true}
			},
			want: want{desired: 20, reason: ReasonCeiling, action: ActPut},
		},
		{
			name: "rule7 within scale_out_cooldown a smaller scale-out is held",
			mod: func(in *Input) {
				in.Policy.ScaleOutCooldown = config.Duration{Duration: 10 * time.Minute}
				in.PC.LastModified = t0.Add(-4 * time.Minute)
				in.State = State{LastChange: in.PC.LastModified, LastFrom: 7, LastTo: 10, LastDirection: DirOut}
				withPoints(in, p(0.85, 9, 0), p(0.85, 9, 0))
			},
			want: want{desired: 10, reason: ReasonCooldown, action: ActNone},
		},
		{
			name: "rule7 within scale_out_cooldown a larger scale-out goes through",
			mod: func(in *Input) {
				in.Policy.ScaleOutCooldown = config.Duration{Duration: 10 * time.Minute}
				in.PC.LastModified = t0.Add(-4 * time.Minute)
				in.State = State{LastChange: in.PC.LastModified, LastFrom: 7, LastTo: 10, LastDirection: DirOut}
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 43, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "rule7 after scale_out_cooldown a small scale-out goes through",
			mod: func(in *Input) {
				in.Policy.ScaleOutCooldown = config.Duration{Duration: 3 * time.Minute}
				in.PC.LastModified = t0.Add(-4 * time.Minute)
				in.State = State{LastChange: in.PC.LastModified, LastFrom: 7, LastTo: 10, LastDirection: DirOut}
				withPoints(in, p(0.85, 9, 0), p(0.85, 9, 0))
			},
			want: want{desired: 13, reason: ReasonUtilization, action: ActPut},
		},
		{
			name: "rule8 not configured and desired ≥ 1: Put creates at min",
			mod: func(in *Input) {
				in.Policy.MissingData = config.MissingHold
				in.PC = PCConfig{}
			},
			want: want{desired: 1, reason: ReasonFloor, action: ActPut},
		},
		{
			name: "rule8 not configured with traffic: Put creates from concurrent executions",
			mod: func(in *Input) {
				in.PC = PCConfig{}
				c := Datapoint{Concurrency: 14, HasConcurrency: true, Invocations: 300, HasInvocations: true}
				withPoints(in, &c, &c)
			},
			want: want{desired: 20, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "rule8 desired 0 with allow_zero deletes",
			mod: func(in *Input) {
				in.Policy.Min, in.Policy.AllowZero = 0, true
			},
			want: want{desired: 0, reason: ReasonIdle, action: ActDelete},
		},
		{
			name: "rule8 desired 0 without allow_zero keeps 1",
			mod:  func(in *Input) { in.Policy.Min = 0 },
			want: want{desired: 1, reason: ReasonIdle, action: ActPut},
		},
		{
			name: "rule8 not configured, desired 0, allow_zero: nothing to do",
			mod: func(in *Input) {
				in.Policy.Min, in.Policy.AllowZero = 0, true
				in.PC = PCConfig{}
			},
			want: want{desired: 0, reason: ReasonIdle, action: ActNone},
		},
		{
			name: "rule8 FAILED within backoff holds and surfaces StatusReason",
			mod: func(in *Input) {
				in.PC.Status, in.PC.StatusReason, in.PC.Allocated = StatusFailed, "FUNCTION_ERROR_INIT_FAILURE", 0
				in.State.FailedUntil = t0.Add(time.Minute)
			},
			want: want{desired: 10, reason: ReasonFailedBackoff, action: ActNone, detail: "FUNCTION_ERROR_INIT_FAILURE"},
		},
		{
			name: "rule8 FAILED after backoff retries the same value",
			mod: func(in *Input) {
				in.Policy.MissingData = config.MissingHold
				in.PC.Status, in.PC.StatusReason, in.PC.Allocated = StatusFailed, "FUNCTION_ERROR_INIT_FAILURE", 0
				in.State.FailedUntil, in.State.FailedAttempts = t0.Add(-time.Second), 2
			},
			want: want{desired: 10, reason: ReasonInsufficient, action: ActPut, detail: "retrying FAILED allocation"},
		},
		{
			name: "rejected: a refused value is not repeated: bisect toward it",
			mod: func(in *Input) {
				in.State.Rejected, in.State.RejectedAt = 43, t0.Add(-time.Minute)
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 26, reason: ReasonSaturated, action: ActPut, constrained: true, detail: "Lambda refused 43: trying 26"},
		},
		{
			name: "rejected: nor a larger one on the way up",
			mod: func(in *Input) {
				in.State.Rejected, in.State.RejectedAt = 40, t0.Add(-time.Minute)
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 25, reason: ReasonSaturated, action: ActPut, constrained: true},
		},
		{
			name: "rejected: one below the refused value is the largest accepted: hold there",
			mod: func(in *Input) {
				in.State.Rejected, in.State.RejectedAt = 11, t0.Add(-time.Minute)
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 10, reason: ReasonRejected, action: ActNone, constrained: true},
		},
		{
			name: "rejected: a smaller value is still tried",
			mod: func(in *Input) {
				in.State.Rejected, in.State.RejectedAt = 50, t0.Add(-time.Minute)
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 43, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "rejected: tried again after RejectRetry",
			mod: func(in *Input) {
				in.State.Rejected, in.State.RejectedAt = 43, t0.Add(-RejectRetry-time.Second)
				withPoints(in, p(1, 30, 0), p(1, 30, 0))
			},
			want: want{desired: 43, reason: ReasonSaturated, action: ActPut},
		},
		{
			name: "throttled: no call before the backoff ends",
			mod: func(in *Input) {
				in.State.ThrottledUntil = t0.Add(30 * time.Second)
				in.Bounds = Bounds{Floor: 50, HasFloor: true}
			},
			want: want{desired: 10, reason: ReasonThrottled, action: ActNone},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := baseInput()
			tc.mod(&in)
			d := Decide(in)
			require.Equal(t, tc.want.desired, d.Desired, "desired; detail %q", d.Detail)
			require.Equal(t, tc.want.reason, d.Reason, "reason; detail %q", d.Detail)
			require.Equal(t, tc.want.action, d.Action, "action")
			require.Equal(t, tc.want.constrained, d.Constrained, "constrained")
			if tc.want.detail != "" {
				require.Contains(t, d.Detail, tc.want.detail)
			}
			require.Equal(t, in.PC.Requested*boolInt(in.PC.Exists), d.Current)
			switch {
			case d.Desired > d.Current:
				require.Equal(t, DirOut, d.Direction)
			case d.Desired < d.Current:
				require.Equal(t, DirIn, d.Direction)
			default:
				require.Equal(t, DirNone, d.Direction)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDecideVersusAAS shows the one-step jump: demand 30 on 10 PC. AAS's
// utilization caps at 1.0, so each of its steps grows at most ×1/0.7; it
// needs four steps (each after 3 datapoints and an allocation) where
// Decide needs one.
func TestDecideVersusAAS(t *testing.T) {
	tests := []struct {
		name     string
		from     int
		demand   float64
		aasSteps []int
	}{
		{name: "10 to 43 with demand 30", from: 10, demand: 30, aasSteps: []int{15, 22, 32, 43}},
		{name: "5 to 143 with demand 100", from: 5, demand: 100, aasSteps: []int{8, 12, 18, 26, 38, 55, 79, 113, 143}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// AAS emulation: desired = ceil(current × min(1, demand/current) / 0.7).
			var steps []int
			for cur := tc.from; ; {
				u := min(1, tc.demand/float64(cur))
				next := ceilDiv(float64(cur)*u, 0.7)
				if next == cur {
					break
				}
				steps = append(steps, next)
				cur = next
			}
			require.Equal(t, tc.aasSteps, steps)

			in := baseInput()
			in.Policy.Max = 1000
			in.PC.Requested, in.PC.Allocated = tc.from, tc.from
			sat := p(1, tc.demand, 0)
			withPoints(&in, sat, sat)
			d := Decide(in)
			require.Equal(t, ReasonSaturated, d.Reason)
			require.Equal(t, tc.aasSteps[len(tc.aasSteps)-1], d.Desired, "one step reaches AAS's final value")
		})
	}
}

// TestDecideNeverPanics walks odd inputs: zero values, negative counts,
// huge values, misaligned points.
func TestDecideNeverPanics(t *testing.T) {
	tests := []struct {
		name string
		in   Input
	}{
		{name: "zero input", in: Input{}},
		{name: "zero window with points", in: Input{Now: t0, Series: Series{Complete: true, Points: []Datapoint{{Time: t0.Add(-3 * time.Minute), Utilization: 5, HasUtilization: true}}}}},
		{name: "negative policy", in: Input{Now: t0, Policy: config.Policy{Min: -5, Max: -1, TargetUtilization: -1}, PC: PCConfig{Exists: true, Requested: -3}}},
		{name: "huge concurrency", in: func() Input {
			in := baseInput()
			withPoints(&in, p(1, 1e300, 1e300), p(1, 1e300, 1e300))
			return in
		}()},
		{name: "misaligned points", in: func() Input {
			in := baseInput()
			in.Series.Points = []Datapoint{{Time: winEnd.Add(-90 * time.Second), Utilization: 0.9, HasUtilization: true}}
			return in
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NotPanics(t, func() { _ = Decide(tc.in) })
		})
	}
}

// FuzzDecide: no input makes the policy panic, Put less than 1 or Delete
// without allow_zero.
func FuzzDecide(f *testing.F) {
	f.Add(10, 0.7, 1.0, 30.0, 0.0, 1, 100, 2, 15, false, 0)
	f.Add(0, 0.5, 0.0, 0.0, 0.0, 0, 0, 0, 0, true, -1)
	f.Add(-5, -1.0, 2.0, -3.0, 1e308, -1, -1, -1, -1, true, 1<<30)
	f.Fuzz(func(t *testing.T, cur int, target, u, conc, spill float64, lo, hi, outDP, inDP int, allowZero bool, floor int) {
		in := baseInput()
		in.PC.Requested = cur
		in.Policy.TargetUtilization = target
		in.Policy.Min, in.Policy.Max, in.Policy.AllowZero = lo, hi, allowZero
		in.Policy.ScaleOutDatapoints, in.Policy.ScaleInDatapoints = outDP, inDP
		in.Bounds = Bounds{Floor: floor, HasFloor: true}
		withPoints(&in, p(u, conc, spill), p(u, conc, spill), nil, p(u, conc, spill))
		d := Decide(in)
		if d.Action == ActPut && d.Desired < 1 {
			t.Fatalf("Put of %d", d.Desired)
		}
		if d.Action == ActDelete && !allowZero {
			t.Fatalf("Delete without allow_zero")
		}
	})
}

// CloudWatch running 10 minutes late (beyond metrics_max_lag 5m): the loop
// scaled out at t0 on an old minute; the burst's first minutes, published
// after the change but more than metrics_max_lag before it, still count as
// saturated demand against the PC of their time (found by the fault suite,
// publish-600s seed 18).
func TestDecideCountsMinutesLateBeyondMaxLagBeforeAChange(t *testing.T) {
	in := baseInput()
	in.Policy = config.DefaultPolicy()
	changed := t0.Add(-2 * time.Minute)
	in.PC = PCConfig{Exists: true, Requested: 12, Allocated: 12, Available: 12, Status: StatusReady, LastModified: changed}
	in.State = State{LastChange: changed, LastFrom: 10, LastTo: 12, LastDirection: DirOut, SettledAt: changed.Add(time.Minute)}
	// Published up to 10 minutes before now: the newest point is the
	// minute that ended 10 m ago; the burst (40 concurrent on 10 PC)
	// began 9 minutes before the change.
	in.WindowEnd = t0.Truncate(time.Minute).Add(-10 * time.Minute)
	in.WindowStart = in.WindowEnd.Add(-45 * time.Minute)
	burst := changed.Truncate(time.Minute).Add(-9 * time.Minute)
	for m := in.WindowStart; m.Before(in.WindowEnd); m = m.Add(time.Minute) {
		c := 6.0
		if !m.Before(burst) {
			c = 40
		}
		in.Series.Points = append(in.Series.Points, Datapoint{Time: m, Concurrency: c, HasConcurrency: true,
			Utilization: math.Min(1, c/12), HasUtilization: true, Invocations: c * 60, HasInvocations: true})
	}
	d := Decide(in)
	require.Equal(t, ActPut, d.Action, "%+v", d)
	require.GreaterOrEqual(t, d.Desired, 58, "40 concurrent / 0.70: %s", d.Detail)
}

// An idle target without PC below its min is raised to the min: the line
// says the floor did it, and why the function counts as idle.
func TestDecideIdleBelowMinSaysFloor(t *testing.T) {
	in := baseInput()
	in.PC = PCConfig{} // no config yet
	in.Policy.Min = 2
	d := Decide(in)
	require.Equal(t, ActPut, d.Action)
	require.Equal(t, ReasonFloor, d.Reason)
	require.Equal(t, 2, d.Desired)
	require.True(t, strings.HasPrefix(d.Detail, "effective min 2 (idle: no invocations published since"), d.Detail)
}

// A predicted burst released by the clock: rise 20 → 302 before it, tail
// 302 → 59 and release 59 → 36 after it, and only then CloudWatch publishes
// the burst's minute (202 concurrent). It ran against 302, not against the
// 59 the last write came from, so it raises nothing (demo and backtest:
// "saturated while the last change was allocating" re-raised every burst).
func TestDecideBurstPublishedAfterSeveralWritesRanAgainstItsOwnPC(t *testing.T) {
	burst := t0.Truncate(time.Minute).Add(-4 * time.Minute)
	writes := []Write{
		{At: burst.Add(-150 * time.Second), From: 20, To: 302},
		{At: burst.Add(70 * time.Second), From: 302, To: 59},
		{At: burst.Add(130 * time.Second), From: 59, To: 36},
	}
	build := func(ws []Write) Input {
		in := baseInput()
		in.Policy = config.DefaultPolicy()
		in.Policy.Max = 1000
		last := ws[len(ws)-1]
		in.PC = PCConfig{Exists: true, Requested: last.To, Allocated: last.To, Available: last.To, Status: StatusReady, LastModified: last.At}
		in.State = State{LastChange: last.At, LastFrom: last.From, LastTo: last.To, LastDirection: DirIn, SettledAt: last.At.Add(10 * time.Second)}
		for _, w := range ws {
			in.State.remember(w)
		}
		in.WindowEnd = burst.Add(time.Minute) // the burst's minute is the newest published
		in.WindowStart = in.WindowEnd.Add(-40 * time.Minute)
		for m := in.WindowStart; m.Before(in.WindowEnd); m = m.Add(time.Minute) {
			c := 4.0
			if m.Equal(burst) {
				c = 202
			}
			in.Series.Points = append(in.Series.Points, Datapoint{Time: m, Concurrency: c, HasConcurrency: true,
				Utilization: math.Min(1, c/float64(last.To)), HasUtilization: true})
		}
		return in
	}
	d := Decide(build(writes))
	require.Equal(t, ActNone, d.Action, "%s: %s", d.Reason, d.Detail)

	// With only the last write in memory (what the loop kept before
	// State.Writes), the burst reads as saturated against its From, 59,
	// and raises PC again.
	d = Decide(build(writes[2:]))
	require.Equal(t, ReasonSaturated, d.Reason, d.Detail)
	require.Equal(t, 289, d.Desired, "202 / 0.70")
}

func TestPCDuring(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ws := []Write{{At: at(0), From: 10, To: 50}, {At: at(5), From: 50, To: 20}, {At: at(7), From: 20, To: 8}}
	full := []Write{{At: at(-3), From: 1, To: 10}, ws[0], ws[1], ws[2]}
	tests := []struct {
		name string
		ws   []Write
		a    time.Time
		pc   int
		ok   bool
	}{
		{"before the first write: its From", ws, at(-2), 10, true},
		{"a raise during the minute: the smaller side served", ws, at(-1).Add(30 * time.Second), 10, true},
		{"between writes: the next write's From", ws, at(3), 50, true},
		{"a release during the minute: the smaller side", ws, at(4).Add(30 * time.Second), 20, true},
		{"after the last write: unknown (the current config says)", ws, at(8), 0, false},
		{"older writes dropped: unknown before the oldest kept", full, at(-4), 0, false},
		{"older writes dropped: known after the oldest kept", full, at(-2), 10, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc, ok := pcDuring(tc.ws, tc.a, tc.a.Add(time.Minute))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.pc, pc)
		})
	}
}

func TestStateRememberKeepsTheNewestWrites(t *testing.T) {
	var st State
	for i := range writeMemory + 2 {
		st.remember(Write{At: t0.Add(time.Duration(i) * time.Minute), From: i, To: i + 1})
	}
	require.Equal(t, writeMemory, st.NWrites)
	require.Equal(t, 2, st.Writes[0].From, "the two oldest dropped")
	require.Equal(t, writeMemory+2, st.Writes[writeMemory-1].To)
}

// A burst that spilled was answered by a raise (1 → 285), and the predictor
// released it (285 → 25) once it found the burst on its period. The burst's
// minute ran against 1, but the raise answered it: it must not raise PC
// again after the deliberate release (spiky-idle at 60 s delays flip-flopped
// 25 → 285 → 25).
func TestDecideAnsweredBurstDoesNotUndoARelease(t *testing.T) {
	burst := t0.Truncate(time.Minute).Add(-3 * time.Minute)
	writes := []Write{
		{At: burst.Add(125 * time.Second), From: 1, To: 285},
		{At: burst.Add(185 * time.Second), From: 285, To: 25},
	}
	in := baseInput()
	in.Policy = config.DefaultPolicy()
	in.Policy.Max = 1000
	last := writes[1]
	in.PC = PCConfig{Exists: true, Requested: 25, Allocated: 25, Available: 25, Status: StatusReady, LastModified: last.At}
	in.State = State{LastChange: last.At, LastFrom: last.From, LastTo: last.To, LastDirection: DirIn, SettledAt: last.At.Add(10 * time.Second)}
	for _, w := range writes {
		in.State.remember(w)
	}
	in.WindowEnd = burst.Add(2 * time.Minute)
	in.WindowStart = in.WindowEnd.Add(-40 * time.Minute)
	for m := in.WindowStart; m.Before(in.WindowEnd); m = m.Add(time.Minute) {
		c := 2.0
		if m.Equal(burst) {
			c = 198
		}
		in.Series.Points = append(in.Series.Points, Datapoint{Time: m, Concurrency: c, HasConcurrency: true,
			Utilization: math.Min(1, c/25), HasUtilization: true})
	}
	d := Decide(in)
	require.NotEqual(t, ReasonSaturated, d.Reason, "%d: %s", d.Desired, d.Detail)
	require.LessOrEqual(t, d.Desired, 25, d.Detail)

	// Unanswered (the raise asked for less than 198 / 0.70), it counts.
	in.State = State{LastChange: last.At, LastFrom: last.From, LastTo: last.To, LastDirection: DirIn, SettledAt: last.At.Add(10 * time.Second)}
	in.State.remember(Write{At: writes[0].At, From: 1, To: 100})
	in.State.remember(Write{At: last.At, From: 100, To: 25})
	d = Decide(in)
	require.Equal(t, ReasonSaturated, d.Reason, d.Detail)
	require.Equal(t, 283, d.Desired, "198 / 0.70")
}

// A window's floor may come from a cycle that has left the lookback by the
// time the window closes (an hourly spike of 234 three hours ago, 218 since):
// the release still takes back what the loop raised for the window, not only
// what the bursts it still sees need.
func TestDecideReleasesWhatTheLoopRaisedForTheWindow(t *testing.T) {
	burst := winEnd.Add(-2 * time.Minute) // 11:57, every 20 minutes
	raise := Write{At: burst.Add(-3*time.Minute + 5*time.Second), From: 3, To: 335}
	in := baseInput()
	in.Policy = config.DefaultPolicy()
	in.Policy.Max = 1000
	in.PC = PCConfig{Exists: true, Requested: 335, Allocated: 335, Available: 335, Status: StatusReady, LastModified: raise.At}
	in.State = State{LastChange: raise.At, LastFrom: raise.From, LastTo: raise.To, LastDirection: DirOut, SettledAt: raise.At.Add(90 * time.Second)}
	in.State.remember(raise)
	in.WindowStart = in.WindowEnd.Add(-3 * time.Hour)
	for m := in.WindowStart; m.Before(in.WindowEnd); m = m.Add(time.Minute) {
		c := 2.0
		if int(burst.Sub(m)/time.Minute)%20 == 0 {
			c = 218
		}
		in.Series.Points = append(in.Series.Points, Datapoint{Time: m, Concurrency: c, HasConcurrency: true,
			Utilization: c / 335, HasUtilization: true})
	}
	d := Decide(in)
	require.Equal(t, ReasonPredicted, d.Reason, d.Detail)
	require.Equal(t, 3, d.Desired, "back to the base traffic's ceil(2 / 0.70): %s", d.Detail)

	// Raised after the burst began, it was not the window's floor: held.
	late := raise
	late.At = burst.Add(30 * time.Second)
	in.PC.LastModified = late.At
	in.State = State{LastChange: late.At, LastFrom: late.From, LastTo: late.To, LastDirection: DirOut, SettledAt: late.At.Add(30 * time.Second)}
	in.State.remember(late)
	d = Decide(in)
	require.Equal(t, 335, d.Desired, "%s: %s", d.Reason, d.Detail)
}
