package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

var cwProtocols = []string{cwProtoCBOR, cwProtoJSON, cwProtoQuery}

const testNamespace = "Test/Sim"

// putTestMetrics stores Util = 1..10 for the ten minutes before the start
// under Resource=checkout-api:live, and one datapoint of Other.
func putTestMetrics(t *testing.T, c *cloudwatch.Client) {
	t.Helper()
	var data []types.MetricDatum
	for i := range 10 {
		data = append(data, types.MetricDatum{
			MetricName: aws.String("Util"),
			Dimensions: []types.Dimension{
				{Name: aws.String("FunctionName"), Value: aws.String("checkout-api")},
				{Name: aws.String("Resource"), Value: aws.String("checkout-api:live")},
			},
			// Mid-minute with milliseconds: CBOR carries a float, JSON a
			// fractional number, query an ISO string; all land in the minute.
			Timestamp: aws.Time(httpTestStart.Add(time.Duration(i-10)*time.Minute + 20*time.Second + 250*time.Millisecond)),
			Value:     aws.Float64(float64(i + 1)),
		})
	}
	data = append(data, types.MetricDatum{
		MetricName: aws.String("Other"),
		Dimensions: []types.Dimension{{Name: aws.String("FunctionName"), Value: aws.String("capped")}},
		Value:      aws.Float64(0.5),
	})
	_, err := c.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(testNamespace), MetricData: data})
	require.NoError(t, err)
}

func utilQuery(id, stat string) types.MetricDataQuery {
	return types.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{
				Namespace:  aws.String(testNamespace),
				MetricName: aws.String("Util"),
				Dimensions: []types.Dimension{
					{Name: aws.String("Resource"), Value: aws.String("checkout-api:live")},
					{Name: aws.String("FunctionName"), Value: aws.String("checkout-api")},
				},
			},
			Period: aws.Int32(60),
			Stat:   aws.String(stat),
		},
	}
}

func minutesBefore(start time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range n {
		out[i] = start.Add(time.Duration(i-n) * time.Minute)
	}
	return out
}

// TestCloudWatchSDKProtocols runs GetMetricData, PutMetricData and
// ListMetrics through the real SDK client in each protocol it can speak:
// RPC v2 CBOR (its default), AWS JSON 1.0 and awsQuery.
func TestCloudWatchSDKProtocols(t *testing.T) {
	for _, proto := range cwProtocols {
		t.Run(proto, func(t *testing.T) {
			ctx := context.Background()
			s := newSimServer(t, "")
			c := s.cloudwatch(proto)
			putTestMetrics(t, c)

			out, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				MetricDataQueries: []types.MetricDataQuery{utilQuery("util", "Maximum")},
				StartTime:         aws.Time(httpTestStart.Add(-10 * time.Minute)),
				EndTime:           aws.Time(httpTestStart),
				ScanBy:            types.ScanByTimestampAscending,
			})
			require.NoError(t, err)
			require.Len(t, out.MetricDataResults, 1)
			r := out.MetricDataResults[0]
			require.Equal(t, "util", aws.ToString(r.Id))
			require.Equal(t, types.StatusCodeComplete, r.StatusCode)
			require.Equal(t, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, r.Values)
			require.Len(t, r.Timestamps, 10)
			for i, ts := range minutesBefore(httpTestStart, 10) {
				require.True(t, ts.Equal(r.Timestamps[i]), "timestamp %d: %v, want %v", i, r.Timestamps[i], ts)
			}
			require.Nil(t, out.NextToken)

			// Default scan order is newest first; Sum over 5-minute periods.
			sum, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				MetricDataQueries: []types.MetricDataQuery{func() types.MetricDataQuery {
					q := utilQuery("sum5", "Sum")
					q.MetricStat.Period = aws.Int32(300)
					return q
				}()},
				StartTime: aws.Time(httpTestStart.Add(-10 * time.Minute)),
				EndTime:   aws.Time(httpTestStart),
			})
			require.NoError(t, err)
			require.Equal(t, []float64{6 + 7 + 8 + 9 + 10, 1 + 2 + 3 + 4 + 5}, sum.MetricDataResults[0].Values)

			all, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String(testNamespace)})
			require.NoError(t, err)
			var names []string
			for _, m := range all.Metrics {
				names = append(names, aws.ToString(m.MetricName))
			}
			require.ElementsMatch(t, []string{"Util", "Other"}, names)
			filtered, err := c.ListMetrics(ctx, &cloudwatch.ListMetricsInput{
				Namespace:  aws.String(testNamespace),
				Dimensions: []types.DimensionFilter{{Name: aws.String("Resource")}},
			})
			require.NoError(t, err)
			require.Len(t, filtered.Metrics, 1)
			require.Equal(t, "Util", aws.ToString(filtered.Metrics[0].MetricName))
			require.Len(t, filtered.Metrics[0].Dimensions, 2)
		})
	}
}

