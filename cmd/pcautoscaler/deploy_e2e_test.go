package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The deploy run: testdata/deploy-scenario.yaml and testdata/deploy-config.yaml
// on one simulated timeline, in minutes after depStart. deploy-api:live has
// ~200 concurrent (per-minute peaks ~235) on PC 358 — within target — and a
// lone one-minute peak of ~315 at minute 8 that the daemon does not follow.
//
//	 0  aws lambda publish-version, twice: versions 2 and 3
//	16  aws lambda update-alias --function-version 2: the alias moves
//	31  aws lambda update-alias --routing-config AdditionalVersionWeights={3=0.1}: a canary starts
//	39  the traffic rises to ~350 concurrent: it asks for a scale-out, the weights forbid it
//	44  aws lambda update-alias --routing-config {}: the canary ends, the scale-out goes out
//	49  end
//
// The AWS CLI takes seconds to start (Python), which at 120x is minutes of
// simulated time. So every CLI process starts at once, before the binary is
// built, with its --endpoint-url at a gate of its own (a reverse proxy on
// loopback to the simulator) that holds its request until the simulated
// minute it belongs to: each deploy reaches Lambda at its minute, whatever
// the machine's load.
const (
	depStart    = "2026-11-24T10:00:00Z"
	depSpeed    = "120" // a simulated minute is half a real second: ~25 s for the scenario
	depDeadline = 3 * time.Minute
	depTarget   = 0.70
	depFunction = "deploy-api"
	depAlias    = "live"
	depInterval = time.Minute
	// depLimitsRefresh is controller.DefaultLimitsRefresh: the daemon looks
	// at the alias's routing at least this often.
	depLimitsRefresh = 5 * time.Minute
)

var (
	depMove    = 16 * time.Minute
	depWeights = 31 * time.Minute
	depSurge   = 39 * time.Minute // the scenario's step to 21000 invocations a minute
	depClear   = 44 * time.Minute
	depEnd     = 49 * time.Minute
)

// depLog is one JSON line of the daemon's log.
type depLog struct {
	Level      string    `json:"level"`
	Msg        string    `json:"msg"`
	SimTime    time.Time `json:"sim_time"`
	Reason     string    `json:"reason"`
	From       int       `json:"from"`
	To         int       `json:"to"`
	Allocated  int       `json:"allocated"`
	Detail     string    `json:"detail"`
	ErrorClass string    `json:"error_class"`
	Error      string    `json:"error"`
	raw        string
}

func (l depLog) String() string { return l.raw }

// simWrite and simDeploy are the simulator's /_sim/writes and /_sim/deploys
// records (sim.WriteRecord, sim.DeployRecord).
type simWrite struct {
	Time      time.Time `json:"time"`
	Op        string    `json:"op"`
	Function  string    `json:"function"`
	Qualifier string    `json:"qualifier"`
	Value     int       `json:"value"`
	Result    string    `json:"result"`
	Caller    string    `json:"caller"`
}

func (w simWrite) String() string {
	return fmt.Sprintf("%s %s %s:%s %d %s (%s)", w.Time.Format("15:04:05"), w.Op, w.Function, w.Qualifier, w.Value, w.Result, w.Caller)
}

type simDeploy struct {
	Time     time.Time          `json:"time"`
	Op       string             `json:"op"`
	Function string             `json:"function"`
	Alias    string             `json:"alias"`
	Version  string             `json:"version"`
	Weights  map[string]float64 `json:"weights"`
	Result   string             `json:"result"`
	Caller   string             `json:"caller"`
}

// simLink is the simulator as the gates see it: its URL and clock once it
// has started (the CLI processes start before it, while the binary builds).
type simLink struct {
	ready chan struct{} // closed once url is set
	url   string
}

func (s *simLink) now() (time.Time, error) {
	resp, err := http.Get(s.url + simClockPath)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	var c simClockJSON
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return time.Time{}, err
	}
	return c.Now, nil
}

