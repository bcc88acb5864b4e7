package awsapi

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AssumeRoleDuration is how long assumed credentials last; the SDK's cache
// renews them shortly before they expire.
const AssumeRoleDuration = time.Hour

// AssumeRole returns credentials of roleARN, assumed with stsCfg's own
// credentials through STS (the SDK's stscreds, cached and renewed before
// they expire), for one entry of accounts:. externalID is sent when not
// empty. The session is named ReplicaAppID(), so CloudTrail in the target
// account tells replicas apart. Every AssumeRole call goes through a Caller
// as OpAssumeRole: observed, classified, and named in errors ("sts:AssumeRole
// arn:aws:iam::…: access_denied: …").
func AssumeRole(stsCfg aws.Config, roleARN, externalID string, observer CallObserver) aws.CredentialsProvider {
	client := &assumeClient{api: sts.NewFromConfig(stsCfg), caller: NewCaller(nil, observer, nil), role: roleARN}
	return aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = ReplicaAppID()
		o.Duration = AssumeRoleDuration
		if externalID != "" {
			o.ExternalID = aws.String(externalID)
		}
	}))
}

// assumeClient is stscreds' AssumeRoleAPIClient through a Caller.
type assumeClient struct {
	api    *sts.Client
	caller *Caller
	role   string
}

func (c *assumeClient) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, opts ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	var out *sts.AssumeRoleOutput
	err := c.caller.Call(ctx, OpAssumeRole, c.role, func(ctx context.Context) (err error) {
		out, err = c.api.AssumeRole(ctx, in, opts...)
		return err
	})
	return out, err
}
