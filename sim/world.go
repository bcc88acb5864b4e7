package sim

import (
	"errors"
	"sync"
	"time"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

var errTODO = &APIError{Status: 500, Code: CodeServiceException, Message: "not implemented yet", Type: TypeService}

// World is the simulated account: Lambda control plane, traffic and the
// CloudWatch metric store, advanced lazily to the clock's Now by every call.
// Safe for concurrent use.
type World struct {
	mu  sync.Mutex
	clk controller.Clock
	sc  *Scenario
}

// NewWorld builds a world from a validated scenario, starting at clk.Now().
func NewWorld(sc *Scenario, clk controller.Clock) (*World, error) {
	if sc == nil || clk == nil {
		return nil, errors.New("sim: NewWorld needs a scenario and a clock")
	}
	return &World{clk: clk, sc: sc}, nil
}

// Clock returns the world's clock.
func (w *World) Clock() controller.Clock { return w.clk }

// AdvanceTo simulates every second up to t.
func (w *World) AdvanceTo(t time.Time) {}

func (w *World) PutProvisionedConcurrency(fn, qualifier string, n int) (PCView, error) {
	return PCView{}, errTODO
}
func (w *World) GetProvisionedConcurrency(fn, qualifier string) (PCView, error) {
	return PCView{}, errTODO
}
func (w *World) DeleteProvisionedConcurrency(fn, qualifier string) error { return errTODO }
func (w *World) ListProvisionedConcurrency(fn, marker string, maxItems int) ([]PCView, string, error) {
	return nil, "", errTODO
}
func (w *World) GetFunctionConcurrency(fn string) (*int, error) { return nil, errTODO }
func (w *World) PutFunctionConcurrency(fn string, n int) error  { return errTODO }
func (w *World) DeleteFunctionConcurrency(fn string) error      { return errTODO }
func (w *World) AccountSettings() AccountView                   { return AccountView{} }
func (w *World) GetAlias(fn, name string) (AliasView, error)    { return AliasView{}, errTODO }
func (w *World) ListAliases(fn, marker string, maxItems int) ([]AliasView, string, error) {
	return nil, "", errTODO
}
func (w *World) ListVersions(fn, marker string, maxItems int) ([]FunctionView, string, error) {
	return nil, "", errTODO
}
func (w *World) ListFunctions(marker string, maxItems int) ([]FunctionView, string, error) {
	return nil, "", errTODO
}
func (w *World) GetFunctionConfiguration(fn, qualifier string) (FunctionView, error) {
	return FunctionView{}, errTODO
}
func (w *World) GetMetricData(in MetricDataInput) (MetricDataOutput, error) {
	return MetricDataOutput{}, errTODO
}
func (w *World) PutMetricData(namespace string, data []MetricDatum) error { return errTODO }
func (w *World) ListMetrics(namespace, metricName string, dims []Dimension) []Metric {
	return nil
}
func (w *World) Fault(op string) (time.Duration, *APIError) { return 0, nil }
func (w *World) CountAPICall(op, code string)               {}
func (w *World) Stats() Stats                               { return Stats{} }
func (w *World) Minutes(fn, qualifier string) []MinuteStat  { return nil }
func (w *World) InProcess() (controller.PCStore, controller.MetricSource) {
	return nil, nil
}
