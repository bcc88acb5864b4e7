package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/ha"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

func TestStartupRetryable(t *testing.T) {
	apiErr := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"throttled", &awsapi.Error{Class: awsapi.ClassThrottled, Err: apiErr("TooManyRequestsException")}, true},
		{"server", &awsapi.Error{Class: awsapi.ClassServer, Err: apiErr("ServiceException")}, true},
		{"throttle code unwrapped", apiErr("ThrottlingException"), true},
		{"connection refused", &awsapi.Error{Class: awsapi.ClassError,
			Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}}, true},
		{"DNS", &net.DNSError{Err: "no such host", Name: "lambda.example", IsNotFound: true}, true},
		{"SDK retry quota spent", errors.Join(apiErr("ServiceException"), ratelimit.QuotaExceededError{Available: 0, Requested: 5}), true},
		{"access denied", &awsapi.Error{Class: awsapi.ClassAccessDenied, Err: apiErr("AccessDeniedException")}, false},
		{"invalid", &awsapi.Error{Class: awsapi.ClassInvalid, Err: apiErr("InvalidParameterValueException")}, false},
		{"not found", &awsapi.Error{Class: awsapi.ClassNotFound, Err: apiErr("ResourceNotFoundException")}, false},
		{"no credentials", errors.New("failed to retrieve credentials"), false},
		{"canceled", &smithyhttp.RequestSendError{Err: context.Canceled}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, startupRetryable(tc.err))
		})
	}
}

// startupDaemon wires a daemon for cfgYAML against a simulator with the
// given faults, on one virtual clock that a wait moves on at once (the
// faults' windows pass as the start-up waits, in no real time).
func startupDaemon(t *testing.T, cfgYAML string, faults []sim.FaultSpec) (*daemon, *lineBuffer) {
	t.Helper()
	isolateAWS(t)
	clk := &jumpClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	sc := sim.DefaultScenario()
	sc.Faults = faults
	world, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	srv := httptest.NewServer(sim.NewHandler(world, nil))
	t.Cleanup(srv.Close)
	return startupDaemonOn(t, srv.URL, cfgYAML, clk)
}

func startupDaemonOn(t *testing.T, url, cfgYAML string, clk controller.Clock) (*daemon, *lineBuffer) {
	t.Helper()
	endpoint := "aws: {endpoint: \"" + url + "\""
	if rest, ok := strings.CutPrefix(cfgYAML, "aws: {"); ok {
		cfgYAML = endpoint + ", " + rest
	} else {
		cfgYAML = endpoint + "}\n" + cfgYAML
	}
	cfg, err := config.Parse([]byte(cfgYAML))
	require.NoError(t, err)
	logs := &lineBuffer{}
	logger := newLogger(logs, "info", "json")
	awsCfg, err := loadAWSConfig(context.Background(), cfg, logger)
	require.NoError(t, err)
	d, err := wire(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: clk, dryRun: true,
		serverClock: controller.FixedOffset(0)})
	require.NoError(t, err)
	return d, logs
}

