// Package audit finds provisioned concurrency nobody uses: configs on
// versions no alias points to, on aliases nothing manages, and on aliases
// whose PC served no invocation for a fortnight. Each holds concurrency
// (out of the function's reserved concurrency, or the account's unreserved
// pool, until deploys fail for want of it) and costs money every second.
package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pcautoscaler/pcautoscaler/aas"
	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// Reasons a config is listed.
const (
	ReasonUnaliasedVersion = "version_without_alias" // a version no alias points to (nor routes to)
	ReasonUnmanagedAlias   = "alias_not_managed"     // an alias neither this config nor AAS manages
	ReasonIdle             = "no_invocations"        // the alias had no invocations for IdleDays
)

// Defaults.
const (
	DefaultIdleDays = 14
	// DefaultRPS keeps the audit's Lambda calls well under the 15 rps the
	// account's control-plane operations share with the daemon and deploys.
	DefaultRPS = 5
	// hoursPerMonth: AWS's pricing month.
	hoursPerMonth = 730
)

// Actions are the IAM actions `pcautoscaler audit` calls
// (deploy/iam/audit-policy.json; --delete needs the Delete, a dry run
// does not). Scopable ones accept a function ARN.
func Actions() []awsapi.Action {
	return []awsapi.Action{
		{Name: "application-autoscaling:DescribeScalableTargets"},
		{Name: "cloudwatch:GetMetricData"},
		{Name: "lambda:DeleteProvisionedConcurrencyConfig", Scopable: true},
		{Name: "lambda:GetFunction", Scopable: true},
		{Name: "lambda:ListAliases", Scopable: true},
		{Name: "lambda:ListFunctions"},
		{Name: "lambda:ListProvisionedConcurrencyConfigs", Scopable: true},
	}
}

// LambdaAPI is the part of the Lambda client the audit uses;
// *lambda.Client satisfies it.
type LambdaAPI interface {
	ListFunctions(ctx context.Context, in *lambda.ListFunctionsInput, opts ...func(*lambda.Options)) (*lambda.ListFunctionsOutput, error)
	ListAliases(ctx context.Context, in *lambda.ListAliasesInput, opts ...func(*lambda.Options)) (*lambda.ListAliasesOutput, error)
	ListProvisionedConcurrencyConfigs(ctx context.Context, in *lambda.ListProvisionedConcurrencyConfigsInput, opts ...func(*lambda.Options)) (*lambda.ListProvisionedConcurrencyConfigsOutput, error)
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, opts ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	DeleteProvisionedConcurrencyConfig(ctx context.Context, in *lambda.DeleteProvisionedConcurrencyConfigInput, opts ...func(*lambda.Options)) (*lambda.DeleteProvisionedConcurrencyConfigOutput, error)
}

// Finding is one config the audit lists.
type Finding struct {
	Function  string   `json:"function"`
	Qualifier string   `json:"qualifier"`
	Reasons   []string `json:"reasons"`
	Requested int      `json:"requested"`
	Allocated int      `json:"allocated"`
	MemoryMB  int      `json:"memory_mb"`
	// MonthlyUSD is Requested × memory × price × 730 h.
	MonthlyUSD float64 `json:"monthly_usd"`
	// HeldFrom says whose concurrency the config holds: the function's
	// reserved concurrency ("reserved N") or the account's unreserved pool.
	HeldFrom string `json:"held_from"`
	Detail   string `json:"detail,omitempty"`
}

// ID is function:qualifier.
func (f Finding) ID() string { return f.Function + ":" + f.Qualifier }

// Options configure an audit.
type Options struct {
	Lambda     LambdaAPI
	CloudWatch cloudwatch.GetMetricDataAPIClient
	AAS        aas.API // nil: AAS is not asked (every unmanaged alias is listed)
	// Managed are the targets the daemon manages (the config's).
	Managed []controller.TargetID
	// All audits every function in the Region, not only the managed ones.
	All bool
	// PricePerGBSecond is pricing.pc_price_per_gb_second.
	PricePerGBSecond float64
	IdleDays         int              // 0: DefaultIdleDays
	RPS              float64          // Lambda calls per second; 0: DefaultRPS
	Now              func() time.Time // nil: time.Now
	Clock            controller.Clock // the bucket's; nil: wall time
}

// Auditor runs audits and deletions on one Region.
type Auditor struct {
	o      Options
	bucket *awsapi.Bucket
	// Notes are problems that did not stop the audit (AAS not readable…).
	Notes []string
}

