package scale

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"
)

// stub answers the daemon's Lambda and CloudWatch calls inside the SDK's
// middleware stack, first thing in its Initialize step: the daemon's own
// clients (awsapi.Lambda, metrics.Source, the SDK's operation entry points)
// run, nothing is serialized or sent, and no simulator is in the process.
// Every target is quiet: READY at its PC, its minutes' Maximum concurrency
// at 0.665 of it, published publishLag after the minute ends.
type stub struct {
	levels     []int // target i's mean concurrency
	publishLag time.Duration

	mu sync.Mutex
	pc map[string]int // "fn:qualifier" → requested PC
}

const stubModified = "2026-01-05T00:00:00.000+0000"

func newStub(n int) *stub {
	s := &stub{publishLag: 2 * time.Minute, pc: make(map[string]int, n)}
	for i := range n {
		c := quietLevels[i%len(quietLevels)]
		s.levels = append(s.levels, c)
		s.pc[functionName(i)+":"+qualifierName(i)] = int(math.Round(s.peak(i) / quietUtilization))
	}
	return s
}

func (s *stub) peak(i int) float64 { c := float64(s.levels[i]); return c + 2.3*math.Sqrt(c) }

// index parses "fn-00042" (or "fn-00042:live-00042") into 42.
func index(name string) int {
	name, _, _ = strings.Cut(strings.TrimPrefix(name, "fn-"), ":")
	i, _ := strconv.Atoi(name)
	return i
}

func (s *stub) lambdaOption(o *lambda.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("scaleStub",
			func(ctx context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, err := s.lambda(in.Parameters)
				return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, err
			}), middleware.Before)
	})
}

func (s *stub) cloudwatchOption(o *cloudwatch.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("scaleStub",
			func(ctx context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				q, ok := in.Parameters.(*cloudwatch.GetMetricDataInput)
				if !ok {
					return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("stub: %T not served", in.Parameters)
				}
				return middleware.InitializeOutput{Result: s.metricData(q)}, middleware.Metadata{}, nil
			}), middleware.Before)
	})
}

func (s *stub) config(key string) *int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return aws.Int32(int32(s.pc[key]))
}

func (s *stub) lambda(params any) (any, error) {
	switch in := params.(type) {
	case *lambda.GetProvisionedConcurrencyConfigInput:
		n := s.config(aws.ToString(in.FunctionName) + ":" + aws.ToString(in.Qualifier))
		return &lambda.GetProvisionedConcurrencyConfigOutput{RequestedProvisionedConcurrentExecutions: n,
			AllocatedProvisionedConcurrentExecutions: n, AvailableProvisionedConcurrentExecutions: n,
			Status: types.ProvisionedConcurrencyStatusEnumReady, LastModified: aws.String(stubModified)}, nil
	case *lambda.PutProvisionedConcurrencyConfigInput:
		key := aws.ToString(in.FunctionName) + ":" + aws.ToString(in.Qualifier)
		s.mu.Lock()
		s.pc[key] = int(aws.ToInt32(in.ProvisionedConcurrentExecutions))
		s.mu.Unlock()
		n := s.config(key)
		return &lambda.PutProvisionedConcurrencyConfigOutput{RequestedProvisionedConcurrentExecutions: n,
			AllocatedProvisionedConcurrentExecutions: n, AvailableProvisionedConcurrentExecutions: n,
			Status: types.ProvisionedConcurrencyStatusEnumReady, LastModified: aws.String(stubModified)}, nil
	case *lambda.DeleteProvisionedConcurrencyConfigInput:
		return &lambda.DeleteProvisionedConcurrencyConfigOutput{}, nil
	case *lambda.ListProvisionedConcurrencyConfigsInput:
		fn := aws.ToString(in.FunctionName)
		i := index(fn)
		return &lambda.ListProvisionedConcurrencyConfigsOutput{ProvisionedConcurrencyConfigs: []types.ProvisionedConcurrencyConfigListItem{{
			FunctionArn:                              aws.String("arn:aws:lambda:us-east-1:123456789012:function:" + fn + ":" + qualifierName(i)),
			RequestedProvisionedConcurrentExecutions: s.config(fn + ":" + qualifierName(i)),
			Status:                                   types.ProvisionedConcurrencyStatusEnumReady,
		}}}, nil
	case *lambda.GetFunctionInput:
		return &lambda.GetFunctionOutput{Configuration: &types.FunctionConfiguration{
			FunctionName: in.FunctionName, Version: aws.String("1"), MemorySize: aws.Int32(1024)}}, nil
	case *lambda.GetAliasInput:
		return &lambda.GetAliasOutput{Name: in.Name, FunctionVersion: aws.String("1")}, nil
	case *lambda.GetAccountSettingsInput:
		return &lambda.GetAccountSettingsOutput{AccountLimit: &types.AccountLimit{
			ConcurrentExecutions: 50_000_000, UnreservedConcurrentExecutions: aws.Int32(50_000_000)}}, nil
	}
	return nil, fmt.Errorf("stub: %T not served", params)
}

// metricData answers every query with one datapoint a published minute.
func (s *stub) metricData(in *cloudwatch.GetMetricDataInput) *cloudwatch.GetMetricDataOutput {
	start := aws.ToTime(in.StartTime).Truncate(time.Minute)
	end := aws.ToTime(in.EndTime).Add(-s.publishLag).Truncate(time.Minute)
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: make([]cwtypes.MetricDataResult, 0, len(in.MetricDataQueries))}
	for _, q := range in.MetricDataQueries {
		i := 0
		for _, d := range q.MetricStat.Metric.Dimensions {
			if aws.ToString(d.Name) == "Resource" {
				i = index(aws.ToString(d.Value))
			}
		}
		var v float64
		switch aws.ToString(q.MetricStat.Metric.MetricName) {
		case "ConcurrentExecutions":
			v = math.Round(s.peak(i))
		case "ProvisionedConcurrencyUtilization":
			v = quietUtilization
		case "Invocations":
			v = float64(s.levels[i] * 60)
		}
		r := cwtypes.MetricDataResult{Id: q.Id, Label: q.Id, StatusCode: cwtypes.StatusCodeComplete}
		if n := int(end.Sub(start) / time.Minute); n > 0 { // a decoder knows the lengths
			r.Timestamps, r.Values = make([]time.Time, 0, n), make([]float64, 0, n)
		}
		for t := start; t.Before(end); t = t.Add(time.Minute) {
			r.Timestamps = append(r.Timestamps, t)
			r.Values = append(r.Values, v)
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}
	return out
}
