package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// The fault suite end to end: the built binary, `pcautoscaler sim` on an
// accelerated clock and `pcautoscaler run --sim-clock` against it over
// loopback HTTP, through the real SDK clients. One simulated timeline
// (minutes after e2eStart) checks what the in-process matrix cannot: the
// HTTP path, the Date-header clock, the caller in the write log, an outage
// that closes connections, and the process itself.
//
//	surge-api:live  5 concurrent, ×8 to 40 at +8m, back to 5 at +32m
//	quiet-api:live  a trickle on 30 PC: must scale in
//	CloudWatch publishes every minute 180 s late; from +20m to +26m every
//	endpoint is unreachable (fault unavailable): more than 3 ticks.
//
// At 120× a simulated minute is half a real second: about 25 s of real time.
// Assertions are on simulated time and on the order of events, never on
// wall-clock durations; the wall-clock deadline is a hang guard only.
const (
	e2eStart    = "2026-11-24T10:00:00Z"
	e2eSpeed    = "120"
	e2eDeadline = 3 * time.Minute
)

const e2eScenario = `seed: 11
account: {concurrent_executions: 1000, unreserved_min: 100}
allocation: {prep_delay: 30s, rate_per_minute: 600, decrease_delay: 10s}
metrics: {publish_delay: 180s}
functions:
  - name: surge-api
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 8}
    loads:
      - {qualifier: live, kind: step, duration_ms: 1000, rate: 300,
         steps: [{at: 8m, rate: 2400}, {at: 32m, rate: 300}]}
  - name: quiet-api
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 30}
    loads:
      - {qualifier: live, kind: constant, duration_ms: 1000, rate: 30}
faults:
  - {op: "*", kind: unavailable, from: 20m, until: 26m}
`

const e2eConfig = `interval: 60s
log: {level: info, format: json}
targets:
  - {function: surge-api, qualifier: live, min: 1, max: 100}
  - {function: quiet-api, qualifier: live, min: 1, max: 50}
`

func TestEndToEndLateDataAndOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary and runs about half a minute; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pcautoscaler")
	out, err := exec.Command(testenv.Program(t, "go"), "build", "-o", bin, "../cmd/pcautoscaler").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	scPath, cfgPath := filepath.Join(dir, "scenario.yaml"), filepath.Join(dir, "config.yaml")
	for path, body := range map[string]string{scPath: e2eScenario, cfgPath: e2eConfig} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(e2eDeadline)
	start, _ := time.Parse(time.RFC3339, e2eStart)

	simProc := startProc(t, "sim", bin, e2eEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", scPath, "--speed", e2eSpeed, "--start", e2eStart, "--log-level", "warn")
	urlLine := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+) `)
	var simURL string
	simProc.await(t, "the simulator's URL", deadline, func() bool {
		m := urlLine.FindStringSubmatch(simProc.stdout.String())
		if m != nil {
			simURL = m[1]
		}
		return m != nil
	})
	daemon := startProc(t, "run", bin, e2eEnv(t, "AWS_ENDPOINT_URL="+simURL),
		"run", "--config", cfgPath, "--sim-clock", simURL, "--listen", "127.0.0.1:0", "--log-format", "json")

	// Follow the simulated account until everything the timeline promises
	// has happened, or its simulated end.
	var (
		writes             []sim.WriteRecord
		now                time.Time
		surgeOut, quietIn  *sim.WriteRecord
		afterOutage        *sim.WriteRecord
		surgeAt, outageEnd = start.Add(8 * time.Minute), start.Add(26 * time.Minute)
		end                = start.Add(50 * time.Minute)
	)
	for surgeOut == nil || quietIn == nil || afterOutage == nil {
		if time.Now().After(deadline) || now.After(end) {
			t.Fatalf("timeline over at simulated +%s: surge scaled out %v, quiet scaled in %v, a write after the outage %v; write log:\n%s",
				now.Sub(start).Round(time.Second), surgeOut, quietIn, afterOutage, writeLog(writes, start))
		}
		if daemon.exited() {
			t.Fatalf("the daemon exited: %v", daemon.err)
		}
		time.Sleep(200 * time.Millisecond)
		now = simNow(t, simURL)
		getJSON(t, simURL+"/_sim/writes", &writes)
		for i := range writes {
			w := &writes[i]
			if w.Result != sim.WriteOK {
				continue
			}
			switch {
			case surgeOut == nil && w.Function == "surge-api" && w.Value >= 40 && !w.Time.Before(surgeAt):
				surgeOut = w
			case quietIn == nil && w.Function == "quiet-api" && w.Value < 30:
				quietIn = w
			case afterOutage == nil && !w.Time.Before(outageEnd):
				afterOutage = w
			}
		}
	}
	t.Logf("write log:\n%s", writeLog(writes, start))

	// 180 s publication: the surge is scaled out within publication + 2
	// ticks + allocation of its first minute completing (+ a minute of
	// slack for an accelerated clock read over HTTP).
	budget := surgeAt.Add(time.Minute + 180*time.Second + 2*time.Minute + time.Minute)
	if surgeOut.Time.After(budget) {
		t.Errorf("surge at +8m scaled out only at +%s (%d), budget +%s", surgeOut.Time.Sub(start).Round(time.Second), surgeOut.Value, budget.Sub(start))
	}
	// One caller wrote, and it is the daemon (its AppID in the User-Agent).
	callers := map[string]bool{}
	for _, w := range writes {
		callers[w.Caller] = true
	}
	if len(callers) != 1 {
		t.Errorf("write log callers %v, want exactly one (the daemon)", callers)
	}
	for c := range callers {
		if !strings.HasPrefix(c, "pcautoscaler") {
			t.Errorf("write log caller %q is not the daemon's AppID", c)
		}
	}
	// During the outage nothing reached the simulator as a write the daemon
	// saw succeed, and no write in the log is above max.
	for _, w := range writes {
		if w.Value > 100 {
			t.Errorf("write above max: %+v", w)
		}
		if w.Result == sim.WriteOK && !w.Time.Before(start.Add(20*time.Minute)) && w.Time.Before(outageEnd) {
			t.Errorf("a write succeeded during the outage: %+v", w)
		}
	}
	// Six ticks without AWS: the stall was said out loud (one Warn line
	// with its reason), not only logged call by call.
	if !regexp.MustCompile(`"level":"WARN","msg":"target stalled[^"]*".*"stall":"[a-z_]+"`).MatchString(daemon.stderr.String()) {
		t.Errorf("no \"target stalled\" Warn line with a stall reason during a 6-minute outage")
	}

	// SIGTERM: exit 0 with "stopped".
	if err := daemon.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-daemon.done:
	case <-time.After(time.Until(deadline) + 30*time.Second):
		t.Fatal("run did not exit after SIGTERM")
	}
	if daemon.err != nil {
		t.Errorf("run exited with %v", daemon.err)
	}
	if !strings.Contains(daemon.stderr.String(), `"msg":"stopped"`) {
		t.Errorf(`no "stopped" line`)
	}
}

// proc is a started child process with its output kept (and logged when
// the test fails).
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill() // our own child, by its pid
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s\nstdout:\n%s\nstderr:\n%s", name, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) await(t *testing.T, what string, deadline time.Time, ok func() bool) {
	t.Helper()
	for !ok() {
		if p.exited() {
			t.Fatalf("exited (%v) before %s", p.err, what)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s before the deadline", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// e2eEnv is a minimal environment: none of the developer's AWS setup, test
// credentials, no instance metadata.
func e2eEnv(t *testing.T, extra ...string) []string {
	home := t.TempDir()
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=AKIDRELIABILITYTEST", "AWS_SECRET_ACCESS_KEY=reliability-test-secret", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_EC2_METADATA_DISABLED=true",
	}, extra...)
}

func simNow(t *testing.T, base string) time.Time {
	var c struct {
		Now time.Time `json:"now"`
	}
	getJSON(t, base+"/_sim/clock", &c)
	return c.Now
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %v", url, resp.Status, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

func writeLog(ws []sim.WriteRecord, start time.Time) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "  +%s %s:%s %s %d %s %s\n", w.Time.Sub(start).Round(time.Second), w.Function, w.Qualifier, w.Op, w.Value, w.Result, w.Caller)
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer the exec copier and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
