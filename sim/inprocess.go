package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// InProcess returns the controller's two ports backed directly by the
// world: the same operations, validation, faults and accounting as over
// HTTP, without the network (backtest, tests). Injected latency is not
// slept: a virtual clock would deadlock on it. Errors are *APIError, which
// implements controller.ClassifiedError, except during an injected outage
// (ErrUnavailable, wrapped with the operation).
func (w *World) InProcess() (controller.PCStore, controller.MetricSource) {
	return inProcessStore{w}, inProcessMetrics{w}
}

type inProcessStore struct{ w *World }

// call applies faults and counts the call like the HTTP layer does.
func (w *World) call(ctx context.Context, op string, f func() error) error {
	return w.callWrite(ctx, op, nil, f)
}

// callWrite is call for a Put or Delete: when an outage or a fault answers
// instead of f, it logs write with that result (f, which reaches the World,
// is logged there).
func (w *World) callWrite(ctx context.Context, op string, write *WriteRecord, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.outage(op) {
		w.CountAPICall(op, ResultUnavailable)
		if write != nil {
			write.Result = ResultUnavailable
			w.logWrite(*write)
		}
		return fmt.Errorf("%s: %w", op, ErrUnavailable)
	}
	if _, ferr := w.Fault(op); ferr != nil {
		w.CountAPICall(op, ferr.Code)
		if write != nil {
			write.Result = ferr.Code
			w.logWrite(*write)
		}
		return ferr
	}
	err := f()
	code := CodeOK
	if aerr, ok := errors.AsType[*APIError](err); ok {
		code = aerr.Code
	} else if err != nil {
		code = "error"
	}
	w.CountAPICall(op, code)
	return err
}

func toPCConfig(v PCView) controller.PCConfig {
	return controller.PCConfig{
		Exists:       true,
		Requested:    v.Requested,
		Allocated:    v.Allocated,
		Available:    v.Available,
		Status:       controller.Status(v.Status),
		StatusReason: v.StatusReason,
		LastModified: v.Modified,
	}
}

func (s inProcessStore) GetPC(ctx context.Context, id controller.TargetID) (controller.PCConfig, error) {
	var v PCView
	err := s.w.call(ctx, "GetProvisionedConcurrencyConfig", func() (err error) {
		v, err = s.w.GetProvisionedConcurrency(id.Function, id.Qualifier)
		return err
	})
	if aerr, ok := errors.AsType[*APIError](err); ok && aerr.Code == CodePCConfigNotFound {
		return controller.PCConfig{}, nil // not configured is a state, not an error
	}
	if err != nil {
		return controller.PCConfig{}, err
	}
	return toPCConfig(v), nil
}

func (s inProcessStore) PutPC(ctx context.Context, id controller.TargetID, n int) (controller.PCConfig, error) {
	var v PCView
	caller := callerFrom(ctx)
	rec := newWriteRecord(opPutPC, caller, id.Function, id.Qualifier, n)
	err := s.w.callWrite(ctx, opPutPC, &rec, func() (err error) {
		v, err = s.w.PutProvisionedConcurrencyAs(caller, id.Function, id.Qualifier, n)
		return err
	})
	if err != nil {
		return controller.PCConfig{}, err
	}
	return toPCConfig(v), nil
}

func (s inProcessStore) DeletePC(ctx context.Context, id controller.TargetID) error {
	caller := callerFrom(ctx)
	rec := newWriteRecord(opDeletePC, caller, id.Function, id.Qualifier, 0)
	err := s.w.callWrite(ctx, opDeletePC, &rec, func() error {
		return s.w.DeleteProvisionedConcurrencyAs(caller, id.Function, id.Qualifier)
	})
	if aerr, ok := errors.AsType[*APIError](err); ok && aerr.Code == CodePCConfigNotFound {
		return nil // already gone: the goal is reached
	}
	return err
}

// Limits reads what bounds the target's PC with the calls the daemon makes
// (awsapi's Lambda.Limits): one GetFunction on its own quota (the
// function's reserved concurrency and the qualifier's memory size), the
// ListProvisionedConcurrencyConfigs pages (PC on the function's other
// qualifiers), GetAccountSettings (the account's unreserved concurrency)
// and, for an alias, GetAlias (its version and routing weights). The store
// keeps no state, so GetAccountSettings is called on every read (the daemon
// caches it). For an alias with routing weights it returns the limits,
// weights included, and the weighted-alias error a Put would get (class
// "weighted").
func (s inProcessStore) Limits(ctx context.Context, id controller.TargetID) (controller.Limits, error) {
	var lim controller.Limits
	err := s.w.call(ctx, opGetFunction, func() error {
		gf, err := s.w.GetFunction(id.Function, id.Qualifier)
		if gf.Concurrency != nil {
			r := gf.Concurrency.ReservedConcurrentExecutions
			lim.Reserved = &r
		}
		lim.MemoryMB = gf.Configuration.MemorySize
		return err
	})
	if err != nil {
		return lim, err
	}
	marker := ""
	for {
		var page []PCView
		err = s.w.call(ctx, opListPC, func() (err error) {
			page, marker, err = s.w.ListProvisionedConcurrency(id.Function, marker, 50)
			return err
		})
		if err != nil {
			return lim, err
		}
		for _, v := range page {
			if _, q := splitFunctionRef(v.FunctionArn); q != id.Qualifier {
				lim.OtherPC += v.Requested
			}
		}
		if marker == "" {
			break
		}
	}
	err = s.w.call(ctx, opAccountSettings, func() error {
		lim.AccountUnreserved = s.w.AccountSettings().AccountLimit.UnreservedConcurrentExecutions
		return nil
	})
	if err != nil {
		return lim, err
	}
	lim.Known = true
	if isVersionQualifier(id.Qualifier) {
		return lim, nil
	}
	var alias AliasView
	err = s.w.call(ctx, opGetAlias, func() (err error) {
		alias, err = s.w.GetAlias(id.Function, id.Qualifier)
		return err
	})
	if err != nil {
		return lim, err
	}
	lim.AliasVersion = alias.FunctionVersion
	if alias.RoutingConfig != nil && len(alias.RoutingConfig.AdditionalVersionWeights) > 0 {
		lim.Weights = maps.Clone(alias.RoutingConfig.AdditionalVersionWeights)
		return lim, errWeightedAlias()
	}
	return lim, nil
}

