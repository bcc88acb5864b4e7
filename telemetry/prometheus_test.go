package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// scrapeTarget starts the thing Prometheus scrapes and returns its host:port
// and the targets whose series must appear. The test owns stopping it
// (t.Cleanup). Today it is an in-process server with the sample registry;
// the daemon's `pcautoscaler demo` can replace it (see the report).
type scrapeTarget func(t *testing.T) (hostport string, want []controller.TargetID)

// sampleScrapeTarget serves the sample registry on 127.0.0.1.
func sampleScrapeTarget(t *testing.T) (string, []controller.TargetID) {
	reg, _ := newSampleRegistry()
	srv := httptest.NewServer(Handler(reg, nil, nil))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), sampleTargets
}

func TestRealPrometheusScrapes(t *testing.T) {
	runPrometheusScrape(t, sampleScrapeTarget)
}

// TestRealPrometheusScrapesBinary scrapes a running `pcautoscaler demo`:
// the binary in PCAUTOSCALER_BIN, else ../bin/pcautoscaler (where .ci/run
// builds it). PCAUTOSCALER_BIN_ARGS replaces the arguments (space-separated;
// {listen} becomes a free 127.0.0.1 address).
func TestRealPrometheusScrapesBinary(t *testing.T) {
	bin := os.Getenv("PCAUTOSCALER_BIN")
	if bin == "" {
		if _, err := os.Stat(defaultBin); err != nil {
			t.Skipf("no pcautoscaler binary: set PCAUTOSCALER_BIN or build %s", defaultBin)
		}
		bin = defaultBin
	}
	args := []string{"demo", "--listen", "{listen}"}
	if a := os.Getenv("PCAUTOSCALER_BIN_ARGS"); a != "" {
		args = strings.Fields(a)
	}
	t.Logf("scraping %s %s", bin, strings.Join(args, " "))
	runPrometheusScrape(t, binaryScrapeTarget(bin, args...))
}

const defaultBin = "../bin/pcautoscaler"

