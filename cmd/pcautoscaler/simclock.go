package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// simClockPath is served by `pcautoscaler sim` so a daemon pointed at an
// accelerated simulator can run on the same simulated time.
const simClockPath = "/_sim/clock"

type simClockJSON struct {
	Now   time.Time `json:"now"`
	Speed float64   `json:"speed"`
}

func simClockHandler(clk controller.Clock, speed float64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(simClockJSON{Now: clk.Now(), Speed: speed})
	}
}

// simClockFrom reads a simulator's clock once and follows it locally: both
// sides scale real time by the same factor from (almost) the same instant.
func simClockFrom(ctx context.Context, base string) (controller.Clock, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+simClockPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	var c simClockJSON
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", req.URL, err)
	}
	if c.Speed <= 0 || c.Now.IsZero() {
		return nil, fmt.Errorf("%s: not a simulator clock", req.URL)
	}
	// At speed 1 the simulator may still run elsewhere in time (--start):
	// only a clock that agrees with ours is ours.
	if c.Speed == 1 && c.Now.Sub(time.Now()).Abs() < simClockTolerance {
		return controller.SystemClock{}, nil
	}
	return sim.NewScaledClock(c.Now, c.Speed), nil
}

// followSimClock is how run and plan follow --sim-clock; a test replaces it
// to share one virtual clock with a simulator in the same process.
var followSimClock = simClockFrom

// simClockTolerance: two clocks closer than this agree. A daemon on
// --sim-clock reads the simulator's clock once, over a round trip of a few
// milliseconds; at 600x that is a few simulated seconds.
const simClockTolerance = 5 * time.Second

// endpointClock is what an AWS endpoint says about its time, read once at
// start-up: a `pcautoscaler sim`'s /_sim/clock, else the Date header of
// whatever it answers.
type endpointClock struct {
	url    string
	isSim  bool          // it served /_sim/clock
	speed  float64       // the simulator's speed (isSim)
	offset time.Duration // its clock minus ours, at the round trip's midpoint
	known  bool          // offset was measured
	rtt    time.Duration // the round trip, in our clock's time
}

// probeEndpointClock asks base for /_sim/clock with one unsigned GET (no
// side effects on AWS or any emulator), timing it on clock.
func probeEndpointClock(ctx context.Context, base string, clock controller.Clock) (endpointClock, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ec := endpointClock{url: base}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+simClockPath, nil)
	if err != nil {
		return ec, err
	}
	sent := clock.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ec, err
	}
	defer resp.Body.Close()
	var c simClockJSON
	body := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&c)
	received := clock.Now()
	ec.rtt = received.Sub(sent)
	if resp.StatusCode == http.StatusOK && body == nil && c.Speed > 0 && !c.Now.IsZero() {
		// The simulator's time when it answered; no Date rounding.
		ec.isSim, ec.speed, ec.known = true, c.Speed, true
		ec.offset = c.Now.Sub(sent.Add(ec.rtt / 2))
		return ec, nil
	}
	// Anything else (moto, LocalStack, AWS itself) still dates its answer:
	// measured as the daemon measures AWS's clock on every call.
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		sc := awsapi.NewServerClock(clock)
		sc.Observe(sent, received, date)
		ec.offset, ec.known = sc.ClockOffset()
	}
	return ec, nil
}

// clockMismatch says, in one line naming the fix, how the endpoint's clock
// and the daemon's disagree, or "" when they agree. simClock is --sim-clock
// ("" when the daemon runs on wall time).
func clockMismatch(ec endpointClock, simClock string) string {
	off := ec.offset.Round(time.Second)
	tolerance := simClockTolerance
	if ec.isSim {
		// Our reading of the simulator is off by up to a round trip of
		// simulated time.
		tolerance += time.Duration(float64(ec.rtt) * ec.speed)
	}
	skewed := ec.known && ec.offset.Abs() > tolerance
	switch {
	case simClock == "" && ec.isSim && ec.speed != 1:
		return fmt.Sprintf("the endpoint %s is a pcautoscaler sim running at %gx while this daemon runs on wall time (its clock is %s off ours and drifting): "+
			"no decision will match the simulated minutes; restart with --sim-clock %s", ec.url, ec.speed, off, ec.url)
	case simClock == "" && ec.isSim && skewed:
		return fmt.Sprintf("the endpoint %s is a pcautoscaler sim whose clock is %s off ours (started with --start?): "+
			"restart with --sim-clock %s", ec.url, off, ec.url)
	case simClock == "" && skewed && ec.offset.Abs() > controller.MaxClockSkew:
		return fmt.Sprintf("the endpoint %s dates its answers %s off our clock, beyond %s: every scale-in and idle holds until they agree; "+
			"fix this host's or the endpoint's clock (for an accelerated pcautoscaler sim: --sim-clock %s)", ec.url, off, controller.MaxClockSkew, ec.url)
	case simClock != "" && ec.isSim && skewed:
		return fmt.Sprintf("--sim-clock %s and the endpoint %s disagree by %s (speed %gx there): "+
			"point --sim-clock at the simulator the endpoint is (--sim-clock %s)", simClock, ec.url, off, ec.speed, ec.url)
	case simClock != "" && !ec.isSim && skewed:
		return fmt.Sprintf("--sim-clock %s is set, but the endpoint %s is not a pcautoscaler sim and dates its answers %s off that clock: "+
			"--sim-clock is only for the endpoint's own simulator; drop it", simClock, ec.url, off)
	}
	return ""
}
