package telemetry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

const freshnessHelp = `
# HELP pcautoscaler_clock_offset_seconds AWS's clock minus the daemon's, measured from the Date header of AWS's responses (seconds); NaN until measured.
# TYPE pcautoscaler_clock_offset_seconds gauge
# HELP pcautoscaler_metrics_publish_delay_seconds How long after its end the newest new minute was first seen in CloudWatch, last observed (seconds; an upper bound of the publication delay); NaN until one is seen.
# TYPE pcautoscaler_metrics_publish_delay_seconds gauge
# HELP pcautoscaler_metrics_watermark_lag_seconds AWS's now minus the end of the newest minute counted as published in CloudWatch (seconds); NaN before the first tick.
# TYPE pcautoscaler_metrics_watermark_lag_seconds gauge
`

func freshnessText(offset, delay, lag string) string {
	lines := strings.Split(strings.TrimSpace(freshnessHelp), "\n")
	return strings.Join([]string{
		lines[0], lines[1], "pcautoscaler_clock_offset_seconds " + offset,
		lines[2], lines[3], "pcautoscaler_metrics_publish_delay_seconds " + delay,
		lines[4], lines[5], "pcautoscaler_metrics_watermark_lag_seconds " + lag,
	}, "\n") + "\n"
}

var freshnessNames = []string{"pcautoscaler_clock_offset_seconds", "pcautoscaler_metrics_publish_delay_seconds",
	"pcautoscaler_metrics_watermark_lag_seconds"}

func TestObserveFreshness(t *testing.T) {
	wm := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	m, reg := newTestMetrics(t, checkout)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(freshnessText("NaN", "NaN", "NaN")), freshnessNames...),
		"unknown before the first tick")

	steps := []struct {
		name               string
		f                  controller.Freshness
		offset, delay, lag string
		histCount          uint64
		histSum            float64
	}{
		{name: "first tick: clock unknown, nothing published yet",
			f:      controller.Freshness{},
			offset: "NaN", delay: "NaN", lag: "NaN"},
		{name: "a new minute, AWS 90s ahead",
			f:      controller.Freshness{Watermark: wm, Lag: 150 * time.Second, PublishDelay: 95 * time.Second, ClockOffset: 90 * time.Second, ClockKnown: true},
			offset: "90", delay: "95", lag: "150", histCount: 1, histSum: 95},
		{name: "no new minute: the delay keeps its value",
			f:      controller.Freshness{Watermark: wm, Lag: 210 * time.Second, ClockOffset: -1500 * time.Millisecond, ClockKnown: true},
			offset: "-1.5", delay: "95", lag: "210", histCount: 1, histSum: 95},
		{name: "another",
			f:      controller.Freshness{Watermark: wm.Add(2 * time.Minute), Lag: 70 * time.Second, PublishDelay: 70 * time.Second, ClockKnown: true},
			offset: "0", delay: "70", lag: "70", histCount: 2, histSum: 165},
	}
	for _, st := range steps {
		m.ObserveFreshness(st.f)
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(freshnessText(st.offset, st.delay, st.lag)), freshnessNames...), st.name)
		count, sum := publishDelayHistogram(t, reg)
		require.Equal(t, st.histCount, count, st.name)
		require.InDelta(t, st.histSum, sum, 1e-9, st.name)
	}
}

// publishDelayHistogram returns the histogram's sample count and sum.
func publishDelayHistogram(t *testing.T, reg prometheus.Gatherer) (uint64, float64) {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "pcautoscaler_metrics_publish_delay_distribution_seconds" {
			require.Len(t, f.GetMetric(), 1)
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no publish delay histogram")
	return 0, 0
}

func TestObserveStall(t *testing.T) {
	m, reg := newTestMetrics(t, checkout, search)
	reasons := controller.StallReasons()
	require.Equal(t, 2*len(reasons), testutil.CollectAndCount(m.stalled), "every reason pre-created per target")

	// stalledOf returns the reasons at 1 and how many series the target has.
	stalledOf := func(id controller.TargetID) (ones []string, series int) {
		t.Helper()
		families, err := reg.Gather()
		require.NoError(t, err)
		for _, f := range families {
			if f.GetName() != "pcautoscaler_target_stalled" {
				continue
			}
			for _, mt := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range mt.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels[LabelFunction] != id.Function || labels[LabelQualifier] != id.Qualifier {
					continue
				}
				series++
				if v := mt.GetGauge().GetValue(); v == 1 {
					ones = append(ones, labels[LabelReason])
				} else {
					require.Zero(t, v)
				}
			}
		}
		return ones, series
	}

	ones, n := stalledOf(checkout)
	require.Empty(t, ones, "not stalled before any tick")
	require.Equal(t, len(reasons), n)

	for _, r := range reasons {
		m.ObserveStall(checkout, r)
		ones, n = stalledOf(checkout)
		require.Equal(t, []string{string(r)}, ones, "exactly one reason at 1")
		require.Equal(t, len(reasons), n)
		ones, _ = stalledOf(search)
		require.Empty(t, ones, "other targets untouched")
	}
	m.ObserveStall(checkout, controller.StallNone)
	ones, _ = stalledOf(checkout)
	require.Empty(t, ones, "all 0 once it can act")

	// A reason this telemetry doesn't know is bounded to "other", which
	// exists only while it holds.
	m.ObserveStall(search, controller.StallReason("brand_new"))
	ones, n = stalledOf(search)
	require.Equal(t, []string{stallOther}, ones)
	require.Equal(t, len(reasons)+1, n)
	m.ObserveStall(search, controller.StallThrottled)
	ones, n = stalledOf(search)
	require.Equal(t, []string{string(controller.StallThrottled)}, ones)
	require.Equal(t, len(reasons), n)
}

func TestFreshnessNaNIsNotZero(t *testing.T) {
	m, _ := newTestMetrics(t)
	require.True(t, math.IsNaN(testutil.ToFloat64(m.clockOffset)))
	m.ObserveFreshness(controller.Freshness{ClockKnown: true})
	require.Equal(t, 0.0, testutil.ToFloat64(m.clockOffset), "known and in step is 0, not NaN")
}
