package reliability

import (
	"fmt"
	"sort"
	"strings"
)

// Result is one scenario over its seeds.
type Result struct {
	Scenario   *Scenario
	Seeds      []int64
	Violations [][]Violation // per seed
	Err        []error       // per seed: the scenario could not run
}

// Total is the number of violations over every seed.
func (r Result) Total() int {
	n := 0
	for _, vs := range r.Violations {
		n += len(vs)
	}
	for _, err := range r.Err {
		if err != nil {
			n++
		}
	}
	return n
}

// byInvariant counts violations per invariant over every seed.
func (r Result) byInvariant() string {
	c := map[string]int{}
	for _, vs := range r.Violations {
		for _, v := range vs {
			c[v.Invariant]++
		}
	}
	for _, err := range r.Err {
		if err != nil {
			c["error"]++
		}
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// Table renders results as the Markdown table of RELIABILITY.md: one row
// per scenario, the violations of each seed, the total, and which
// invariants they broke.
func Table(rs []Result) string {
	var b strings.Builder
	b.WriteString("| scenario | seeds | violations per seed | total | broken |\n|---|---|---|---|---|\n")
	sum, runs, clean, scenarios := 0, 0, 0, 0
	for _, r := range rs {
		if r.Scenario == nil {
			continue // not run (filtered out with -run)
		}
		per := make([]string, len(r.Seeds))
		for i := range r.Seeds {
			n := 0
			if i < len(r.Violations) {
				n = len(r.Violations[i])
			}
			if i < len(r.Err) && r.Err[i] != nil {
				per[i] = "err"
				continue
			}
			per[i] = fmt.Sprint(n)
			if n == 0 {
				clean++
			}
		}
		scenarios++
		runs += len(r.Seeds)
		sum += r.Total()
		broken := r.byInvariant()
		if broken == "" {
			broken = "—"
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %s |\n", r.Scenario.Name, len(r.Seeds), strings.Join(per, " "), r.Total(), broken)
	}
	fmt.Fprintf(&b, "| **%d scenarios** | **%d runs** | %d runs clean | **%d** | |\n", scenarios, runs, clean, sum)
	return b.String()
}
