package ha

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fast are the short timings the tests run on: a takeover takes about
// 600 ms, so a test sees several in a few seconds. Assertions on time use
// generous bounds only.
var fast = Timings{LeaseDuration: 600 * time.Millisecond, RenewDeadline: 400 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}

// running is an elector whose Run goroutine the test controls.
type running struct {
	Elector
	cancel context.CancelFunc
	done   chan error
	logs   *syncLog
}

// start runs e until stop (or the test's end).
func start(t *testing.T, e Elector, logs *syncLog) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Elector: e, cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { r.done <- e.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it to return (having released).
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			require.NoError(t, err)
			close(r.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: Run did not return after cancel", r.Identity())
	}
}

// eventually polls cond every few milliseconds until it holds or the
// (generous) bound passes.
func eventually(t *testing.T, what string, bound time.Duration, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		if cond() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", bound, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writers returns which electors' gates are open now. ok is false when
// the sample took too long to be read as one instant (the test goroutine
// was descheduled): a gate closes renew_deadline after the last renewal
// began, a takeover comes lease_duration after it, so two open gates read
// within (lease − renew_deadline)/2 of each other are a real overlap.
func writers(es []*running, tm Timings) (open []string, ok bool) {
	begin := time.Now()
	for _, e := range es {
		if e.MayWrite(context.Background()) == nil {
			open = append(open, e.Identity())
		}
	}
	return open, time.Since(begin) < (tm.LeaseDuration-tm.RenewDeadline)/2
}

// sampler checks "at most one open gate" every millisecond or so in the
// background, and counts the instants with exactly one.
type sampler struct {
	mu         sync.Mutex
	samples    int
	withLeader int
	overlaps   []string
	stop       chan struct{}
	done       chan struct{}
}

func sample(es func() []*running, tm Timings) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(time.Millisecond):
			}
			open, ok := writers(es(), tm)
			if !ok {
				continue
			}
			s.mu.Lock()
			s.samples++
			if len(open) == 1 {
				s.withLeader++
			}
			if len(open) > 1 {
				s.overlaps = append(s.overlaps, time.Now().Format("15:04:05.000")+" "+joinIDs(open))
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sampler) finish(t *testing.T) {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Logf("%d samples, %d with exactly one writer", s.samples, s.withLeader)
	require.Empty(t, s.overlaps, "two replicas could write at once")
	require.Positive(t, s.samples)
}

func joinIDs(ids []string) string {
	var b bytes.Buffer
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id)
	}
	return b.String()
}

// syncLog collects an elector's log lines.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLog() (*syncLog, *slog.Logger) {
	l := &syncLog{}
	return l, slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
