package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// TestWriteLogHTTP: every Put and Delete that reaches the handler is logged
// with its result and its caller — successes, World validation errors,
// injected faults and wire-level errors alike — and served at /_sim/writes.
func TestWriteLogHTTP(t *testing.T) {
	s := newSimServer(t, httpTestScenario+"faults: [{op: PutProvisionedConcurrencyConfig, kind: throttle, from: 10m, until: 11m}]\n")
	ctx := context.Background()
	cfg := s.awsConfig()
	cfg.AppID = "daemon-a"
	a := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(s.url) })
	anon := s.lambda() // no AppID: named by its whole User-Agent

	put := func(c *lambda.Client, fn, q string, n int32) error {
		_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(fn), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n)})
		return err
	}
	del := func(c *lambda.Client, fn, q string) error {
		_, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(fn), Qualifier: aws.String(q)})
		return err
	}

	require.NoError(t, put(a, "capped", "live", 5))
	require.Error(t, put(a, "capped", "live", 0), "400: below 1")
	require.NoError(t, del(a, checkoutARN, "1"), "an ARN is logged by its name")
	require.Error(t, del(anon, "checkout-api", "1"), "404: already gone")

	// A body the handler can't decode, from a client without the SDK.
	req, err := http.NewRequest(http.MethodPut, s.url+"/2019-09-30/functions/capped/provisioned-concurrency?Qualifier=live", strings.NewReader("not json"))
	require.NoError(t, err)
	req.Header.Set("User-Agent", "curl/8.5.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	s.clock.Advance(10 * time.Minute)
	require.Error(t, put(a, "checkout-api:live", "live", 30), "429 injected")
	require.NoError(t, s.world.DeleteProvisionedConcurrencyAs("other-writer", "capped", "live"))
	_, err = s.world.PutProvisionedConcurrency("capped", "live", 3)
	require.NoError(t, err)

	log := s.world.WriteLog()
	require.Len(t, log, 8)
	anonCaller := log[3].Caller
	require.True(t, strings.HasPrefix(anonCaller, "aws-sdk-go-v2/"), anonCaller)
	require.LessOrEqual(t, len(anonCaller), maxCallerLen)
	t1 := httpTestStart.Add(10 * time.Minute)
	require.Equal(t, []WriteRecord{
		{Time: httpTestStart, Op: opPutPC, Function: "capped", Qualifier: "live", Value: 5, Result: WriteOK, Caller: "daemon-a"},
		{Time: httpTestStart, Op: opPutPC, Function: "capped", Qualifier: "live", Value: 0, Result: CodeInvalidParameter, Caller: "daemon-a"},
		{Time: httpTestStart, Op: opDeletePC, Function: "checkout-api", Qualifier: "1", Result: WriteOK, Caller: "daemon-a"},
		{Time: httpTestStart, Op: opDeletePC, Function: "checkout-api", Qualifier: "1", Result: CodePCConfigNotFound, Caller: anonCaller},
		{Time: httpTestStart, Op: opPutPC, Function: "capped", Qualifier: "live", Value: 0, Result: "SerializationException", Caller: "curl/8.5.0"},
		{Time: t1, Op: opPutPC, Function: "checkout-api", Qualifier: "live", Value: 30, Result: CodeTooManyRequests, Caller: "daemon-a"},
		{Time: t1, Op: opDeletePC, Function: "capped", Qualifier: "live", Result: WriteOK, Caller: "other-writer"},
		{Time: t1, Op: opPutPC, Function: "capped", Qualifier: "live", Value: 3, Result: WriteOK, Caller: CallerDirect},
	}, log)

	resp, err = http.Get(s.url + "/_sim/writes")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var served []WriteRecord
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&served))
	require.Equal(t, log, served)
}

func TestWriteLogInProcess(t *testing.T) {
	w, clk := newTestWorld(t, rulesScenario+"faults: [{op: PutProvisionedConcurrencyConfig, kind: throttle, from: 5m}]\n")
	store, _ := w.InProcess()
	live := controller.TargetID{Function: "api", Qualifier: "live"}
	ctx := WithCaller(context.Background(), "daemon-b")

	_, err := store.PutPC(ctx, live, 40)
	require.NoError(t, err)
	require.NoError(t, store.DeletePC(context.Background(), controller.TargetID{Function: "api", Qualifier: "old"}), "not found reaches the goal, but is logged as answered")
	clk.Advance(5 * time.Minute)
	_, err = store.PutPC(ctx, live, 50)
	require.Equal(t, "throttled", classOf(t, err).ErrorClass())
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = store.PutPC(cctx, live, 60)
	require.ErrorIs(t, err, context.Canceled, "never sent: not logged")

	t1 := t0.Add(5 * time.Minute)
	require.Equal(t, []WriteRecord{
		{Time: t0, Op: opPutPC, Function: "api", Qualifier: "live", Value: 40, Result: WriteOK, Caller: "daemon-b"},
		{Time: t0, Op: opDeletePC, Function: "api", Qualifier: "old", Result: CodePCConfigNotFound, Caller: CallerInProcess},
		{Time: t1, Op: opPutPC, Function: "api", Qualifier: "live", Value: 50, Result: CodeTooManyRequests, Caller: "daemon-b"},
	}, w.WriteLog())
}

func TestCallerFromUserAgent(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name, ua, want string
	}{
		{name: "sdk with app id", ua: "aws-sdk-go-v2/1.48.0 ua/2.1 os/linux lang/go#1.26 api/lambda#1.114.3 app/daemon-a m/E,g", want: "daemon-a"},
		{name: "app id last", ua: "aws-sdk-go-v2/1.48.0 app/fault-suite", want: "fault-suite"},
		{name: "no app id", ua: "aws-cli/2.15.0 Python/3.11", want: "aws-cli/2.15.0 Python/3.11"},
		{name: "empty app id", ua: "x app/ y", want: "x app/ y"},
		{name: "long", ua: long, want: long[:maxCallerLen]},
		{name: "long app id", ua: "app/" + long, want: long[:maxCallerLen]},
		{name: "none", ua: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, callerFromUserAgent(tt.ua))
		})
	}
}

func TestWriteLogBounded(t *testing.T) {
	tests := []struct {
		limit, n   int
		wantFirst  int // Value of the oldest kept
		wantLength int
	}{
		{limit: 20, n: 20, wantFirst: 0, wantLength: 20},
		{limit: 20, n: 21, wantFirst: 2, wantLength: 19},
		{limit: 20, n: 23, wantFirst: 4, wantLength: 19},
		{limit: 5, n: 6, wantFirst: 1, wantLength: 5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d into %d", tt.n, tt.limit), func(t *testing.T) {
			var log []WriteRecord
			for i := range tt.n {
				log = appendBounded(log, WriteRecord{Value: i}, tt.limit)
			}
			require.LessOrEqual(t, len(log), tt.limit)
			require.Len(t, log, tt.wantLength)
			require.Equal(t, tt.wantFirst, log[0].Value, "the oldest go first")
			require.Equal(t, tt.n-1, log[len(log)-1].Value)
		})
	}
}
