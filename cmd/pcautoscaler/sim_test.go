package main

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startSim runs `sim` in process on 127.0.0.1 until the test ends and
// returns its URL and output.
func startSim(t *testing.T, args ...string) (url string, stdout, stderr *lineBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &lineBuffer{}, &lineBuffer{}
	done := make(chan int, 1)
	go func() { done <- serveSim(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		require.Equal(t, exitOK, <-done, "sim's exit; stderr:\n%s", stderr)
	})
	re := regexp.MustCompile(`simulated Lambda \+ CloudWatch on (http://127\.0\.0\.1:\d+) `)
	deadline := time.Now().Add(time.Minute) // a hang guard, not an assertion
	for {
		// The hints follow the URL line in one go: wait for the last one.
		if m := re.FindStringSubmatch(stdout.String()); m != nil && strings.Contains(stdout.String(), " pcautoscaler run ") {
			return m[1], stdout, stderr
		}
		select {
		case code := <-done:
			t.Fatalf("sim exited %d: %s", code, stderr)
		default:
		}
		require.True(t, time.Now().Before(deadline), "no URL from sim:\n%s\n%s", stdout, stderr)
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSimHints: the command sim prints for the daemon follows the
// simulator's clock whenever that is not wall time.
func TestSimHints(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		simClock bool
	}{
		{name: "real time", args: nil},
		{name: "accelerated", args: []string{"--speed", "60"}, simClock: true},
		{name: "elsewhere in time", args: []string{"--start", "2026-11-24T06:00:00Z"}, simClock: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, stdout, stderr := startSim(t, append(tc.args, "--log-level", "warn")...)
			var run string
			for _, l := range stdout.Lines() {
				if strings.Contains(l, " pcautoscaler run ") {
					run = strings.TrimSpace(l)
				}
			}
			want := "AWS_ENDPOINT_URL=" + url + " AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1 pcautoscaler run --config config.example.yaml"
			if tc.simClock {
				want += " --sim-clock " + url
			}
			require.Equal(t, want, run, stdout.String())
			require.NotContains(t, stderr.String(), "EXPOSED", "loopback is not exposed")
		})
	}
}

func TestSimExposure(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4566}, ""},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 4566}, ""},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 4566}, "every interface"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 4566}, "every interface"},
		{&net.TCPAddr{Port: 4566}, "every interface"},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 4566}, "192.168.1.5:4566, not loopback"},
	}
	for _, tc := range tests {
		got := exposure(tc.addr)
		if tc.want == "" {
			require.Empty(t, got, tc.addr.String())
			continue
		}
		require.Contains(t, got, tc.want, tc.addr.String())
	}
}
