package awsapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// LambdaAPI is the part of *lambda.Client the daemon uses.
type LambdaAPI interface {
	GetProvisionedConcurrencyConfig(ctx context.Context, in *lambda.GetProvisionedConcurrencyConfigInput, opts ...func(*lambda.Options)) (*lambda.GetProvisionedConcurrencyConfigOutput, error)
	PutProvisionedConcurrencyConfig(ctx context.Context, in *lambda.PutProvisionedConcurrencyConfigInput, opts ...func(*lambda.Options)) (*lambda.PutProvisionedConcurrencyConfigOutput, error)
	DeleteProvisionedConcurrencyConfig(ctx context.Context, in *lambda.DeleteProvisionedConcurrencyConfigInput, opts ...func(*lambda.Options)) (*lambda.DeleteProvisionedConcurrencyConfigOutput, error)
	ListProvisionedConcurrencyConfigs(ctx context.Context, in *lambda.ListProvisionedConcurrencyConfigsInput, opts ...func(*lambda.Options)) (*lambda.ListProvisionedConcurrencyConfigsOutput, error)
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	GetAlias(ctx context.Context, in *lambda.GetAliasInput, opts ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	GetAccountSettings(ctx context.Context, in *lambda.GetAccountSettingsInput, opts ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error)
}

// ErrWeightedAlias is returned (as a weighted-class *Error) by Limits for an
// alias with routing weights: Lambda refuses PC on such an alias.
var ErrWeightedAlias = errors.New("alias has routing weights (additional version weights); Lambda refuses provisioned concurrency on it")

// accountTTL: unreserved account concurrency is one value per account and
// changes only when someone reserves concurrency somewhere.
const accountTTL = 5 * time.Minute

// Lambda is the Lambda control plane as the controller needs it
// (controller.PCStore). Safe for concurrent use.
type Lambda struct {
	api    LambdaAPI
	caller *Caller // the shared control-plane budget (aws.lambda_rps)
	bucket *Bucket
	getFn  *Caller // GetFunction, on its own quota (GetFunctionRPS)
	gate   controller.WriteGate
	clock  controller.Clock

	mu          sync.Mutex
	unreserved  int
	accountRead time.Time
	allocated   map[controller.TargetID]int // last seen, for metrics' derived utilization
	listPages   map[string]int              // function → ListProvisionedConcurrencyConfigs pages, when more than 1
}

var _ controller.PCStore = (*Lambda)(nil)

// Option configures NewLambda.
type Option func(*lambdaOptions)

type lambdaOptions struct {
	observer CallObserver
	clock    controller.Clock
	server   *ServerClock
	client   []func(*lambda.Options)
	backoff  retry.BackoffDelayer // nil: the SDK's jittered exponential backoff
	gate     controller.WriteGate
}

// WithWriteGate makes PutPC and DeletePC ask g right before each request is
// sent: after the wait for the rate bucket, where a replica can lose its
// lease, and before every SDK retry. A refusal sends nothing and returns a
// ClassNotLeader *Error wrapping g's error. A nil g gates nothing.
func WithWriteGate(g controller.WriteGate) Option { return func(l *lambdaOptions) { l.gate = g } }

// withBackoff replaces the SDK's backoff between retries (tests).
func withBackoff(b retry.BackoffDelayer) Option { return func(l *lambdaOptions) { l.backoff = b } }

// WithObserver reports every call to o (telemetry).
func WithObserver(o CallObserver) Option { return func(l *lambdaOptions) { l.observer = o } }

// WithClock sets the clock for the rate limiter, Retry-After pauses and the
// account cache (default: wall time).
func WithClock(c controller.Clock) Option { return func(l *lambdaOptions) { l.clock = c } }

// WithServerClock feeds every response's Date header to sc.
func WithServerClock(sc *ServerClock) Option { return func(l *lambdaOptions) { l.server = sc } }

// WithClientOptions passes options to the *lambda.Client.
func WithClientOptions(fns ...func(*lambda.Options)) Option {
	return func(l *lambdaOptions) { l.client = append(l.client, fns...) }
}

// NewLambda returns the Lambda store for cfg with every call through one token
// bucket of rps requests per second (DefaultLambdaRPS when rps ≤ 0), except
// GetFunction, which waits on a bucket of its own (GetFunctionRPS): Lambda
// gives it a separate quota.
//
// The SDK's retryer keeps retrying 5xx and network errors but not throttling:
// a throttled call comes back to the Caller at once, which pauses the bucket
// for the server's Retry-After (the SDK's backoff ignores it) and halves its
// rate, instead of spending the account's shared 15 rps on blind retries.
func NewLambda(cfg aws.Config, rps float64, opts ...Option) *Lambda {
	var o lambdaOptions
	for _, fn := range opts {
		fn(&o)
	}
	if o.clock == nil {
		o.clock = WallClock{}
	}
	l := &Lambda{clock: o.clock, gate: o.gate, allocated: map[controller.TargetID]int{}, listPages: map[string]int{}}
	l.bucket = NewBucket(rps, o.clock)
	l.caller = NewCaller(l.bucket, o.observer, o.clock)
	l.getFn = NewCaller(NewBucket(GetFunctionRPS, o.clock), o.observer, o.clock)
	clientOpts := append([]func(*lambda.Options){func(lo *lambda.Options) {
		lo.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Retryables = append([]retry.IsErrorRetryable{noThrottleRetry{}}, so.Retryables...)
			if cfg.RetryMaxAttempts > 0 {
				so.MaxAttempts = cfg.RetryMaxAttempts
			}
			if o.backoff != nil {
				so.Backoff = o.backoff
			}
		})
		lo.APIOptions = append(lo.APIOptions, meterRetries(l.bucket))
		if o.server != nil {
			lo.APIOptions = append(lo.APIOptions, o.server.AddToStack)
		}
	}}, o.client...)
	l.api = lambda.NewFromConfig(cfg, clientOpts...)
	return l
}

