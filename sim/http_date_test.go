package sim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"
)

// TestDateHeaderIsSimulatedTime: every answer carries the World's clock in
// Date, far from wall time here, which is what a client measuring its skew
// against AWS must see.
func TestDateHeaderIsSimulatedTime(t *testing.T) {
	start := time.Date(1999, 12, 31, 23, 59, 7, 0, time.UTC)
	s := newSimServerAt(t, "", start)
	s.clock.Advance(90 * time.Second)
	want := start.Add(90 * time.Second)
	ctx := context.Background()

	t.Run("lambda success, as the SDK's server time", func(t *testing.T) {
		out, err := s.lambda().GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		require.NoError(t, err)
		got, ok := awsmiddleware.GetServerTime(out.ResultMetadata)
		require.True(t, ok)
		require.Equal(t, want, got.UTC())
	})
	t.Run("lambda error", func(t *testing.T) {
		_, err := s.lambda().GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("ghost"), Qualifier: aws.String("live")})
		var re *awshttp.ResponseError
		require.True(t, errors.As(err, &re), "%v", err)
		require.Equal(t, want.Format(http.TimeFormat), re.Response.Header.Get("Date"))
	})
	for _, proto := range []string{cwProtoCBOR, cwProtoJSON, cwProtoQuery} {
		t.Run("cloudwatch "+proto, func(t *testing.T) {
			out, err := s.cloudwatch(proto).ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Lambda")})
			require.NoError(t, err)
			got, ok := awsmiddleware.GetServerTime(out.ResultMetadata)
			require.True(t, ok)
			require.Equal(t, want, got.UTC())
		})
	}
	t.Run("cloudwatch error", func(t *testing.T) {
		_, err := s.cloudwatch(cwProtoCBOR).GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			MetricDataQueries: []cwtypes.MetricDataQuery{}, StartTime: aws.Time(want.Add(-time.Hour)), EndTime: aws.Time(want)})
		var re *awshttp.ResponseError
		require.True(t, errors.As(err, &re), "%v", err)
		require.Equal(t, want.Format(http.TimeFormat), re.Response.Header.Get("Date"))
	})
	for _, path := range []string{"/_sim/stats", "/not/an/operation"} {
		t.Run("raw "+path, func(t *testing.T) {
			resp, err := http.Get(s.url + path)
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, want.Format(http.TimeFormat), resp.Header.Get("Date"))
		})
	}
}
