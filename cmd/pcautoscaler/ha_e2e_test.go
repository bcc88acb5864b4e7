package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// The HA end-to-end run: the built binary as `sim` (120x) and as three
// `run` replicas over their lifetime, electing through a DynamoDB lease on
// moto_server. Leases are real time (the processes' own clocks), ticks are
// simulated: a 60 s interval is half a real second.
const (
	haSpeed    = 120.0
	haLease    = 2 * time.Second
	haRenew    = 1500 * time.Millisecond
	haRetry    = 250 * time.Millisecond
	haTick     = time.Duration(float64(time.Minute) / haSpeed) // 500ms real
	haDeadline = 3 * time.Minute                               // a hang guard, not an assertion
	// perturbAppID names the test's own out-of-band writes in the write log.
	perturbAppID = "e2e-perturber"
)

// haReplica is one `run` process and what it told about itself.
type haReplica struct {
	*child
	appID  string // in its requests' User-Agent: the write log's caller
	listen string
}

// TestHAEndToEnd: two replicas, one writes; kill -9 the leader and the
// follower writes within lease_duration + one tick; SIGSTOP the next
// leader past its lease (a third replica takes over), SIGCONT, and it
// writes nothing after resuming; the simulator's write log shows one
// writer at a time throughout.
//
// Writes are provoked: every second the test sets report-worker:prod to 1,
// under its min 2, out of band; the leader puts it back at its next tick
// (floors ignore cooldowns), so a writer shows within a tick of leading.
func TestHAEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary and runs about 30 s; skipped with -short")
	}
	began := time.Now()
	deadline := began.Add(haDeadline)
	motoURL := testenv.MotoEndpoint(t)
	table := haTable(t, motoURL)
	bin := buildBinary(t)
	t.Logf("built %s in %s", bin, time.Since(began).Round(time.Millisecond))

	cfgPath := filepath.Join(t.TempDir(), "ha.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(`# TestHAEndToEnd: testdata/e2e-config.yaml's targets, two or three replicas
interval: 60s
log: {level: info, format: json}
ha:
  backend: dynamodb
  lease_duration: %s
  renew_deadline: %s
  retry_period: %s
  dynamodb: {table: %s, key: e2e}
defaults: {scale_in_datapoints: 3, scale_in_cooldown: 2m, max_scale_in_step: 0, idle_after: 10m}
targets:
  - {function: burst-api, qualifier: live, min: 1, max: 100}
  - {function: report-worker, qualifier: prod, min: 2, max: 50}
`, haLease, haRenew, haRetry, table)), 0o600))

	simProc := startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", "testdata/e2e-scenario.yaml",
		"--speed", fmt.Sprint(haSpeed), "--start", e2eStart, "--log-level", "warn")
	simURL := simProc.simURL(t, deadline)

	start := func(name string) *haReplica {
		c := startChild(t, name, bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL, "AWS_ENDPOINT_URL_DYNAMODB="+motoURL),
			"run", "--config", cfgPath, "--sim-clock", simURL, "--listen", "127.0.0.1:0", "--log-format", "json")
		r := &haReplica{child: c}
		r.appID = c.waitFor(t, name+`'s "starting" line`, deadline, func() (string, bool) {
			return logField(c, "starting", "app_id")
		})
		r.listen = c.waitFor(t, name+`'s "serving" line`, deadline, func() (string, bool) {
			return logField(c, "serving /metrics /healthz /readyz", "listen")
		})
		return r
	}
	isLeader := func(r *haReplica) bool {
		code, body := httpGetOK(r.listen)
		return code == http.StatusOK && strings.Contains(body, "\npcautoscaler_leader 1\n")
	}

	lam := lambda.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(simURL),
		HTTPClient:   testenv.LoopbackHTTPClient(t),
		AppID:        perturbAppID,
	})
	perturb := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A refusal (a change still allocating) is fine: the next one lands.
		_, _ = lam.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("report-worker"), Qualifier: aws.String("prod"),
			ProvisionedConcurrentExecutions: aws.Int32(1),
		})
	}
	simNow := func() time.Time {
		code, body := httpGet(t, simURL+simClockPath)
		require.Equal(t, http.StatusOK, code, body)
		var c simClockJSON
		require.NoError(t, json.Unmarshal([]byte(body), &c))
		return c.Now
	}
	writes := func() []sim.WriteRecord {
		code, body := httpGet(t, simURL+"/_sim/writes")
		require.Equal(t, http.StatusOK, code, body)
		var ws []sim.WriteRecord
		require.NoError(t, json.Unmarshal([]byte(body), &ws))
		return ws
	}
	// firstWrite waits (perturbing every second) for a write of caller
	// answered at or after since (simulated time).
	firstWrite := func(caller string, since time.Time) sim.WriteRecord {
		var found sim.WriteRecord
		lastPerturb := time.Time{}
		for time.Now().Before(deadline) {
			if time.Since(lastPerturb) > time.Second {
				perturb()
				lastPerturb = time.Now()
			}
			for _, w := range writes() {
				if w.Caller == caller && !w.Time.Before(since) {
					return w
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no write by %s since %s", caller, since.Format("15:04:05.000"))
		return found
	}
	simToReal := func(d time.Duration) time.Duration { return time.Duration(float64(d) / haSpeed) }

	// 1. a leads and writes; b follows and writes nothing.
	a := start("a")
	eventually(t, "a leads", deadline, func() bool { return isLeader(a) })
	b := start("b")
	eventually(t, "b reports follower", deadline, func() bool {
		code, body := httpGetOK(b.listen)
		return code == http.StatusOK && strings.Contains(body, "\npcautoscaler_leader 0\n")
	})
	firstWrite(a.appID, simNow())
	steadyUntil := time.Now().Add(3 * time.Second)
	for time.Now().Before(steadyUntil) {
		perturb()
		time.Sleep(time.Second)
	}
	require.False(t, isLeader(b))

	// 2. kill -9 the leader: b writes within lease_duration + one tick.
	killedAt := simNow()
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.done
	bFirst := firstWrite(b.appID, killedAt)
	takeover := simToReal(bFirst.Time.Sub(killedAt))
	t.Logf("kill -9 of the leader: the follower's first write %s later (lease %s, tick %s)", takeover.Round(time.Millisecond), haLease, haTick)
	// Generous bounds: a lease cannot be taken sooner than a lease after
	// the leader's last renewal (at most one retry period before the kill),
	// and the first write comes at the first tick after the takeover.
	require.GreaterOrEqual(t, takeover, haLease-haRetry-200*time.Millisecond, "b took over before a's lease could have expired")
	require.LessOrEqual(t, takeover, haLease+haTick+haRetry+1500*time.Millisecond, "b took longer than lease_duration + one tick")

	// 3. a third replica follows; SIGSTOP the leader b past its lease.
	c := start("c")
	eventually(t, "c reports follower", deadline, func() bool {
		code, body := httpGetOK(c.listen)
		return code == http.StatusOK && strings.Contains(body, "\npcautoscaler_leader 0\n")
	})
	firstWrite(b.appID, simNow()) // b writes right before its pause
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGSTOP))
	stoppedAt := simNow()
	cFirst := firstWrite(c.appID, stoppedAt)
	t.Logf("SIGSTOP of the leader: the follower's first write %s later", simToReal(cFirst.Time.Sub(stoppedAt)).Round(time.Millisecond))
	pauseUntil := time.Now().Add(2 * haLease)
	for time.Now().Before(pauseUntil) {
		perturb()
		time.Sleep(500 * time.Millisecond)
	}
	resumedAt := simNow()
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGCONT))
	// Keep provoking writes for a while: only c may answer them.
	resumeUntil := time.Now().Add(4 * time.Second)
	for time.Now().Before(resumeUntil) {
		perturb()
		time.Sleep(500 * time.Millisecond)
	}
	firstWrite(c.appID, resumedAt)
	b.waitFor(t, `b's "lost the lease" line`, deadline, func() (string, bool) {
		_, ok := logField(b.child, "lost the lease: writes stopped; running on as a follower", "reason")
		return "", ok
	})
	require.False(t, b.exited(), "b exited after losing the lease: it should go on as a follower")

	// The write log: b wrote nothing after resuming, and one writer at a
	// time — once a new writer appears, the earlier one never writes again.
	all := writes()
	var afterResume int
	var writers []string
	for _, w := range all {
		if w.Caller == perturbAppID {
			continue
		}
		require.Contains(t, []string{a.appID, b.appID, c.appID}, w.Caller, "a write by an unknown caller: %+v", w)
		if w.Caller == b.appID && !w.Time.Before(resumedAt) {
			afterResume++
		}
		if len(writers) == 0 || writers[len(writers)-1] != w.Caller {
			require.NotContains(t, writers, w.Caller, "%s writes again after another replica wrote: %v", w.Caller, haWriteLog(all))
			writers = append(writers, w.Caller)
		}
	}
	require.Zero(t, afterResume, "b wrote after resuming: %v", haWriteLog(all))
	require.Equal(t, []string{a.appID, b.appID, c.appID}, writers)
	t.Logf("writes by the replicas in order: %v; writes by b after resuming: %d", writers, afterResume)
	t.Logf("HA figures: takeover after kill -9 %s; writes after the pause 0; %d writes in all", takeover.Round(time.Millisecond), len(all))

	// SIGTERM: both stop cleanly; the leader releases the lease.
	for _, r := range []*haReplica{b, c} {
		require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	}
	for _, r := range []*haReplica{b, c} {
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not exit after SIGTERM", r.name)
		}
		require.NoError(t, r.err, "%s's exit", r.name)
	}
	_, released := logField(c.child, "released the lease", "")
	require.True(t, released, "c did not release the lease")
	require.NoError(t, simProc.cmd.Process.Signal(syscall.SIGTERM))
	<-simProc.done
	t.Logf("HA end to end: %s real", time.Since(began).Round(time.Millisecond))
}

