package awsapi

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// GetFunctionRPS is the rate of the GetFunction bucket. GetFunction has a
// quota of its own, 100 requests per second per account and Region, outside
// the 15 the other control-plane calls share (AWS-FACTS §3); deploy tools
// (CloudFormation, SAM, Terraform, the console) call GetFunction a lot and
// draw from the same 100, so the daemon takes a fifth of it and leaves the
// rest to them.
const GetFunctionRPS = 20

// Limits reads what bounds the target's PC: the function's reserved
// concurrency and the qualifier's memory size (one GetFunction, on its own
// quota), PC requested on its other qualifiers (ListProvisionedConcurrency-
// Configs, one call per 50 configs), the account's unreserved concurrency
// (GetAccountSettings, cached for accountTTL) and, for an alias, its version
// and routing weights (GetAlias). For an alias with routing weights it
// returns the limits, weights included, and a weighted-class *Error wrapping
// ErrWeightedAlias.
func (l *Lambda) Limits(ctx context.Context, id controller.TargetID) (controller.Limits, error) {
	var lim controller.Limits
	res := id.String()
	fn := aws.String(id.Function)

	var gf *lambda.GetFunctionOutput
	if err := l.getFn.Call(ctx, OpGetFunction, res, func(ctx context.Context) (err error) {
		gf, err = l.api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: fn, Qualifier: aws.String(id.Qualifier)})
		return err
	}); err != nil {
		return lim, err
	}
	if gf.Concurrency != nil && gf.Concurrency.ReservedConcurrentExecutions != nil {
		r := int(*gf.Concurrency.ReservedConcurrentExecutions)
		lim.Reserved = &r
	}
	if gf.Configuration != nil && gf.Configuration.MemorySize != nil {
		lim.MemoryMB = int(*gf.Configuration.MemorySize)
	}

	other, err := l.otherPC(ctx, id)
	if err != nil {
		return lim, err
	}
	lim.OtherPC = other

	if lim.AccountUnreserved, err = l.accountUnreserved(ctx); err != nil {
		return lim, err
	}
	lim.Known = true

	if isVersion(id.Qualifier) {
		return lim, nil
	}
	var alias *lambda.GetAliasOutput
	if err := l.caller.Call(ctx, OpGetAlias, res, func(ctx context.Context) (err error) {
		alias, err = l.api.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: fn, Name: aws.String(id.Qualifier)})
		return err
	}); err != nil {
		return lim, err
	}
	lim.AliasVersion = aws.ToString(alias.FunctionVersion)
	if alias.RoutingConfig != nil && len(alias.RoutingConfig.AdditionalVersionWeights) > 0 {
		lim.Weights = maps.Clone(alias.RoutingConfig.AdditionalVersionWeights)
		return lim, &Error{Op: OpGetAlias.Action(), Resource: res, Class: ClassWeighted, Err: ErrWeightedAlias}
	}
	return lim, nil
}

// LimitsCalls is what one Limits read of id costs of the shared control-plane
// budget (controller.LimitsCoster): the ListProvisionedConcurrencyConfigs
// pages the function took last time (1 before the first read), GetAlias for
// an alias, and GetAccountSettings when its cache is due — once per
// accountTTL for the whole account, so usually 0. GetFunction is not
// counted: it has its own quota and bucket.
func (l *Lambda) LimitsCalls(id controller.TargetID) int {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	n := max(1, l.listPages[id.Function])
	if !isVersion(id.Qualifier) {
		n++
	}
	if l.accountRead.IsZero() || now.Sub(l.accountRead) >= accountTTL {
		n++
	}
	return n
}

var _ controller.LimitsCoster = (*Lambda)(nil)

// otherPC sums the PC requested on the function's qualifiers other than id's.
// Each qualifier counts once, and a marker seen before (a cycle, or a
// server that ignores Marker) or more than maxListPages pages is an error,
// never a sum: an inflated OtherPC would lower the target's effective max.
func (l *Lambda) otherPC(ctx context.Context, id controller.TargetID) (int, error) {
	in := &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(id.Function), MaxItems: aws.Int32(50)}
	requested := map[string]int{} // qualifier → requested PC
	seen := map[string]bool{}
	for page := 1; ; page++ {
		var out *lambda.ListProvisionedConcurrencyConfigsOutput
		if err := l.caller.Call(ctx, OpListPC, id.Function, func(ctx context.Context) (err error) {
			out, err = l.api.ListProvisionedConcurrencyConfigs(ctx, in)
			return err
		}); err != nil {
			return 0, err
		}
		for _, c := range out.ProvisionedConcurrencyConfigs {
			if q := qualifierOf(aws.ToString(c.FunctionArn)); q != id.Qualifier {
				requested[q] = int(aws.ToInt32(c.RequestedProvisionedConcurrentExecutions))
			}
		}
		next := aws.ToString(out.NextMarker)
		if next == "" {
			l.mu.Lock()
			if page > 1 {
				l.listPages[id.Function] = page
			} else {
				delete(l.listPages, id.Function) // the common case costs no memory
			}
			l.mu.Unlock()
			sum := 0
			for _, n := range requested {
				sum += n
			}
			return sum, nil
		}
		if seen[next] || next == aws.ToString(in.Marker) || page >= maxListPages {
			return 0, &Error{Op: OpListPC.Action(), Resource: id.Function, Class: ClassServer,
				Err: fmt.Errorf("the listing did not end after %d pages (marker repeated or too many pages): other qualifiers' PC unknown", page)}
		}
		seen[next] = true
		in.Marker = aws.String(next)
	}
}

// maxListPages bounds one ListProvisionedConcurrencyConfigs listing: a
// function has at most a few hundred qualifiers (50 a page).
const maxListPages = 100

// accountUnreserved returns the account's UnreservedConcurrentExecutions,
// read at most once per accountTTL.
func (l *Lambda) accountUnreserved(ctx context.Context) (int, error) {
	now := l.clock.Now()
	l.mu.Lock()
	if !l.accountRead.IsZero() && now.Sub(l.accountRead) < accountTTL {
		v := l.unreserved
		l.mu.Unlock()
		return v, nil
	}
	l.mu.Unlock()

	var out *lambda.GetAccountSettingsOutput
	if err := l.caller.Call(ctx, OpGetAccount, "", func(ctx context.Context) (err error) {
		out, err = l.api.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		return err
	}); err != nil {
		return 0, err
	}
	if out.AccountLimit == nil || out.AccountLimit.UnreservedConcurrentExecutions == nil {
		return 0, &Error{Op: OpGetAccount.Action(), Class: ClassError, Err: errors.New("answer has no AccountLimit.UnreservedConcurrentExecutions")}
	}
	v := int(*out.AccountLimit.UnreservedConcurrentExecutions)
	l.mu.Lock()
	l.unreserved, l.accountRead = v, now
	l.mu.Unlock()
	return v, nil
}
