package sim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

// Transport is an http.RoundTripper serving requests with Handler (usually
// NewHandler's) in memory: the whole wire path — serialization, status
// codes, headers — without sockets, for backtests that must stay fast. A
// response the handler aborts (an injected outage, which over a socket
// closes the connection) is a transport error here too, not a panic.
type Transport struct{ Handler http.Handler }

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	defer func() {
		if v := recover(); v != nil {
			if e, ok := v.(error); !ok || !errors.Is(e, http.ErrAbortHandler) {
				panic(v)
			}
			resp, err = nil, fmt.Errorf("sim: connection closed without a response: %w", io.ErrUnexpectedEOF)
		}
	}()
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, r)
	resp = rec.Result()
	resp.Request = r
	return resp, nil
}
