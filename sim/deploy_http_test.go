package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

// TestLambdaSDKDeploys runs a canary deploy through the real Lambda client:
// publish, weights on the alias (Put refused meanwhile), the move, and the
// config's reallocation on the new version.
func TestLambdaSDKDeploys(t *testing.T) {
	ctx := context.Background()
	s := newSimServer(t, "")
	c := s.lambda()

	pub, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("checkout-api"), Description: aws.String("v4")})
	require.NoError(t, err)
	require.Equal(t, "4", aws.ToString(pub.Version))
	require.Equal(t, checkoutARN+":4", aws.ToString(pub.FunctionArn))

	alias, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{
		FunctionName: aws.String("checkout-api"), Name: aws.String("live"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"4": 0.1}},
	})
	require.NoError(t, err)
	require.Equal(t, "2", aws.ToString(alias.FunctionVersion))
	require.Equal(t, map[string]float64{"4": 0.1}, alias.RoutingConfig.AdditionalVersionWeights)

	_, err = c.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
		FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live"), ProvisionedConcurrentExecutions: aws.Int32(20),
	})
	var invalid *types.InvalidParameterValueException
	require.ErrorAs(t, err, &invalid)
	require.Equal(t, "Alias with weights can not be used with Provisioned Concurrency", invalid.ErrorMessage())

	// A stale RevisionId is refused; the current one moves the alias and clears the weights.
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("live"),
		FunctionVersion: aws.String("4"), RevisionId: aws.String("stale")})
	var stale *types.PreconditionFailedException
	require.ErrorAs(t, err, &stale)
	moved, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("live"),
		FunctionVersion: aws.String("4"), RoutingConfig: &types.AliasRoutingConfiguration{}, RevisionId: alias.RevisionId})
	require.NoError(t, err)
	require.Equal(t, "4", aws.ToString(moved.FunctionVersion))
	require.Nil(t, moved.RoutingConfig)

	pc, err := c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live")})
	require.NoError(t, err)
	require.Equal(t, types.ProvisionedConcurrencyStatusEnumInProgress, pc.Status)
	require.Equal(t, int32(0), aws.ToInt32(pc.AvailableProvisionedConcurrentExecutions))
	s.clock.Advance(2 * time.Minute)
	pc, err = c.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("checkout-api"), Qualifier: aws.String("live")})
	require.NoError(t, err)
	require.Equal(t, types.ProvisionedConcurrencyStatusEnumReady, pc.Status)
	require.Equal(t, int32(10), aws.ToInt32(pc.AvailableProvisionedConcurrentExecutions))

	created, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(checkoutARN), Name: aws.String("blue"), FunctionVersion: aws.String("3")})
	require.NoError(t, err)
	require.Equal(t, checkoutARN+":blue", aws.ToString(created.AliasArn))
	_, err = c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("blue"), FunctionVersion: aws.String("3")})
	var conflict *types.ResourceConflictException
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, "Alias already exists: "+checkoutARN+":blue", conflict.ErrorMessage())

	on3, err := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("checkout-api"), FunctionVersion: aws.String("3")})
	require.NoError(t, err)
	require.Len(t, on3.Aliases, 1)
	require.Equal(t, "blue", aws.ToString(on3.Aliases[0].Name))

	_, err = c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("blue")})
	require.NoError(t, err)
	_, err = c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("blue")})
	require.NoError(t, err, "deleting a missing alias is not an error")
	_, err = c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("blue"), FunctionVersion: aws.String("3")})
	var notFound *types.ResourceNotFoundException
	require.ErrorAs(t, err, &notFound)
	require.Equal(t, "Alias not found: "+checkoutARN+":blue", notFound.ErrorMessage())

	// Constraint violations come as ValidationException, which the model
	// doesn't type: a generic API error with that code.
	_, err = c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("checkout-api"), Name: aws.String("123"), FunctionVersion: aws.String("3")})
	var apiErr smithy.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, CodeValidation, apiErr.ErrorCode())

	// The deploy log lists every call the World answered, refusals too.
	resp, err := http.Get(s.url + "/_sim/deploys")
	require.NoError(t, err)
	defer resp.Body.Close()
	var log []DeployRecord
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&log))
	var ops []string
	for _, r := range log {
		ops = append(ops, r.Op+" "+r.Result)
	}
	require.Equal(t, []string{"PublishVersion ok", "UpdateAlias ok", "UpdateAlias PreconditionFailedException", "UpdateAlias ok",
		"CreateAlias ok", "CreateAlias ResourceConflictException", "DeleteAlias ok", "DeleteAlias ok", "UpdateAlias ResourceNotFoundException",
		"CreateAlias ValidationException"}, ops)
	require.Equal(t, map[string]int64{CodeOK: 2, CodePreconditionFailed: 1, CodeResourceNotFound: 1}, s.world.Stats().APICalls[opUpdateAlias])
}
