package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

const checkoutARN = "arn:aws:lambda:us-east-1:123456789012:function:checkout-api"

// TestLambdaSDKOperations drives every simulated Lambda operation through the
// real SDK client over HTTP, in the order a user exploring the account would.
func TestLambdaSDKOperations(t *testing.T) {
	ctx := context.Background()
	s := newSimServer(t, "")
	c := s.lambda()

	acct, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	require.NoError(t, err)
	require.Equal(t, int32(1000), acct.AccountLimit.ConcurrentExecutions)
	require.Equal(t, int32(980), aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions))
	require.Equal(t, int64(5), acct.AccountUsage.FunctionCount)

	got, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live"),
	})
	require.NoError(t, err)
	require.Equal(t, int32(10), aws.ToInt32(got.RequestedProvisionedConcurrentExecutions))
	require.Equal(t, int32(10), aws.ToInt32(got.AllocatedProvisionedConcurrentExecutions))
	require.Equal(t, types.ProvisionedConcurrencyStatusEnumReady, got.Status)
	require.Equal(t, "2026-01-05T10:00:00+0000", aws.ToString(got.LastModified))

	// A full ARN, percent-escaped in the path by the SDK, names the same function.
	byARN, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String(checkoutARN), Qualifier: aws.String("live"),
	})
	require.NoError(t, err)
	require.Equal(t, int32(10), aws.ToInt32(byARN.RequestedProvisionedConcurrentExecutions))

	put, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("capped"), Qualifier: aws.String("live"), ProvisionedConcurrentExecutions: aws.Int32(5),
	})
	require.NoError(t, err)
	require.Equal(t, int32(5), aws.ToInt32(put.RequestedProvisionedConcurrentExecutions))
	require.Equal(t, int32(0), aws.ToInt32(put.AllocatedProvisionedConcurrentExecutions))
	require.Equal(t, types.ProvisionedConcurrencyStatusEnumInProgress, put.Status)

	s.clock.Advance(2 * time.Minute) // past the preparation delay and allocation
	ready, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("capped"), Qualifier: aws.String("live"),
	})
	require.NoError(t, err)
	require.Equal(t, types.ProvisionedConcurrencyStatusEnumReady, ready.Status)
	require.Equal(t, int32(5), aws.ToInt32(ready.AvailableProvisionedConcurrentExecutions))

	list, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	var arns []string
	for _, it := range list.ProvisionedConcurrencyConfigs {
		arns = append(arns, aws.ToString(it.FunctionArn))
	}
	require.Equal(t, []string{checkoutARN + ":1", checkoutARN + ":live"}, arns)

	_, err = c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("capped"), Qualifier: aws.String("live"),
	})
	require.NoError(t, err)
	_, err = c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("capped"), Qualifier: aws.String("live"),
	})
	var notFound *types.ProvisionedConcurrencyConfigNotFoundException
	require.ErrorAs(t, err, &notFound)

	reserved, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("capped")})
	require.NoError(t, err)
	require.Equal(t, int32(20), aws.ToInt32(reserved.ReservedConcurrentExecutions))
	none, err := c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	require.Nil(t, none.ReservedConcurrentExecutions)

	set, err := c.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("checkout-api"), ReservedConcurrentExecutions: aws.Int32(50),
	})
	require.NoError(t, err)
	require.Equal(t, int32(50), aws.ToInt32(set.ReservedConcurrentExecutions))
	acct, err = c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	require.NoError(t, err)
	require.Equal(t, int32(930), aws.ToInt32(acct.AccountLimit.UnreservedConcurrentExecutions))
	_, err = c.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	none, err = c.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	require.Nil(t, none.ReservedConcurrentExecutions)

	canary, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("canary")})
	require.NoError(t, err)
	require.Equal(t, "2", aws.ToString(canary.FunctionVersion))
	require.Equal(t, checkoutARN+":canary", aws.ToString(canary.AliasArn))
	require.NotNil(t, canary.RoutingConfig)
	require.Equal(t, map[string]float64{"3": 0.1}, canary.RoutingConfig.AdditionalVersionWeights)
	live, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("live")})
	require.NoError(t, err)
	require.Nil(t, live.RoutingConfig)

	aliases, err := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	var names []string
	for _, a := range aliases.Aliases {
		names = append(names, aws.ToString(a.Name))
	}
	require.Equal(t, []string{"canary", "live"}, names)

	versions, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("checkout-api")})
	require.NoError(t, err)
	var vs []string
	for _, v := range versions.Versions {
		vs = append(vs, aws.ToString(v.Version))
	}
	require.Equal(t, []string{"$LATEST", "1", "2", "3"}, vs)

	cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live"),
	})
	require.NoError(t, err)
	require.Equal(t, int32(1024), aws.ToInt32(cfg.MemorySize))
	require.Equal(t, "2", aws.ToString(cfg.Version))
	require.Equal(t, checkoutARN+":2", aws.ToString(cfg.FunctionArn))
}

