package controller

import "time"

// TargetState is what a target is going through, coarser than a Reason and
// meant for a dashboard: one of TargetStates(), a bounded telemetry label.
type TargetState string

const (
	StateSteady      TargetState = "steady"      // deciding on its metrics
	StateAllocating  TargetState = "allocating"  // Lambda is preparing a change this loop made
	StateDeploying   TargetState = "deploying"   // IN_PROGRESS that this loop did not cause: an alias moved to a new version
	StateWeighted    TargetState = "weighted"    // routing weights on the alias: no write while they stand
	StateConstrained TargetState = "constrained" // held below what it wants by a limit (reserved, account, refusal)
	StateYielding    TargetState = "yielding"    // on_foreign_change: yield after another writer's change
	StateFailed      TargetState = "failed"      // the config is FAILED
)

// TargetStates lists every TargetState, so telemetry can pre-create series.
func TargetStates() []TargetState {
	return []TargetState{StateSteady, StateAllocating, StateDeploying, StateWeighted, StateConstrained, StateYielding, StateFailed}
}

// ownChangeWindow: an IN_PROGRESS config this long after the loop's own
// write to that value is still the loop's allocation (Lambda documents "a
// minute or two"; a slow preparation takes longer).
const ownChangeWindow = 10 * time.Minute

// stateOf derives the state from the decision's input; pure.
func stateOf(in Input, d Decision) TargetState {
	st, pc := in.State, in.PC
	switch {
	case !st.WeightedSince.IsZero():
		return StateWeighted
	case pc.Exists && pc.Status == StatusFailed:
		return StateFailed
	case pc.Exists && pc.Status == StatusInProgress:
		own := !st.LastChange.IsZero() && st.LastTo == pc.Requested && in.Now.Sub(st.LastChange) < ownChangeWindow
		if own {
			return StateAllocating
		}
		return StateDeploying
	case d.Reason == ReasonYielding:
		return StateYielding
	case d.Constrained || d.Reason == ReasonRejected:
		return StateConstrained
	}
	return StateSteady
}
