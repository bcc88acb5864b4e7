// Package discover finds the functions a discover: block selects by their
// tags, through the Resource Groups Tagging API (GetResources, filtered
// server-side), turns each into a target with the tag grammar
// (config.TargetFromTags), and keeps the controller's targets in step with
// what it finds, every discover.interval, without a restart.
package discover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/internal/awsname"
)

// TaggingAPI is the part of the Resource Groups Tagging API client
// discovery uses.
type TaggingAPI interface {
	GetResources(ctx context.Context, in *tagging.GetResourcesInput, opts ...func(*tagging.Options)) (*tagging.GetResourcesOutput, error)
}

// Function is one function GetResources found, with all its tags.
type Function struct {
	ARN  string // unqualified function ARN
	Name string
	Tags map[string]string
}

// resourceType is GetResources' filter for Lambda functions.
const resourceType = "lambda:function"

// Pages: the API's maximum page size, and a bound on pages a discovery
// follows (a million functions), so a token that never ends cannot loop.
const (
	pageSize = 100
	maxPages = 10_000
)

// Source lists the functions whose tags match a discover block. Every call
// goes through its own token bucket (discover.rps): the Tagging API has a
// quota of its own, not Lambda's 15 requests per second.
type Source struct {
	api    TaggingAPI
	caller *awsapi.Caller
	bucket *awsapi.Bucket

	mu      sync.Mutex
	filters []types.TagFilter
}

// Option configures NewSource.
type Option func(*options)

type options struct {
	observer awsapi.CallObserver
	clock    controller.Clock
}

// WithObserver reports every call to o (telemetry).
func WithObserver(o awsapi.CallObserver) Option { return func(p *options) { p.observer = o } }

// WithClock sets the clock of the bucket (default: wall time).
func WithClock(c controller.Clock) Option { return func(p *options) { p.clock = c } }

// NewSource returns the Source of d on cfg's account and Region.
func NewSource(cfg aws.Config, d *config.Discover, opts ...Option) *Source {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	if o.clock == nil {
		o.clock = awsapi.WallClock{}
	}
	bucket := awsapi.NewBucket(d.RPS, o.clock)
	retryer := func(to *tagging.Options) {
		// Throttling comes back at once and slows the bucket (as for
		// Lambda); 5xx and network errors keep the SDK's retries.
		to.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Retryables = append([]retry.IsErrorRetryable{noThrottleRetry{}}, so.Retryables...)
			if cfg.RetryMaxAttempts > 0 {
				so.MaxAttempts = cfg.RetryMaxAttempts
			}
		})
	}
	return &Source{
		api:     tagging.NewFromConfig(cfg, retryer),
		caller:  awsapi.NewCaller(bucket, o.observer, o.clock),
		bucket:  bucket,
		filters: tagFilters(d.Tags),
	}
}

type noThrottleRetry struct{}

func (noThrottleRetry) IsErrorRetryable(err error) aws.Ternary {
	if awsapi.Classify(err) == awsapi.ClassThrottled {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// SetTags replaces the tag filters (a reload); the next listing uses them.
func (s *Source) SetTags(tags map[string]config.TagValues) {
	f := tagFilters(tags)
	s.mu.Lock()
	s.filters = f
	s.mu.Unlock()
}

// Bucket is the Source's token bucket.
func (s *Source) Bucket() *awsapi.Bucket { return s.bucket }

func tagFilters(tags map[string]config.TagValues) []types.TagFilter {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]types.TagFilter, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.TagFilter{Key: aws.String(k), Values: slices.Clone(tags[k])})
	}
	return out
}

// Functions returns every function whose tags match, sorted by ARN, with
// all its tags. An expired pagination token restarts the listing once; any
// other failure returns the error and no functions: a partial list must
// not drop the functions it missed.
func (s *Source) Functions(ctx context.Context) ([]Function, error) {
	fns, err := s.list(ctx)
	if awsapi.ErrorCode(err) == "PaginationTokenExpiredException" {
		fns, err = s.list(ctx)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(fns, func(a, b Function) int { return strings.Compare(a.ARN, b.ARN) })
	return slices.CompactFunc(fns, func(a, b Function) bool { return a.ARN == b.ARN }), nil
}

func (s *Source) list(ctx context.Context) ([]Function, error) {
	s.mu.Lock()
	filters := s.filters
	s.mu.Unlock()
	in := &tagging.GetResourcesInput{
		TagFilters:          filters,
		ResourceTypeFilters: []string{resourceType},
		ResourcesPerPage:    aws.Int32(pageSize),
	}
	var out []Function
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page >= maxPages {
			return nil, fmt.Errorf("tag:GetResources: more than %d pages; giving up rather than looping", maxPages)
		}
		var resp *tagging.GetResourcesOutput
		if err := s.caller.Call(ctx, awsapi.OpGetResources, "", func(ctx context.Context) (err error) {
			resp, err = s.api.GetResources(ctx, in)
			return err
		}); err != nil {
			return nil, err
		}
		for _, m := range resp.ResourceTagMappingList {
			arn := aws.ToString(m.ResourceARN)
			name, ok := functionName(arn)
			if !ok {
				continue // not an unqualified function ARN: not ours
			}
			tags := make(map[string]string, len(m.Tags))
			for _, t := range m.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out = append(out, Function{ARN: arn, Name: name, Tags: tags})
		}
		next := aws.ToString(resp.PaginationToken)
		if next == "" {
			return out, nil
		}
		if seen[next] {
			return nil, errors.New("tag:GetResources: the pagination token repeats; giving up rather than looping")
		}
		seen[next] = true
		in.PaginationToken = aws.String(next)
	}
}

// functionName returns the name of an unqualified function ARN
// (arn:aws:lambda:region:account:function:name).
func functionName(arn string) (string, bool) {
	f, form, ok := awsname.ParseFunction(arn)
	if !ok || form != awsname.FormARN || f.Qualifier != "" {
		return "", false
	}
	return f.Name, true
}
