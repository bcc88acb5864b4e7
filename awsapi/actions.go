// Package awsapi is the Lambda control-plane boundary: SDK client wiring,
// the shared rate limiter and error classification.
package awsapi

// Action is an IAM action the daemon can call. Every SDK call in this package
// and in metrics/ goes through a wrapper that names its Action, so this list
// is the single source the IAM policy test compares deploy/iam/policy.json with.
type Action struct {
	Name     string // e.g. "lambda:GetProvisionedConcurrencyConfig"
	Scopable bool   // true when IAM allows a function ARN as Resource
}

// Actions returns every IAM action the daemon (run, plan) can call.
// The AWS helper fills this from its call registry.
func Actions() []Action { return registry }

var registry []Action
