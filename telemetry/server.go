package telemetry

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Log keys (snake_case, fixed).
const (
	logKeyErr  = "err"
	logKeyAddr = "addr"
)

// Handler serves /metrics from g (OpenMetrics negotiated when the scraper
// asks for it), /healthz (200 while the process serves HTTP) and /readyz
// (200 when ready() returns nil, else 503 with the reason). A nil ready is
// always ready.
func Handler(g prometheus.Gatherer, ready func() error, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorLog:          promLogger{logger},
		ErrorHandling:     promhttp.ContinueOnError, // a broken collector must not hide the others
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				writeText(w, http.StatusServiceUnavailable, "not ready: "+strings.ReplaceAll(err.Error(), "\n", "; "))
				return
			}
		}
		writeText(w, http.StatusOK, "ready")
	})
	return mux
}

// NewServer returns an unstarted server for Handler on addr (the config's
// listen, e.g. ":9102"). The caller runs ListenAndServe and Shutdown.
func NewServer(addr string, g prometheus.Gatherer, ready func() error, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           Handler(g, ready, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.With(logKeyAddr, addr).Handler(), slog.LevelWarn),
	}
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, body)
}

// promLogger adapts slog to promhttp's Println logger.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) {
	p.l.Warn("metrics exposition failed", logKeyErr, fmt.Sprint(v...))
}
