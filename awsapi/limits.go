package awsapi

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Limits reads what bounds the target's PC: the function's reserved
// concurrency, PC requested on its other qualifiers, the account's unreserved
// concurrency (cached for accountTTL) and the memory size. For an alias with
// routing weights it returns the limits and a weighted-class *Error wrapping
// ErrWeightedAlias.
func (l *Lambda) Limits(ctx context.Context, id controller.TargetID) (controller.Limits, error) {
	var lim controller.Limits
	res := id.String()
	fn := aws.String(id.Function)

	var conc *lambda.GetFunctionConcurrencyOutput
	if err := l.caller.Call(ctx, OpGetConcurrency, res, func(ctx context.Context) (err error) {
		conc, err = l.api.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: fn})
		return err
	}); err != nil {
		return lim, err
	}
	if conc.ReservedConcurrentExecutions != nil {
		r := int(*conc.ReservedConcurrentExecutions)
		lim.Reserved = &r
	}

	other, err := l.otherPC(ctx, id)
	if err != nil {
		return lim, err
	}
	lim.OtherPC = other

	if lim.AccountUnreserved, err = l.accountUnreserved(ctx); err != nil {
		return lim, err
	}

	var fc *lambda.GetFunctionConfigurationOutput
	if err := l.caller.Call(ctx, OpGetFunctionConfig, res, func(ctx context.Context) (err error) {
		fc, err = l.api.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: fn, Qualifier: aws.String(id.Qualifier)})
		return err
	}); err != nil {
		return lim, err
	}
	if fc.MemorySize != nil {
		lim.MemoryMB = int(*fc.MemorySize)
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
	if alias.RoutingConfig != nil && len(alias.RoutingConfig.AdditionalVersionWeights) > 0 {
		return lim, &Error{Op: OpGetAlias.Action(), Resource: res, Class: ClassWeighted, Err: ErrWeightedAlias}
	}
	return lim, nil
}

// otherPC sums the PC requested on the function's qualifiers other than id's.
func (l *Lambda) otherPC(ctx context.Context, id controller.TargetID) (int, error) {
	in := &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(id.Function), MaxItems: aws.Int32(50)}
	sum := 0
	for page := 0; ; page++ {
		var out *lambda.ListProvisionedConcurrencyConfigsOutput
		if err := l.caller.Call(ctx, OpListPC, id.Function, func(ctx context.Context) (err error) {
			out, err = l.api.ListProvisionedConcurrencyConfigs(ctx, in)
			return err
		}); err != nil {
			return 0, err
		}
		for _, c := range out.ProvisionedConcurrencyConfigs {
			if qualifierOf(aws.ToString(c.FunctionArn)) != id.Qualifier {
				sum += int(aws.ToInt32(c.RequestedProvisionedConcurrentExecutions))
			}
		}
		next := aws.ToString(out.NextMarker)
		// A marker that does not move would loop forever; a function has at
		// most a few hundred qualifiers, so 100 pages is far beyond real.
		if next == "" || next == aws.ToString(in.Marker) || page >= 100 {
			return sum, nil
		}
		in.Marker = aws.String(next)
	}
}

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
