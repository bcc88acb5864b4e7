// Package metrics reads the Lambda metrics the controller decides on from
// CloudWatch (GetMetricData), for many targets in as few calls as possible.
//
// By default it asks, per target, for four one-minute series, all with
// dimensions FunctionName=fn and Resource=fn:qualifier and no Unit (a Unit
// that does not match the stored data silently yields nothing):
//
//	ProvisionedConcurrencyUtilization           configured statistic
//	ProvisionedConcurrencySpilloverInvocations  Sum
//	ConcurrentExecutions                        Maximum
//	Invocations                                 Sum
//
// CloudWatch bills each metric requested, and one call holds 500 queries, so
// the metrics per target set both cost and calls: four (default), two
// (WithCompact) or one (WithDerivedUtilization, which derives utilization
// from concurrency and the allocated PC). For 10,000 targets that is 80, 40
// or 20 calls a tick.
//
// A minute for which CloudWatch has none of them is absent from the series —
// Lambda publishes nothing for a minute without invocations — never a zero.
package metrics

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/aws/smithy-go/transport/http/protocol/rpcv2"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// CloudWatch wire protocols (config aws.cloudwatch_protocol).
const (
	ProtocolCBOR  = "cbor"  // Smithy RPC v2 CBOR, the SDK's default and the fastest
	ProtocolJSON  = "json"  // AWS JSON 1.0, as the AWS CLI sends it
	ProtocolQuery = "query" // AWS Query, for emulators such as moto
)

// MaxQueriesPerCall is GetMetricData's fixed limit of MetricDataQuery
// structures a request.
const MaxQueriesPerCall = 500

const (
	namespace = "AWS/Lambda"
	period    = 60 // seconds; Lambda's metrics are one-minute
	// parallelCalls bounds GetMetricData calls in flight: a tick over
	// thousands of targets overlaps them, far below CloudWatch's 50 TPS.
	parallelCalls = 4
)

// Observer counts what the source does: every call (awsapi.CallObserver) and
// every metric requested, which is what CloudWatch bills (each page of a
// paginated call requests its metrics again).
type Observer interface {
	awsapi.CallObserver
	MetricsRequested(n int)
}

// Source reads CloudWatch (controller.MetricSource). Safe for concurrent use.
type Source struct {
	api      cloudwatch.GetMetricDataAPIClient
	caller   *awsapi.Caller
	observer Observer
	maxQ     int
	pageSize int32  // MaxDatapoints a page; 0 = CloudWatch's default (tests page small)
	kinds    []kind // per target, unless derived
	alloc    AllocatedFunc
	clock    controller.Clock
}

var _ controller.MetricSource = (*Source)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	observer Observer
	clock    controller.Clock
	server   *awsapi.ServerClock
	client   []func(*cloudwatch.Options)
	compact  bool
	alloc    AllocatedFunc
}

// AllocatedFunc reports a target's allocated PC as last read from Lambda
// (awsapi.Lambda.Allocated); ok=false when not known yet.
type AllocatedFunc func(id controller.TargetID) (allocated int, ok bool)

// WithDerivedUtilization reads one metric per target instead of four:
// ConcurrentExecutions (Maximum) of the alias, with the rest derived from
// the allocated PC that the controller reads from Lambda every tick anyway:
//
//	Utilization = min(1, concurrency / allocated)
//	Spillover   = max(0, concurrency − allocated)
//
// Lambda serves an alias's requests on its PC first, so while concurrency ≤
// allocated every execution is on PC and the two utilizations are the same
// number; above it utilization is 1 both ways. Spillover is then a lower
// bound of the spilled invocations (that many ran on standard concurrency
// at the peak), enough for the controller's spillover fast path, which only
// asks whether it is positive. Invocations are not read (HasInvocations
// false; idle detection uses concurrency). While a config is allocating,
// allocated is the last settled allocation (awsapi.Lambda.Allocated): it
// served the minutes before the change, and the controller ignores the
// minutes after it until the config settles (an increase in progress then
// looks saturated from the old PC on: demand is read from concurrency, on
// the side of more PC). Periods before an earlier change get a wrong
// denominator, but the controller ignores periods before the config settled.
//
// Applies to targets with the Maximum statistic. A target whose allocation
// is not known yet (not read from Lambda) gets ConcurrentExecutions alone,
// which ranks its urgency until it is read; Average targets get the full
// four metrics (two with WithCompact). 10,000 targets: 20 GetMetricData
// calls a tick instead of 80, and a quarter of the CloudWatch cost.
func WithDerivedUtilization(allocated AllocatedFunc) Option {
	return func(p *options) { p.alloc = allocated }
}

