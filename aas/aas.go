// Package aas keeps the daemon from fighting Application Auto Scaling: it
// reads AAS's scalable targets on Lambda provisioned concurrency and keeps
// the aliases AAS also scales out of the controller's managed set, unless
// their policy says coexist_with_aas: true.
package aas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
)

// The one AAS call the daemon makes, as IAM and telemetry name it.
const (
	Service   = "application-autoscaling"
	Operation = "DescribeScalableTargets"
	// Namespace and Dimension select Lambda provisioned concurrency.
	Namespace = types.ServiceNamespaceLambda
	Dimension = types.ScalableDimensionLambdaFunctionProvisionedConcurrency
	// DefaultEvery: a scalable target is registered by a person or an IaC
	// deploy, rarely; one paginated read every 10 minutes costs nothing, and
	// AAS's writes in between are already caught by the loop as foreign
	// changes (Warn, counted, the fight alert).
	DefaultEvery = 10 * time.Minute
	// pageSize is the API's maximum.
	pageSize = 50
)

// Actions is the IAM action this package calls (deploy/iam/policy.json).
// AAS's read actions accept no resource ARN: Resource "*".
func Actions() []awsapi.Action {
	return []awsapi.Action{{Name: Service + ":" + Operation, Scopable: false}}
}

// Log keys of this package (snake_case, fixed).
const (
	KeyResourceID = "aas_resource_id"
	KeyMin        = "aas_min_capacity"
	KeyMax        = "aas_max_capacity"
	KeyRefused    = "refused"
	KeyError      = controller.KeyError
)

// API is the part of the Application Auto Scaling client used here;
// *applicationautoscaling.Client satisfies it.
type API interface {
	DescribeScalableTargets(ctx context.Context, in *applicationautoscaling.DescribeScalableTargetsInput,
		opts ...func(*applicationautoscaling.Options)) (*applicationautoscaling.DescribeScalableTargetsOutput, error)
}

// ResourceID is AAS's name for a target: function:<name>:<qualifier>.
func ResourceID(id controller.TargetID) string {
	return "function:" + id.Function + ":" + id.Qualifier
}

// Registration is one scalable target AAS has on Lambda PC.
type Registration struct {
	ResourceID string
	Min, Max   int32
}

// List reads every scalable target on Lambda provisioned concurrency in the
// Region, page by page, keyed by ResourceId. One listing for the whole
// Region costs a call per 50 registrations, however many targets we manage
// (ResourceIds would take a call per 50 of ours). The error is classified
// (awsapi.Classify).
func List(ctx context.Context, api API, obs awsapi.CallObserver, clock controller.Clock) (map[string]Registration, error) {
	out := map[string]Registration{}
	var token *string
	seen := map[string]bool{}
	for {
		start := clock.Now()
		page, err := api.DescribeScalableTargets(ctx, &applicationautoscaling.DescribeScalableTargetsInput{
			ServiceNamespace:  Namespace,
			ScalableDimension: Dimension,
			MaxResults:        aws.Int32(pageSize),
			NextToken:         token,
		})
		if obs != nil {
			obs.ObserveCall(Service, Operation, awsapi.Classify(err), clock.Now().Sub(start))
		}
		if err != nil {
			return nil, &callError{err: err}
		}
		for _, t := range page.ScalableTargets {
			id := aws.ToString(t.ResourceId)
			out[id] = Registration{ResourceID: id, Min: aws.ToInt32(t.MinCapacity), Max: aws.ToInt32(t.MaxCapacity)}
		}
		next := aws.ToString(page.NextToken)
		if next == "" {
			return out, nil
		}
		// A token seen before would loop forever (an emulator's bug, or a
		// proxy's): stop with what was read, as an error.
		if seen[next] {
			return nil, &callError{err: fmt.Errorf("pagination token %q repeated", next)}
		}
		seen[next] = true
		token = aws.String(next)
	}
}

// callError names the action in every AAS failure and keeps its class.
type callError struct{ err error }

func (e *callError) Error() string {
	return Service + ":" + Operation + ": " + awsapi.Classify(e.err) + ": " + e.err.Error()
}
func (e *callError) Unwrap() error      { return e.err }
func (e *callError) ErrorClass() string { return awsapi.Classify(e.err) }

// Options configure a Guard.
type Options struct {
	API API
	// Set applies the managed set to the loop (controller.SetTargets).
	Set      func([]controller.Target) error
	Logger   *slog.Logger
	Observer awsapi.CallObserver // may be nil
	Clock    controller.Clock    // nil: wall time
	Every    time.Duration       // 0: DefaultEvery
	// Off: check nothing and refuse nothing (mode: shadow writes nothing,
	// so it may, and is meant to, run next to AAS).
	Off bool
}

// Guard sits between whoever sets the managed targets (start-up, discovery,
// reload) and the controller: it passes on the wanted set minus the aliases
// AAS also scales, and re-applies it when AAS's registrations change.
type Guard struct {
	o Options

	mu      sync.Mutex
	wanted  []controller.Target
	regs    map[string]Registration // last successful read; nil: none yet
	refused map[controller.TargetID]string
	warned  map[controller.TargetID]string // coexisting targets warned about (resource id)
	failed  string                         // class of the last failed read, logged once per class
	absent  bool                           // the endpoint does not serve AAS (an emulator): no more checks
}

// NewGuard returns a Guard managing wanted until told otherwise; it reads
// nothing until Check.
func NewGuard(o Options, wanted []controller.Target) *Guard {
	if o.Clock == nil {
		o.Clock = awsapi.WallClock{}
	}
	if o.Every <= 0 {
		o.Every = DefaultEvery
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{o: o, wanted: slices.Clone(wanted), refused: map[controller.TargetID]string{},
		warned: map[controller.TargetID]string{}}
}

// SetTargets records the wanted set and applies it minus the refused
// aliases (by the last registrations read).
func (g *Guard) SetTargets(ts []controller.Target) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.wanted = slices.Clone(ts)
	g.judge()
	return g.o.Set(g.filter())
}

