package reliability

import (
	"fmt"
	"strings"
)

// Trace is a run's timeline for one function (all when empty): every
// write with Lambda's state before it, every tick's decision and stall
// report, and the violations — what to read when a line of the table is
// not 0.
func (r *Run) Trace(function string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s seed %d: %s\n", r.Scenario.Name, r.Seed, r.Scenario.Doc)
	for _, inst := range r.Instances {
		fmt.Fprintf(&b, "daemon#%d started %s", inst.N, r.offset(inst.Started))
		if !inst.Stopped.IsZero() {
			fmt.Fprintf(&b, ", stopped %s by %s", r.offset(inst.Stopped), inst.How)
		}
		b.WriteByte('\n')
	}
	for _, w := range r.Writes {
		if function == "" || w.Target.Function == function {
			fmt.Fprintf(&b, "write %s %-9s %s %s %d → %s (before: requested %d available %d %s)\n", r.offset(w.Time), w.Caller, w.Target, w.Op,
				w.Value, w.Result, w.Before.Requested, w.Before.Available, w.Before.Status)
		}
	}
	for _, tk := range r.Ticks {
		for _, t := range r.Targets {
			o, ok := tk.Obs[t.ID]
			if !ok || (function != "" && t.ID.Function != function) {
				continue
			}
			d := o.Decision
			fmt.Fprintf(&b, "tick  %s #%d %s %d → %d %s %s (%s) result=%q stall=%q\n", r.offset(tk.Time), tk.Instance, t.ID,
				d.Current, d.Desired, d.Action, d.Reason, d.Detail, o.Result, o.Stall)
		}
	}
	for _, l := range r.Logs {
		if function == "" || strings.HasPrefix(l.Target, function+":") || l.Target == "" {
			fmt.Fprintf(&b, "log   %s #%d %s %s %s %s\n", r.offset(l.Time), l.Instance, l.Level, l.Target, l.Msg, l.Attrs)
		}
	}
	for _, v := range Check(r) {
		fmt.Fprintf(&b, "VIOLATION %s\n", v)
	}
	return b.String()
}