// TestCloudWatchSDKPagination follows NextToken when MaxDatapoints cuts the
// answer, in every protocol.
func TestCloudWatchSDKPagination(t *testing.T) {
	for _, proto := range cwProtocols {
		t.Run(proto, func(t *testing.T) {
			s := newSimServer(t, "")
			c := s.cloudwatch(proto)
			putTestMetrics(t, c)
			p := cloudwatch.NewGetMetricDataPaginator(c, &cloudwatch.GetMetricDataInput{
				MetricDataQueries: []types.MetricDataQuery{utilQuery("util", "Average")},
				StartTime:         aws.Time(httpTestStart.Add(-10 * time.Minute)),
				EndTime:           aws.Time(httpTestStart),
				ScanBy:            types.ScanByTimestampAscending,
				MaxDatapoints:     aws.Int32(4),
			})
			var values []float64
			var tokens []string
			pages := 0
			for p.HasMorePages() {
				page, err := p.NextPage(context.Background())
				require.NoError(t, err)
				pages++
				for _, r := range page.MetricDataResults {
					values = append(values, r.Values...)
				}
				if page.NextToken != nil {
					tokens = append(tokens, *page.NextToken)
				}
			}
			require.Equal(t, 3, pages)
			require.Len(t, tokens, 2)
			require.Equal(t, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, values)
		})
	}
}

// TestCloudWatchSDKBatchLimit: 500 queries in one call is CloudWatch's
// limit; 600 is InvalidParameterValue.
func TestCloudWatchSDKBatchLimit(t *testing.T) {
	for _, proto := range cwProtocols {
		for _, tc := range []struct {
			name    string
			queries int
			wantErr bool
		}{
			{name: "500 queries", queries: 500},
			{name: "600 queries", queries: 600, wantErr: true},
		} {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				s := newSimServer(t, "")
				c := s.cloudwatch(proto)
				putTestMetrics(t, c)
				qs := make([]types.MetricDataQuery, tc.queries)
				for i := range qs {
					qs[i] = utilQuery(fmt.Sprintf("q%d", i), "Maximum")
				}
				out, err := c.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
					MetricDataQueries: qs,
					StartTime:         aws.Time(httpTestStart.Add(-10 * time.Minute)),
					EndTime:           aws.Time(httpTestStart),
				})
				if tc.wantErr {
					var ipv *types.InvalidParameterValueException
					require.ErrorAs(t, err, &ipv)
					want := "InvalidParameterValue"
					if proto == cwProtoQuery {
						want = queryTypedCodes[want]
					}
					require.Equal(t, want, ipv.ErrorCode())
					require.Contains(t, ipv.ErrorMessage(), "must not have a size greater than 500")
					var re *awshttp.ResponseError
					require.ErrorAs(t, err, &re)
					require.Equal(t, 400, re.HTTPStatusCode())
					return
				}
				require.NoError(t, err)
				require.Len(t, out.MetricDataResults, tc.queries)
				for _, r := range out.MetricDataResults {
					require.Len(t, r.Values, 10)
				}
			})
		}
	}
}

