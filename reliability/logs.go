package reliability

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// LogLine is one Warn or Error line of a daemon, kept so a check can ask
// whether a stall or a FAILED allocation was said out loud.
type LogLine struct {
	Instance int
	Time     time.Time
	Level    slog.Level
	Msg      string
	Target   string // the line's target attribute, if any
	Attrs    string // the rest, key=value
}

// logSink is a slog.Handler filing Warn and above into the run.
type logSink struct {
	mu       *sync.Mutex
	lines    *[]LogLine
	instance int
	clock    func() time.Time
	attrs    []slog.Attr
}

func (s *logSink) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	line := LogLine{Instance: s.instance, Time: s.clock(), Level: r.Level, Msg: r.Message}
	var b strings.Builder
	add := func(a slog.Attr) bool {
		if a.Key == controller.KeyTarget {
			line.Target = a.Value.String()
			return true
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key + "=" + a.Value.String())
		return true
	}
	for _, a := range s.attrs {
		add(a)
	}
	r.Attrs(add)
	line.Attrs = b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.lines = append(*s.lines, line)
	return nil
}

func (s *logSink) WithAttrs(as []slog.Attr) slog.Handler {
	c := *s
	c.attrs = append(append([]slog.Attr(nil), s.attrs...), as...)
	return &c
}

// WithGroup is not used by the controller; groups are flattened.
func (s *logSink) WithGroup(string) slog.Handler { return s }
