package metrics

import (
	"bytes"
	"context"
	"fmt"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// motoEndpoint returns MOTO_ENDPOINT, or starts moto_server on a free
// loopback port for this test.
func motoEndpoint(t *testing.T) string {
	t.Helper()
	if ep := os.Getenv("MOTO_ENDPOINT"); ep != "" {
		return ep
	}
	bin := testenv.Program(t, "moto_server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	var logs bytes.Buffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ep := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Readiness, not timing: poll until moto answers (it takes a few seconds
	// to import), giving up after a generous bound.
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

func testConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

func TestFetchFromMoto(t *testing.T) {
	ep := motoEndpoint(t)
	// Each protocol gets its own function names: moto keeps one store.
	now := time.Now().UTC().Truncate(time.Minute)
	start := now.Add(-10 * time.Minute)
	for _, tc := range []struct {
		name     string
		protocol string
	}{
		{name: "query", protocol: ProtocolQuery},
		{name: "json", protocol: ProtocolJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(ep)
			setProto, err := protocolOption(tc.protocol)
			require.NoError(t, err)
			// With AWS JSON the SDK marks PutMetricData's body gzip-encoded
			// without compressing it (moto answers 500); the daemon never
			// writes metrics, so the test client just doesn't compress.
			cw := cloudwatch.NewFromConfig(cfg, setProto, func(o *cloudwatch.Options) { o.DisableRequestCompression = true })

			fn := "moto-fn-" + tc.name
			id := controller.TargetID{Function: fn, Qualifier: "live"}
			dims := []types.Dimension{
				{Name: aws.String("FunctionName"), Value: aws.String(fn)},
				{Name: aws.String("Resource"), Value: aws.String(fn + ":live")},
			}
			// Minutes 2 and 3 have traffic; minute 5 only utilization; the
			// rest nothing, as Lambda publishes nothing for an idle minute.
			put := func(metric string, minute int, values ...float64) {
				var data []types.MetricDatum
				for i, v := range values {
					data = append(data, types.MetricDatum{
						MetricName: aws.String(metric), Dimensions: dims, Value: aws.Float64(v),
						Timestamp: aws.Time(start.Add(time.Duration(minute)*time.Minute + time.Duration(i*7)*time.Second)),
					})
				}
				_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/Lambda"), MetricData: data})
				require.NoError(t, err)
			}
			put("ProvisionedConcurrencyUtilization", 2, 0.5, 0.9, 0.7)
			put("ProvisionedConcurrencyUtilization", 3, 0.2)
			put("ProvisionedConcurrencyUtilization", 5, 0.4)
			put("ProvisionedConcurrencySpilloverInvocations", 2, 3, 4)
			put("ConcurrentExecutions", 2, 7, 12, 9)
			put("ConcurrentExecutions", 3, 2)
			put("Invocations", 2, 100, 50)
			put("Invocations", 3, 10)
			// A point outside [start, end) must not show up.
			put("Invocations", 10, 99)

			obs := &countingObserver{}
			src, err := New(cfg, tc.protocol, WithObserver(obs))
			require.NoError(t, err)
			got, err := src.Fetch(ctx, []controller.MetricQuery{{ID: id, Statistic: "Maximum"}}, start, now)
			require.NoError(t, err)
			s := got[id]
			require.True(t, s.Complete)
			require.Equal(t, []controller.Datapoint{
				{Time: start.Add(2 * time.Minute), Utilization: 0.9, HasUtilization: true, Spillover: 7,
					Concurrency: 12, HasConcurrency: true, Invocations: 150, HasInvocations: true},
				{Time: start.Add(3 * time.Minute), Utilization: 0.2, HasUtilization: true,
					Concurrency: 2, HasConcurrency: true, Invocations: 10, HasInvocations: true},
				{Time: start.Add(5 * time.Minute), Utilization: 0.4, HasUtilization: true},
			}, s.Points)
			require.Equal(t, 4, obs.metrics())
			require.Equal(t, []string{"cloudwatch GetMetricData ok"}, obs.callList())

			// Average statistic of the same minute.
			got, err = src.Fetch(ctx, []controller.MetricQuery{{ID: id, Statistic: "Average"}}, start.Add(2*time.Minute), start.Add(3*time.Minute))
			require.NoError(t, err)
			require.Len(t, got[id].Points, 1)
			require.InDelta(t, 0.7, got[id].Points[0].Utilization, 1e-9)
		})
	}
}
