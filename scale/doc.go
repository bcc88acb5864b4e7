// Package scale measures the daemon at the scale of a large account, inside
// Lambda's real API budget: what a user would see with thousands of targets.
//
// The harness (Run) is a simulated account (sim.World) of N functions with
// one alias each, its Lambda control plane limited to
// account.control_plane_rps (15) by the simulator, and the daemon's own
// clients — awsapi.Lambda and metrics.Source on aws-sdk-go-v2, served by
// the simulator's HTTP handler in memory (sim.Transport) — wired as
// cmd/pcautoscaler wires them, with aws.lambda_rps (10) and
// Options.LambdaRPS set alike. The controller runs on the world's virtual
// clock through NextWake/Wake, as Run does.
//
// The daemon's real token bucket (awsapi.Bucket) limits every Lambda call.
// Its clock is the world's virtual clock with one change (spendClock): a
// wait moves virtual time forward by its length at once, so a tick of 300
// calls at 10 rps takes 30 simulated seconds, as it would in an account,
// and the world sees each call at the instant the bucket lets it start.
// Lambda calls then never overlap: the controller runs with Workers = 1
// (in virtual time a call takes no time, so the pool size changes nothing
// but the order of the calls, and one worker keeps that order fixed).
//
// Figures (see README.md): start-up (calls and simulated seconds until the
// first decision and until every target has been read), steady state
// (Lambda calls per second, GetMetricData calls per tick), a surge (time
// from each surged target's first breaching datapoint being published to
// its scale-out Put), wall time per tick, and the daemon's own heap,
// measured without the simulator in the process (MeasureHeap: the same
// clients answered by a stub inside the SDK's middleware stack).
package scale
