package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// skewedAWS is the simulator behind a front that stamps every response's
// Date header from clk (the client's clock) plus skew, as AWS's clock would,
// and can make one response slow by moving clk on while it is served.
type skewedAWS struct {
	url  string
	clk  *stepClock
	mu   sync.Mutex
	skew time.Duration
	slow time.Duration // the next response takes this long (once)
	hits int
}

func newSkewedAWS(t *testing.T, clk *stepClock, skew time.Duration, date bool) *skewedAWS {
	t.Helper()
	w, err := sim.NewWorld(testScenario(), sim.NewVirtualClock(simStart))
	require.NoError(t, err)
	s := &skewedAWS{clk: clk, skew: skew}
	next := sim.NewHandler(w, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits++
		stamp := clk.Now().Add(s.skew)
		slow := s.slow
		s.slow = 0
		s.mu.Unlock()
		header := ""
		if date {
			header = stamp.UTC().Format(http.TimeFormat)
		}
		if slow > 0 {
			clk.After(slow) // the response leaves slow after Date was stamped
		}
		next.ServeHTTP(&dateWriter{ResponseWriter: rw, date: header}, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// dateWriter replaces the simulator's Date header (its World's clock) as the
// answer leaves: with date, or with none at all when date is "".
type dateWriter struct {
	http.ResponseWriter
	date  string
	fixed bool
}

func (w *dateWriter) fix() {
	if !w.fixed {
		w.fixed = true
		if w.date == "" {
			w.Header()["Date"] = nil // net/http then sends none
		} else {
			w.Header().Set("Date", w.date)
		}
	}
}

func (w *dateWriter) WriteHeader(code int) { w.fix(); w.ResponseWriter.WriteHeader(code) }

func (w *dateWriter) Write(b []byte) (int, error) { w.fix(); return w.ResponseWriter.Write(b) }

func (s *skewedAWS) set(skew, slow time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skew, s.slow = skew, slow
}

var checkoutLive = controller.TargetID{Function: "checkout", Qualifier: "live"}

// TestServerClockThroughClients measures the offset from real SDK responses,
// Lambda's and CloudWatch's, on a fake clock that is off the second
// (so the half-second correction matters).
func TestServerClockThroughClients(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		skew time.Duration
	}{
		{name: "AWS 90s ahead", skew: 90 * time.Second},
		{name: "AWS 90s behind", skew: -90 * time.Second},
		{name: "in step", skew: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &stepClock{now: simStart.Add(300 * time.Millisecond)}
			srv := newSkewedAWS(t, clk, tc.skew, true)
			sc := NewServerClock(clk)
			_, ok := sc.ClockOffset()
			require.False(t, ok, "nothing measured before the first response")

			lam := NewLambda(testAWSConfig(srv.url), 10, WithClock(clk), WithServerClock(sc))
			_, err := lam.GetPC(ctx, checkoutLive)
			require.NoError(t, err)
			got, ok := sc.ClockOffset()
			require.True(t, ok)
			require.InDelta(t, tc.skew.Seconds(), got.Seconds(), 1.5)

			// An error answer carries AWS's Date just as well.
			_, err = lam.GetPC(ctx, controller.TargetID{Function: "nope", Qualifier: "live"})
			require.Equal(t, ClassNotFound, Classify(err))

			// CloudWatch, with the same middleware on its client.
			cw := cloudwatch.NewFromConfig(testAWSConfig(srv.url), func(o *cloudwatch.Options) {
				o.APIOptions = append(o.APIOptions, sc.AddToStack)
			})
			_, err = cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
			require.NoError(t, err)
			require.Equal(t, 3, srv.hits)
			require.Equal(t, 3, sc.samplesLen())
			got, ok = sc.ClockOffset()
			require.True(t, ok)
			require.InDelta(t, tc.skew.Seconds(), got.Seconds(), 1.5)
		})
	}
}

func TestServerClockNoDateHeader(t *testing.T) {
	clk := &stepClock{now: simStart}
	srv := newSkewedAWS(t, clk, 0, false)
	sc := NewServerClock(clk)
	lam := NewLambda(testAWSConfig(srv.url), 10, WithClock(clk), WithServerClock(sc))
	_, err := lam.GetPC(context.Background(), checkoutLive)
	require.NoError(t, err)
	require.Equal(t, 1, srv.hits)
	_, ok := sc.ClockOffset()
	require.False(t, ok, "a response without Date measures nothing")
}

func TestServerClockNoResponse(t *testing.T) {
	clk := &stepClock{now: simStart}
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused: no response at all
	sc := NewServerClock(clk)
	cfg := testAWSConfig(url)
	cfg.RetryMaxAttempts = 1
	lam := NewLambda(cfg, 10, WithClock(clk), WithServerClock(sc))
	_, err := lam.GetPC(context.Background(), checkoutLive)
	require.Error(t, err)
	_, ok := sc.ClockOffset()
	require.False(t, ok)
}

// TestServerClockSlowResponseDoesNotMoveIt: a response that took 40 s
// (stamped early in its round trip) is one sample 20 s off; the median of
// the others holds.
func TestServerClockSlowResponseDoesNotMoveIt(t *testing.T) {
	ctx := context.Background()
	clk := &stepClock{now: simStart.Add(700 * time.Millisecond)}
	srv := newSkewedAWS(t, clk, 90*time.Second, true)
	sc := NewServerClock(clk)
	lam := NewLambda(testAWSConfig(srv.url), 10, WithClock(clk), WithServerClock(sc))
	for range 6 {
		_, err := lam.GetPC(ctx, checkoutLive)
		require.NoError(t, err)
	}
	before, _ := sc.ClockOffset()
	srv.set(90*time.Second, 40*time.Second)
	_, err := lam.GetPC(ctx, checkoutLive)
	require.NoError(t, err)
	after, ok := sc.ClockOffset()
	require.True(t, ok)
	sc.mu.Lock()
	slowest := slices.Min(sc.samples)
	sc.mu.Unlock()
	require.InDelta(t, 70, slowest.Seconds(), 1.5, "the slow response is a sample, 20s off")
	require.InDelta(t, before.Seconds(), after.Seconds(), 0.5, "one sample 20s off moves the median by no more than the spread of the others")
	require.InDelta(t, 90, after.Seconds(), 1.5)
}

// TestServerClockFollowsAChange: after our clock is stepped (NTP), the
// estimate moves once most of the window has the new offset.
func TestServerClockFollowsAChange(t *testing.T) {
	ctx := context.Background()
	clk := &stepClock{now: simStart}
	srv := newSkewedAWS(t, clk, 90*time.Second, true)
	sc := NewServerClock(clk)
	lam := NewLambda(testAWSConfig(srv.url), 10, WithClock(clk), WithServerClock(sc))
	call := func() {
		t.Helper()
		_, err := lam.GetPC(ctx, checkoutLive)
		require.NoError(t, err)
	}
	for range ServerClockSamples {
		call()
	}
	srv.set(-2*time.Second, 0)
	for range ServerClockSamples / 2 {
		call()
	}
	got, _ := sc.ClockOffset()
	require.InDelta(t, 90, got.Seconds(), 1.5, "a minority of new samples does not move it")
	call()
	got, _ = sc.ClockOffset()
	require.InDelta(t, -2, got.Seconds(), 1.5, "a majority does")
}

func TestServerClockObserve(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	type sample struct {
		sent, received time.Duration // after t0
		date           time.Duration // AWS's Date header, after t0, whole seconds
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		want    time.Duration
		ok      bool
	}{
		{name: "none"},
		{name: "instant round trip: Date + half a second", samples: []sample{{0, 0, 90 * time.Second}},
			want: 90500 * time.Millisecond, ok: true},
		{name: "midpoint of the round trip", samples: []sample{{0, 2 * time.Second, 91 * time.Second}},
			want: 90500 * time.Millisecond, ok: true},
		{name: "behind", samples: []sample{{10 * time.Second, 10 * time.Second, -50 * time.Second}},
			want: -59500 * time.Millisecond, ok: true},
		{name: "clock stepped back during the round trip: dropped",
			samples: []sample{{5 * time.Second, 0, 90 * time.Second}}},
		{name: "even count: mean of the middle two",
			samples: []sample{{0, 0, 10 * time.Second}, {0, 0, 20 * time.Second}},
			want:    15500 * time.Millisecond, ok: true},
		{name: "median ignores outliers", samples: []sample{
			{0, 0, 90 * time.Second}, {0, 0, 3600 * time.Second}, {0, 0, 90 * time.Second},
			{0, 0, -3600 * time.Second}, {0, 0, 90 * time.Second}},
			want: 90500 * time.Millisecond, ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := NewServerClock(&stepClock{now: t0})
			for _, s := range tc.samples {
				sc.Observe(t0.Add(s.sent), t0.Add(s.received), t0.Add(s.date))
			}
			got, ok := sc.ClockOffset()
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestServerClockHeaders(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, date, age string
		ok              bool
	}{
		{name: "RFC 1123", date: "Mon, 23 Nov 2026 12:01:30 GMT", ok: true},
		{name: "cached answer", date: "Mon, 23 Nov 2026 12:01:30 GMT", age: "12"},
		{name: "unparseable", date: "yesterday"},
		{name: "absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := NewServerClock(nil)
			sc.observeHeader(t0, t0, tc.date, tc.age)
			got, ok := sc.ClockOffset()
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, 90500*time.Millisecond, got)
			}
		})
	}
}

func (s *ServerClock) samplesLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples)
}
