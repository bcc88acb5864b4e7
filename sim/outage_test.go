package sim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// outageFaults: Puts go unanswered from 1m to 2m, CloudWatch reads always.
const outageFaults = `faults:
  - {kind: unavailable, op: PutProvisionedConcurrencyConfig, from: 1m, until: 2m}
  - {kind: unavailable, op: GetMetricData}
`

// noBackoff lets the SDK retry at once: the test counts attempts, not time.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func putInput(fn, q string, n int32) *lambda.PutProvisionedConcurrencyConfigInput {
	return &lambda.PutProvisionedConcurrencyConfigInput{FunctionName: aws.String(fn), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n)}
}

// requireTransportError: the SDK got no answer at all, so no API error.
func requireTransportError(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	var ae smithy.APIError
	require.False(t, errors.As(err, &ae), "want a transport error, got API error %v", err)
}

// TestOutageHTTP: during an unavailable window the connection closes under
// the request; the SDK sees a transport error, retries it as one, and
// fails; other operations and later Puts are answered.
func TestOutageHTTP(t *testing.T) {
	s := newSimServer(t, httpTestScenario+outageFaults)
	ctx := context.Background()
	cfg := s.awsConfig()
	cfg.AppID = "daemon-a"
	cfg.RetryMaxAttempts = 3
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
	}
	c := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(s.url) })

	_, err := c.PutProvisionedConcurrencyConfig(ctx, putInput("capped", "live", 5))
	require.NoError(t, err, "before the window")
	s.clock.Advance(time.Minute)
	_, err = c.PutProvisionedConcurrencyConfig(ctx, putInput("checkout-api", "live", 12))
	requireTransportError(t, err)
	_, err = c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	require.NoError(t, err, "the op filter spares other operations")

	_, err = s.cloudwatch(cwProtoCBOR).GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(NamespaceLambda), MetricName: aws.String(MetricInvocations)},
			Period: aws.Int32(60), Stat: aws.String("Sum")}}},
		StartTime: aws.Time(s.clock.Now().Add(-time.Hour)), EndTime: aws.Time(s.clock.Now())})
	requireTransportError(t, err)

	s.clock.Advance(time.Minute)
	_, err = c.PutProvisionedConcurrencyConfig(ctx, putInput("checkout-api", "live", 12))
	require.NoError(t, err, "after the window")

	calls := s.world.Stats().APICalls
	require.Equal(t, map[string]int64{CodeOK: 2, ResultUnavailable: 3}, calls[opPutPC], "three attempts, none answered")
	require.Equal(t, map[string]int64{ResultUnavailable: 1}, calls[opGetMetricData])
	var results []string
	for _, r := range s.world.WriteLog() {
		results = append(results, fmt.Sprintf("%s %d %s %s", r.Qualifier, r.Value, r.Result, r.Caller))
	}
	require.Equal(t, []string{"live 5 ok daemon-a", "live 12 unavailable daemon-a", "live 12 unavailable daemon-a", "live 12 unavailable daemon-a", "live 12 ok daemon-a"}, results)
}

// TestOutageTransport: in memory, an outage is a transport error too.
func TestOutageTransport(t *testing.T) {
	w, _ := newTestWorld(t, httpTestScenario+outageFaults)
	cfg := aws.Config{
		Region: DefaultRegion, Credentials: (&simServer{}).awsConfig().Credentials, RetryMaxAttempts: 1,
		BaseEndpoint: aws.String("http://sim.invalid"), // never dialled
		HTTPClient:   &http.Client{Transport: Transport{Handler: NewHandler(w, nil)}},
	}
	_, err := cloudwatch.NewFromConfig(cfg).ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{})
	require.NoError(t, err)
	_, err = cloudwatch.NewFromConfig(cfg).GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("q"), Expression: aws.String("1")}},
		StartTime:         aws.Time(t0.Add(-time.Hour)), EndTime: aws.Time(t0)})
	requireTransportError(t, err)
	require.ErrorContains(t, err, "connection closed without a response")
}

// TestOutageInProcess: the ports fail with a plain error, which the
// controller can't classify as an AWS answer.
func TestOutageInProcess(t *testing.T) {
	w, clk := newTestWorld(t, rulesScenario+outageFaults)
	store, src := w.InProcess()
	ctx := WithCaller(context.Background(), "daemon-b")
	live := controller.TargetID{Function: "api", Qualifier: "live"}
	clk.Advance(time.Minute)

	_, err := store.PutPC(ctx, live, 5)
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, opPutPC)
	_, isAPI := errors.AsType[*APIError](err)
	require.False(t, isAPI)
	_, classified := errors.AsType[controller.ClassifiedError](err)
	require.False(t, classified)
	_, err = store.GetPC(ctx, live)
	require.NoError(t, err)

	series, err := src.Fetch(ctx, []controller.MetricQuery{{ID: live}}, t0, clk.Now())
	require.ErrorIs(t, err, ErrUnavailable)
	require.False(t, series[live].Complete)

	require.Equal(t, []WriteRecord{{Time: t0.Add(time.Minute), Op: opPutPC, Function: "api", Qualifier: "live", Value: 5, Result: ResultUnavailable, Caller: "daemon-b"}}, w.WriteLog())
}

func TestOutageProbabilityIsDeterministic(t *testing.T) {
	draw := func(seed int) []bool {
		yml := strings.Replace(faultsBase, "seed: 11", fmt.Sprintf("seed: %d", seed), 1)
		w, _ := newTestWorld(t, yml+"faults:\n  - {kind: unavailable, probability: 0.3}\n")
		var hits []bool
		for range 100 {
			hits = append(hits, w.outage(opGetPC))
		}
		return hits
	}
	a := draw(11)
	require.Equal(t, a, draw(11))
	require.NotEqual(t, a, draw(12))
	require.Contains(t, a, true)
	require.Contains(t, a, false)
}