// TestCloudWatchSDKErrors: validation errors and injected faults decode to
// the codes clients classify on.
func TestCloudWatchSDKErrors(t *testing.T) {
	throttled := `
functions: [{name: checkout-api}]
faults: [{op: GetMetricData, kind: throttle}]
`
	failing := `
functions: [{name: checkout-api}]
faults: [{op: ListMetrics, kind: server_error}]
`
	window := func(q types.MetricDataQuery) *cloudwatch.GetMetricDataInput {
		return &cloudwatch.GetMetricDataInput{
			MetricDataQueries: []types.MetricDataQuery{q},
			StartTime:         aws.Time(httpTestStart.Add(-10 * time.Minute)),
			EndTime:           aws.Time(httpTestStart),
		}
	}
	tests := []struct {
		name       string
		scenario   string
		call       func(*cloudwatch.Client) error
		wantCode   string
		wantStatus int
		wantFault  smithy.ErrorFault
	}{
		{
			name: "unsupported statistic",
			call: func(c *cloudwatch.Client) error {
				_, err := c.GetMetricData(context.Background(), window(utilQuery("u", "p99.9x")))
				return err
			},
			wantCode: "InvalidParameterValue", wantStatus: 400, wantFault: smithy.FaultClient,
		},
		{
			name: "period not a multiple of 60",
			call: func(c *cloudwatch.Client) error {
				q := utilQuery("u", "Sum")
				q.MetricStat.Period = aws.Int32(45)
				_, err := c.GetMetricData(context.Background(), window(q))
				return err
			},
			wantCode: "InvalidParameterValue", wantStatus: 400, wantFault: smithy.FaultClient,
		},
		{
			name: "bad NextToken",
			call: func(c *cloudwatch.Client) error {
				in := window(utilQuery("u", "Sum"))
				in.NextToken = aws.String("garbage")
				_, err := c.GetMetricData(context.Background(), in)
				return err
			},
			wantCode: "InvalidNextToken", wantStatus: 400, wantFault: smithy.FaultClient,
		},
		{
			name: "AWS namespace is reserved for PutMetricData",
			call: func(c *cloudwatch.Client) error {
				_, err := c.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{
					Namespace:  aws.String("AWS/Lambda"),
					MetricData: []types.MetricDatum{{MetricName: aws.String("Invocations"), Value: aws.Float64(1)}},
				})
				return err
			},
			wantCode: "InvalidParameterValue", wantStatus: 400, wantFault: smithy.FaultClient,
		},
		{
			name: "throttled", scenario: throttled,
			call: func(c *cloudwatch.Client) error {
				_, err := c.GetMetricData(context.Background(), window(utilQuery("u", "Sum")))
				return err
			},
			wantCode: "Throttling", wantStatus: 400, wantFault: smithy.FaultClient,
		},
		{
			name: "injected internal error", scenario: failing,
			call: func(c *cloudwatch.Client) error {
				_, err := c.ListMetrics(context.Background(), &cloudwatch.ListMetricsInput{})
				return err
			},
			wantCode: "InternalServiceError", wantStatus: 500, wantFault: smithy.FaultServer,
		},
	}
	for _, proto := range cwProtocols {
		for _, tc := range tests {
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				s := newSimServer(t, tc.scenario)
				err := tc.call(s.cloudwatch(proto))
				var ae smithy.APIError
				require.ErrorAs(t, err, &ae)
				want := tc.wantCode
				if proto == cwProtoQuery && queryTypedCodes[want] != "" {
					// The SDK's awsQuery decoder maps the wire code to the
					// typed error but doesn't override its ErrorCode().
					want = queryTypedCodes[want]
				}
				require.Equal(t, want, ae.ErrorCode())
				// awsQuery carries the fault in the body only for typed errors;
				// the other protocols carry it in X-Amzn-Query-Error.
				if proto != cwProtoQuery {
					require.Equal(t, tc.wantFault, ae.ErrorFault())
				}
				var re *awshttp.ResponseError
				require.ErrorAs(t, err, &re)
				require.Equal(t, tc.wantStatus, re.HTTPStatusCode())
			})
		}
	}
}

// queryTypedCodes: wire code → what the SDK's typed error reports on awsQuery.
var queryTypedCodes = map[string]string{
	"InvalidParameterValue": "InvalidParameterValueException",
	"InternalServiceError":  "InternalServiceFault",
}

// TestCloudWatchLambdaMetrics reads the metrics the World publishes for
// traffic, as the daemon does: ProvisionedConcurrencyUtilization per
// Resource over CBOR.
func TestCloudWatchLambdaMetrics(t *testing.T) {
	s := newSimServer(t, `
seed: 3
functions:
  - name: checkout-api
    aliases: [{name: live, version: "1"}]
    provisioned: {live: 50}
    loads: [{qualifier: live, kind: constant, rate: 600, duration_ms: 1000}]
`)
	s.clock.Advance(10 * time.Minute)
	c := s.cloudwatch(cwProtoCBOR)
	out, err := c.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("u"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{
					Namespace:  aws.String("AWS/Lambda"),
					MetricName: aws.String("ProvisionedConcurrencyUtilization"),
					Dimensions: []types.Dimension{
						{Name: aws.String("FunctionName"), Value: aws.String("checkout-api")},
						{Name: aws.String("Resource"), Value: aws.String("checkout-api:live")},
					},
				},
				Period: aws.Int32(60),
				Stat:   aws.String("Maximum"),
			},
		}},
		StartTime: aws.Time(httpTestStart),
		EndTime:   aws.Time(httpTestStart.Add(10 * time.Minute)),
	})
	require.NoError(t, err)
	r := out.MetricDataResults[0]
	require.Equal(t, types.StatusCodeComplete, r.StatusCode)
	// 10 rps of 1 s each on 50 PC: busy but far from saturated; the
	// publication delay hides the newest minutes.
	require.NotEmpty(t, r.Values)
	require.Less(t, len(r.Values), 10)
	for _, v := range r.Values {
		require.Greater(t, v, 0.0)
		require.LessOrEqual(t, v, 1.0)
	}
}