// cliGate is the endpoint of one AWS CLI call: a reverse proxy on loopback
// that holds the call's request until open says so, then passes it to the
// simulator. It records the simulated time each request went through.
type cliGate struct {
	name string
	srv  *httptest.Server

	mu        sync.Mutex
	early     []bool      // the request was there before the gate opened
	forwarded []time.Time // simulated time it went through
}

func newCLIGate(t *testing.T, ctx context.Context, name string, sim *simLink, open func(now time.Time) bool) *cliGate {
	t.Helper()
	g := &cliGate{name: name}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-sim.ready:
		case <-ctx.Done():
			http.Error(w, "gate: no simulator", http.StatusBadGateway)
			return
		}
		now, err := sim.now()
		early := err == nil && !open(now)
		for err == nil && !open(now) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			now, err = sim.now()
		}
		if err != nil || ctx.Err() != nil {
			http.Error(w, fmt.Sprintf("gate: simulator clock: %v (%v)", err, ctx.Err()), http.StatusBadGateway)
			return
		}
		g.mu.Lock()
		g.early, g.forwarded = append(g.early, early), append(g.forwarded, now)
		g.mu.Unlock()
		target, _ := url.Parse(sim.url)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// cliResult is one finished AWS CLI call.
type cliResult struct {
	args           []string
	stdout, stderr string
	err            error
	out            map[string]any
}

