package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
)

// The end-to-end run: testdata/e2e-scenario.yaml and testdata/e2e-config.yaml
// on one simulated timeline (minutes after e2eStart):
//
//	burst-api:live      silent, ~20 concurrent from 5 to 11, silent again
//	report-worker:prod  a trickle; floor 20 from 30 to 45 (cron "30 10 * * *")
//
// At 120x a simulated minute is half a real second: the scenario takes
// about 25 real seconds (stable at 60x too, at about 50).
const (
	e2eStart    = "2026-11-24T10:00:00Z"
	e2eSpeed    = "120"
	e2eDeadline = 4 * time.Minute // real time; a hang guard, not an assertion
	e2eFloor    = 20
	e2eBurstMin = 20 // the burst's mean concurrency
	testSecret  = "pcautoscaler-test-secret"
)

// child is a started process of the built binary; its output is kept and
// written to the test log when the test fails.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdout lineBuffer
	stderr lineBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result; read after done
}

func startChild(t *testing.T, name, bin string, env []string, args ...string) *child {
	t.Helper()
	c := &child{name: name, done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = env
	c.cmd.Stdout = &c.stdout
	c.cmd.Stderr = &c.stderr
	require.NoError(t, c.cmd.Start(), "start %s", name)
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if !c.exited() {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("--- %s %s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), c.stdout.String(), c.stderr.String())
		}
	})
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// waitFor polls f until it reports ok, the child exits, or the deadline.
func (c *child) waitFor(t *testing.T, what string, deadline time.Time, f func() (string, bool)) string {
	t.Helper()
	for time.Now().Before(deadline) {
		if v, ok := f(); ok {
			return v
		}
		if c.exited() {
			t.Fatalf("%s exited (%v) before %s", c.name, c.err, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no %s before the deadline", c.name, what)
	return ""
}

// simURLLine is the line `sim` prints with its address.
var simURLLine = regexp.MustCompile(`simulated Lambda \+ CloudWatch on (http://127\.0\.0\.1:\d+) `)

// simURL waits for a `sim` child's address on its stdout.
func (c *child) simURL(t *testing.T, deadline time.Time) string {
	t.Helper()
	return c.waitFor(t, "simulator URL on stdout", deadline, func() (string, bool) {
		m := simURLLine.FindStringSubmatch(c.stdout.String())
		if m == nil {
			return "", false
		}
		return m[1], true
	})
}

// buildBinary builds cmd/pcautoscaler once for this test, as a user would.
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool := testenv.Program(t, "go")
	bin := filepath.Join(t.TempDir(), "pcautoscaler")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	return bin
}

// childEnv is a minimal environment: nothing of the developer's AWS setup
// leaks in; dummy static credentials; the given extra variables.
func childEnv(t *testing.T, extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range awsTestEnv(t) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// pcSample is one look at a target's provisioned concurrency, between two
// readings of the simulator's clock.
type pcSample struct {
	from, to             time.Time // simulated time before and after the read
	requested, allocated int
	status               string
}

func (s pcSample) state() string {
	return fmt.Sprintf("requested %d allocated %d %s", s.requested, s.allocated, s.status)
}

func (s pcSample) String() string { return s.from.Format("15:04:05") + " " + s.state() }

// history keeps a target's samples where the state changed (for the log).
type history struct {
	last    string
	changes []string
}

func (h *history) add(s pcSample) {
	if st := s.state(); st != h.last {
		h.last = st
		h.changes = append(h.changes, s.String())
	}
}

func (h *history) String() string { return strings.Join(h.changes, "; ") }

// TestEndToEnd runs the built binary twice, as a user would: `sim` on an
// accelerated clock (120x) and `run` against it through AWS_ENDPOINT_URL, on the
// simulator's time (--sim-clock). It watches the simulated account through
// the real Lambda SDK client: a burst scales one target out and, once quiet,
// back in; a floor window holds the other at its floor only while open.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary and runs about a minute; skipped with -short")
	}
	began := time.Now()
	bin := buildBinary(t)
	t.Logf("built %s in %s", bin, time.Since(began).Round(time.Millisecond))
	deadline := time.Now().Add(e2eDeadline)
	start, err := time.Parse(time.RFC3339, e2eStart)
	require.NoError(t, err)

	simProc := startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", "testdata/e2e-scenario.yaml",
		"--speed", e2eSpeed, "--start", e2eStart, "--log-level", "warn")
	simURL := simProc.simURL(t, deadline)

	daemon := startChild(t, "run", bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL),
		"run", "--config", "testdata/e2e-config.yaml", "--sim-clock", simURL,
		"--listen", "127.0.0.1:0", "--log-format", "json")
	listen := daemon.waitFor(t, `"serving /metrics /healthz /readyz" log line`, deadline, func() (string, bool) {
		for _, l := range daemon.stderr.Lines() {
			var rec struct {
				Msg    string `json:"msg"`
				Listen string `json:"listen"`
			}
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "serving /metrics /healthz /readyz" && rec.Listen != "" {
				return rec.Listen, true
			}
		}
		return "", false
	})
	t.Logf("simulator %s, daemon on %s after %s", simURL, listen, time.Since(began).Round(time.Millisecond))
	base := "http://" + listen
	code, body := httpGet(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)

	ctx := context.Background()
	lam := lambda.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(simURL),
	})
	simNow := func() time.Time {
		code, body := httpGet(t, simURL+simClockPath)
		require.Equal(t, http.StatusOK, code, body)
		var c simClockJSON
		require.NoError(t, json.Unmarshal([]byte(body), &c))
		return c.Now
	}
	sample := func(fn, q string) pcSample {
		from := simNow()
		out, err := lam.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(fn), Qualifier: aws.String(q),
		})
		require.NoError(t, err, "%s:%s", fn, q)
		return pcSample{
			from: from, to: simNow(),
			requested: int(aws.ToInt32(out.RequestedProvisionedConcurrentExecutions)),
			allocated: int(aws.ToInt32(out.AllocatedProvisionedConcurrentExecutions)),
			status:    string(out.Status),
		}
	}

	burstStart, windowOpen, windowClose := start.Add(5*time.Minute), start.Add(30*time.Minute), start.Add(45*time.Minute)
	// Everything is due by minute 46 (idle_after 10m after the burst: 22).
	e2eEnd := start.Add(60 * time.Minute)
	var (
		burstOut, burstIn, floorHeld, floorLeft *pcSample
		ready                                   bool
		burstLog, floorLog                      history
	)
	for !(burstIn != nil && floorLeft != nil && ready) {
		require.False(t, daemon.exited(), "the daemon exited: %v", daemon.err)
		b, f := sample("burst-api", "live"), sample("report-worker", "prod")
		if time.Now().After(deadline) || b.from.After(e2eEnd) {
			t.Fatalf("scenario over (simulated %s): burst out %v, back in %v; floor held %v, left %v; ready %v\nburst-api:live: %s\nreport-worker:prod: %s",
				b.from.Format("15:04:05"), burstOut, burstIn, floorHeld, floorLeft, ready, &burstLog, &floorLog)
		}
		burstLog.add(b)
		floorLog.add(f)

		// burst-api: nothing before the burst; out during it; back to min 1
		// once it is quiet again.
		if b.to.Before(burstStart) {
			require.Equal(t, 1, b.requested, "burst-api scaled before its burst: %s", b)
		}
		if burstOut == nil && b.requested >= e2eBurstMin {
			burstOut = &b
		}
		if burstOut != nil && burstIn == nil && b.requested == 1 {
			burstIn = &b
		}

		// report-worker: at its floor only while the window is open.
		if f.to.Before(windowOpen) {
			require.Less(t, f.requested, e2eFloor, "report-worker at its floor before the window opened: %s", f)
		}
		if floorHeld == nil && !f.from.Before(windowOpen) && f.to.Before(windowClose) &&
			f.requested >= e2eFloor && f.allocated >= e2eFloor && f.status == "READY" {
			floorHeld = &f
		}
		if floorHeld != nil && floorLeft == nil && !f.from.Before(windowClose) && f.requested < e2eFloor {
			floorLeft = &f
		}

		if !ready {
			code, _ := httpGet(t, base+"/readyz")
			ready = code == http.StatusOK
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("burst-api:live: %s", &burstLog)
	t.Logf("report-worker:prod: %s", &floorLog)
	t.Logf("scenario done after %s real (simulated %s)", time.Since(began).Round(time.Millisecond), simNow().Sub(start).Round(time.Second))

	// The daemon's own telemetry saw the same: both directions, both targets.
	code, body = httpGet(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, c := range []struct{ function, direction string }{
		{"burst-api", "out"}, {"burst-api", "in"}, {"report-worker", "out"}, {"report-worker", "in"},
	} {
		require.GreaterOrEqual(t, counter(body, "pcautoscaler_scaling_actions_total",
			`function="`+c.function+`"`, `direction="`+c.direction+`"`, `result="ok"`), 1.0,
			"scaling_actions_total %s %s", c.function, c.direction)
	}
	code, body = httpGet(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)

	// SIGTERM: the daemon stops cleanly, exit 0, "stopped" logged.
	require.NoError(t, daemon.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-daemon.done:
	case <-time.After(time.Until(deadline) + 30*time.Second):
		t.Fatal("run did not exit after SIGTERM")
	}
	require.NoError(t, daemon.err, "run's exit")
	require.Equal(t, 0, daemon.cmd.ProcessState.ExitCode())
	var stopped bool
	for _, l := range daemon.stderr.Lines() {
		var rec struct {
			Msg string `json:"msg"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec), "every log line is JSON: %q", l)
		stopped = stopped || rec.Msg == "stopped"
	}
	require.True(t, stopped, "no \"stopped\" log line")
	require.NotContains(t, daemon.stderr.String(), testSecret, "credentials in the daemon's log")

	require.NoError(t, simProc.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-simProc.done:
	case <-time.After(time.Until(deadline) + 30*time.Second):
		t.Fatal("sim did not exit after SIGTERM")
	}
	require.NoError(t, simProc.err, "sim's exit")
	t.Logf("end to end: %s real", time.Since(began).Round(time.Millisecond))
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, url)
	return resp.StatusCode, string(b)
}

// counter sums the samples of a metric whose labels contain every one of
// labels, in Prometheus text exposition.
func counter(exposition, name string, labels ...string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") {
			continue
		}
		end := strings.LastIndexByte(l, '}')
		if end < 0 {
			continue
		}
		match := true
		for _, lb := range labels {
			match = match && strings.Contains(l[:end], lb)
		}
		if !match {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(l[end+1:])[0], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// startSimAndDaemon starts the simulator on scenario at 60× and the daemon
// on the config at cfgPath against it (JSON logs, a free loopback port),
// and waits for the daemon's "serving" line: the daemon, the simulator,
// its URL and the daemon's listen address.
func startSimAndDaemon(t *testing.T, bin, scenario, cfgPath string, deadline time.Time) (d, simProc *child, simURL, listen string) {
	t.Helper()
	simProc = startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", scenario,
		"--speed", "60", "--start", e2eStart, "--log-level", "warn")
	simURL = simProc.simURL(t, deadline)
	d = startChild(t, "run", bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL),
		"run", "--config", cfgPath, "--sim-clock", simURL, "--listen", "127.0.0.1:0", "--log-format", "json")
	listen = d.waitFor(t, `"serving" line`, deadline, func() (string, bool) {
		return logField(d, "serving /metrics /healthz /readyz", "listen")
	})
	return d, simProc, simURL, listen
}
