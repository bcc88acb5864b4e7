package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

// TestREADMESimulatorWalkthrough runs the README's "Point it at the
// simulator" block as a new user would, in bash from the repository root,
// with three substitutions only: the built binary for `go run
// ./cmd/pcautoscaler` (the same program, built once), a free port for 4566,
// and a loopback --listen for run (tests bind nothing beyond loopback). It
// passes when run logs its first scaling decision.
func TestREADMESimulatorWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: runs the README's commands in real time, about a minute; skipped with -short")
	}
	bash := testenv.Program(t, "bash")
	testenv.Program(t, "aws")
	testenv.Program(t, "curl")
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	block := regexp.MustCompile("(?s)## Point it at the simulator\n\n```sh\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, block, "the README's simulator block")
	script := string(block[1])
	require.Contains(t, script, "go run ./cmd/pcautoscaler run --config config.example.yaml")

	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	script = strings.ReplaceAll(script, "go run ./cmd/pcautoscaler", bin)
	script = strings.ReplaceAll(script, "127.0.0.1:4566", "127.0.0.1:"+port)
	script = strings.Replace(script, "run --config config.example.yaml", "run --config config.example.yaml --listen 127.0.0.1:0", 1)

	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	cmd := exec.Command(bash, "-euo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = childEnv(t)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the backgrounded sim too
	// A file, not a pipe: Wait returns when bash does, whatever the
	// backgrounded simulator still holds open.
	outFile, err := os.Create(filepath.Join(t.TempDir(), "out"))
	require.NoError(t, err)
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	output := func() string { b, _ := os.ReadFile(outFile.Name()); return string(b) }
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			t.Logf("README block output:\n%s", output())
		}
	})
	deadline := time.After(4 * time.Minute)
	for !strings.Contains(output(), `"msg":"scaled"`) {
		select {
		case err := <-done:
			t.Fatalf("the README's commands ended (%v) before a scaling decision", err)
		case <-deadline:
			t.Fatal("no scaling decision within 4 minutes of running the README's commands")
		case <-time.After(200 * time.Millisecond):
		}
	}
	require.Contains(t, output(), `"FunctionName": "checkout-api"`, "list-functions answered")
}
