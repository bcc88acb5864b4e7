package config

import (
	"regexp"
	"strconv"

	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
)

// Account is one account and Region the daemon manages from the same
// process: its own credentials (a role assumed through STS), its own
// Lambda budget and loop, its own targets and discovery. The top level's
// targets and discover block are the default account's (the daemon's own
// credentials and region).
type Account struct {
	// Name tells the account apart in metrics (the account label), logs
	// and messages; unique, and not DefaultAccount.
	Name string `yaml:"name"`
	// RoleARN is assumed with the daemon's own credentials (stscreds);
	// empty uses them directly (another Region of the same account).
	RoleARN    string `yaml:"role_arn"`
	ExternalID string `yaml:"external_id"` // sts:ExternalId, when the role's trust policy asks for one
	// Region of this entry; empty is the top level's (or the SDK chain's).
	Region string `yaml:"region"`
	// Endpoint sends this account's Lambda, CloudWatch and Tagging calls
	// to one URL (emulators); empty is aws.endpoint. STS is never sent
	// there: it keeps the daemon's own endpoint.
	Endpoint string `yaml:"endpoint"`
	// LambdaRPS is this account-Region's token bucket (Lambda's 15 are per
	// account and Region); 0 is aws.lambda_rps.
	LambdaRPS float64   `yaml:"lambda_rps"`
	Targets   []Target  `yaml:"targets"`
	Discover  *Discover `yaml:"discover"`
}

// DefaultAccount names the top level's targets and discovery in metrics and
// logs when the file has accounts.
const DefaultAccount = "default"

var (
	accountNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // and 2 to 1224 long
)

// HasDefaultAccount reports whether the top level manages anything itself.
func (c *Config) HasDefaultAccount() bool { return len(c.Targets) > 0 || c.Discover != nil }

func (v *validator) accounts(c *Config) {
	names := map[string]int{}
	// role_arn + region + endpoint → first entry; the top level, when it
	// manages anything, is the daemon's own credentials in its region.
	const topLevel = -1
	where := map[string]int{}
	if c.HasDefaultAccount() {
		where["|"+c.Region+"|"+c.AWS.Endpoint] = topLevel
	}
	for i, a := range c.Accounts {
		path := "accounts[" + strconv.Itoa(i) + "]"
		at := func(key string) string { return path + "." + key }
		switch {
		case a.Name == "":
			v.add(at("name"), "is required (it is the account label of this entry's metrics, e.g. prod)")
		case !accountNameRE.MatchString(a.Name):
			v.add(at("name"), "%q is not a name (lower-case letters, digits, - and _, at most 32, starting with a letter or digit)", a.Name)
		case a.Name == DefaultAccount:
			v.add(at("name"), "%q names the top level's targets and discover block; choose another", DefaultAccount)
		default:
			if first, dup := names[a.Name]; dup {
				v.add(at("name"), "%q is already used by accounts[%d]", a.Name, first)
			}
			names[a.Name] = i
		}
		if a.RoleARN != "" && !roleARNRE.MatchString(a.RoleARN) {
			v.add(at("role_arn"), "%q is not an IAM role ARN (arn:aws:iam::123456789012:role/name)", a.RoleARN)
		}
		switch {
		case a.ExternalID != "" && a.RoleARN == "":
			v.add(at("external_id"), "is only used with role_arn")
		case a.ExternalID != "" && (!externalIDRE.MatchString(a.ExternalID) || len(a.ExternalID) < 2 || len(a.ExternalID) > 1224):
			v.add(at("external_id"), "is not an external ID (2 to 1224 of letters, digits and + = , . @ : / - _)")
		}
		if a.Region != "" && !awsname.ValidRegion(a.Region) {
			v.add(at("region"), "%q is not an AWS region name (e.g. eu-west-1)", a.Region)
		}
		if a.Endpoint != "" && !validEndpoint(a.Endpoint) {
			v.add(at("endpoint"), "%q is not an http(s) URL (e.g. http://127.0.0.1:4566)", a.Endpoint)
		}
		if a.LambdaRPS != 0 && !(a.LambdaRPS > 0 && a.LambdaRPS <= MaxLambdaRPS) {
			v.add(at("lambda_rps"), "%v is out of range (0 = aws.lambda_rps, or 0 < value <= %d: Lambda's 15 are per account and Region)", a.LambdaRPS, MaxLambdaRPS)
		}
		region := a.Region
		if region == "" {
			region = c.Region
		}
		endpoint := a.Endpoint
		if endpoint == "" {
			endpoint = c.AWS.Endpoint // what the entry's clients use (cmd)
		}
		key := a.RoleARN + "|" + region + "|" + endpoint
		switch first, dup := where[key]; {
		case dup && first == topLevel:
			v.add(path, "the same account, region and endpoint as the top level's targets (no role_arn: the daemon's own credentials): "+
				"one account-Region has one budget and two loops would fight over its targets; put them in the top level")
		case dup:
			v.add(path, "the same role_arn, region and endpoint as accounts[%d]: one account-Region has one budget; put its targets in one entry", first)
		default:
			where[key] = i
		}
		if len(a.Targets) == 0 && a.Discover == nil {
			v.add(at("targets"), "at least one target is required (or a discover block)")
		}
		v.targets(at("targets"), a.Targets, &c.Defaults)
		if a.Discover != nil {
			v.discover(at("discover"), a.Discover)
		}
	}
}