// binaryScrapeTarget runs bin with args ({listen} replaced by a free
// 127.0.0.1 address), waits until its /metrics answers and returns the
// targets it exports in pcautoscaler_pc_requested: Prometheus must then
// show the same ones.
func binaryScrapeTarget(bin string, args ...string) scrapeTarget {
	return func(t *testing.T) (string, []controller.TargetID) {
		listen := freeLoopbackAddr(t)
		argv := make([]string, len(args))
		for i, a := range args {
			argv[i] = strings.ReplaceAll(a, "{listen}", listen)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, argv...)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 10 * time.Second
		var logs testenv.LineBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			cancel()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s %s output:\n%s", bin, strings.Join(argv, " "), logs.String())
			}
		})
		deadline := time.Now().Add(promTimeout)
		for {
			if body, err := httpGet(t, "http://"+listen+"/metrics"); err == nil {
				if ids := exportedTargets(body); len(ids) > 0 {
					return listen, ids
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s %s serves no pcautoscaler_pc_requested series on %s", promTimeout, bin, listen)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

var pcRequestedRE = regexp.MustCompile(`(?m)^pcautoscaler_pc_requested\{function="([^"]*)",qualifier="([^"]*)"\}`)

// exportedTargets reads the targets of pcautoscaler_pc_requested from a text exposition.
func exportedTargets(body string) []controller.TargetID {
	var ids []controller.TargetID
	for _, m := range pcRequestedRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, controller.TargetID{Function: m[1], Qualifier: m[2]})
	}
	return ids
}

func TestExportedTargets(t *testing.T) {
	reg, _ := newSampleRegistry()
	srv := httptest.NewServer(Handler(reg, nil, nil))
	defer srv.Close()
	body, err := httpGet(t, srv.URL+"/metrics")
	require.NoError(t, err)
	require.ElementsMatch(t, sampleTargets, exportedTargets(body))
}

// promTimeout bounds how long the test waits for Prometheus to start and
// scrape; it is a bound on waiting, not an assertion about speed.
const promTimeout = 90 * time.Second

// runPrometheusScrape starts a real Prometheus (scrape_interval 1s, our alert
// rules loaded) against target and checks, through the HTTP API, that
// pcautoscaler_pc_requested has a series for every wanted target, that the
// rules loaded, that every dashboard query evaluates without error, and that
// `promtool check metrics` finds nothing in target's exposition.
func runPrometheusScrape(t *testing.T, target scrapeTarget) {
	bin := testenv.Program(t, "prometheus")
	hostport, want := target(t)
	require.NotEmpty(t, want)

	// The scraped exposition is lint-clean.
	body, err := httpGet(t, "http://"+hostport+"/metrics")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(runPromtool(t, "", []byte(body), "check", "metrics")))

	dir := t.TempDir()
	rules, err := filepath.Abs(alertsFile)
	require.NoError(t, err)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: pcautoscaler
    static_configs:
      - targets: [%q]
`, rules, hostport)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(cfg), 0o600))

	listen := freeLoopbackAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var logs testenv.LineBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	api := "http://" + listen

	// Wait until Prometheus is ready and has scraped every target's series.
	deadline := time.Now().Add(promTimeout)
	var got map[controller.TargetID]bool
	for {
		got = map[controller.TargetID]bool{}
		if res, err := promQuery(t, api, "pcautoscaler_pc_requested"); err == nil {
			for _, s := range res {
				got[controller.TargetID{Function: s.Metric["function"], Qualifier: s.Metric["qualifier"]}] = true
			}
			if hasAll(got, want) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s Prometheus has series for %v, want %v", promTimeout, got, want)
		}
		time.Sleep(500 * time.Millisecond)
	}

	up, err := promQuery(t, api, `up{job="pcautoscaler"}`)
	require.NoError(t, err)
	require.Len(t, up, 1)
	require.Equal(t, "1", up[0].Value[1])

	// Our alert rules are loaded by a real server.
	var rulesResp struct {
		Status string `json:"status"`
		Data   struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	require.NoError(t, promGet(t, api+"/api/v1/rules", &rulesResp))
	require.Equal(t, "success", rulesResp.Status)
	require.Len(t, rulesResp.Data.Groups, 1)
	require.Len(t, rulesResp.Data.Groups[0].Rules, alertRuleCount(t))

	// Every dashboard query evaluates (an empty answer is fine; an error isn't).
	d, _ := readDashboard(t)
	for _, q := range dashboardExprs(d) {
		_, err := promQuery(t, api, q)
		require.NoError(t, err, q)
	}
}

func hasAll(got map[controller.TargetID]bool, want []controller.TargetID) bool {
	for _, id := range want {
		if !got[id] {
			return false
		}
	}
	return true
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// promQuery runs an instant query; an error means Prometheus isn't answering
// yet or refused the query.
func promQuery(t *testing.T, api, q string) ([]promSample, error) {
	var resp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := promGet(t, api+"/api/v1/query?query="+url.QueryEscape(q), &resp); err != nil {
		return nil, err
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, resp.Error)
	}
	var out []promSample
	if resp.Data.ResultType == "vector" {
		if err := json.Unmarshal(resp.Data.Result, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func promGet(t *testing.T, u string, v any) error {
	body, err := httpGet(t, u)
	if err != nil && body == "" {
		return err
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("GET %s: %s: %w", u, bytes.TrimSpace([]byte(body)), err)
	}
	return nil
}

// httpGet returns the body; a status other than 200 is an error (with the body).
func httpGet(t *testing.T, u string) (string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return string(body), nil
}

// freeLoopbackAddr finds a free port on 127.0.0.1 for a child process.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// TestRealPrometheusScrapesSubprocess exercises binaryScrapeTarget with this
// test binary as the child (see TestHelperProcessServe), the path the demo
// binary takes.
func TestRealPrometheusScrapesSubprocess(t *testing.T) {
	testenv.Program(t, "prometheus")
	t.Setenv(helperEnv, "1")
	runPrometheusScrape(t, binaryScrapeTarget(os.Args[0], "-test.run=^TestHelperProcessServe$", "--", "{listen}"))
}

const helperEnv = "PCAUTOSCALER_TELEMETRY_HELPER"

// TestHelperProcessServe is not a test: run as a child with helperEnv set,
// it serves the sample registry on the address after "--" until SIGTERM.
func TestHelperProcessServe(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process for TestRealPrometheusScrapesSubprocess")
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	require.Len(t, args, 2, "usage: -- LISTEN")
	reg, _ := newSampleRegistry()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv := NewServer(args[1], reg, nil, nil)
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}
