package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStateOf(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	inProgress := PCConfig{Exists: true, Requested: 50, Status: StatusInProgress}
	for _, tc := range []struct {
		name string
		in   Input
		d    Decision
		want TargetState
	}{
		{"steady", Input{PC: PCConfig{Exists: true, Requested: 5, Status: StatusReady}}, Decision{Reason: ReasonWithinTarget}, StateSteady},
		{"weights win over everything", Input{PC: inProgress, State: State{WeightedSince: now.Add(-time.Minute)}}, Decision{}, StateWeighted},
		{"failed", Input{PC: PCConfig{Exists: true, Status: StatusFailed}}, Decision{}, StateFailed},
		{"our own allocation", Input{PC: inProgress, State: State{LastChange: now.Add(-2 * time.Minute), LastTo: 50}}, Decision{}, StateAllocating},
		{"an alias move: IN_PROGRESS we did not cause", Input{PC: inProgress}, Decision{}, StateDeploying},
		{"IN_PROGRESS long after our write", Input{PC: inProgress, State: State{LastChange: now.Add(-time.Hour), LastTo: 50}}, Decision{}, StateDeploying},
		{"IN_PROGRESS at another value than ours", Input{PC: inProgress, State: State{LastChange: now.Add(-time.Minute), LastTo: 40}}, Decision{}, StateDeploying},
		{"yielding", Input{PC: PCConfig{Exists: true, Status: StatusReady}}, Decision{Reason: ReasonYielding}, StateYielding},
		{"constrained", Input{PC: PCConfig{Exists: true, Status: StatusReady}}, Decision{Constrained: true}, StateConstrained},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Now = now
			require.Equal(t, tc.want, stateOf(tc.in, tc.d))
		})
	}
}
