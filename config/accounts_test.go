package config

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestParseAccounts(t *testing.T) {
	cfg, err := Parse([]byte(`
region: us-east-1
accounts:
  - name: prod
    role_arn: arn:aws:iam::111111111111:role/pcautoscaler
    external_id: pcautoscaler-prod
    region: eu-west-1
    lambda_rps: 5
    targets:
      - {function: orders, qualifier: live, max: 300}
      - {function: search, qualifier: live}
  - name: staging
    role_arn: arn:aws:iam::222222222222:role/pcautoscaler
    discover: {tags: {pcautoscaler/managed: "true"}, qualifier: live}
defaults:
  max: 50
`))
	require.NoError(t, err)
	require.False(t, cfg.HasDefaultAccount())
	require.Len(t, cfg.Accounts, 2)
	prod := cfg.Accounts[0]
	require.Equal(t, "eu-west-1", prod.Region)
	require.Equal(t, "pcautoscaler-prod", prod.ExternalID)
	require.InDelta(t, 5, prod.LambdaRPS, 0)
	require.Equal(t, 300, prod.Targets[0].Max)
	require.Equal(t, 50, prod.Targets[1].Max, "defaults are decoded first, whatever the key order")
	require.Equal(t, cfg.Defaults.ScaleInCooldown, prod.Targets[0].ScaleInCooldown, "an account's targets inherit defaults")
	require.NotNil(t, cfg.Accounts[1].Discover)
}

func TestAccountProblems(t *testing.T) {
	_, err := Parse([]byte(`
targets:
  - {function: orders, qualifier: live}
accounts:
  - name: Prod
    role_arn: arn:aws:iam::1111:role/x
    external_id: "x"
    region: moon-1
    endpoint: ftp://x
    lambda_rps: 20
    targets:
      - {function: a, qualifier: live}
      - {function: a, qualifier: live}
  - name: default
    external_id: abc
  - name: staging
    role_arn: arn:aws:iam::222222222222:role/pcautoscaler
    targets: [{function: b, qualifier: live}]
  - name: staging
    role_arn: arn:aws:iam::222222222222:role/pcautoscaler
    targets: [{function: c, qualifier: live, min: 9, max: 3}]
`))
	require.Error(t, err)
	require.Equal(t, strings.Join([]string{
		`accounts[0].name: "Prod" is not a name (lower-case letters, digits, - and _, at most 32, starting with a letter or digit) (line 5)`,
		`accounts[0].role_arn: "arn:aws:iam::1111:role/x" is not an IAM role ARN (arn:aws:iam::123456789012:role/name) (line 6)`,
		`accounts[0].external_id: is not an external ID (2 to 1224 of letters, digits and + = , . @ : / - _) (line 7)`,
		`accounts[0].region: "moon-1" is not an AWS region name (e.g. eu-west-1) (line 8)`,
		`accounts[0].endpoint: "ftp://x" is not an http(s) URL (e.g. http://127.0.0.1:4566) (line 9)`,
		`accounts[0].lambda_rps: 20 is out of range (0 = aws.lambda_rps, or 0 < value <= 15: Lambda's 15 are per account and Region) (line 10)`,
		`accounts[0].targets[1]: duplicates targets[0] (a:live) (line 13)`,
		`accounts[1].name: "default" names the top level's targets and discover block; choose another (line 14)`,
		`accounts[1]: the same account, region and endpoint as the top level's targets (no role_arn: the daemon's own credentials): one account-Region has one budget and two loops would fight over its targets; put them in the top level (line 14)`,
		`accounts[1].targets: at least one target is required (or a discover block) (line 14)`,
		`accounts[1].external_id: is only used with role_arn (line 15)`,
		`accounts[3].name: "staging" is already used by accounts[2] (line 19)`,
		`accounts[3]: the same role_arn, region and endpoint as accounts[2]: one account-Region has one budget; put its targets in one entry (line 19)`,
		`accounts[3].targets[0].min: 9 is greater than max 3 (line 21)`,
	}, "\n"), err.Error())
}

// TestAccountsExample: config.accounts.example.yaml loads and documents
// every key of an accounts: entry with a comment.
func TestAccountsExample(t *testing.T) {
	cfg, err := Load("../config.accounts.example.yaml")
	require.NoError(t, err)
	require.True(t, cfg.HasDefaultAccount())
	require.Len(t, cfg.Accounts, 1)
	require.Equal(t, 400, cfg.Accounts[0].Targets[0].Max)

	data, err := os.ReadFile("../config.accounts.example.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var entry *yaml.Node
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "accounts" {
			entry = root.Content[i+1].Content[0]
		}
	}
	require.NotNil(t, entry)
	commented := map[string]bool{}
	for i := 0; i+1 < len(entry.Content); i += 2 {
		k, v := entry.Content[i], entry.Content[i+1]
		commented[k.Value] = k.LineComment != "" || k.HeadComment != "" || v.LineComment != ""
	}
	for _, f := range fieldsOf(reflect.TypeFor[Account]()) {
		c, ok := commented[f.name]
		require.True(t, ok, "config.accounts.example.yaml does not set accounts[].%s", f.name)
		require.True(t, c, "config.accounts.example.yaml sets accounts[].%s without a comment", f.name)
	}
}

// TestAccountSameAsTopLevel: an entry without role_arn in the top level's
// region and endpoint is the top level's account-Region: two loops, two
// budgets, one alias fought over. Refused, whatever spells the endpoint.
func TestAccountSameAsTopLevel(t *testing.T) {
	for _, tc := range []struct {
		name, top, entry string
		wantErr          bool
	}{
		{"same region, no role", "targets: [{function: a, qualifier: live}]", "{name: same, targets: [{function: b, qualifier: live}]}", true},
		{"the same region spelled out", "targets: [{function: a, qualifier: live}]", "{name: same, region: us-east-1, targets: [{function: b, qualifier: live}]}", true},
		{"aws.endpoint spelled out", "aws: {endpoint: \"http://127.0.0.1:4566\"}\ntargets: [{function: a, qualifier: live}]",
			"{name: same, endpoint: \"http://127.0.0.1:4566\", targets: [{function: b, qualifier: live}]}", true},
		{"another region", "targets: [{function: a, qualifier: live}]", "{name: eu, region: eu-west-1, targets: [{function: b, qualifier: live}]}", false},
		{"another account", "targets: [{function: a, qualifier: live}]",
			"{name: prod, role_arn: \"arn:aws:iam::123456789012:role/pca\", targets: [{function: b, qualifier: live}]}", false},
		{"top level manages nothing", "", "{name: same, targets: [{function: b, qualifier: live}]}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("region: us-east-1\n" + tc.top + "\naccounts:\n  - " + tc.entry + "\n"))
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "accounts[0]: the same account, region and endpoint as the top level's targets")
		})
	}
}
