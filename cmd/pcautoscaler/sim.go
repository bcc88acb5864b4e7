package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// cmdSim serves the simulated Lambda + CloudWatch for any AWS client.
func cmdSim(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4566", "address to serve on (loopback by default: the simulator has no auth)")
	scenario := fs.String("scenario", "", "scenario file (YAML); default: the built-in three-function scenario")
	speed := fs.Float64("speed", 1, "simulated seconds per real second")
	start := fs.String("start", "", "simulated start time, RFC 3339 (default: now)")
	logLevel := fs.String("log-level", "info", "debug logs every request")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	logger := newLogger(stderr, *logLevel, "text")
	sc, ok := loadScenario(*scenario, stderr)
	if !ok {
		return exitUsage
	}
	t0, err := parseStart(*start, time.Now().UTC())
	if err != nil || *speed <= 0 {
		fmt.Fprintf(stderr, "sim: --start must be RFC 3339 and --speed > 0\n")
		return exitUsage
	}
	var clk controller.Clock = sim.RealClock{}
	if *speed != 1 || *start != "" {
		clk = sim.NewScaledClock(t0, *speed)
	}
	world, err := sim.NewWorld(sc, clk)
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return exitUsage
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return exitRuntime
	}
	srv := &http.Server{Handler: simMux(world, clk, *speed, logger), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdownServer(srv, logger)
	}()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "simulated Lambda + CloudWatch on %s (speed %gx, simulated now %s)\n", url, *speed, clk.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "  aws --endpoint-url %s lambda list-functions\n", url)
	fmt.Fprintf(stdout, "  AWS_ENDPOINT_URL=%s pcautoscaler run --config config.yaml\n", url)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("simulator stopped", keyError, err)
		return exitRuntime
	}
	return exitOK
}

// simMux adds the clock endpoint (for `run --sim-clock`) to the simulator.
func simMux(world *sim.World, clk controller.Clock, speed float64, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+simClockPath, simClockHandler(clk, speed))
	mux.Handle("/", sim.NewHandler(world, logger))
	return mux
}

func loadScenario(path string, stderr io.Writer) (*sim.Scenario, bool) {
	if path == "" {
		return sim.DefaultScenario(), true
	}
	sc, err := sim.LoadScenario(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return nil, false
	}
	return sc, true
}

func parseStart(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	return time.Parse(time.RFC3339, s)
}
