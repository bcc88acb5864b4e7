package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuditPolicyMatchesCode: deploy/iam/audit-policy.json grants exactly
// Actions(), the scopable ones on function ARNs, the others on "*"; and
// LambdaAPI's methods are all in it.
func TestAuditPolicyMatchesCode(t *testing.T) {
	var pol struct {
		Version   string
		Statement []struct {
			Sid      string
			Effect   string
			Action   []string
			Resource any
		}
	}
	data, err := os.ReadFile("../deploy/iam/audit-policy.json")
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&pol))
	got := map[string]bool{} // action → scoped
	for _, st := range pol.Statement {
		require.Equal(t, "Allow", st.Effect)
		scoped := true
		switch r := st.Resource.(type) {
		case string:
			scoped = r != "*"
			if scoped {
				require.True(t, strings.HasPrefix(r, "arn:aws:lambda:"), r)
			}
		case []any:
			for _, x := range r {
				require.True(t, strings.HasPrefix(x.(string), "arn:aws:lambda:"), x)
			}
		}
		for _, a := range st.Action {
			require.NotContains(t, got, a, "granted twice")
			got[a] = scoped
		}
	}
	want := map[string]bool{}
	for _, a := range Actions() {
		want[a.Name] = a.Scopable
	}
	require.Equal(t, want, got)

	// Every Lambda operation the audit calls is an action listed.
	var names []string
	for _, m := range []string{"ListFunctions", "ListAliases", "ListProvisionedConcurrencyConfigs", "GetFunction", "DeleteProvisionedConcurrencyConfig"} {
		names = append(names, "lambda:"+m)
	}
	sort.Strings(names)
	for _, n := range names {
		require.Contains(t, want, n)
	}
}