// runAWSCLI runs `aws --endpoint-url endpoint args...` with test
// credentials and nothing of the caller's AWS setup.
func runAWSCLI(ctx context.Context, awsCLI, home, endpoint string, args ...string) cliResult {
	full := append([]string{"--endpoint-url", endpoint, "--output", "json", "--cli-read-timeout", "300"}, args...)
	cmd := exec.CommandContext(ctx, awsCLI, full...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=AKIDPCAUTOSCALERTEST", "AWS_SECRET_ACCESS_KEY=" + testSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "no-credentials"),
		"AWS_PAGER=", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := cliResult{args: args}
	r.err = cmd.Run()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if strings.TrimSpace(r.stdout) != "" {
		if err := json.Unmarshal(stdout.Bytes(), &r.out); err != nil && r.err == nil {
			r.err = fmt.Errorf("stdout is not JSON: %w", err)
		}
	}
	if r.err != nil {
		r.err = fmt.Errorf("aws %s: %w\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// TestDeployEndToEnd runs the built binary (`sim` at 120x and `run
// --sim-clock`) and deploys with the AWS CLI as a pipeline would (issue 11,
// "Done when", first bullet):
//
//   - alias move: publish-version + update-alias --function-version moves
//     the alias and Lambda re-allocates its PC on the new version. No
//     write loop, no scale-out caused by the move, and the PC ends on the
//     new version at the value the traffic needs.
//   - routing weights: update-alias --routing-config adds a canary's
//     weights. No Put while they stand, even when the traffic asks for one;
//     one Info line; reason "weighted" on /metrics; clearing them ('{}')
//     resumes within one tick with the change the traffic asked for.
func TestDeployEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary and runs about 30 s; skipped with -short")
	}
	awsCLI := testenv.Program(t, "aws")
	began := time.Now()
	start, err := time.Parse(time.RFC3339, depStart)
	require.NoError(t, err)
	at := func(d time.Duration) time.Time { return start.Add(d) }

	// The CLI calls start first, so Python's start-up overlaps the build;
	// each waits at its gate: both publish-version calls until the
	// simulator runs, each update-alias until its minute.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a hang guard
	defer cancel()
	sim := &simLink{ready: make(chan struct{})}
	home := t.TempDir()
	type call struct {
		name string
		gate *cliGate
		args []string
		done chan cliResult
	}
	var published sync.WaitGroup
	published.Add(2)
	publishedDone := make(chan struct{})
	go func() { published.Wait(); close(publishedDone) }()
	isClosed := func(c chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	gateAt := func(name string, d time.Duration, after func() bool) *cliGate {
		return newCLIGate(t, ctx, name, sim, func(now time.Time) bool { return !now.Before(at(d)) && after() })
	}
	always := func() bool { return true }
	calls := []*call{
		{name: "publish-version (2)", gate: gateAt("publish-version (2)", 0, always),
			args: []string{"lambda", "publish-version", "--function-name", depFunction, "--description", "build 2"}},
		{name: "publish-version (3)", gate: gateAt("publish-version (3)", 0, always),
			args: []string{"lambda", "publish-version", "--function-name", depFunction, "--description", "build 3"}},
		{name: "move", gate: gateAt("move", depMove, func() bool { return isClosed(publishedDone) }),
			args: []string{"lambda", "update-alias", "--function-name", depFunction, "--name", depAlias, "--function-version", "2"}},
		// As typed in a shell: --routing-config AdditionalVersionWeights={"3"=0.1}
		{name: "weights", gate: gateAt("weights", depWeights, always),
			args: []string{"lambda", "update-alias", "--function-name", depFunction, "--name", depAlias, "--routing-config", "AdditionalVersionWeights={3=0.1}"}},
		{name: "clear", gate: gateAt("clear", depClear, always),
			args: []string{"lambda", "update-alias", "--function-name", depFunction, "--name", depAlias, "--routing-config", "{}"}},
	}
	for i, c := range calls {
		c.done = make(chan cliResult, 1)
		go func() {
			r := runAWSCLI(ctx, awsCLI, home, c.gate.srv.URL, c.args...)
			if i < 2 {
				published.Done()
			}
			c.done <- r
		}()
	}

	bin := buildBinary(t)
	t.Logf("built %s in %s", bin, time.Since(began).Round(time.Millisecond))
	deadline := time.Now().Add(depDeadline)
	simProc := startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", "testdata/deploy-scenario.yaml",
		"--speed", depSpeed, "--start", depStart, "--log-level", "warn")
	sim.url = simProc.simURL(t, deadline)
	close(sim.ready)
	simURL := sim.url
	mustSimNow := func() time.Time {
		now, err := sim.now()
		require.NoError(t, err, "the simulator's clock")
		return now
	}

	daemon := startChild(t, "run", bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL),
		"run", "--config", "testdata/deploy-config.yaml", "--sim-clock", simURL,
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
	base := "http://" + listen
	logs := func() []depLog {
		var out []depLog
		for _, l := range daemon.stderr.Lines() {
			var rec depLog
			if json.Unmarshal([]byte(l), &rec) == nil {
				rec.raw = l
				out = append(out, rec)
			}
		}
		return out
	}
	t.Logf("simulator %s, daemon on %s after %s", simURL, listen, time.Since(began).Round(time.Millisecond))

	lam := lambda.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(simURL),
	})
	cw := cloudwatch.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(simURL),
	})
	bg := context.Background()

	// What the world looks like at the end of the move's phase, taken
	// just before the weights' minute.
	type pcState struct {
		at                   time.Time
		aliasVersion         string
		aliasWeights         map[string]float64
		requested, allocated int
		status               string
		oldVersionErr        error // GetProvisionedConcurrencyConfig on version 1
	}
	snapshot := func() pcState {
		s := pcState{at: mustSimNow()}
		a, err := lam.GetAlias(bg, &lambda.GetAliasInput{FunctionName: aws.String(depFunction), Name: aws.String(depAlias)})
		require.NoError(t, err, "GetAlias")
		s.aliasVersion = aws.ToString(a.FunctionVersion)
		if a.RoutingConfig != nil {
			s.aliasWeights = a.RoutingConfig.AdditionalVersionWeights
		}
		pc, err := lam.GetProvisionedConcurrencyConfig(bg, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(depFunction), Qualifier: aws.String(depAlias)})
		require.NoError(t, err, "GetProvisionedConcurrencyConfig %s", depAlias)
		s.requested = int(aws.ToInt32(pc.RequestedProvisionedConcurrentExecutions))
		s.allocated = int(aws.ToInt32(pc.AllocatedProvisionedConcurrentExecutions))
		s.status = string(pc.Status)
		_, s.oldVersionErr = lam.GetProvisionedConcurrencyConfig(bg, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(depFunction), Qualifier: aws.String("1")})
		return s
	}

	const weightedLine = "alias has routing weights (a deploy shifting traffic): no change while they stand"
	const clearedLine = "routing weights cleared: deciding again"
	var (
		moved              *pcState
		weightedMetrics    string // /metrics while the weights stand
		weightedMetricsAt  time.Time
		weightedPCRequests int
	)
	for {
		require.False(t, daemon.exited(), "the daemon exited: %v", daemon.err)
		require.False(t, simProc.exited(), "the simulator exited: %v", simProc.err)
		now := mustSimNow()
		if time.Now().After(deadline) {
			t.Fatalf("real-time deadline at simulated %s (a hang guard)", now.Format("15:04:05"))
		}
		if moved == nil && !now.Before(at(depWeights-time.Minute)) {
			s := snapshot()
			moved = &s
		}
		if weightedMetrics == "" && now.Before(at(depClear)) {
			for _, l := range logs() {
				if l.Msg == weightedLine {
					// One more tick so it has decided while weighted.
					if now.Sub(l.SimTime) >= depInterval+10*time.Second {
						_, weightedMetrics = httpGet(t, base+"/metrics")
						weightedMetricsAt = now
						out, err := lam.GetProvisionedConcurrencyConfig(bg, &lambda.GetProvisionedConcurrencyConfigInput{
							FunctionName: aws.String(depFunction), Qualifier: aws.String(depAlias)})
						require.NoError(t, err)
						weightedPCRequests = int(aws.ToInt32(out.RequestedProvisionedConcurrentExecutions))
					}
					break
				}
			}
		}
		if !now.Before(at(depEnd)) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	results := map[string]cliResult{}
	for _, c := range calls {
		select {
		case r := <-c.done:
			require.NoError(t, r.err, "%s", c.name)
			results[c.name] = r
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%s: the AWS CLI did not finish", c.name)
		}
		c.gate.mu.Lock()
		require.Len(t, c.gate.forwarded, 1, "%s: one request through its gate", c.name)
		t.Logf("%s: through its gate at simulated %s (waiting there before: %v)", c.name, c.gate.forwarded[0].Format("15:04:05"), c.gate.early[0])
		c.gate.mu.Unlock()
	}
	t.Logf("scenario done after %s real (simulated %s)", time.Since(began).Round(time.Millisecond), mustSimNow().Sub(start).Round(time.Second))

	// Everything the run left behind: the simulator's write and deploy
	// logs, the alias's concurrency per minute, the daemon's log and metrics.
	var writes []simWrite
	code, body := httpGet(t, simURL+"/_sim/writes")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &writes))
	var deploys []simDeploy
	code, body = httpGet(t, simURL+"/_sim/deploys")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &deploys))
	code, endMetrics := httpGet(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	conc := minuteMaxima(t, cw, start, at(depEnd))
	daemonLog := logs()
	for _, w := range writes {
		t.Logf("write: %s", w)
	}
	for _, l := range daemonLog {
		if l.Msg == "scaled" || l.Level == "WARN" || l.Level == "ERROR" || strings.Contains(l.Msg, "weights") {
			t.Logf("daemon: %s %s %s %d→%d %s %s %s", l.SimTime.Format("15:04:05"), l.Level, l.Msg, l.From, l.To, l.Reason, l.Detail, l.Error)
		}
	}

	// The deploys happened as the CLI asked, each at its minute.
	deployOf := func(op string, match func(simDeploy) bool) simDeploy {
		t.Helper()
		for _, d := range deploys {
			if d.Op == op && d.Function == depFunction && match(d) {
				require.Equal(t, "ok", d.Result, "%+v", d)
				require.True(t, strings.HasPrefix(d.Caller, "aws-cli/"), "made by the AWS CLI: %+v", d)
				return d
			}
		}
		t.Fatalf("no %s in the deploy log: %+v", op, deploys)
		return simDeploy{}
	}
	deployOf("PublishVersion", func(d simDeploy) bool { return d.Version == "2" })
	deployOf("PublishVersion", func(d simDeploy) bool { return d.Version == "3" })
	move := deployOf("UpdateAlias", func(d simDeploy) bool {
		return d.Version == "2" && len(d.Weights) == 0 && d.Time.Before(at(depWeights))
	})
	weighted := deployOf("UpdateAlias", func(d simDeploy) bool { return d.Weights["3"] == 0.1 })
	cleared := deployOf("UpdateAlias", func(d simDeploy) bool { return len(d.Weights) == 0 && d.Time.After(weighted.Time) })
	for _, c := range []struct {
		name string
		d    simDeploy
		want time.Duration
	}{{"move", move, depMove}, {"weights", weighted, depWeights}, {"clear", cleared, depClear}} {
		// A gate passes a request at its minute, or late if the CLI was
		// late to start: then the scenario's timeline is off.
		require.False(t, c.d.Time.Before(at(c.want)), "%s before its minute: %+v", c.name, c.d)
		require.Less(t, c.d.Time.Sub(at(c.want)), 2*time.Minute, "%s: the AWS CLI reached its gate late (%s), the scenario's timeline does not hold", c.name, c.d.Time.Format("15:04:05"))
	}
	require.Equal(t, "2", results["move"].out["FunctionVersion"], "update-alias's answer")
	require.Equal(t, map[string]any{"3": 0.1}, dig(results["weights"].out, "RoutingConfig", "AdditionalVersionWeights"), "update-alias's answer")
	writesIn := func(from, to time.Time) []simWrite {
		var out []simWrite
		for _, w := range writes {
			if !w.Time.Before(from) && w.Time.Before(to) {
				out = append(out, w)
			}
		}
		return out
	}
	logIn := func(from, to time.Time, keep func(depLog) bool) []depLog {
		var out []depLog
		for _, l := range daemonLog {
			if !l.SimTime.Before(from) && l.SimTime.Before(to) && keep(l) {
				out = append(out, l)
			}
		}
		return out
	}
	errorsIn := func(from, to time.Time) []depLog {
		return logIn(from, to, func(l depLog) bool { return l.Level == "ERROR" })
	}
	ticksIn := func(from, to time.Time) []depLog {
		return logIn(from, to, func(l depLog) bool { return l.Msg == "tick" })
	}

	t.Run("alias move", func(t *testing.T) {
		phaseEnd := weighted.Time
		// The daemon saw the move: Lambda re-allocating on version 2.
		saw := logIn(move.Time, move.Time.Add(4*time.Minute), func(l depLog) bool {
			return l.Msg == "hold" && l.Reason == "allocating" && l.Allocated == 0
		})
		require.NotEmpty(t, saw, "the daemon never saw the move's re-allocation (hold, reason allocating, allocated 0)")
		t.Logf("the daemon saw the move at %s: %s", saw[0].SimTime.Format("15:04:05"), saw[0].Detail)

		// What the traffic needs: its highest per-minute peak from five
		// minutes before the move on, at the target utilization.
		peak := maxOver(conc, move.Time.Add(-5*time.Minute), phaseEnd)
		need := int(math.Ceil(peak/depTarget - 1e-9))
		t.Logf("the traffic around the move peaks at %.0f concurrent: it needs %d", peak, need)

		moveWrites := writesIn(move.Time, phaseEnd)
		var refused, above []simWrite
		for _, w := range moveWrites {
			if w.Result != "ok" {
				refused = append(refused, w)
			}
			if w.Op == "PutProvisionedConcurrencyConfig" && w.Value > need {
				above = append(above, w)
			}
		}
		t.Logf("writes from the move to the weights: %d (%v)", len(moveWrites), moveWrites)
		assert.Empty(t, refused, "no write refused during the move (no error loop)")
		assert.Empty(t, above, "no scale-out caused by the move: a Put above what the traffic needs (%d = ceil(%.0f / %.2f))", need, peak, depTarget)
		assert.Empty(t, brief(errorsIn(move.Time, phaseEnd)), "no Error line during the move")

		// The PC ended on version 2, at what the traffic needs.
		require.NotNil(t, moved)
		s := *moved
		t.Logf("at %s: alias on version %s, PC requested %d allocated %d %s", s.at.Format("15:04:05"), s.aliasVersion, s.requested, s.allocated, s.status)
		assert.Equal(t, "2", s.aliasVersion)
		assert.Empty(t, s.aliasWeights)
		assert.Equal(t, "READY", s.status)
		assert.Equal(t, s.requested, s.allocated, "all of it allocated on version 2")
		var nf interface{ ErrorCode() string }
		if assert.Error(t, s.oldVersionErr, "no PC left on version 1") && errors.As(s.oldVersionErr, &nf) {
			assert.Equal(t, "ProvisionedConcurrencyConfigNotFoundException", nf.ErrorCode())
		}
		// Within target: the last five published minutes' peak at between
		// 0.60 and 0.75 of it (the daemon's band is 0.63..0.70).
		recent := maxOver(conc, s.at.Add(-7*time.Minute), s.at.Add(-2*time.Minute))
		assert.GreaterOrEqual(t, float64(s.requested), recent/0.75, "PC %d for peaks of %.0f: too little", s.requested, recent)
		assert.LessOrEqual(t, float64(s.requested), recent/0.60, "PC %d for peaks of %.0f: too much", s.requested, recent)
	})

	t.Run("routing weights", func(t *testing.T) {
		// The traffic asked for more while the weights stood: a published
		// minute after the surge peaked above the PC.
		before := weightedPCRequests
		require.NotZero(t, before, "the PC read while the weights stood")
		surgePeak := maxOver(conc, at(depSurge), cleared.Time.Add(-time.Minute)) // published before the clear
		require.Greater(t, surgePeak, float64(before), "the scenario's surge must ask for a scale-out while the weights stand")

		assert.Empty(t, writesIn(weighted.Time, cleared.Time), "no Put or Delete while the weights stand")

		lines := logIn(start, at(depEnd), func(l depLog) bool { return l.Msg == weightedLine })
		if assert.Len(t, lines, 1, "one Info line for the weights") {
			assert.Equal(t, "INFO", lines[0].Level)
			assert.False(t, lines[0].SimTime.Before(weighted.Time))
			// The daemon reads the alias's routing with its limits, at
			// least every depLimitsRefresh.
			assert.LessOrEqual(t, lines[0].SimTime.Sub(weighted.Time), depLimitsRefresh+2*depInterval, "weights seen late: %s", lines[0])
			t.Logf("weights seen at %s (%s after the update-alias)", lines[0].SimTime.Format("15:04:05"), lines[0].SimTime.Sub(weighted.Time).Round(time.Second))
		}
		assert.Empty(t, brief(errorsIn(weighted.Time, cleared.Time)), "no Error line while the weights stand: a canary is a deploy, not a failure")

		require.NotEmpty(t, weightedMetrics, "/metrics was not read while the weights stood")
		series := `function="` + depFunction + `"`
		assert.Positive(t, counter(weightedMetrics, "pcautoscaler_scaling_decisions_total", series, `reason="weighted"`),
			"scaling_decisions_total{reason=\"weighted\"} at %s", weightedMetricsAt.Format("15:04:05"))
		assert.Zero(t, counter(endMetrics, "pcautoscaler_target_stalled", series, `reason="weighted"`),
			"weights for %s are no stall (that is after 30 minutes)", cleared.Time.Sub(weighted.Time))

		// Cleared: deciding again within one tick — at most the tick
		// running when the clear landed lies between them.
		back := logIn(cleared.Time, at(depEnd), func(l depLog) bool { return l.Msg == clearedLine })
		require.Len(t, back, 1, "one Info line for the weights clearing")
		between := ticksIn(cleared.Time, back[0].SimTime)
		assert.LessOrEqual(t, len(between), 1, "deciding again within one tick of the clear: ticks in between %v", between)
		t.Logf("weights cleared at %s, deciding again at %s", cleared.Time.Format("15:04:05"), back[0].SimTime.Format("15:04:05"))

		// ... with the change the traffic asked for, in that same tick.
		after := writesIn(cleared.Time, at(depEnd))
		require.NotEmpty(t, after, "no Put after the weights cleared")
		first := after[0]
		assert.Equal(t, "PutProvisionedConcurrencyConfig", first.Op)
		assert.Equal(t, "ok", first.Result)
		// In the daemon's log, that tick's lines: the clear seen, the
		// scale-out made, then the tick's own line.
		var sameTick []string
		for _, l := range daemonLog[slices.IndexFunc(daemonLog, func(l depLog) bool { return l.Msg == clearedLine }):] {
			if l.Msg == "tick" {
				break
			}
			if l.Msg == "scaled" {
				sameTick = append(sameTick, l.raw)
			}
		}
		assert.Len(t, sameTick, 1, "the scale-out in the tick that saw the clear")
		lo := minOver(conc, at(depSurge), first.Time.Add(-time.Minute))
		hi := maxOver(conc, at(depSurge), first.Time.Add(-time.Minute))
		assert.Greater(t, first.Value, before, "a scale-out")
		assert.GreaterOrEqual(t, first.Value, int(math.Ceil(lo/depTarget-1e-9)), "the whole surge (peaks %.0f..%.0f), not a step", lo, hi)
		assert.LessOrEqual(t, first.Value, int(math.Ceil(hi/depTarget-1e-9)), "no more than the surge needs (peaks %.0f..%.0f)", lo, hi)
		t.Logf("after the clear: %s (was %d; the surge peaks at %.0f..%.0f)", first, before, lo, hi)
	})

	require.NoError(t, daemon.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-daemon.done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not exit after SIGTERM")
	}
	require.NoError(t, daemon.err, "run's exit")
	t.Logf("deploys end to end: %s real", time.Since(began).Round(time.Millisecond))
}

