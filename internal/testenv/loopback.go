package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LoopbackHTTPClient is an HTTP client that dials loopback addresses only:
// a request to any other host fails the test (and the request), so no SDK
// call of a test can reach an instance metadata address or a real AWS
// endpoint.
func LoopbackHTTPClient(t testing.TB) *http.Client {
	t.Helper()
	tr := loopbackTransport(func(addr string) {
		t.Errorf("a test request went to %s: tests talk to loopback only", addr)
	})
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// loopbackTransport dials loopback IP addresses only (no name is resolved:
// "localhost" is refused too, use 127.0.0.1); refused is told of any other.
func loopbackTransport(refused func(addr string)) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		Proxy: nil, // never an HTTP(S)_PROXY from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				refused(addr)
				return nil, fmt.Errorf("testenv: %s is not a loopback address", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 16,
	}
}

// IsolateAWS points the SDK's default chain, in this process, at static
// test credentials and nothing else: no instance metadata, no shared
// files, no profile, no endpoint from the environment. It uses t.Setenv,
// so the test cannot run in parallel.
func IsolateAWS(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ACCESS_KEY_ID":           "AKIDPCAUTOSCALERTEST",
		"AWS_SECRET_ACCESS_KEY":       "pcautoscaler-test-secret",
		"AWS_REGION":                  "us-east-1",
		"AWS_CONFIG_FILE":             dir + "/no-config",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/no-credentials",
	} {
		t.Setenv(k, v)
	}
	// Unset, not empty: an empty AWS_PROFILE is a profile named "" to
	// botocore (moto_server then fails every request).
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"} {
		t.Setenv(k, "")
		_ = os.Unsetenv(k)
	}
}

// motoEnv is this process's environment without AWS_* variables, for
// moto_server (botocore reads them too).
func motoEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// MotoEndpoint returns $MOTO_ENDPOINT (set by .ci/run), or starts
// moto_server on a free loopback port for this test; without moto_server
// the test is skipped, or fails under RequireVar=1.
func MotoEndpoint(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv("MOTO_ENDPOINT"); ep != "" {
		return ep
	}
	bin := Program(t, "moto_server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	var logs LineBuffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = motoEnv()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ep := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Readiness, not timing: poll until moto answers (it takes a few
	// seconds to import), giving up after a generous bound.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(ep + "/moto-api/")
		if err == nil {
			_ = resp.Body.Close()
			return ep
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not start on %s: %v\n%s", ep, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
