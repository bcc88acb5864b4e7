// Package awsapi is the Lambda control-plane boundary: SDK client wiring,
// the shared rate limiter and error classification.
package awsapi

import (
	"slices"
	"strings"
)

// Action is an IAM action the daemon can call. Every SDK call in this package
// and in metrics/ goes through a wrapper that names its Action, so this list
// is the single source the IAM policy test compares deploy/iam/policy.json with.
type Action struct {
	Name     string // e.g. "lambda:GetProvisionedConcurrencyConfig"
	Scopable bool   // true when IAM allows a resource ARN (a function's; the lease table's for dynamodb:*)
}

// Op is one SDK operation the daemon calls. Ops exist only as the package
// variables below: declaring one is what adds its IAM action to Actions(),
// and Caller.Call accepts nothing else, so the registry cannot drift from the
// calls actually made.
type Op struct {
	service  string // IAM service prefix and telemetry label: lambda | cloudwatch | tag | sts | dynamodb
	name     string // API operation name, also the IAM action name
	scopable bool
}

// Service is the IAM prefix, e.g. "lambda".
func (o Op) Service() string { return o.service }

// Name is the API operation, e.g. "GetProvisionedConcurrencyConfig".
func (o Op) Name() string { return o.name }

// Action is the IAM action, e.g. "lambda:GetProvisionedConcurrencyConfig".
func (o Op) Action() string { return o.service + ":" + o.name }

// Every operation the daemon (run, plan) can call. Lambda's PC, function and
// alias actions accept a function ARN as Resource;
// GetAccountSettings and cloudwatch:GetMetricData only accept "*".
var (
	OpGetPC    = declare("lambda", "GetProvisionedConcurrencyConfig", true)
	OpPutPC    = declare("lambda", "PutProvisionedConcurrencyConfig", true)
	OpDeletePC = declare("lambda", "DeleteProvisionedConcurrencyConfig", true)
	OpListPC   = declare("lambda", "ListProvisionedConcurrencyConfigs", true)
	// GetFunction: reserved concurrency and memory in one call, on its own
	// quota (Limits).
	OpGetFunction   = declare("lambda", "GetFunction", true)
	OpGetAlias      = declare("lambda", "GetAlias", true)
	OpGetAccount    = declare("lambda", "GetAccountSettings", false)
	OpGetMetricData = declare("cloudwatch", "GetMetricData", false)
	// Discovery (discover:): the Resource Groups Tagging API, Resource "*".
	OpGetResources = declare("tag", "GetResources", false)
	// accounts[].role_arn: the daemon's own identity assumes each role,
	// scoped to the roles' ARNs.
	OpAssumeRole = declare("sts", "AssumeRole", true)

	// The leader lease (ha.backend dynamodb): scoped to the lease table's
	// ARN, not a function's (deploy/iam/policy.json).
	OpLeaseGet    = declare("dynamodb", "GetItem", true)
	OpLeasePut    = declare("dynamodb", "PutItem", true)
	OpLeaseUpdate = declare("dynamodb", "UpdateItem", true)
	OpLeaseDelete = declare("dynamodb", "DeleteItem", true)
)

// registry is appended to only during package initialisation, by declare.
var registry []Action

func declare(service, name string, scopable bool) Op {
	op := Op{service: service, name: name, scopable: scopable}
	registry = append(registry, Action{Name: op.Action(), Scopable: scopable})
	return op
}

// Actions returns every IAM action the daemon (run, plan) can call, sorted by
// name. The slice is a copy.
func Actions() []Action {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b Action) int { return strings.Compare(a.Name, b.Name) })
	return out
}