// WithCompact reads two metrics per target instead of four: utilization and
// concurrent executions, which are all the scaling decisions need to size a
// step. Spillover and invocation counts are not read (Spillover stays 0 and
// HasInvocations false), so the controller's one-period spillover fast path
// is off: a burst is seen as saturated utilization (with the Maximum
// statistic, any spillover means the PC was fully busy at some instant) and
// scales out after scale_out_datapoints periods. Halves GetMetricData calls
// and CloudWatch cost.
func WithCompact() Option { return func(p *options) { p.compact = true } }

// WithObserver reports calls and metrics requested to o (telemetry).
func WithObserver(o Observer) Option { return func(p *options) { p.observer = o } }

// WithClock sets the clock used to time calls (default: wall time).
func WithClock(c controller.Clock) Option { return func(p *options) { p.clock = c } }

// WithServerClock feeds every CloudWatch response's Date header to sc, the
// same measure of AWS's clock the Lambda client feeds (awsapi.WithServerClock).
func WithServerClock(sc *awsapi.ServerClock) Option { return func(p *options) { p.server = sc } }

// WithClientOptions passes options to the *cloudwatch.Client.
func WithClientOptions(fns ...func(*cloudwatch.Options)) Option {
	return func(p *options) { p.client = append(p.client, fns...) }
}

// New returns a Source reading CloudWatch with cfg over protocol (cbor when
// empty).
func New(cfg aws.Config, protocol string, opts ...Option) (*Source, error) {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	setProtocol, err := protocolOption(protocol)
	if err != nil {
		return nil, err
	}
	clientOpts := []func(*cloudwatch.Options){setProtocol}
	if o.server != nil {
		clientOpts = append(clientOpts, func(co *cloudwatch.Options) { co.APIOptions = append(co.APIOptions, o.server.AddToStack) })
	}
	client := cloudwatch.NewFromConfig(cfg, append(clientOpts, o.client...)...)
	return newSource(client, o), nil
}

// protocolOption selects the client's wire protocol.
func protocolOption(protocol string) (func(*cloudwatch.Options), error) {
	svc := schemas.GraniteServiceVersion20100801
	switch protocol {
	case "", ProtocolCBOR:
		return func(co *cloudwatch.Options) { co.Protocol = rpcv2.NewCBOR(svc) }, nil
	case ProtocolJSON:
		return func(co *cloudwatch.Options) { co.Protocol = awsjson.New10(svc) }, nil
	case ProtocolQuery:
		return func(co *cloudwatch.Options) { co.Protocol = awsquery.New(svc) }, nil
	}
	return nil, fmt.Errorf("aws.cloudwatch_protocol: %q is not one of cbor, json, query", protocol)
}

func newSource(api cloudwatch.GetMetricDataAPIClient, o options) *Source {
	var obs awsapi.CallObserver
	if o.observer != nil {
		obs = o.observer
	}
	ks := fullKinds
	if o.compact {
		ks = compactKinds
	}
	if o.clock == nil {
		o.clock = awsapi.WallClock{}
	}
	return &Source{api: api, caller: awsapi.NewCaller(nil, obs, o.clock), clock: o.clock, observer: o.observer,
		maxQ: MaxQueriesPerCall, kinds: ks, alloc: o.alloc}
}
