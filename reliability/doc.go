// Package reliability is the fault suite of issue 9: it runs the real
// controller against the in-process simulator on a virtual clock, under
// injected faults (late and missing CloudWatch data, clock skew, throttling,
// 5xx, 409, FAILED allocations, process kills, SIGTERM during a write,
// out-of-band writes), and checks invariants against the simulator's ground
// truth rather than against what the controller says about itself.
//
// The parts:
//
//   - scenario.go: a Scenario (simulated account, targets, skew, process
//     events, surges, expected behaviour) and the standard account most
//     scenarios start from (world.go);
//   - runner.go: Execute drives one scenario and seed to completion the way
//     backtest/replay.go drives the controller: t = NextWake(t), set the
//     clock, Wake — no goroutines, deterministic for a seed;
//   - record.go: what a run leaves behind: the write log, the recorder's
//     stream, per-instant samples of Lambda's state and per-minute truth;
//   - invariants.go, expect.go: the checks, each violation naming scenario,
//     seed, time, target and what was expected;
//   - matrix.go: the scenarios of the suite; table.go: the report.
//
// RELIABILITY.md at the repository root defines every invariant precisely
// and holds the current figures.
package reliability
