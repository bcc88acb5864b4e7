package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

// discoverSpeed: a simulated minute (the discovery cadence) is four real
// seconds, long against the test's polling and the AWS CLI's start-up.
const discoverSpeed = "15"

// TestDiscoveryEndToEnd runs the built binary as a user would — `sim` and
// `run` with a discover: block — and tags functions with the AWS CLI while
// it runs (testdata/discover-*.yaml):
//
//   - tagged-api, tagged from the start, is managed from its tags (min 2);
//   - listed-api is tagged too but listed under targets: the file wins (min 3);
//   - late-api, tagged with `aws lambda tag-resource` while the daemon runs,
//     is managed (min 4) by the first discovery after the tag, within one
//     discover.interval of simulated time;
//   - bad-api, tagged with a bad value, is reported with its ARN and the
//     tag key and not managed;
//   - late-api, untagged, is dropped by the next discovery.
func TestDiscoveryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary; skipped with -short")
	}
	awsCLI := testenv.Program(t, "aws")
	bin := buildBinary(t)
	deadline := time.Now().Add(e2eDeadline)

	simProc := startChild(t, "sim", bin, childEnv(t),
		"sim", "--listen", "127.0.0.1:0", "--scenario", "testdata/discover-scenario.yaml",
		"--speed", discoverSpeed, "--start", e2eStart, "--log-level", "warn")
	simURL := simProc.simURL(t, deadline)
	daemon := startChild(t, "run", bin, childEnv(t, "AWS_ENDPOINT_URL="+simURL),
		"run", "--config", "testdata/discover-config.yaml", "--sim-clock", simURL,
		"--listen", "127.0.0.1:0", "--log-format", "json")

	ctx := context.Background()
	lam := lambda.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", testSecret, ""),
		BaseEndpoint: aws.String(simURL),
	})
	simNow := func() time.Time {
		code, body := httpGet(t, simURL+simClockPath)
		require.Equal(t, 200, code, body)
		var c simClockJSON
		require.NoError(t, json.Unmarshal([]byte(body), &c))
		return c.Now
	}
	requested := func(fn string) int {
		out, err := lam.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(fn), Qualifier: aws.String("live")})
		if err != nil {
			return 0
		}
		return int(aws.ToInt32(out.RequestedProvisionedConcurrentExecutions))
	}
	waitPC := func(fn string, want int) {
		t.Helper()
		daemon.waitFor(t, fn+":live at "+strconv.Itoa(want), deadline, func() (string, bool) {
			return "", requested(fn) == want
		})
	}
	cli := func(args ...string) {
		t.Helper()
		cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", simURL, "--region", "us-east-1"}, args...)...)
		cmd.Env = childEnv(t)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "aws %s:\n%s", strings.Join(args, " "), out)
	}
	arn := func(name string) string { return "arn:aws:lambda:us-east-1:123456789012:function:" + name }
	// logged finds the daemon's JSON log line msg whose key holds want
	// (a string, or a list containing it).
	logged := func(msg, key, want string) (map[string]any, bool) {
		for _, l := range daemon.stderr.Lines() {
			var rec map[string]any
			if json.Unmarshal([]byte(l), &rec) != nil || rec["msg"] != msg {
				continue
			}
			switch v := rec[key].(type) {
			case string:
				if v == want {
					return rec, true
				}
			case []any:
				for _, x := range v {
					if s, _ := x.(string); s == want {
						return rec, true
					}
				}
			}
		}
		return nil, false
	}

	// From the start: the tags and the file.
	waitPC("tagged-api", 2)
	waitPC("listed-api", 3)

	// Tagged while it runs, with the AWS CLI. The tag lands somewhere
	// between these two readings of the simulated clock (the CLI takes a
	// real second or two to start).
	before := simNow()
	cli("lambda", "tag-resource", "--resource", arn("late-api"),
		"--tags", "pcautoscaler/managed=true,pcautoscaler/min=4,pcautoscaler/max=30")
	tagged := simNow()
	cli("lambda", "tag-resource", "--resource", arn("bad-api"),
		"--tags", "pcautoscaler/managed=true,pcautoscaler/max=lots")
	var added map[string]any
	daemon.waitFor(t, "late-api:live added by a discovery", deadline, func() (string, bool) {
		rec, ok := logged("discovered targets changed", "added", "late-api:live")
		added = rec
		return "", ok
	})
	at, err := time.Parse(time.RFC3339, added["at"].(string))
	require.NoError(t, err)
	// Found by the first discovery after the tag: at most one
	// discover.interval (1m) after the CLI returned, never before it ran.
	require.False(t, at.Before(before.Truncate(time.Second)), "discovered at %s, before the tag (%s)", at, before)
	require.LessOrEqual(t, at.Sub(tagged), time.Minute+time.Second,
		"discovered at %s, %s after the tag: more than one discover.interval (1m)", at, at.Sub(tagged))
	waitPC("late-api", 4)
	t.Logf("late-api tagged between %s and %s (simulated), discovered at %s, at its floor by %s",
		before.Format("15:04:05"), tagged.Format("15:04:05"), at.Format("15:04:05"), simNow().Format("15:04:05"))

	// The bad tag: reported with the function's ARN and the tag key.
	var rec map[string]any
	daemon.waitFor(t, "bad-api's problem logged", deadline, func() (string, bool) {
		r, ok := logged("discovered function has bad tags; it is not managed from them", "function_arn", arn("bad-api"))
		rec = r
		return "", ok
	})
	require.Equal(t, "WARN", rec["level"])
	require.Equal(t, []any{`tag pcautoscaler/max: want a whole number, got "lots"`}, rec["problems"])
	require.Zero(t, requested("bad-api"), "bad-api is not managed")

	// Telemetry: three found (listed-api is the file's), two managed from
	// tags, one with problems.
	code, body := httpGet(t, "http://"+daemonListen(t, daemon, deadline)+"/metrics")
	require.Equal(t, 200, code)
	require.Equal(t, 4.0, gauge(body, "pcautoscaler_discovered_functions"))
	require.Equal(t, 2.0, gauge(body, "pcautoscaler_discovered_targets"))
	require.Equal(t, 1.0, gauge(body, "pcautoscaler_discovery_tag_problem_functions"))
	require.Equal(t, 3.0, gauge(body, "pcautoscaler_targets"))
	require.True(t, strings.Contains(body, `pcautoscaler_pc_requested{function="late-api",qualifier="live"} `),
		"no per-target series for the discovered late-api")

	// Untagged: dropped by the next discovery, its PC left as it is.
	cli("lambda", "untag-resource", "--resource", arn("late-api"), "--tag-keys", "pcautoscaler/managed")
	daemon.waitFor(t, "late-api:live dropped", deadline, func() (string, bool) {
		_, ok := logged("discovered targets changed", "dropped", "late-api:live")
		return "", ok
	})
	require.Equal(t, 4, requested("late-api"))

	require.NoError(t, daemon.cmd.Process.Signal(syscall.SIGTERM))
	<-daemon.done
	require.NoError(t, daemon.err, "run's exit")
	require.NoError(t, simProc.cmd.Process.Signal(syscall.SIGTERM))
	<-simProc.done
}

// daemonListen returns the address from the daemon's "serving" log line.
func daemonListen(t *testing.T, d *child, deadline time.Time) string {
	t.Helper()
	return d.waitFor(t, `"serving /metrics /healthz /readyz" log line`, deadline, func() (string, bool) {
		for _, l := range d.stderr.Lines() {
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
}

// gauge reads an unlabelled sample from Prometheus text exposition (-1 when
// absent).
func gauge(exposition, name string) float64 {
	for _, l := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return f
			}
		}
	}
	return -1
}