// brief shows log lines as time, level, message, error.
func brief(ls []depLog) []string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s %s %s: %s", l.SimTime.Format("15:04:05"), l.Level, l.Msg, l.Error))
	}
	return out
}

// minuteMaxima reads the alias's ConcurrentExecutions (Maximum) per minute
// from the simulator's CloudWatch: what the daemon sizes PC from.
func minuteMaxima(t *testing.T, cw *cloudwatch.Client, from, to time.Time) map[time.Time]float64 {
	t.Helper()
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from), EndTime: aws.Time(to),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("conc"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{
					Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("ConcurrentExecutions"),
					Dimensions: []cwtypes.Dimension{
						{Name: aws.String("FunctionName"), Value: aws.String(depFunction)},
						{Name: aws.String("Resource"), Value: aws.String(depFunction + ":" + depAlias)},
					},
				},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			},
		}},
	})
	require.NoError(t, err, "GetMetricData")
	require.Len(t, out.MetricDataResults, 1)
	r := out.MetricDataResults[0]
	m := map[time.Time]float64{}
	for i, ts := range r.Timestamps {
		m[ts.UTC()] = r.Values[i]
	}
	require.NotEmpty(t, m, "no ConcurrentExecutions datapoints")
	return m
}

// maxOver and minOver: the highest and lowest per-minute values of the
// minutes starting in [from, to); NaN when none.
func maxOver(m map[time.Time]float64, from, to time.Time) float64 {
	v := math.NaN()
	for ts, x := range m {
		if !ts.Before(from) && ts.Before(to) && (math.IsNaN(v) || x > v) {
			v = x
		}
	}
	return v
}

func minOver(m map[time.Time]float64, from, to time.Time) float64 {
	v := math.NaN()
	for ts, x := range m {
		if !ts.Before(from) && ts.Before(to) && (math.IsNaN(v) || x < v) {
			v = x
		}
	}
	return v
}

// dig walks nested JSON objects.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