// Refused lists the aliases kept out of the loop now, sorted.
func (g *Guard) Refused() []controller.TargetID {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]controller.TargetID, 0, len(g.refused))
	for id := range g.refused {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Check reads AAS once and re-applies the wanted set when the refusals
// changed. A failed read keeps the last refusals and returns the error
// after one Warn per kind of failure: access denied is not fatal, since
// upgrading the daemon must not stop it before its role gains the new
// permission, and AAS's writes still show as foreign changes.
func (g *Guard) Check(ctx context.Context) error {
	g.mu.Lock()
	off := g.o.Off || g.absent
	g.mu.Unlock()
	if off {
		return nil
	}
	regs, err := List(ctx, g.o.API, g.o.Observer, g.o.Clock)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil && notServed(err) {
		// AWS always serves AAS; an endpoint that does not know the
		// operation is an emulator (the simulator) where nothing else
		// scales PC either.
		g.absent = true
		g.o.Logger.Info("the endpoint does not serve Application Auto Scaling; its scalable targets are not checked", KeyError, err.Error())
		return nil
	}
	if err != nil {
		class := awsapi.Classify(err)
		if class != g.failed {
			g.failed = class
			msg := "cannot read Application Auto Scaling's scalable targets; aliases it also scales are not detected until it answers"
			if class == awsapi.ClassAccessDenied {
				msg = "cannot read Application Auto Scaling's scalable targets: grant application-autoscaling:DescribeScalableTargets (deploy/iam/policy.json); aliases it also scales are not detected"
			}
			g.o.Logger.Warn(msg, KeyError, err.Error(), controller.KeyErrorClass, class)
		}
		return err
	}
	g.failed = ""
	g.regs = regs
	if !g.judge() {
		return nil
	}
	return g.o.Set(g.filter())
}

// Run checks every Every of the clock until ctx ends (the first check is
// the caller's, at start-up), or at once when the endpoint does not serve
// AAS.
func (g *Guard) Run(ctx context.Context) {
	g.mu.Lock()
	stop := g.o.Off || g.absent
	g.mu.Unlock()
	if stop {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.o.Clock.After(g.o.Every):
		}
		_ = g.Check(ctx) // logged by Check
		g.mu.Lock()
		absent := g.absent
		g.mu.Unlock()
		if absent { // nothing to check on this endpoint, ever
			return
		}
	}
}

// judge recomputes the refusals from regs and wanted, logging each change
// once; it reports whether the set changed. Caller holds mu.
func (g *Guard) judge() bool {
	if g.regs == nil {
		return false
	}
	changed := false
	now := map[controller.TargetID]bool{}
	for _, t := range g.wanted {
		rid := ResourceID(t.ID)
		reg, ok := g.regs[rid]
		if !ok {
			continue
		}
		log := g.o.Logger.With(controller.KeyTarget, t.ID.String(), controller.KeyFunction, t.ID.Function,
			controller.KeyQualifier, t.ID.Qualifier, KeyResourceID, rid, KeyMin, reg.Min, KeyMax, reg.Max)
		if t.Policy.CoexistWithAAS {
			if g.warned[t.ID] != rid {
				g.warned[t.ID] = rid
				log.Warn("Application Auto Scaling also scales this alias; managing it anyway (coexist_with_aas: true): the two will overwrite each other's values")
			}
			continue
		}
		now[t.ID] = true
		if _, was := g.refused[t.ID]; !was {
			g.refused[t.ID] = rid
			changed = true
			log.Error("refusing to manage this alias: Application Auto Scaling has a scalable target on it, and two controllers on one alias fight; " +
				"deregister it (aws application-autoscaling deregister-scalable-target --service-namespace lambda " +
				"--scalable-dimension lambda:function:ProvisionedConcurrency --resource-id " + rid +
				") or set coexist_with_aas: true on the target")
		}
	}
	for id, rid := range g.refused {
		if now[id] {
			continue
		}
		delete(g.refused, id)
		changed = true
		if slices.ContainsFunc(g.wanted, func(t controller.Target) bool { return t.ID == id }) {
			g.o.Logger.Info("Application Auto Scaling no longer scales this alias; managing it", controller.KeyTarget, id.String(),
				controller.KeyFunction, id.Function, controller.KeyQualifier, id.Qualifier, KeyResourceID, rid)
		}
	}
	for id := range g.warned {
		if !slices.ContainsFunc(g.wanted, func(t controller.Target) bool { return t.ID == id }) {
			delete(g.warned, id)
		}
	}
	return changed
}

// filter is wanted minus refused. Caller holds mu.
func (g *Guard) filter() []controller.Target {
	out := make([]controller.Target, 0, len(g.wanted))
	for _, t := range g.wanted {
		if _, no := g.refused[t.ID]; !no {
			out = append(out, t)
		}
	}
	return out
}

// NotServed: the endpoint does not know AAS's operation (an emulator:
// the simulator answers InvalidAction, others UnknownOperationException).
func NotServed(err error) bool { return notServed(err) }

func notServed(err error) bool {
	switch awsapi.ErrorCode(err) {
	case "InvalidAction", "UnknownOperationException", "UnknownOperation":
		return true
	}
	return false
}

// IsAccessDenied reports whether err is a denied AAS read.
func IsAccessDenied(err error) bool {
	var ce *callError
	return errors.As(err, &ce) && awsapi.Classify(ce.err) == awsapi.ClassAccessDenied
}