// logLines parses the JSON lines with msg starting with prefix.
func logLines(t *testing.T, logs *lineBuffer, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range logs.Lines() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

const startupRetryMsg = "start-up check failed; retrying"

// TestStartupTolerates: the start-up checks through the real SDK against the
// simulator's injected faults. Throttling (with its Retry-After), 5xx and an
// endpoint that hangs up are retried with a Warn naming the class until
// they pass or aws.startup_timeout ends; a missing function or alias
// disables that target at Error and the rest is checked; every target
// missing is nothing to manage.
func TestStartupTolerates(t *testing.T) {
	const twoTargets = "targets:\n  - {function: checkout-api, qualifier: live}\n  - {function: report-worker, qualifier: prod}\n"
	throttle := func(op string, until, retryAfter time.Duration) sim.FaultSpec {
		return sim.FaultSpec{Op: op, Kind: sim.FaultThrottle, Until: sim.Duration{Duration: until}, RetryAfter: sim.Duration{Duration: retryAfter}}
	}
	for _, tc := range []struct {
		name      string
		cfg       string
		faults    []sim.FaultSpec
		wantErr   error // nil: start-up passes
		retries   bool  // at least one retry line
		class     string
		retryIn   string // the first retry's wait, when checked
		disabled  []string
		remaining int // the controller's targets afterwards
	}{
		{name: "429 storm on GetAccountSettings, Retry-After honoured", cfg: twoTargets,
			faults:  []sim.FaultSpec{throttle("GetAccountSettings", 90*time.Second, 20*time.Second)},
			retries: true, class: awsapi.ClassThrottled, retryIn: "20s", remaining: 2},
		{name: "5xx on GetMetricData", cfg: twoTargets,
			faults:  []sim.FaultSpec{{Op: "GetMetricData", Kind: sim.FaultServerError, Until: sim.Duration{Duration: 30 * time.Second}}},
			retries: true, class: awsapi.ClassServer, retryIn: "1s", remaining: 2},
		{name: "endpoint hangs up", cfg: twoTargets,
			faults:  []sim.FaultSpec{{Op: "GetAccountSettings", Kind: sim.FaultUnavailable, Until: sim.Duration{Duration: 20 * time.Second}}},
			retries: true, class: awsapi.ClassError, remaining: 2},
		{name: "throttled past the timeout", cfg: "aws: {startup_timeout: 1m}\n" + twoTargets,
			faults:  []sim.FaultSpec{throttle("GetAccountSettings", 0, time.Second)},
			wantErr: errGaveUp, retries: true, class: awsapi.ClassThrottled, remaining: 2},
		{name: "retries off", cfg: "aws: {startup_timeout: 0s}\n" + twoTargets,
			faults:  []sim.FaultSpec{throttle("GetAccountSettings", 0, time.Second)},
			wantErr: errGaveUp, remaining: 2},
		{name: "missing function first of five",
			cfg: "targets:\n  - {function: no-such-fn, qualifier: live}\n  - {function: checkout-api, qualifier: live}\n" +
				"  - {function: search-api, qualifier: live}\n  - {function: report-worker, qualifier: prod}\n  - {function: checkout-api, qualifier: \"3\"}\n",
			disabled: []string{"no-such-fn:live"}, remaining: 4},
		{name: "missing alias and a 429 storm", cfg: "targets:\n  - {function: checkout-api, qualifier: nope}\n  - {function: report-worker, qualifier: prod}\n",
			faults:  []sim.FaultSpec{throttle("GetAccountSettings", 45*time.Second, 5*time.Second)},
			retries: true, class: awsapi.ClassThrottled, disabled: []string{"checkout-api:nope"}, remaining: 1},
		{name: "every target missing", cfg: "targets:\n  - {function: gone-a, qualifier: live}\n  - {function: gone-b, qualifier: live}\n",
			wantErr: errNothingToManage, disabled: []string{"gone-a:live", "gone-b:live"}, remaining: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, logs := startupDaemon(t, tc.cfg, tc.faults)
			ctx, cancel := context.WithCancel(context.Background())
			err := d.preflight(ctx)
			cancel() // the AAS check's loop
			if tc.wantErr == nil {
				require.NoError(t, err, logs.String())
			} else {
				require.ErrorIs(t, err, tc.wantErr)
			}
			retries := logLines(t, logs, startupRetryMsg)
			require.Equal(t, tc.retries, len(retries) > 0, logs.String())
			for _, r := range retries {
				require.Equal(t, "WARN", r["level"])
				require.Equal(t, tc.class, r[controller.KeyErrorClass], r)
			}
			if tc.retryIn != "" {
				require.Equal(t, tc.retryIn, retries[0][keyRetryIn])
			}
			var disabled []string
			for _, r := range logLines(t, logs, "target disabled at start-up") {
				require.Equal(t, "ERROR", r["level"])
				disabled = append(disabled, r[controller.KeyTarget].(string))
			}
			require.Equal(t, tc.disabled, disabled)
			require.Len(t, d.ctrl.Targets(), tc.remaining, "a disabled target leaves the loop")
		})
	}
}