// New returns an Auditor.
func New(o Options) *Auditor {
	if o.IdleDays <= 0 {
		o.IdleDays = DefaultIdleDays
	}
	if o.RPS <= 0 {
		o.RPS = DefaultRPS
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Clock == nil {
		o.Clock = awsapi.WallClock{}
	}
	return &Auditor{o: o, bucket: awsapi.NewBucket(o.RPS, o.Clock)}
}

// call runs one Lambda call through the bucket, feeding throttling back.
func (a *Auditor) call(ctx context.Context, f func() error) error {
	if err := a.bucket.Wait(ctx); err != nil {
		return err
	}
	err := f()
	switch awsapi.Classify(err) {
	case awsapi.ClassThrottled:
		a.bucket.Throttled(0)
	case awsapi.ClassOK:
		a.bucket.Succeeded()
	}
	return err
}

// functions is the set to audit: the managed ones, or every function.
func (a *Auditor) functions(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, id := range a.o.Managed {
		if !seen[id.Function] {
			seen[id.Function] = true
			out = append(out, id.Function)
		}
	}
	if a.o.All {
		var marker *string
		for {
			var page *lambda.ListFunctionsOutput
			err := a.call(ctx, func() (err error) {
				page, err = a.o.Lambda.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: marker})
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("lambda:ListFunctions: %w", err)
			}
			for _, f := range page.Functions {
				if n := aws.ToString(f.FunctionName); !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
			if aws.ToString(page.NextMarker) == "" {
				break
			}
			marker = page.NextMarker
		}
	}
	sort.Strings(out)
	return out, nil
}

// Run lists the findings, sorted by function and qualifier.
func (a *Auditor) Run(ctx context.Context) ([]Finding, error) {
	fns, err := a.functions(ctx)
	if err != nil {
		return nil, err
	}
	managed := map[controller.TargetID]bool{}
	for _, id := range a.o.Managed {
		managed[id] = true
	}
	var byAAS map[string]aas.Registration
	if a.o.AAS != nil {
		byAAS, err = aas.List(ctx, a.o.AAS, nil, a.o.Clock)
		if err != nil && !aas.NotServed(err) { // an emulator without AAS: nothing scales there
			a.Notes = append(a.Notes, "Application Auto Scaling not read, aliases it scales may be listed as unmanaged: "+err.Error())
			byAAS = nil
		}
	}
	var out []Finding
	var aliasConfigs []Finding // configs on aliases, for the idle check
	for _, fn := range fns {
		pcs, aliases, err := a.describe(ctx, fn)
		if err != nil {
			return nil, err
		}
		for _, pc := range pcs {
			f := pc
			isVersion := isVersion(f.Qualifier)
			switch {
			case isVersion && !aliases.pointedTo[f.Qualifier]:
				f.Reasons = append(f.Reasons, ReasonUnaliasedVersion)
			case !isVersion && !managed[controller.TargetID{Function: fn, Qualifier: f.Qualifier}]:
				if _, scaled := byAAS[aas.ResourceID(controller.TargetID{Function: fn, Qualifier: f.Qualifier})]; !scaled {
					f.Reasons = append(f.Reasons, ReasonUnmanagedAlias)
				}
			}
			if !isVersion {
				aliasConfigs = append(aliasConfigs, f)
				continue
			}
			if len(f.Reasons) > 0 {
				out = append(out, f)
			}
		}
	}
	// The idle check: one GetMetricData for up to 500 aliases.
	idle, err := a.idle(ctx, aliasConfigs)
	if err != nil {
		a.Notes = append(a.Notes, "invocations not read, the idle check was skipped: "+err.Error())
	}
	for _, f := range aliasConfigs {
		if idle[f.ID()] {
			f.Reasons = append(f.Reasons, ReasonIdle)
		}
		if len(f.Reasons) > 0 {
			out = append(out, f)
		}
	}
	for i := range out {
		if err := a.price(ctx, &out[i]); err != nil {
			out[i].Detail = "memory not read: " + err.Error()
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out, nil
}

// aliasSet is a function's aliases and the versions they send traffic to.
type aliasSet struct {
	names     map[string]bool
	pointedTo map[string]bool
}

// describe lists a function's PC configs and aliases.
func (a *Auditor) describe(ctx context.Context, fn string) ([]Finding, aliasSet, error) {
	as := aliasSet{names: map[string]bool{}, pointedTo: map[string]bool{}}
	var marker *string
	for {
		var page *lambda.ListAliasesOutput
		err := a.call(ctx, func() (err error) {
			page, err = a.o.Lambda.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(fn), Marker: marker})
			return err
		})
		if err != nil {
			return nil, as, fmt.Errorf("lambda:ListAliases %s: %w", fn, err)
		}
		for _, al := range page.Aliases {
			as.names[aws.ToString(al.Name)] = true
			as.pointedTo[aws.ToString(al.FunctionVersion)] = true
			if al.RoutingConfig != nil {
				for v := range al.RoutingConfig.AdditionalVersionWeights {
					as.pointedTo[v] = true // a weighted alias sends traffic there too
				}
			}
		}
		if aws.ToString(page.NextMarker) == "" {
			break
		}
		marker = page.NextMarker
	}
	var pcs []Finding
	marker = nil
	for {
		var page *lambda.ListProvisionedConcurrencyConfigsOutput
		err := a.call(ctx, func() (err error) {
			page, err = a.o.Lambda.ListProvisionedConcurrencyConfigs(ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(fn), Marker: marker})
			return err
		})
		if err != nil {
			return nil, as, fmt.Errorf("lambda:ListProvisionedConcurrencyConfigs %s: %w", fn, err)
		}
		for _, pc := range page.ProvisionedConcurrencyConfigs {
			q := qualifierOf(aws.ToString(pc.FunctionArn))
			pcs = append(pcs, Finding{Function: fn, Qualifier: q,
				Requested: int(aws.ToInt32(pc.RequestedProvisionedConcurrentExecutions)),
				Allocated: int(aws.ToInt32(pc.AllocatedProvisionedConcurrentExecutions))})
		}
		if aws.ToString(page.NextMarker) == "" {
			break
		}
		marker = page.NextMarker
	}
	return pcs, as, nil
}

