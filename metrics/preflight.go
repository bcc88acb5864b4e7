package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
)

// Preflight makes one tiny GetMetricData call (one metric, five minutes) at
// start-up, so a missing cloudwatch:GetMetricData permission or a wrong
// endpoint fails at once with the action named. The answer's content does
// not matter.
func (s *Source) Preflight(ctx context.Context) error {
	end := s.clock.Now().UTC().Truncate(time.Minute)
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(end.Add(-5 * time.Minute)),
		EndTime:   aws.Time(end),
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String("preflight"),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String("ConcurrentExecutions")},
				Period: aws.Int32(period),
				Stat:   aws.String("Maximum"),
			},
		}},
	}
	err := s.caller.Call(ctx, awsapi.OpGetMetricData, "", func(ctx context.Context) error {
		_, err := s.api.GetMetricData(ctx, in)
		return err
	})
	if s.observer != nil {
		s.observer.MetricsRequested(1)
	}
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return &awsapi.PreflightError{Err: ae}
	}
	return err
}