// haTable creates a lease table on moto for this test.
func haTable(t *testing.T, motoURL string) string {
	t.Helper()
	client := dynamodb.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(motoURL),
		HTTPClient:   testenv.LoopbackHTTPClient(t),
	})
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "pcautoscaler-e2e-" + hex.EncodeToString(b[:])
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("LeaseKey"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("LeaseKey"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return table
}

// logField returns a field of the child's first JSON log line with msg
// (ok with "" when field is "").
func logField(c *child, msg, field string) (string, bool) {
	for _, l := range c.stderr.Lines() {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil || rec["msg"] != msg {
			continue
		}
		if field == "" {
			return "", true
		}
		if v, ok := rec[field].(string); ok && v != "" {
			return v, true
		}
	}
	return "", false
}

// httpGetOK is an HTTP GET of /metrics that tolerates a refused connection
// (a stopped process).
func httpGetOK(listen string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/metrics", nil)
	if err != nil {
		return 0, ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, "\n" + sb.String()
}

func eventually(t *testing.T, what string, deadline time.Time, cond func() bool) {
	t.Helper()
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not before the deadline: %s", what)
}

func haWriteLog(ws []sim.WriteRecord) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, "\n  %s %s %s:%s %d %s", w.Time.Format("15:04:05.000"), w.Caller, w.Function, w.Qualifier, w.Value, w.Result)
	}
	return b.String()
}
