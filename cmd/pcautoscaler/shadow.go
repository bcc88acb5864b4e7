package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/metrics"
	"github.com/pcautoscaler/pcautoscaler/shadow"
	"github.com/pcautoscaler/pcautoscaler/telemetry"
)

// shadowWrap gives the controller its ports: the real ones, or in mode
// shadow a store that writes nothing and a metric source that books every
// minute against ours and theirs (shadow package). sh is nil outside
// shadow mode.
func shadowWrap(cfg *config.Config, lam *awsapi.Lambda, src *metrics.Source, clock controller.Clock) (controller.PCStore, controller.MetricSource, *shadow.Store) {
	if cfg.Mode != config.ModeShadow {
		return lam, src, nil
	}
	sh := shadow.New(lam, shadow.Options{Clock: clock})
	return sh, shadow.NewMetrics(src, sh), sh
}

// keyMode marks the controller's lines in mode shadow: its "scaled" lines
// are what it would have done, nothing was written.
const keyMode = "mode"

// shadowLogger is the controller's logger: with mode=shadow on every line
// in shadow mode.
func shadowLogger(cfg *config.Config, l *slog.Logger) *slog.Logger {
	if cfg.Mode != config.ModeShadow || l == nil {
		return l
	}
	return l.With(keyMode, config.ModeShadow)
}

// mountShadow serves /shadow next to the telemetry handler when any loop
// of the fleet runs in shadow mode, and registers each loop's shadow
// series (pcautoscaler_shadow_*, labelled account= as the loop's others).
func mountShadow(f *fleet, h http.Handler, now func() time.Time) http.Handler {
	var stores []shadow.Named
	for i, d := range f.daemons {
		if d.shadow == nil {
			continue
		}
		stores = append(stores, shadow.Named{Account: f.names[i], Store: d.shadow})
		var reg prometheus.Registerer = f.registry
		if f.names[i] != "" {
			reg = prometheus.WrapRegistererWith(prometheus.Labels{telemetry.LabelAccount: f.names[i]}, f.registry)
		}
		// Registered once per process (run calls this once); a second
		// registration would only repeat the same series.
		_ = reg.Register(shadow.NewCollector(d.shadow))
	}
	if len(stores) == 0 {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle(shadow.Path, shadow.Handler(stores, now))
	mux.Handle("/", h)
	return mux
}

// cmdShadowReport prints a shadow-mode daemon's comparison: per target and
// in total, PC-hours, spillover and cost of ours (what the daemon would
// have set) and theirs (what the current controller did set).
func cmdShadowReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shadow-report", flag.ContinueOnError)
	since := fs.Duration("since", shadow.DefaultSince, "report the hours since this long ago (whole hours)")
	u := fs.String("url", "http://127.0.0.1:9102"+shadow.Path, "the shadow-mode daemon's `URL` of /shadow")
	price := fs.Float64("price", 0.0000041667, "PC price in USD per GB-second, for the cost columns (pricing.pc_price_per_gb_second)")
	asJSON := fs.Bool("json", false, "print the daemon's JSON as it is")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *since <= 0 {
		fmt.Fprintln(stderr, "shadow-report: --since must be positive")
		return exitUsage
	}
	q, err := url.Parse(*u)
	if err != nil {
		fmt.Fprintf(stderr, "shadow-report: --url: %v\n", err)
		return exitUsage
	}
	v := q.Query()
	v.Set("since", since.String())
	q.RawQuery = v.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.String(), nil)
	if err != nil {
		fmt.Fprintf(stderr, "shadow-report: %v\n", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "shadow-report: %v (is the daemon running with mode: shadow?)\n", err)
		return exitRuntime
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "shadow-report: reading %s's answer: %v\n", q.Redacted(), err)
		return exitRuntime
	case resp.StatusCode == http.StatusNotFound:
		fmt.Fprintf(stderr, "shadow-report: %s answered %s (is the daemon running with mode: shadow?)\n", q.Redacted(), resp.Status)
		return exitRuntime
	case resp.StatusCode != http.StatusOK:
		fmt.Fprintf(stderr, "shadow-report: %s answered %s: %s\n", q.Redacted(), resp.Status, bytes.TrimSpace(body))
		return exitRuntime
	}
	if *asJSON {
		_, _ = stdout.Write(body)
		return exitOK
	}
	var rep shadow.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		fmt.Fprintf(stderr, "shadow-report: not a shadow report: %v\n", err)
		return exitRuntime
	}
	writeShadowReport(stdout, rep, *price)
	return exitOK
}

func writeShadowReport(w io.Writer, rep shadow.Report, price float64) {
	fmt.Fprintf(w, "shadow comparison %s – %s (ours: what pcautoscaler would have set; theirs: what was set)\n\n",
		rep.Since.UTC().Format(time.RFC3339), rep.Until.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tminutes\tpc-hours ours\ttheirs\tspillover ours\ttheirs\tcost ours\ttheirs\tpc now ours\ttheirs\t")
	row := func(r shadow.Row) {
		name := r.Target
		if r.Account != "" {
			name = r.Account + "/" + name
		}
		cost := func(pcSeconds float64) string {
			if r.MemoryMB <= 0 {
				return "-"
			}
			return fmt.Sprintf("$%.2f", pcSeconds*float64(r.MemoryMB)/1024*price)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.0f\t%.0f\t%s\t%s\t%d\t%d\t\n", name, r.Minutes,
			r.Ours.PCSeconds/3600, r.Theirs.PCSeconds/3600, r.Ours.Spillover, r.Theirs.Spillover,
			cost(r.Ours.PCSeconds), cost(r.Theirs.PCSeconds), r.OursNow, r.TheirsNow)
	}
	var oursCost, theirsCost float64
	costKnown := true
	for _, r := range rep.Rows {
		row(r)
		if r.MemoryMB <= 0 {
			costKnown = false
		}
		gb := float64(r.MemoryMB) / 1024
		oursCost += r.Ours.PCSeconds * gb * price
		theirsCost += r.Theirs.PCSeconds * gb * price
	}
	t := rep.Total
	ct := func(v float64) string {
		if !costKnown || len(rep.Rows) == 0 {
			return "-"
		}
		return fmt.Sprintf("$%.2f", v)
	}
	fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.0f\t%.0f\t%s\t%s\t%d\t%d\t\n", "total", t.Minutes,
		t.Ours.PCSeconds/3600, t.Theirs.PCSeconds/3600, t.Ours.Spillover, t.Theirs.Spillover,
		ct(oursCost), ct(theirsCost), t.OursNow, t.TheirsNow)
	_ = tw.Flush()
	unit := "invocations (theirs: Lambda's own count; ours: estimated)"
	if !t.HasMeasured && t.Minutes > 0 {
		unit = "concurrency above PC summed over minutes (aws.cloudwatch_metrics full reads invocations and counts them instead)"
	}
	fmt.Fprintf(w, "\nspillover: %s\n", unit)
}
