package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stretchr/testify/require"
)

// TestAWSCLI round-trips every simulated operation through the AWS CLI
// (v1 on these machines: botocore sends CloudWatch as AWS JSON 1.0), the
// way a user exploring `pcautoscaler sim` would. Each step gets its own
// world, prepared (and checked, where the CLI prints nothing) through the
// Go SDK, so the slow CLI processes can run in parallel.
func TestAWSCLI(t *testing.T) {
	awsCLI := testenv.Program(t, "aws")
	dir := t.TempDir()
	env := []string{
		"AWS_ACCESS_KEY_ID=x",
		"AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_PAGER=",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") { // no profile, token or endpoint of the caller's
			env = append(env, kv)
		}
	}
	run := func(t *testing.T, url string, args ...string) (map[string]any, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		full := append([]string{"--endpoint-url", url, "--output", "json"}, args...)
		cmd := exec.CommandContext(ctx, awsCLI, full...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var out map[string]any
		if strings.TrimSpace(stdout.String()) != "" {
			require.NoError(t, json.Unmarshal(stdout.Bytes(), &out), "stdout: %s", stdout.String())
		}
		if err != nil {
			return out, stderr.String(), fmt.Errorf("aws %s: %w: %s", strings.Join(args, " "), err, stderr.String())
		}
		return out, stderr.String(), nil
	}

	start := httpTestStart.Add(-10 * time.Minute).Format(time.RFC3339)
	end := httpTestStart.Format(time.RFC3339)
	const dims = `[{"Name":"FunctionName","Value":"checkout-api"},{"Name":"Resource","Value":"checkout-api:live"}]`
	var metricData []string
	for i := range 10 {
		ts := httpTestStart.Add(time.Duration(i-10) * time.Minute).Format(time.RFC3339)
		metricData = append(metricData, fmt.Sprintf(`{"MetricName":"Util","Dimensions":%s,"Timestamp":"%s","Value":%d}`, dims, ts, i+1))
	}
	query := `[{"Id":"util","MetricStat":{"Metric":{"Namespace":"Test/Sim","MetricName":"Util","Dimensions":` + dims + `},"Period":60,"Stat":"Maximum"}}]`
	var many []string
	for i := range 600 {
		many = append(many, fmt.Sprintf(`{"Id":"q%d","MetricStat":{"Metric":{"Namespace":"Test/Sim","MetricName":"Util"},"Period":60,"Stat":"Sum"}}`, i))
	}
	manyFile := filepath.Join(dir, "many.json")
	require.NoError(t, os.WriteFile(manyFile, []byte(`{"MetricDataQueries":[`+strings.Join(many, ",")+`],"StartTime":"`+start+`","EndTime":"`+end+`"}`), 0o600))

	ctx := context.Background()
	putPC := func(fn, q string, n int32) func(t *testing.T, s *simServer) {
		return func(t *testing.T, s *simServer) {
			_, err := s.lambda().PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
				FunctionName: aws.String(fn), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n),
			})
			require.NoError(t, err)
		}
	}
	putMetrics := func(t *testing.T, s *simServer) { putTestMetrics(t, s.cloudwatch(cwProtoCBOR)) }
	steps := []struct {
		name    string
		setup   func(t *testing.T, s *simServer)
		args    []string
		check   func(t *testing.T, out map[string]any, s *simServer)
		wantErr []string // substrings of stderr
	}{
		{
			name: "get-account-settings", args: []string{"lambda", "get-account-settings"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.InDelta(t, 1000, dig(out, "AccountLimit", "ConcurrentExecutions"), 0)
				require.InDelta(t, 980, dig(out, "AccountLimit", "UnreservedConcurrentExecutions"), 0)
			},
		},
		{
			name: "put-provisioned-concurrency-config",
			args: []string{"lambda", "put-provisioned-concurrency-config", "--function-name", "capped", "--qualifier", "live", "--provisioned-concurrent-executions", "5"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.InDelta(t, 5, dig(out, "RequestedProvisionedConcurrentExecutions"), 0)
				require.Equal(t, "IN_PROGRESS", dig(out, "Status"))
			},
		},
		{
			name:    "put-provisioned-concurrency-config while in progress",
			setup:   putPC("capped", "live", 5),
			args:    []string{"lambda", "put-provisioned-concurrency-config", "--function-name", "capped", "--qualifier", "live", "--provisioned-concurrent-executions", "6"},
			wantErr: []string{"(ResourceConflictException) when calling the PutProvisionedConcurrencyConfig operation", "A previous request is being processed"},
		},
		{
			name:    "put-provisioned-concurrency-config on $LATEST",
			args:    []string{"lambda", "put-provisioned-concurrency-config", "--function-name", "checkout-api", "--qualifier", "$LATEST", "--provisioned-concurrent-executions", "5"},
			wantErr: []string{"(InvalidParameterValueException) when calling the PutProvisionedConcurrencyConfig operation", "Provisioned Concurrency Configs cannot be applied to unpublished function versions."},
		},
		{
			name: "get-provisioned-concurrency-config by ARN",
			args: []string{"lambda", "get-provisioned-concurrency-config", "--function-name", checkoutARN, "--qualifier", "live"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.InDelta(t, 10, dig(out, "AllocatedProvisionedConcurrentExecutions"), 0)
				require.Equal(t, "READY", dig(out, "Status"))
			},
		},
		{
			name:    "get-provisioned-concurrency-config without a config",
			args:    []string{"lambda", "get-provisioned-concurrency-config", "--function-name", "capped", "--qualifier", "live"},
			wantErr: []string{"(ProvisionedConcurrencyConfigNotFoundException)", "No Provisioned Concurrency Config found for this function"},
		},
		{
			name: "list-provisioned-concurrency-configs one per page",
			args: []string{"lambda", "list-provisioned-concurrency-configs", "--function-name", "checkout-api", "--page-size", "1"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				items := dig(out, "ProvisionedConcurrencyConfigs").([]any)
				require.Len(t, items, 2)
				require.Equal(t, checkoutARN+":1", items[0].(map[string]any)["FunctionArn"])
			},
		},
		{
			name: "delete-provisioned-concurrency-config",
			args: []string{"lambda", "delete-provisioned-concurrency-config", "--function-name", "checkout-api", "--qualifier", "1"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Empty(t, out)
				_, err := s.lambda().GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
					FunctionName: aws.String("checkout-api"), Qualifier: aws.String("1"),
				})
				var nf *types.ProvisionedConcurrencyConfigNotFoundException
				require.ErrorAs(t, err, &nf)
			},
		},
		{
			name: "get-function-concurrency", args: []string{"lambda", "get-function-concurrency", "--function-name", "capped"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.InDelta(t, 20, dig(out, "ReservedConcurrentExecutions"), 0)
			},
		},
		{
			name: "get-function-concurrency without a reservation",
			args: []string{"lambda", "get-function-concurrency", "--function-name", "checkout-api"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.NotContains(t, out, "ReservedConcurrentExecutions")
			},
		},
		{
			name: "put-function-concurrency",
			args: []string{"lambda", "put-function-concurrency", "--function-name", "checkout-api", "--reserved-concurrent-executions", "50"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.InDelta(t, 50, dig(out, "ReservedConcurrentExecutions"), 0)
			},
		},
		{
			name:    "put-function-concurrency into the unreserved minimum",
			args:    []string{"lambda", "put-function-concurrency", "--function-name", "fn-a", "--reserved-concurrent-executions", "900"},
			wantErr: []string{"(InvalidParameterValueException) when calling the PutFunctionConcurrency operation", "below its minimum value of [100]"},
		},
		{
			name: "delete-function-concurrency",
			args: []string{"lambda", "delete-function-concurrency", "--function-name", "capped"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Empty(t, out)
				got, err := s.lambda().GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("capped")})
				require.NoError(t, err)
				require.Nil(t, got.ReservedConcurrentExecutions)
			},
		},
		{
			name: "get-alias", args: []string{"lambda", "get-alias", "--function-name", "checkout-api", "--name", "canary"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, "2", dig(out, "FunctionVersion"))
				require.InDelta(t, 0.1, dig(out, "RoutingConfig", "AdditionalVersionWeights", "3"), 1e-9)
			},
		},
		{
			name: "list-aliases", args: []string{"lambda", "list-aliases", "--function-name", "checkout-api"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Len(t, dig(out, "Aliases"), 2)
			},
		},
		{
			name: "list-versions-by-function", args: []string{"lambda", "list-versions-by-function", "--function-name", "checkout-api"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Len(t, dig(out, "Versions"), 4)
			},
		},
		{
			name: "list-functions two per page", args: []string{"lambda", "list-functions", "--page-size", "2"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				var names []string
				for _, f := range dig(out, "Functions").([]any) {
					names = append(names, f.(map[string]any)["FunctionName"].(string))
				}
				require.Equal(t, []string{"capped", "checkout-api", "fn-a", "fn-b", "fn-c"}, names)
			},
		},
		{
			name: "get-function-configuration",
			args: []string{"lambda", "get-function-configuration", "--function-name", "checkout-api", "--qualifier", "live"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.InDelta(t, 1024, dig(out, "MemorySize"), 0)
				require.Equal(t, "2", dig(out, "Version"))
			},
		},
		{
			name: "get-function of an alias",
			args: []string{"lambda", "get-function", "--function-name", "capped", "--qualifier", "live"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, "1", dig(out, "Configuration", "Version"))
				require.InDelta(t, 128, dig(out, "Configuration", "MemorySize"), 0)
				require.InDelta(t, 20, dig(out, "Concurrency", "ReservedConcurrentExecutions"), 0)
			},
		},
		{
			name: "get-function with tags",
			args: []string{"lambda", "get-function", "--function-name", "checkout-api:1"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, checkoutARN+":1", dig(out, "Configuration", "FunctionArn"))
				require.Equal(t, map[string]any{"pcautoscaler": "on", "team": "pay"}, dig(out, "Tags"))
				require.NotContains(t, out, "Concurrency")
			},
		},
		{
			name:    "get-function of an unknown qualifier",
			args:    []string{"lambda", "get-function", "--function-name", "checkout-api", "--qualifier", "blue"},
			wantErr: []string{"(ResourceNotFoundException) when calling the GetFunction operation", "Function not found: " + checkoutARN + ":blue"},
		},
		{
			name: "list-versions-by-function 2 per page",
			args: []string{"lambda", "list-versions-by-function", "--function-name", "checkout-api", "--page-size", "2"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				var vs []any
				for _, v := range dig(out, "Versions").([]any) {
					vs = append(vs, v.(map[string]any)["Version"])
				}
				require.Equal(t, []any{"$LATEST", "1", "2", "3"}, vs)
				require.Equal(t, int64(2), s.world.Stats().APICalls[opListVersions][CodeOK], "two pages")
			},
		},
		{
			name:    "get-function-configuration of an unknown function",
			args:    []string{"lambda", "get-function-configuration", "--function-name", "nope"},
			wantErr: []string{"(ResourceNotFoundException) when calling the GetFunctionConfiguration operation", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		},
		{
			name: "publish-version",
			args: []string{"lambda", "publish-version", "--function-name", "checkout-api", "--description", "build 4"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, "4", dig(out, "Version"))
				require.Equal(t, checkoutARN+":4", dig(out, "FunctionArn"))
			},
		},
		{
			name: "create-alias with weights",
			args: []string{"lambda", "create-alias", "--function-name", "checkout-api", "--name", "blue", "--function-version", "3",
				"--routing-config", "AdditionalVersionWeights={1=0.5}"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, checkoutARN+":blue", dig(out, "AliasArn"))
				require.InDelta(t, 0.5, dig(out, "RoutingConfig", "AdditionalVersionWeights", "1"), 1e-9)
			},
		},
		{
			// As typed in a shell: update-alias ... --routing-config AdditionalVersionWeights={"2"=0.1}
			name: "update-alias moves a provisioned alias and weights it",
			args: []string{"lambda", "update-alias", "--function-name", "checkout-api", "--name", "live", "--function-version", "3",
				"--routing-config", "AdditionalVersionWeights={2=0.1}"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Equal(t, "3", dig(out, "FunctionVersion"))
				require.InDelta(t, 0.1, dig(out, "RoutingConfig", "AdditionalVersionWeights", "2"), 1e-9)
				pc, err := s.world.GetProvisionedConcurrency("checkout-api", "live")
				require.NoError(t, err)
				require.Equal(t, []any{"IN_PROGRESS", 10, 0}, []any{pc.Status, pc.Requested, pc.Available}, "reallocating on version 3")
			},
		},
		{
			name: "update-alias clears the weights",
			args: []string{"lambda", "update-alias", "--function-name", "checkout-api", "--name", "canary", "--routing-config", "{}"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, "2", dig(out, "FunctionVersion"))
				require.NotContains(t, out, "RoutingConfig")
			},
		},
		{
			name: "delete-alias",
			args: []string{"lambda", "delete-alias", "--function-name", "checkout-api", "--name", "canary"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Empty(t, out)
				_, err := s.world.GetAlias("checkout-api", "canary")
				require.Error(t, err)
			},
		},
		{
			name: "tag-resource",
			args: []string{"lambda", "tag-resource", "--resource", checkoutARN, "--tags", "owner=web,pcautoscaler/max=200"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Empty(t, out)
				tags, err := s.world.ListTags(checkoutARN)
				require.NoError(t, err)
				require.Equal(t, map[string]string{"pcautoscaler": "on", "team": "pay", "owner": "web", "pcautoscaler/max": "200"}, tags)
			},
		},
		{
			name: "list-tags", args: []string{"lambda", "list-tags", "--resource", checkoutARN},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				require.Equal(t, map[string]any{"pcautoscaler": "on", "team": "pay"}, dig(out, "Tags"))
			},
		},
		{
			name: "untag-resource",
			args: []string{"lambda", "untag-resource", "--resource", checkoutARN, "--tag-keys", "team", "absent"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Empty(t, out)
				tags, err := s.world.ListTags(checkoutARN)
				require.NoError(t, err)
				require.Equal(t, map[string]string{"pcautoscaler": "on"}, tags)
			},
		},
		{
			// One function a page: the CLI follows PaginationToken and merges the pages.
			name: "resourcegroupstaggingapi get-resources",
			args: []string{"resourcegroupstaggingapi", "get-resources", "--tag-filters", "Key=pcautoscaler,Values=on,off", "--resource-type-filters", "lambda:function", "--page-size", "1"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				var arns []any
				for _, m := range dig(out, "ResourceTagMappingList").([]any) {
					arns = append(arns, m.(map[string]any)["ResourceARN"])
				}
				require.Equal(t, []any{checkoutARN, "arn:aws:lambda:us-east-1:123456789012:function:fn-b"}, arns)
				require.Contains(t, s.logs.String(), "operation=GetResources protocol=json-1.1 status=200")
				require.Equal(t, int64(2), s.world.Stats().APICalls[opGetResources][CodeOK])
			},
		},
		{
			name: "put-metric-data",
			args: []string{"cloudwatch", "put-metric-data", "--namespace", "Test/Sim", "--metric-data", "[" + strings.Join(metricData, ",") + "]"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				require.Empty(t, out)
				got, err := s.cloudwatch(cwProtoCBOR).GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
					MetricDataQueries: []cwtypes.MetricDataQuery{utilQuery("u", "Sum")},
					StartTime:         aws.Time(httpTestStart.Add(-10 * time.Minute)),
					EndTime:           aws.Time(httpTestStart),
					ScanBy:            cwtypes.ScanByTimestampAscending,
				})
				require.NoError(t, err)
				require.Equal(t, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, got.MetricDataResults[0].Values)
			},
		},
		{
			name: "list-metrics", setup: putMetrics, args: []string{"cloudwatch", "list-metrics", "--namespace", "Test/Sim"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				var names []string
				for _, m := range dig(out, "Metrics").([]any) {
					names = append(names, m.(map[string]any)["MetricName"].(string))
				}
				require.ElementsMatch(t, []string{"Util", "Other"}, names)
			},
		},
		{
			name:  "get-metric-data",
			setup: putMetrics,
			args:  []string{"cloudwatch", "get-metric-data", "--metric-data-queries", query, "--start-time", start, "--end-time", end, "--scan-by", "TimestampAscending"},
			check: func(t *testing.T, out map[string]any, s *simServer) {
				// botocore 1.43 prefers "json" among CloudWatch's protocols.
				require.Contains(t, s.logs.String(), "operation=GetMetricData protocol=json-1.0 status=200")
				r := dig(out, "MetricDataResults").([]any)[0].(map[string]any)
				require.Equal(t, "Complete", r["StatusCode"])
				require.Equal(t, []any{1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0}, r["Values"])
				ts := r["Timestamps"].([]any)
				require.Len(t, ts, 10)
				// CLI v1 prints timestamps as the wire carried them: AWS JSON
				// 1.0 epoch seconds.
				first := time.Unix(int64(ts[0].(float64)), 0)
				require.True(t, first.Equal(httpTestStart.Add(-10*time.Minute)), "first timestamp %v", first)
			},
		},
		{
			name:  "get-metric-data three datapoints per page",
			setup: putMetrics,
			// --page-size is botocore's limit key for GetMetricData: MaxDatapoints.
			args: []string{"cloudwatch", "get-metric-data", "--metric-data-queries", query, "--start-time", start, "--end-time", end, "--page-size", "3"},
			check: func(t *testing.T, out map[string]any, _ *simServer) {
				// The CLI follows NextToken and merges the pages.
				var values []any
				for _, r := range dig(out, "MetricDataResults").([]any) {
					values = append(values, r.(map[string]any)["Values"].([]any)...)
				}
				require.Equal(t, []any{10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0}, values)
			},
		},
		{
			name:    "get-metric-data with 600 queries",
			args:    []string{"cloudwatch", "get-metric-data", "--cli-input-json", "file://" + manyFile},
			wantErr: []string{"(InvalidParameterValue) when calling the GetMetricData operation", "The collection MetricDataQueries must not have a size greater than 500."},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := newSimServer(t, "")
			if st.setup != nil {
				st.setup(t, s)
			}
			out, stderr, err := run(t, s.url, st.args...)
			if st.wantErr != nil {
				require.Error(t, err)
				for _, want := range st.wantErr {
					require.Contains(t, stderr, want)
				}
				return
			}
			require.NoError(t, err)
			st.check(t, out, s)
		})
	}
}

// dig walks nested JSON objects; a missing key yields nil.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
