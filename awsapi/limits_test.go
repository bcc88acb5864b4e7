package awsapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
)

// listLambda answers ListProvisionedConcurrencyConfigs with one qualifier
// per page, page(marker) naming it and the next marker; everything else the
// way a Limits read needs it.
func listLambda(t *testing.T, page func(marker string) (qualifier, next string), lists *atomic.Int64) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Query().Get("List") == "ALL":
			lists.Add(1)
			q, next := page(r.URL.Query().Get("Marker"))
			nm := ""
			if next != "" {
				nm = fmt.Sprintf(`,"NextMarker":%q`, next)
			}
			fmt.Fprintf(w, `{"ProvisionedConcurrencyConfigs":[{"FunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f:%s","RequestedProvisionedConcurrentExecutions":10}]%s}`, q, nm)
		case strings.Contains(r.URL.Path, "account-settings"):
			fmt.Fprint(w, `{"AccountLimit":{"ConcurrentExecutions":1000,"UnreservedConcurrentExecutions":900}}`)
		case strings.Contains(r.URL.Path, "/aliases/"):
			fmt.Fprint(w, `{"FunctionVersion":"3","Name":"live"}`)
		default: // GetFunction
			fmt.Fprint(w, `{"Concurrency":{"ReservedConcurrentExecutions":200},"Configuration":{"MemorySize":128}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestOtherPCPagination: the other qualifiers' PC lowers a target's
// effective max, so a listing that does not end cleanly is an error, never
// an inflated sum (a cycling marker summed 100 pages: OtherPC 1010 instead
// of 10 drove a busy target to 1).
func TestOtherPCPagination(t *testing.T) {
	id := controller.TargetID{Function: "f", Qualifier: "live"}
	for _, tc := range []struct {
		name      string
		page      func(marker string) (string, string)
		other     int
		wantErr   bool
		wantLists int64 // List calls made (0: not checked)
	}{
		{name: "three pages, own qualifier left out", page: func(m string) (string, string) {
			switch m {
			case "":
				return "blue", "m1"
			case "m1":
				return "live", "m2"
			}
			return "green", ""
		}, other: 20, wantLists: 3},
		{name: "a qualifier listed twice counts once", page: func(m string) (string, string) {
			if m == "" {
				return "blue", "m1"
			}
			return "blue", ""
		}, other: 10, wantLists: 2},
		{name: "server ignores Marker", page: func(string) (string, string) { return "blue", "A" }, wantErr: true, wantLists: 2},
		{name: "marker cycles", page: func(m string) (string, string) {
			if m == "A" {
				return "green", "B"
			}
			return "blue", "A"
		}, wantErr: true, wantLists: 3},
		{name: "never ends", page: func(m string) (string, string) { return "blue", m + "x" }, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lists atomic.Int64
			l := newTestLambda(testAWSConfig(listLambda(t, tc.page, &lists)), 1000, &stepClock{now: simStart}, &recorder{})
			lim, err := l.Limits(context.Background(), id)
			require.LessOrEqual(t, lists.Load(), int64(maxListPages))
			if tc.wantLists > 0 {
				require.Equal(t, tc.wantLists, lists.Load(), "a repeated marker is seen at once")
			}
			if tc.wantErr {
				require.Error(t, err)
				require.Equal(t, ClassServer, Classify(err))
				require.Contains(t, err.Error(), "other qualifiers' PC unknown")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.other, lim.OtherPC)
			require.Equal(t, int(tc.wantLists)+1, l.LimitsCalls(id)) // the pages and GetAlias
		})
	}
}
