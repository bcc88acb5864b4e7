package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/logging"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Log keys of the logging layer.
const (
	keySimTime   = "sim_time"
	keyComponent = "component"
)

// logLevels and logFormats are what --log-level and --log-format accept
// (the config's log.level and log.format are checked by config.Validate).
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
)

// checkLogFlag reports a --log-level or --log-format value outside allowed
// ("" = not given: fine).
func checkLogFlag(name, value string, allowed []string) error {
	if value == "" || slices.Contains(allowed, strings.ToLower(value)) {
		return nil
	}
	return fmt.Errorf("--%s %q: want one of %s", name, value, strings.Join(allowed, ", "))
}

// newLogger builds the process logger; level and format come from the config
// (validated there), flags may override them.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.ToLower(format) == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// withSimTime returns logger with every record carrying sim_time, the
// simulated clock's reading when it was logged, first among its attributes:
// the record's own time stays wall time, and the decisions a daemon on
// --sim-clock logs line up with the simulator's timeline.
func withSimTime(logger *slog.Logger, clock controller.Clock) *slog.Logger {
	return slog.New(simTimeHandler{h: logger.Handler(), clock: clock})
}

// simTimeHandler adds sim_time to each record it passes on. Attributes and
// groups given to it are given to the handler it wraps (so after WithGroup,
// sim_time sits inside the group, like any attribute logged there).
type simTimeHandler struct {
	h     slog.Handler
	clock controller.Clock
}

func (s simTimeHandler) Enabled(ctx context.Context, l slog.Level) bool { return s.h.Enabled(ctx, l) }

func (s simTimeHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(slog.Time(keySimTime, s.clock.Now().UTC().Truncate(time.Millisecond)))
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(a)
		return true
	})
	return s.h.Handle(ctx, out)
}

func (s simTimeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return simTimeHandler{h: s.h.WithAttrs(as), clock: s.clock}
}

func (s simTimeHandler) WithGroup(name string) slog.Handler {
	return simTimeHandler{h: s.h.WithGroup(name), clock: s.clock}
}

// sdkLogger sends the AWS SDK's own log lines (aws.Config.Logger: "SDK …
// WARN" retry and checksum notes, and what ClientLogMode asks for) through
// the daemon's logger, in its format, marked component=aws-sdk. The SDK's
// default writes plain text straight to stderr, which breaks a JSON log.
type sdkLogger struct{ l *slog.Logger }

var _ logging.Logger = sdkLogger{}

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	lv := slog.LevelInfo
	switch c {
	case logging.Warn:
		lv = slog.LevelWarn
	case logging.Debug:
		lv = slog.LevelDebug
	}
	s.l.Log(context.Background(), lv, fmt.Sprintf(format, v...), keyComponent, "aws-sdk")
}