// LimitsCalls is what one Limits read of id costs of the shared control-
// plane budget (controller.LimitsCoster), counted as Limits makes them: the
// ListProvisionedConcurrencyConfigs pages of the function's configs now (1
// when it has none or does not exist), GetAccountSettings, and GetAlias for
// an alias. GetFunction is not counted: it has its own quota.
func (s inProcessStore) LimitsCalls(id controller.TargetID) int {
	n := s.w.listPCPages(id.Function) + 1
	if !isVersionQualifier(id.Qualifier) {
		n++
	}
	return n
}

var _ controller.LimitsCoster = inProcessStore{}

// listPCPages is how many ListProvisionedConcurrencyConfigs pages of 50 the
// function's configs take now: at least 1, the call that finds none (or
// that answers not found).
func (w *World) listPCPages(fn string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sync()
	f, _, aerr := w.lookup(fn, "")
	if aerr != nil {
		return 1
	}
	return max(1, (len(f.pcOrder)+49)/50)
}

// isVersionQualifier reports whether q names a published version (digits
// only), not an alias, as awsapi tells them apart.
func isVersionQualifier(q string) bool {
	if q == "" {
		return false
	}
	for _, r := range q {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

type inProcessMetrics struct{ w *World }

// Fetch asks, per target, for utilization (the query's statistic),
// spillover (Sum), concurrent executions (Maximum) and invocations (Sum) on
// FunctionName + Resource, in GetMetricData calls of at most 500 queries
// following NextToken. Any failure or PartialData makes the series
// incomplete.
func (m inProcessMetrics) Fetch(ctx context.Context, queries []controller.MetricQuery, start, end time.Time) (map[controller.TargetID]controller.Series, error) {
	type slot struct {
		id   controller.TargetID
		kind int // 0 util, 1 spill, 2 conc, 3 inv
	}
	var all []MetricDataQuery
	slots := map[string]slot{}
	for i, q := range queries {
		name, _ := splitFunctionRef(q.ID.Function)
		dims := []Dimension{{Name: DimFunctionName, Value: name}, {Name: DimResource, Value: name + ":" + q.ID.Qualifier}}
		stat := q.Statistic
		if stat == "" {
			stat = "Maximum"
		}
		for k, spec := range [4]struct{ metric, stat string }{
			{MetricUtilization, stat}, {MetricSpillover, "Sum"}, {MetricConcurrent, "Maximum"}, {MetricInvocations, "Sum"},
		} {
			qid := "q" + string(rune('a'+k)) + strconv.Itoa(i)
			slots[qid] = slot{id: q.ID, kind: k}
			all = append(all, MetricDataQuery{Id: qid, MetricStat: &MetricStat{
				Metric: Metric{Namespace: NamespaceLambda, MetricName: spec.metric, Dimensions: dims},
				Period: 60, Stat: spec.stat,
			}})
		}
	}
	points := map[controller.TargetID]map[time.Time]*controller.Datapoint{}
	complete := map[controller.TargetID]bool{}
	for _, q := range queries {
		points[q.ID] = map[time.Time]*controller.Datapoint{}
		complete[q.ID] = true
	}
	var firstErr error
	for lo := 0; lo < len(all); lo += MaxMetricDataQueries {
		batch := all[lo:min(len(all), lo+MaxMetricDataQueries)]
		token := ""
		for {
			var out MetricDataOutput
			err := m.w.call(ctx, "GetMetricData", func() (err error) {
				out, err = m.w.GetMetricData(MetricDataInput{MetricDataQueries: batch, StartTime: start, EndTime: end, ScanBy: "TimestampAscending", NextToken: token})
				return err
			})
			if err != nil {
				for _, q := range batch {
					complete[slots[q.Id].id] = false
				}
				if firstErr == nil {
					firstErr = err
				}
				break
			}
			for _, r := range out.MetricDataResults {
				sl, ok := slots[r.Id]
				if !ok {
					continue
				}
				for j, t := range r.Timestamps {
					dp := points[sl.id][t]
					if dp == nil {
						dp = &controller.Datapoint{Time: t}
						points[sl.id][t] = dp
					}
					v := r.Values[j]
					switch sl.kind {
					case 0:
						dp.Utilization, dp.HasUtilization = v, true
					case 1:
						dp.Spillover = v
					case 2:
						dp.Concurrency, dp.HasConcurrency = v, true
					case 3:
						dp.Invocations, dp.HasInvocations = v, true
					}
				}
			}
			if out.NextToken == "" {
				break
			}
			token = out.NextToken
		}
	}
	res := make(map[controller.TargetID]controller.Series, len(queries))
	for id, byTime := range points {
		s := controller.Series{Complete: complete[id]}
		for _, dp := range byTime {
			s.Points = append(s.Points, *dp)
		}
		sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].Time.Before(s.Points[j].Time) })
		res[id] = s
	}
	return res, firstErr
}
