package sim

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// TestLambdaSDKGetFunction reads GetFunction through the real SDK client
// over HTTP: the qualifier's version, reserved concurrency when set, tags
// when any, and AWS's 404 for a missing function or qualifier.
func TestLambdaSDKGetFunction(t *testing.T) {
	ctx := context.Background()
	s := newSimServer(t, "")
	c := s.lambda()
	tests := []struct {
		name                  string
		fn, qualifier         string
		wantVersion, wantARN  string
		wantMemory            int32
		wantReserved          *int32
		wantTags              map[string]string
		wantCode, wantMessage string
	}{
		{name: "alias resolves to its version", fn: "checkout-api", qualifier: "live",
			wantVersion: "2", wantARN: checkoutARN + ":2", wantMemory: 1024, wantTags: map[string]string{"pcautoscaler": "on", "team": "pay"}},
		{name: "version by full ARN", fn: checkoutARN, qualifier: "1",
			wantVersion: "1", wantARN: checkoutARN + ":1", wantMemory: 1024, wantTags: map[string]string{"pcautoscaler": "on", "team": "pay"}},
		{name: "qualifier in the name", fn: "checkout-api:3",
			wantVersion: "3", wantARN: checkoutARN + ":3", wantMemory: 1024, wantTags: map[string]string{"pcautoscaler": "on", "team": "pay"}},
		{name: "no qualifier is $LATEST", fn: "fn-a",
			wantVersion: "$LATEST", wantARN: "arn:aws:lambda:us-east-1:123456789012:function:fn-a", wantMemory: 128},
		{name: "reserved concurrency", fn: "capped", qualifier: "live",
			wantVersion: "1", wantARN: "arn:aws:lambda:us-east-1:123456789012:function:capped:1", wantMemory: 128, wantReserved: aws.Int32(20)},
		{name: "missing function", fn: "nope", qualifier: "live",
			wantCode: "ResourceNotFoundException", wantMessage: "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"},
		{name: "missing alias", fn: "checkout-api", qualifier: "blue",
			wantCode: "ResourceNotFoundException", wantMessage: "Function not found: " + checkoutARN + ":blue"},
		{name: "missing version", fn: "checkout-api", qualifier: "9",
			wantCode: "ResourceNotFoundException", wantMessage: "Function not found: " + checkoutARN + ":9"},
		{name: "qualifiers disagree", fn: "checkout-api:live", qualifier: "1",
			wantCode: "InvalidParameterValueException", wantMessage: "The derived qualifier from the function name does not match the specified qualifier."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &lambda.GetFunctionInput{FunctionName: aws.String(tc.fn)}
			if tc.qualifier != "" {
				in.Qualifier = aws.String(tc.qualifier)
			}
			out, err := c.GetFunction(ctx, in)
			if tc.wantCode != "" {
				var ae smithy.APIError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, tc.wantCode, ae.ErrorCode())
				require.Equal(t, tc.wantMessage, ae.ErrorMessage())
				var re *awshttp.ResponseError
				require.ErrorAs(t, err, &re)
				require.Equal(t, map[string]int{"ResourceNotFoundException": 404, "InvalidParameterValueException": 400}[tc.wantCode], re.HTTPStatusCode())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantVersion, aws.ToString(out.Configuration.Version))
			require.Equal(t, tc.wantARN, aws.ToString(out.Configuration.FunctionArn))
			require.Equal(t, tc.wantMemory, aws.ToInt32(out.Configuration.MemorySize))
			require.Equal(t, types.StateActive, out.Configuration.State)
			require.Equal(t, "S3", aws.ToString(out.Code.RepositoryType))
			if tc.wantReserved == nil {
				require.Nil(t, out.Concurrency)
			} else {
				require.NotNil(t, out.Concurrency)
				require.Equal(t, *tc.wantReserved, aws.ToInt32(out.Concurrency.ReservedConcurrentExecutions))
			}
			require.Equal(t, tc.wantTags, out.Tags)
		})
	}
}

