package awsapi

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// ServerClockSamples is how many of the latest responses the offset
// estimate is the median of: one slow response (or a burst of a few) moves
// it by nothing, and a changed offset (NTP stepped our clock) shows after
// eight responses, well within a tick of a daemon that makes several calls
// a minute.
const ServerClockSamples = 15

// dateResolution: the HTTP Date header has one-second resolution, truncated,
// so AWS's time at the header was in [Date, Date+1s); its middle is the
// unbiased estimate.
const dateResolution = time.Second

// ServerClock measures AWS's clock against the daemon's own (the injected
// controller.Clock, so a virtual or deliberately skewed clock works) from
// the HTTP Date header of every response, Lambda's and CloudWatch's, errors
// included. It implements controller.ServerClock. Safe for concurrent use.
//
// One sample is (Date + 0.5 s) − the midpoint of the local send and receive
// times: the server stamped the header somewhere inside the round trip, and
// the midpoint is the best guess of where, so a sample is off by at most
// half the round trip plus half a second. The estimate is the median of the
// last ServerClockSamples samples.
type ServerClock struct {
	clock controller.Clock

	mu      sync.Mutex
	samples []time.Duration // ring of the latest offsets
	next    int             // ring position of the next sample
}

var _ controller.ServerClock = (*ServerClock)(nil)

// NewServerClock returns a ServerClock on clock (nil: wall time) that knows
// nothing yet: ClockOffset is ok=false until the first response.
func NewServerClock(clock controller.Clock) *ServerClock {
	if clock == nil {
		clock = WallClock{}
	}
	return &ServerClock{clock: clock, samples: make([]time.Duration, 0, ServerClockSamples)}
}

// ClockOffset is AWS's clock minus ours: the median of the latest samples;
// ok=false before any response with a Date header.
func (s *ServerClock) ClockOffset() (time.Duration, bool) {
	s.mu.Lock()
	sorted := slices.Clone(s.samples)
	s.mu.Unlock()
	n := len(sorted)
	if n == 0 {
		return 0, false
	}
	slices.Sort(sorted)
	if n%2 == 1 {
		return sorted[n/2], true
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2, true
}

// Observe adds one response: sent and received are our clock's readings
// around the round trip, date the response's Date header. A round trip that
// ends before it started (our clock stepped back) says nothing and is
// dropped.
func (s *ServerClock) Observe(sent, received, date time.Time) {
	if received.Before(sent) || date.IsZero() {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	offset := date.Add(dateResolution / 2).Sub(mid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < ServerClockSamples {
		s.samples = append(s.samples, offset)
	} else {
		s.samples[s.next] = offset
	}
	s.next = (s.next + 1) % ServerClockSamples
}

// serverClockMiddlewareID names the middleware in the SDK's stack.
const serverClockMiddlewareID = "pcautoscalerServerClock"

// AddToStack is an SDK APIOptions function: it adds the measuring
// middleware to a client's stack (lambda.Options.APIOptions,
// cloudwatch.Options.APIOptions). It sits last in the Deserialize step,
// next to the HTTP round trip, so the time read around it is the round
// trip's and every attempt of a retried call is a sample.
func (s *ServerClock) AddToStack(st *middleware.Stack) error {
	return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc(serverClockMiddlewareID,
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			sent := s.clock.Now()
			out, md, err := next.HandleDeserialize(ctx, in)
			received := s.clock.Now()
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil && resp.Response != nil {
				s.observeHeader(sent, received, resp.Header.Get("Date"), resp.Header.Get("Age"))
			}
			return out, md, err
		}), middleware.After)
}

// observeHeader adds a response whose Date parses; a cached answer (Age
// set) carries an old Date and is skipped.
func (s *ServerClock) observeHeader(sent, received time.Time, date, age string) {
	if date == "" || age != "" {
		return
	}
	t, err := smithyhttp.ParseTime(date)
	if err != nil {
		return
	}
	s.Observe(sent, received, t)
}
