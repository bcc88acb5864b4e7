package backtest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two functions at one budget: a PC-hour buys far more on "a" than on "b",
// so the choice moves PC-hours from b to a and spills less than one target
// for both, within the same PC-hours.
func TestPerFunctionChoose(t *testing.T) {
	pt := func(fn string, tgt, pch float64, spill int64) FunctionPoint {
		return FunctionPoint{Function: fn, Target: tgt, PCHours: pch, Invocations: 10000, Spillover: spill}
	}
	main := func(p FunctionPoint) FunctionPoint { p.Main = true; return p }
	pf := &PerFunction{Points: []FunctionPoint{
		pt("a", 0.5, 300, 100), main(pt("a", 0.7, 200, 900)), pt("a", 0.9, 100, 2500),
		pt("b", 0.5, 300, 100), main(pt("b", 0.7, 200, 120)), pt("b", 0.9, 100, 150),
	}, Budget: 400} // both at 0.7: 400 PC-hours, 1020 spilled
	pf.choose()
	require.True(t, pf.OK)
	var chosen []string
	for _, p := range pf.Points {
		if p.Chosen {
			chosen = append(chosen, p.Function+"@"+ff(p.Target, 1))
		}
	}
	require.Equal(t, []string{"a@0.5", "b@0.9"}, chosen)
	require.LessOrEqual(t, pf.PCHours, pf.Budget)
	require.InDelta(t, 250.0/20000*100, pf.SpilloverPct, 1e-9)
	require.InDelta(t, 1020.0/20000*100, pf.MainSpillPct, 1e-9, "both at their own 0.7")

	var buf bytes.Buffer
	require.NoError(t, pf.WriteCSV(&buf))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Equal(t, PerFunctionHeader, lines[0])
	require.Equal(t, "a,0.50,300.000,1.0000,0,1", lines[1])
	require.Len(t, lines, 7)

	// The functions' own targets are the floor of the choice, also where
	// they lie off the convex hull a price can reach: every price picks the
	// same point for both twins here, 0.5 / 0.5 (over budget) or 0.9 / 0.9
	// (2000 spilled), and 0.7 / 0.7 spills 1800.
	pf = &PerFunction{Points: []FunctionPoint{
		pt("a", 0.5, 300, 100), main(pt("a", 0.7, 200, 900)), pt("a", 0.9, 100, 1000),
		pt("b", 0.5, 300, 100), main(pt("b", 0.7, 200, 900)), pt("b", 0.9, 100, 1000),
	}, Budget: 400}
	pf.choose()
	require.True(t, pf.OK)
	for _, p := range pf.Points {
		require.Equal(t, p.Main, p.Chosen, "%s@%g", p.Function, p.Target)
	}
	require.InDelta(t, 1800.0/20000*100, pf.SpilloverPct, 1e-9)

	// A budget below every choice: nothing is chosen, nothing claimed.
	pf = &PerFunction{Points: []FunctionPoint{pt("a", 0.5, 300, 100), pt("a", 0.9, 100, 2500)}, Budget: 50}
	pf.choose()
	require.False(t, pf.OK)
	require.Empty(t, pf.markdown())
}