// TestGetFunctionOwnQuota: GetFunction is throttled by get_function_rps
// alone and spends nothing of control_plane_rps, and the other operations
// don't spend GetFunction's. The virtual clock stands still, so each bucket
// holds exactly its burst of one second.
func TestGetFunctionOwnQuota(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		account      string
		getFunctions int // GetFunction calls made, in a row
		wantGetOK    int // of which answered
		wantOtherOK  int // then GetAccountSettings calls answered of 3
	}{
		{name: "default 100 rps, control plane 2", account: "{control_plane_rps: 2}", getFunctions: 101, wantGetOK: 100, wantOtherOK: 2},
		{name: "own limit 3, control plane 1", account: "{control_plane_rps: 1, get_function_rps: 3}", getFunctions: 5, wantGetOK: 3, wantOtherOK: 1},
		{name: "own limit off", account: "{control_plane_rps: 1, get_function_rps: 0}", getFunctions: 150, wantGetOK: 150, wantOtherOK: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSimServer(t, "account: "+tc.account+"\nfunctions: [{name: fn-a, aliases: [{name: live, version: \"1\"}]}]\n")
			c := s.lambda()
			ok := 0
			for range tc.getFunctions {
				_, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn-a"), Qualifier: aws.String("live")})
				if err == nil {
					ok++
					continue
				}
				var tm *types.TooManyRequestsException
				require.ErrorAs(t, err, &tm)
			}
			require.Equal(t, tc.wantGetOK, ok)
			other := 0
			for range 3 {
				if _, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{}); err == nil {
					other++
				}
			}
			require.Equal(t, tc.wantOtherOK, other)
			calls := s.world.Stats().APICalls
			require.Equal(t, int64(tc.wantGetOK), calls[opGetFunction][CodeOK])
			require.Equal(t, int64(tc.getFunctions-tc.wantGetOK), calls[opGetFunction][CodeTooManyRequests])
		})
	}
}

// TestLambdaSDKOrphanPCAudit walks what an audit of PC on versions no alias
// points to does, through the SDK's paginators: list the versions (at most
// 50 a page whatever MaxItems says, as AWS), the aliases and the PC
// configs, then delete the orphan. The scenario plants PC on old versions
// 1 and 3 while live points at 60.
func TestLambdaSDKOrphanPCAudit(t *testing.T) {
	ctx := context.Background()
	s := newSimServer(t, `
functions:
  - name: svc
    versions: 60
    aliases: [{name: live, version: "60"}, {name: beta, version: "59"}]
    provisioned: {live: 10, "1": 4, "3": 2, "59": 1}
`)
	c := s.lambda()

	var versions []string
	var pageSizes []int
	vp := lambda.NewListVersionsByFunctionPaginator(c, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("svc"), MaxItems: aws.Int32(1000)})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		require.NoError(t, err)
		pageSizes = append(pageSizes, len(page.Versions))
		for _, v := range page.Versions {
			versions = append(versions, aws.ToString(v.Version))
		}
	}
	require.Equal(t, []int{50, 11}, pageSizes, "$LATEST and 60 versions, 50 a page")
	require.Len(t, versions, 61)
	require.Equal(t, "60", versions[60])

	aliased, aliases := map[string]bool{}, map[string]bool{}
	ap := lambda.NewListAliasesPaginator(c, &lambda.ListAliasesInput{FunctionName: aws.String("svc")})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		require.NoError(t, err)
		for _, a := range page.Aliases {
			aliased[aws.ToString(a.FunctionVersion)] = true
			aliases[aws.ToString(a.Name)] = true
		}
	}

	var orphans []string
	pp := lambda.NewListProvisionedConcurrencyConfigsPaginator(c, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("svc")},
		func(o *lambda.ListProvisionedConcurrencyConfigsPaginatorOptions) { o.Limit = 2 })
	for pp.HasMorePages() {
		page, err := pp.NextPage(ctx)
		require.NoError(t, err)
		for _, pc := range page.ProvisionedConcurrencyConfigs {
			_, q := splitFunctionRef(aws.ToString(pc.FunctionArn))
			if !aliases[q] && !aliased[q] {
				orphans = append(orphans, q)
			}
		}
	}
	require.Equal(t, []string{"1", "3"}, orphans, "59 is beta's version, live and beta are aliases")

	for _, q := range orphans {
		_, err := c.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{FunctionName: aws.String("svc"), Qualifier: aws.String(q)})
		require.NoError(t, err)
	}
	left, err := c.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("svc")})
	require.NoError(t, err)
	var arns []string
	for _, pc := range left.ProvisionedConcurrencyConfigs {
		arns = append(arns, aws.ToString(pc.FunctionArn))
	}
	svc := "arn:aws:lambda:us-east-1:123456789012:function:svc"
	require.Equal(t, []string{svc + ":59", svc + ":live"}, arns)
	writes := s.world.WriteLog()
	require.Len(t, writes, 2)
	require.Equal(t, opDeletePC, writes[0].Op)
}
