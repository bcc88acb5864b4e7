package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// cmdSim serves the simulated Lambda + CloudWatch for any AWS client until
// SIGINT or SIGTERM.
func cmdSim(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveSim(ctx, args, stdout, stderr)
}

// serveSim is cmdSim until ctx ends.
func serveSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4566", "`address` to serve on (loopback by default: the simulator has no auth)")
	scenario := fs.String("scenario", "", "scenario `file` (YAML); default: the built-in three-function scenario")
	speed := fs.Float64("speed", 1, "simulated seconds per real second, a `factor` (60: an hour a minute)")
	start := fs.String("start", "", "simulated start `time`, RFC 3339 (default: now)")
	logLevel := fs.String("log-level", "info", "log `level`: debug | info | warn | error (debug logs every request)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := checkLogFlag("log-level", *logLevel, logLevels); err != nil {
		fmt.Fprintf(stderr, "sim: %v\n", err)
		return exitUsage
	}
	if !(*speed > 0) || math.IsInf(*speed, 0) {
		fmt.Fprintf(stderr, "sim: --speed %g: must be a number above 0 (simulated seconds per real second, e.g. 60)\n", *speed)
		return exitUsage
	}
	t0, err := parseStart(*start, time.Now().UTC())
	if err != nil {
		fmt.Fprintf(stderr, "sim: --start %q: want an RFC 3339 time such as 2026-11-24T06:00:00Z\n", *start)
		return exitUsage
	}
	logger := newLogger(stderr, *logLevel, "text")
	sc, ok := loadScenario(*scenario, stderr)
	if !ok {
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
	if exposed := exposure(ln.Addr()); exposed != "" {
		logger.Warn("UNAUTHENTICATED ENDPOINT EXPOSED: the simulator checks no credentials and lets anyone change its state; "+
			exposed+"; bind to loopback (--listen 127.0.0.1:4566) unless this is what you want", keyListen, ln.Addr().String())
	}
	srv := &http.Server{Handler: simMux(world, clk, *speed, logger), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownServer(srv, logger)
	}()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "simulated Lambda + CloudWatch on %s (speed %gx, simulated now %s)\n", url, *speed, clk.Now().UTC().Format(time.RFC3339))
	writeSimHints(stdout, url, *scenario == "", *speed != 1 || *start != "")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("simulator stopped", keyError, err)
		return exitRuntime
	}
	return exitOK
}

// writeSimHints prints the commands that use the simulator at url. A daemon
// must follow a simulated clock (accelerated or started elsewhere in time)
// with --sim-clock, or it decides on minutes that are not the simulator's.
func writeSimHints(w io.Writer, url string, builtin, simulatedClock bool) {
	config := "config.yaml"
	if builtin {
		config = "config.example.yaml" // its targets are the built-in scenario's functions
	}
	run := fmt.Sprintf("AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 pcautoscaler run --config %s", url, config)
	if simulatedClock {
		run += " --sim-clock " + url
	}
	fmt.Fprintf(w, "  aws --endpoint-url %s lambda list-functions\n", url)
	fmt.Fprintf(w, "  %s\n", run)
	if simulatedClock {
		fmt.Fprintf(w, "  (--sim-clock: the simulator's clock is not wall time; without it the daemon decides on the wrong minutes)\n")
	}
}

// exposure says why addr is reachable from other machines, or "" when it is
// loopback only.
func exposure(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	switch {
	case tcp.IP == nil || tcp.IP.IsUnspecified():
		return "it listens on every interface (" + tcp.String() + ")"
	case tcp.IP.IsLoopback():
		return ""
	default:
		return "it listens on " + tcp.String() + ", not loopback"
	}
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