// TestLambdaSDKPagination follows NextMarker with the SDK's paginators.
func TestLambdaSDKPagination(t *testing.T) {
	ctx := context.Background()
	s := newSimServer(t, "")
	c := s.lambda()

	tests := []struct {
		name  string
		pages func() ([][]string, error)
		want  [][]string
	}{
		{
			name: "ListProvisionedConcurrencyConfigs one per page",
			pages: func() ([][]string, error) {
				p := lambda.NewListProvisionedConcurrencyConfigsPaginator(c,
					&lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("checkout-api")},
					func(o *lambda.ListProvisionedConcurrencyConfigsPaginatorOptions) { o.Limit = 1 })
				var out [][]string
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						return nil, err
					}
					var arns []string
					for _, it := range page.ProvisionedConcurrencyConfigs {
						arns = append(arns, aws.ToString(it.FunctionArn))
					}
					out = append(out, arns)
				}
				return out, nil
			},
			want: [][]string{{checkoutARN + ":1"}, {checkoutARN + ":live"}},
		},
		{
			name: "ListFunctions two per page",
			pages: func() ([][]string, error) {
				p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{},
					func(o *lambda.ListFunctionsPaginatorOptions) { o.Limit = 2 })
				var out [][]string
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						return nil, err
					}
					var names []string
					for _, f := range page.Functions {
						names = append(names, aws.ToString(f.FunctionName))
					}
					out = append(out, names)
				}
				return out, nil
			},
			want: [][]string{{"capped", "checkout-api"}, {"fn-a", "fn-b"}, {"fn-c"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.pages()
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestLambdaSDKErrors checks every error path as the SDK decodes it: the
// typed error, its code, the HTTP status and the message.
func TestLambdaSDKErrors(t *testing.T) {
	ctx := context.Background()
	put := func(fn, q string, n int32) func(*lambda.Client) error {
		return func(c *lambda.Client) error {
			_, err := c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
				FunctionName: aws.String(fn), Qualifier: aws.String(q), ProvisionedConcurrentExecutions: aws.Int32(n),
			})
			return err
		}
	}
	throttled := `
functions: [{name: checkout-api, aliases: [{name: live, version: "1"}]}]
faults: [{op: PutProvisionedConcurrencyConfig, kind: throttle, retry_after: 7s}]
`
	failing := `
functions: [{name: checkout-api, aliases: [{name: live, version: "1"}]}]
faults: [{op: GetAccountSettings, kind: server_error}]
`
	tests := []struct {
		name       string
		scenario   string
		before     func(*lambda.Client) error // must succeed
		call       func(*lambda.Client) error
		wantStatus int
		wantCode   string
		wantMsg    string
		typed      func(t *testing.T, err error)
	}{
		{
			name: "$LATEST", call: put("checkout-api", "$LATEST", 5),
			wantStatus: 400, wantCode: "InvalidParameterValueException",
			wantMsg: "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
			typed:   requireAs[*types.InvalidParameterValueException],
		},
		{
			name: "alias with routing weights", call: put("checkout-api", "canary", 5),
			wantStatus: 400, wantCode: "InvalidParameterValueException",
			wantMsg: "Alias with weights can not be used with Provisioned Concurrency",
			typed:   requireAs[*types.InvalidParameterValueException],
		},
		{
			name: "fewer than one", call: put("checkout-api", "live", 0),
			wantStatus: 400, wantCode: "InvalidParameterValueException",
			wantMsg: "Member must have value greater than or equal to 1",
			typed:   requireAs[*types.InvalidParameterValueException],
		},
		{
			name: "above reserved concurrency", call: put("capped", "live", 21),
			wantStatus: 400, wantCode: "InvalidParameterValueException",
			wantMsg: "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
			typed:   requireAs[*types.InvalidParameterValueException],
		},
		{
			name: "into the account's last 100 unreserved", call: put("checkout-api", "3", 900),
			wantStatus: 400, wantCode: "InvalidParameterValueException",
			wantMsg: "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
			typed:   requireAs[*types.InvalidParameterValueException],
		},
		{
			name: "unknown function", call: put("nope", "live", 5),
			wantStatus: 404, wantCode: "ResourceNotFoundException",
			wantMsg: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope",
			typed:   requireAs[*types.ResourceNotFoundException],
		},
		{
			name: "function of another account",
			call: func(c *lambda.Client) error {
				_, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
					FunctionName: aws.String("arn:aws:lambda:us-east-1:999999999999:function:checkout-api"), Qualifier: aws.String("live"),
				})
				return err
			},
			wantStatus: 404, wantCode: "ResourceNotFoundException", wantMsg: "Function not found",
			typed: requireAs[*types.ResourceNotFoundException],
		},
		{
			name: "no config",
			call: func(c *lambda.Client) error {
				_, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
					FunctionName: aws.String("capped"), Qualifier: aws.String("live"),
				})
				return err
			},
			wantStatus: 404, wantCode: "ProvisionedConcurrencyConfigNotFoundException",
			wantMsg: "No Provisioned Concurrency Config found for this function",
			typed:   requireAs[*types.ProvisionedConcurrencyConfigNotFoundException],
		},
		{
			name: "unknown alias",
			call: func(c *lambda.Client) error {
				_, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("blue")})
				return err
			},
			wantStatus: 404, wantCode: "ResourceNotFoundException", wantMsg: "Cannot find alias arn",
			typed: requireAs[*types.ResourceNotFoundException],
		},
		{
			name: "put while the previous put is in progress", before: put("checkout-api", "live", 20),
			call:       put("checkout-api", "live", 30),
			wantStatus: 409, wantCode: "ResourceConflictException",
			wantMsg: "A previous request is being processed. Please try again shortly",
			typed:   requireAs[*types.ResourceConflictException],
		},
		{
			name: "delete while in progress", before: put("checkout-api", "live", 20),
			call: func(c *lambda.Client) error {
				_, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
					FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live"),
				})
				return err
			},
			wantStatus: 409, wantCode: "ResourceConflictException", wantMsg: "another operation is in progress",
			typed: requireAs[*types.ResourceConflictException],
		},
		{
			name: "qualifier in the name disagrees with Qualifier",
			call: func(c *lambda.Client) error {
				_, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
					FunctionName: aws.String("checkout-api:live"), Qualifier: aws.String("1"),
				})
				return err
			},
			wantStatus: 400, wantCode: "InvalidParameterValueException",
			wantMsg: "The derived qualifier from the function name does not match the specified qualifier.",
			typed:   requireAs[*types.InvalidParameterValueException],
		},
		{
			name: "throttled", scenario: throttled, call: put("checkout-api", "live", 5),
			wantStatus: 429, wantCode: "TooManyRequestsException", wantMsg: "Rate exceeded",
			typed: func(t *testing.T, err error) {
				var tm *types.TooManyRequestsException
				require.ErrorAs(t, err, &tm)
				require.Equal(t, "7", aws.ToString(tm.RetryAfterSeconds))
				require.Equal(t, types.ThrottleReasonCallerRateLimitExceeded, tm.Reason)
				require.Equal(t, "User", aws.ToString(tm.Type))
			},
		},
		{
			name: "injected server error", scenario: failing,
			call: func(c *lambda.Client) error {
				_, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
				return err
			},
			wantStatus: 500, wantCode: "ServiceException", wantMsg: "internal error",
			typed: requireAs[*types.ServiceException],
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSimServer(t, tc.scenario)
			c := s.lambda()
			if tc.before != nil {
				require.NoError(t, tc.before(c))
			}
			err := tc.call(c)
			require.Error(t, err)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.wantCode, ae.ErrorCode())
			require.Contains(t, ae.ErrorMessage(), tc.wantMsg)
			var re *awshttp.ResponseError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.wantStatus, re.HTTPStatusCode())
			require.NotEmpty(t, re.ServiceRequestID(), "X-Amzn-RequestId")
			tc.typed(t, err)
		})
	}
}

func requireAs[T error](t *testing.T, err error) {
	t.Helper()
	var target T
	require.True(t, errors.As(err, &target), "want %T, got %T: %v", target, err, err)
}
