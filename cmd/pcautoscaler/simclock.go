package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

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
	if c.Speed == 1 {
		return controller.SystemClock{}, nil
	}
	return sim.NewScaledClock(c.Now, c.Speed), nil
}
