package telemetry

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg, []controller.TargetID{checkout}, BuildInfo{Version: "t"})
	notReady := func() error {
		return errors.Join(errors.New("no successful tick yet"), errors.New("lambda has not answered yet"))
	}
	tests := []struct {
		name       string
		ready      func() error
		path       string
		accept     string
		wantStatus int
		wantBody   string
		wantType   string
	}{
		{name: "healthz", path: "/healthz", wantStatus: 200, wantBody: "ok\n"},
		{name: "readyz nil func", path: "/readyz", wantStatus: 200, wantBody: "ready\n"},
		{name: "readyz ready", ready: func() error { return nil }, path: "/readyz", wantStatus: 200, wantBody: "ready\n"},
		{name: "readyz not ready says why", ready: notReady, path: "/readyz", wantStatus: 503,
			wantBody: "not ready: no successful tick yet; lambda has not answered yet\n"},
		{name: "metrics text", path: "/metrics", wantStatus: 200, wantBody: `pcautoscaler_pc_requested{function="checkout-api",qualifier="live"} 0`,
			wantType: "text/plain"},
		{name: "metrics openmetrics", path: "/metrics", accept: "application/openmetrics-text;version=1.0.0", wantStatus: 200,
			wantBody: "# EOF", wantType: "application/openmetrics-text"},
		{name: "unknown path", path: "/nope", wantStatus: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(reg, tc.ready, nil))
			defer srv.Close()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tc.path, nil)
			require.NoError(t, err)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, resp.StatusCode, string(body))
			if tc.wantBody != "" {
				if strings.HasSuffix(tc.wantBody, "\n") {
					require.Equal(t, tc.wantBody, string(body))
				} else {
					require.Contains(t, string(body), tc.wantBody)
				}
			}
			if tc.wantType != "" {
				require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType), resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestNewServer(t *testing.T) {
	s := NewServer("127.0.0.1:0", prometheus.NewRegistry(), nil, nil)
	require.Equal(t, "127.0.0.1:0", s.Addr)
	require.NotNil(t, s.Handler)
	require.NotZero(t, s.ReadHeaderTimeout)
}