// Bucket is the shared token bucket (for telemetry of its current rate);
// GetFunction's own bucket is not in it.
func (l *Lambda) Bucket() *Bucket { return l.bucket }

// noThrottleRetry stops the SDK from retrying throttling errors itself.
type noThrottleRetry struct{}

func (noThrottleRetry) IsErrorRetryable(err error) aws.Ternary {
	if classify(err) == ClassThrottled {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// GetPC reads the target's PC config; a missing config is Exists=false.
func (l *Lambda) GetPC(ctx context.Context, id controller.TargetID) (controller.PCConfig, error) {
	var out *lambda.GetProvisionedConcurrencyConfigOutput
	err := l.caller.Call(ctx, OpGetPC, id.String(), func(ctx context.Context) (err error) {
		out, err = l.api.GetProvisionedConcurrencyConfig(ctx, &lambda.GetProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(id.Function), Qualifier: aws.String(id.Qualifier),
		})
		return err
	})
	if hasCode(err, "ProvisionedConcurrencyConfigNotFoundException") {
		l.remember(id, 0)
		return controller.PCConfig{}, nil
	}
	if err != nil {
		return controller.PCConfig{}, err
	}
	pc := pcConfig(out.RequestedProvisionedConcurrentExecutions, out.AllocatedProvisionedConcurrentExecutions,
		out.AvailableProvisionedConcurrentExecutions, out.Status, out.StatusReason, out.LastModified)
	l.rememberPC(id, pc)
	return pc, nil
}

// Allocated returns the target's allocated PC as last settled in what GetPC,
// PutPC or DeletePC read (metrics.WithDerivedUtilization): while a config is
// IN_PROGRESS, the allocation it had before. ok=false before the first
// settled read.
func (l *Lambda) Allocated(id controller.TargetID) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.allocated[id]
	return n, ok
}

func (l *Lambda) remember(id controller.TargetID, allocated int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.allocated[id] = allocated
}

// rememberPC keeps the allocation of a settled config only. While one is
// IN_PROGRESS (a change, or an alias moving to another version with
// Allocated 0 for a while) its value describes no past minute, and deriving
// utilization from it would make the whole lookback look saturated; the
// last settled allocation is kept instead: it served every minute the
// controller still counts (it ignores the minutes after a change until the
// config settles, and judges the ones before against the PC of their time).
// Measured metrics for allocating targets would cost a second metric each,
// and at 10,000 targets (exactly 20 GetMetricData calls of 500 metrics)
// any one adds a 21st call.
func (l *Lambda) rememberPC(id controller.TargetID, pc controller.PCConfig) {
	if pc.Exists && pc.Status == controller.StatusInProgress {
		return
	}
	l.remember(id, pc.Allocated)
}

// PutPC requests n ≥ 1 PC for the target (use DeletePC for zero).
func (l *Lambda) PutPC(ctx context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	if n < 1 || n > 1<<30 {
		return controller.PCConfig{}, &Error{Op: OpPutPC.Action(), Resource: id.String(), Class: ClassInvalid,
			Err: fmt.Errorf("provisioned concurrency %d out of range: Put needs at least 1 (use Delete for 0)", n)}
	}
	var out *lambda.PutProvisionedConcurrencyConfigOutput
	err := l.caller.callGated(ctx, OpPutPC, id.String(), true, l.gate, func(ctx context.Context) (err error) {
		out, err = l.api.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(id.Function), Qualifier: aws.String(id.Qualifier),
			ProvisionedConcurrentExecutions: aws.Int32(int32(n)),
		})
		return err
	})
	if err != nil {
		return controller.PCConfig{}, err
	}
	pc := pcConfig(out.RequestedProvisionedConcurrentExecutions, out.AllocatedProvisionedConcurrentExecutions,
		out.AvailableProvisionedConcurrentExecutions, out.Status, out.StatusReason, out.LastModified)
	l.rememberPC(id, pc)
	return pc, nil
}

// DeletePC removes the target's PC config; an already missing config is fine.
func (l *Lambda) DeletePC(ctx context.Context, id controller.TargetID) error {
	err := l.caller.callGated(ctx, OpDeletePC, id.String(), true, l.gate, func(ctx context.Context) error {
		_, err := l.api.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(id.Function), Qualifier: aws.String(id.Qualifier),
		})
		return err
	})
	if err == nil || hasCode(err, "ProvisionedConcurrencyConfigNotFoundException") {
		l.remember(id, 0)
		return nil
	}
	return err
}

func pcConfig(requested, allocated, available *int32, status types.ProvisionedConcurrencyStatusEnum, reason, modified *string) controller.PCConfig {
	return controller.PCConfig{
		Exists:       true,
		Requested:    int(aws.ToInt32(requested)),
		Allocated:    int(aws.ToInt32(allocated)),
		Available:    int(aws.ToInt32(available)),
		Status:       controller.Status(status),
		StatusReason: aws.ToString(reason),
		LastModified: parseLastModified(aws.ToString(modified)),
	}
}
