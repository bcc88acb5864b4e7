package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const reloadOneTarget = `interval: 60s
log: {level: info, format: json}
defaults: {scale_in_datapoints: 3, scale_in_cooldown: 2m, max_scale_in_step: 0, idle_after: 10m}
targets:
  - {function: burst-api, qualifier: live, min: 1, max: 100}
`

// TestReloadEndToEnd: the built daemon on the simulator. SIGHUP with a
// broken file keeps the old config, logs every problem with its YAML path
// and says so in pcautoscaler_config_last_reload_success; SIGHUP with a
// good file adds a target without a restart; a change of the file alone
// (no signal) is picked up by the watch.
func TestReloadEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end: builds the binary; skipped with -short")
	}
	deadline := time.Now().Add(3 * time.Minute)
	bin := buildBinary(t)
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(reloadOneTarget), 0o600))

	d, simProc, _, listen := startSimAndDaemon(t, bin, "testdata/e2e-scenario.yaml", cfgPath, deadline)
	metric := func(name string) (float64, bool) {
		code, body := httpGetOK(listen)
		if code != http.StatusOK {
			return 0, false
		}
		for _, l := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(l, name+" "); ok {
				var f float64
				if err := json.Unmarshal([]byte(v), &f); err == nil {
					return f, true
				}
			}
		}
		return 0, false
	}
	decided := func(function string) bool {
		_, body := httpGetOK(listen)
		return counter(body, "pcautoscaler_scaling_decisions_total", `function="`+function+`"`) > 0
	}
	eventually(t, "burst-api decided", deadline, func() bool { return decided("burst-api") })
	v, ok := metric("pcautoscaler_config_last_reload_success")
	require.True(t, ok)
	require.Equal(t, 1.0, v)

	// A broken file: two problems, both logged with their paths; the old
	// config stays and the daemon goes on.
	require.NoError(t, os.WriteFile(cfgPath, []byte(reloadOneTarget+
		"  - {function: report-worker, qualifier: prod, min: 2, max: 50, target_utilization: 1.5}\n"+
		"  - {function: x, qualifier: $LATEST}\n"), 0o600))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	eventually(t, "both problems logged", deadline, func() bool {
		s := d.stderr.String()
		return strings.Contains(s, `targets[1].target_utilization: 1.5 is out of range`) &&
			strings.Contains(s, `targets[2].qualifier: \"$LATEST\" is not allowed`)
	})
	eventually(t, "reload success 0", deadline, func() bool { v, ok := metric("pcautoscaler_config_last_reload_success"); return ok && v == 0 })
	require.False(t, d.exited(), "SIGHUP with a broken file stopped the daemon")
	time.Sleep(2 * time.Second) // a few simulated minutes: still one target
	require.False(t, decided("report-worker"), "a target of the broken file is managed")

	// A good file adds report-worker on SIGHUP, without a restart.
	require.NoError(t, os.WriteFile(cfgPath, []byte(reloadOneTarget+
		"  - {function: report-worker, qualifier: prod, min: 2, max: 50}\n"), 0o600))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	eventually(t, "reloaded", deadline, func() bool {
		_, ok := logField(d, "config reloaded: targets and their settings apply from the next tick", "")
		return ok
	})
	eventually(t, "report-worker decided", deadline, func() bool { return decided("report-worker") })
	v, _ = metric("pcautoscaler_config_last_reload_success")
	require.Equal(t, 1.0, v)

	// The file changes again, no signal: the watch drops burst-api.
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.Replace(reloadOneTarget,
		"  - {function: burst-api, qualifier: live, min: 1, max: 100}\n",
		"  - {function: report-worker, qualifier: prod, min: 2, max: 50}\n", 1)), 0o600))
	eventually(t, "the watch reloads", deadline, func() bool {
		return strings.Contains(d.stderr.String(), `"trigger":"file changed"`)
	})
	require.Contains(t, d.stderr.String(), `"removed":["burst-api:live"]`)

	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	<-d.done
	require.NoError(t, d.err)
	_, stopped := logField(d, "stopped", "")
	require.True(t, stopped)
	require.NoError(t, simProc.cmd.Process.Signal(syscall.SIGTERM))
	<-simProc.done
}
