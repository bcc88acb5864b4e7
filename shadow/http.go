package shadow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Path is where the daemon serves the comparison.
const Path = "/shadow"

// DefaultSince is the span of a report without ?since=.
const DefaultSince = 24 * time.Hour

// Named is a Store with its account label ("" for a daemon of one).
type Named struct {
	Account string
	Store   *Store
}

// Handler serves GET /shadow?since=24h: every store's rows (prefixed by
// account when there are several) and one total, as JSON.
func Handler(stores []Named, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		since := DefaultSince
		if v := r.URL.Query().Get("since"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				http.Error(w, fmt.Sprintf("since: want a positive duration such as 24h, got %q", v), http.StatusBadRequest)
				return
			}
			since = d
		}
		rep := Merge(stores, now().Add(-since))
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	})
}

// Merge is one report over several stores.
func Merge(stores []Named, since time.Time) Report {
	out := Report{Since: since.Truncate(time.Hour), Total: Row{Target: "total", Bucket: Bucket{Start: since.Truncate(time.Hour)}}}
	for _, n := range stores {
		rep := n.Store.Report(since)
		if rep.Until.After(out.Until) {
			out.Until = rep.Until
		}
		for _, r := range rep.Rows {
			r.Account = n.Account
			out.Rows = append(out.Rows, r)
		}
		out.Total.Bucket.add(rep.Total.Bucket)
		out.Total.OursNow += rep.Total.OursNow
		out.Total.TheirsNow += rep.Total.TheirsNow
	}
	sort.SliceStable(out.Rows, func(i, j int) bool {
		if out.Rows[i].Account != out.Rows[j].Account {
			return out.Rows[i].Account < out.Rows[j].Account
		}
		return out.Rows[i].Target < out.Rows[j].Target
	})
	return out
}