// price fills memory, monthly cost and whose concurrency it holds.
func (a *Auditor) price(ctx context.Context, f *Finding) error {
	var out *lambda.GetFunctionOutput
	err := a.call(ctx, func() (err error) {
		out, err = a.o.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(f.Function), Qualifier: aws.String(f.Qualifier)})
		return err
	})
	f.HeldFrom = "account unreserved pool"
	if err != nil {
		return fmt.Errorf("lambda:GetFunction %s: %w", f.ID(), err)
	}
	if out.Configuration != nil {
		f.MemoryMB = int(aws.ToInt32(out.Configuration.MemorySize))
	}
	if out.Concurrency != nil && out.Concurrency.ReservedConcurrentExecutions != nil {
		f.HeldFrom = "reserved " + strconv.Itoa(int(*out.Concurrency.ReservedConcurrentExecutions))
	}
	f.MonthlyUSD = float64(f.Requested) * float64(f.MemoryMB) / 1024 * a.o.PricePerGBSecond * hoursPerMonth * 3600
	return nil
}

// idle reads each alias's Invocations (Sum, one period per day) over the
// last IdleDays and returns those with none at all.
func (a *Auditor) idle(ctx context.Context, fs []Finding) (map[string]bool, error) {
	out := map[string]bool{}
	if len(fs) == 0 || a.o.CloudWatch == nil {
		return out, nil
	}
	end := a.o.Now().UTC().Truncate(time.Minute)
	start := end.Add(-time.Duration(a.o.IdleDays) * 24 * time.Hour)
	for lo := 0; lo < len(fs); lo += 500 {
		hi := min(lo+500, len(fs))
		qs := make([]cwtypes.MetricDataQuery, 0, hi-lo)
		for i := lo; i < hi; i++ {
			qs = append(qs, cwtypes.MetricDataQuery{
				Id: aws.String("q" + strconv.Itoa(i)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Invocations"),
						Dimensions: []cwtypes.Dimension{
							{Name: aws.String("FunctionName"), Value: aws.String(fs[i].Function)},
							{Name: aws.String("Resource"), Value: aws.String(fs[i].ID())},
						}},
					Period: aws.Int32(86400), Stat: aws.String("Sum"),
				},
			})
		}
		sums := map[string]float64{}
		var token *string
		for {
			res, err := a.o.CloudWatch.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
				MetricDataQueries: qs, StartTime: aws.Time(start), EndTime: aws.Time(end), NextToken: token})
			if err != nil {
				return out, fmt.Errorf("cloudwatch:GetMetricData: %w", err)
			}
			for _, r := range res.MetricDataResults {
				for _, v := range r.Values {
					sums[aws.ToString(r.Id)] += v
				}
			}
			if aws.ToString(res.NextToken) == "" {
				break
			}
			token = res.NextToken
		}
		for i := lo; i < hi; i++ {
			if sums["q"+strconv.Itoa(i)] == 0 {
				out[fs[i].ID()] = true
			}
		}
	}
	return out, nil
}

// Delete removes each finding's config; it returns every failure.
func (a *Auditor) Delete(ctx context.Context, fs []Finding) error {
	var errs []error
	for _, f := range fs {
		err := a.call(ctx, func() error {
			_, err := a.o.Lambda.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{
				FunctionName: aws.String(f.Function), Qualifier: aws.String(f.Qualifier)})
			return err
		})
		if err != nil && awsapi.Classify(err) != awsapi.ClassNotFound { // gone already is what we wanted
			errs = append(errs, fmt.Errorf("lambda:DeleteProvisionedConcurrencyConfig %s: %w", f.ID(), err))
		}
	}
	return errors.Join(errs...)
}

// isVersion: a published version's qualifier is a number.
func isVersion(q string) bool {
	_, err := strconv.Atoi(q)
	return err == nil
}

// qualifierOf is the qualifier of a qualified function ARN.
func qualifierOf(arn string) string {
	i := strings.LastIndex(arn, ":")
	if i < 0 {
		return ""
	}
	return arn[i+1:]
}