// TestStartupNotRetried: access denied fails at once — one call, no retry
// line — however long aws.startup_timeout is.
func TestStartupNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name, code string
		status     int
		class      string
	}{
		{"access denied", "AccessDeniedException", http.StatusForbidden, awsapi.ClassAccessDenied},
		{"invalid request", "InvalidParameterValueException", http.StatusBadRequest, awsapi.ClassInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("X-Amzn-Errortype", tc.code)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"Type":"User","message":"no"}`)
			}))
			t.Cleanup(srv.Close)
			clk := &jumpClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
			d, logs := startupDaemonOn(t, srv.URL, "aws: {startup_timeout: 1h}\ntargets:\n  - {function: checkout-api, qualifier: live}\n", clk)
			err := d.lambda.Preflight(context.Background(), d.ids) // what one round costs
			require.Error(t, err)
			oneRound := calls.Swap(0)

			err = d.preflight(context.Background())
			require.Error(t, err)
			require.NotErrorIs(t, err, errGaveUp)
			require.Equal(t, tc.class, awsapi.Classify(errorList(err)[0]))
			require.Equal(t, oneRound, calls.Load(), "one round of checks, not retried")
			require.Empty(t, logLines(t, logs, startupRetryMsg))
		})
	}
}

func TestLogStartupFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nothing to manage", errNothingToManage, "start-up: nothing to manage, exiting"},
		{"gave up", fmt.Errorf("x: %w", errGaveUp), "start-up check failed after retries"},
		{"not retried", errors.New("missing IAM permission lambda:GetAccountSettings"), "start-up check failed, not retried"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &lineBuffer{}
			logStartupFailure(slog.New(slog.NewJSONHandler(logs, nil)), tc.err)
			recs := logLines(t, logs, tc.want)
			require.Len(t, recs, 1, logs.String())
			require.Equal(t, "ERROR", recs[0]["level"])
		})
	}
}

// TestStartupDiscoveryRetried: the first discovery (wire) retries a
// throttled GetResources like the other start-up checks, and gives up
// after aws.startup_timeout.
func TestStartupDiscoveryRetried(t *testing.T) {
	for _, tc := range []struct {
		name    string
		until   time.Duration // the throttle's end; 0: forever
		wantErr bool
	}{
		{"throttled, then through", 40 * time.Second, false},
		{"throttled past the timeout", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			clk := &jumpClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
			sc := sim.DefaultScenario()
			sc.Faults = []sim.FaultSpec{{Op: "GetResources", Kind: sim.FaultThrottle, Until: sim.Duration{Duration: tc.until},
				RetryAfter: sim.Duration{Duration: 5 * time.Second}}}
			world, err := sim.NewWorld(sc, clk)
			require.NoError(t, err)
			srv := httptest.NewServer(sim.NewHandler(world, nil))
			t.Cleanup(srv.Close)
			cfg, err := config.Parse([]byte("aws: {endpoint: \"" + srv.URL + "\", startup_timeout: 1m}\n" +
				"discover: {tags: {team: payments}, qualifier: live}\n"))
			require.NoError(t, err)
			logs := &lineBuffer{}
			logger := newLogger(logs, "info", "json")
			awsCfg, err := loadAWSConfig(context.Background(), cfg, logger)
			require.NoError(t, err)
			_, err = wire(wireOptions{cfg: cfg, awsCfg: awsCfg, logger: logger, clock: clk, dryRun: true,
				serverClock: controller.FixedOffset(0)})
			if tc.wantErr {
				require.ErrorIs(t, err, errGaveUp)
			} else {
				require.NoError(t, err, logs.String())
			}
			retries := logLines(t, logs, startupRetryMsg)
			require.NotEmpty(t, retries)
			require.Equal(t, awsapi.ClassThrottled, retries[0][controller.KeyErrorClass])
		})
	}
}

// TestRecheckDisabled: a target disabled at start-up is looked for again
// with start-up's Preflight. Still missing: nothing changes, quietly. A
// throttled look is one Warn for the streak of failed rounds, however
// many. Once its alias exists, the next look puts it back into the loop
// (and the managed set's series) with one Info line and the disabled
// gauge at 0; nothing is left to look for.
func TestRecheckDisabled(t *testing.T) {
	isolateAWS(t)
	clk := &jumpClock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	sc := sim.DefaultScenario()
	// GetAlias is called by Preflight only: the re-checks at 5 and 10 min
	// are throttled, the loop is not.
	sc.Faults = []sim.FaultSpec{{Op: "GetAlias", Kind: sim.FaultThrottle,
		From: sim.Duration{Duration: 4 * time.Minute}, Until: sim.Duration{Duration: 12 * time.Minute}}}
	world, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	srv := httptest.NewServer(sim.NewHandler(world, nil))
	t.Cleanup(srv.Close)
	d, logs := startupDaemonOn(t, srv.URL,
		"targets:\n  - {function: checkout-api, qualifier: next}\n  - {function: report-worker, qualifier: prod}\n", clk)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, d.preflight(ctx), logs.String())
	require.Len(t, d.ctrl.Targets(), 1)
	disabledGauge := func() float64 {
		families, err := d.registry.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() == "pcautoscaler_targets_disabled" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return -1
	}
	require.Equal(t, 1.0, disabledGauge())

	failing := d.recheckOnce(ctx, false) // at 0: still missing
	require.False(t, failing)
	require.Len(t, d.ctrl.Targets(), 1)
	<-clk.After(disabledRecheck) // 5 min: throttled
	failing = d.recheckOnce(ctx, failing)
	require.True(t, failing)
	<-clk.After(disabledRecheck) // 10 min: throttled again
	failing = d.recheckOnce(ctx, failing)
	require.True(t, failing)
	warns := logLines(t, logs, recheckFailedMsg)
	require.Len(t, warns, 1, "one Warn per failure streak: %s", logs.String())
	require.Equal(t, "WARN", warns[0]["level"])
	require.Equal(t, awsapi.ClassThrottled, warns[0][controller.KeyErrorClass])
	require.Len(t, d.ctrl.Targets(), 1)
	require.Empty(t, logLines(t, logs, enabledMsg))

	_, err = world.CreateAlias("checkout-api", sim.CreateAliasInput{Name: "next", FunctionVersion: "2"})
	require.NoError(t, err)
	<-clk.After(disabledRecheck) // 15 min: found
	require.False(t, d.recheckOnce(ctx, failing))
	require.ElementsMatch(t, []controller.TargetID{{Function: "checkout-api", Qualifier: "next"},
		{Function: "report-worker", Qualifier: "prod"}}, idsOf(d.ctrl.Targets()))
	require.Equal(t, 0.0, disabledGauge())
	enabled := logLines(t, logs, enabledMsg)
	require.Len(t, enabled, 1)
	require.Equal(t, "INFO", enabled[0]["level"])
	require.Equal(t, "checkout-api:next", enabled[0][controller.KeyTarget])
	require.Equal(t, "checkout-api", enabled[0][controller.KeyFunction])
	require.Equal(t, "next", enabled[0][controller.KeyQualifier])
	require.Equal(t, false, enabled[0][keyDisabled])
	require.Len(t, logLines(t, logs, recheckFailedMsg), 1)

	done := make(chan struct{})
	go func() { d.recheckDisabled(ctx); close(done) }()
	<-done // nothing left to look for: returns without waiting
}

// TestRecheckDisabledStopsAndYieldsToReload: the re-check loop ends with
// its context; a reload applies the whole config again under the lock the
// re-check applies under, and forgets the disabled targets (gauge 0, a new
// generation), so a look answered across it changes nothing.
func TestRecheckDisabledStopsAndYieldsToReload(t *testing.T) {
	const cfgYAML = "targets:\n  - {function: checkout-api, qualifier: next}\n  - {function: report-worker, qualifier: prod}\n"
	d, logs := startupDaemon(t, cfgYAML, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	require.NoError(t, d.preflight(ctx), logs.String())
	require.Len(t, d.disabled, 1)
	require.Len(t, d.ctrl.Targets(), 1)

	stopped, stop := context.WithCancel(ctx)
	stop()
	d.recheckDisabled(stopped) // returns: ctx ended

	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfgYAML), 0o600))
	cfg, err := config.Parse([]byte(cfgYAML))
	require.NoError(t, err)
	fl := &fleet{daemons: []*daemon{d}, names: []string{""}, registry: d.registry}
	r := newReloader(runFlags{config: path}, cfg, fl, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	gen := d.disabledGen
	require.True(t, r.reload("test"))
	require.Equal(t, gen+1, d.disabledGen, "a look begun before the reload is dropped")
	require.Empty(t, d.disabled)
	require.Len(t, d.ctrl.Targets(), 2, "the reload brings the disabled target back")
	require.NoError(t, testutil.GatherAndCompare(d.registry, strings.NewReader(
		"# HELP pcautoscaler_targets_disabled "+disabledHelp(t, d)+"\n# TYPE pcautoscaler_targets_disabled gauge\npcautoscaler_targets_disabled 0\n"),
		"pcautoscaler_targets_disabled"))
	require.False(t, d.recheckOnce(ctx, false))
	require.Empty(t, logLines(t, logs, enabledMsg))
}

func disabledHelp(t *testing.T, d *daemon) string {
	families, err := d.registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "pcautoscaler_targets_disabled" {
			return f.GetHelp()
		}
	}
	t.Fatal("no pcautoscaler_targets_disabled")
	return ""
}

// TestStartupStoppedBySignal: SIGTERM while the start-up checks retry is a
// stop (exit 0, an Info line), not a start-up failure that sends the
// operator to IAM.
func TestStartupStoppedBySignal(t *testing.T) {
	d, logs := startupDaemon(t, "targets:\n  - {function: checkout-api, qualifier: live}\n", nil)
	fl := &fleet{daemons: []*daemon{d}, names: []string{""}, registry: d.registry}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the signal arrived while the checks ran
	code, ok := startupChecks(ctx, fl, ha.NewNone(ha.Options{}), controller.SystemClock{}, d.logger, time.Minute)
	require.False(t, ok)
	require.Equal(t, exitOK, code)
	require.Len(t, logLines(t, logs, "stopped during the start-up checks"), 1)
	require.Empty(t, logLines(t, logs, "start-up check failed"))
}
