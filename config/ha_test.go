package config

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHADefaults(t *testing.T) {
	c, err := Parse([]byte(oneTarget))
	require.NoError(t, err)
	require.Equal(t, HA{
		Backend: "none", LeaseDuration: Duration{15 * time.Second}, RenewDeadline: Duration{10 * time.Second},
		RetryPeriod: Duration{2 * time.Second}, Kubernetes: HAKubernetes{Namespace: "pcautoscaler", Name: "pcautoscaler"},
		DynamoDB: HADynamoDB{Table: "pcautoscaler-leases", Key: "default"},
	}, c.HA)
	require.Equal(t, "none", c.HA.summary())

	c, err = Parse([]byte("ha:\n  backend: dynamodb\n  dynamodb: {table: my-leases}\n  identity: pod-a\n" + oneTarget))
	require.NoError(t, err)
	require.Equal(t, HADynamoDB{Table: "my-leases", Key: "default"}, c.HA.DynamoDB, "key keeps its default")
	require.Equal(t, "dynamodb table=my-leases key=default lease_duration=15s renew_deadline=10s retry_period=2s identity=pod-a",
		c.HA.summary())
}

// Every ha problem at its YAML path and line, with what is allowed.
func TestHAProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{name: "kubernetes with the defaults", yaml: "ha: {backend: kubernetes}\n"},
		{name: "dynamodb, short test timings", yaml: "ha: {backend: dynamodb, lease_duration: 600ms, renew_deadline: 400ms, retry_period: 100ms}\n"},
		{
			name: "unknown backend",
			yaml: "ha:\n  backend: etcd\n",
			want: []string{`ha.backend: "etcd" is not one of none, kubernetes, dynamodb (line 2)`},
		},
		{
			name: "renew_deadline not below lease_duration, retry_period not below renew_deadline",
			yaml: "ha:\n  lease_duration: 10s\n  renew_deadline: 10s\n  retry_period: 20s\n",
			want: []string{
				"ha.renew_deadline: 10s is out of range (0s < value < lease_duration 10s) (line 3)",
				"ha.retry_period: 20s is out of range (50ms <= value < renew_deadline 10s) (line 4)",
			},
		},
		{
			name: "retry_period not below a valid renew_deadline",
			yaml: "ha:\n  renew_deadline: 2s\n  retry_period: 2s\n",
			want: []string{"ha.retry_period: 2s is out of range (50ms <= value < renew_deadline 2s) (line 3)"},
		},
		{
			name: "lease out of range",
			yaml: "ha:\n  lease_duration: 100ms\n  renew_deadline: 50ms\n  retry_period: 10ms\n",
			want: []string{
				"ha.lease_duration: 100ms is out of range (500ms <= value <= 10m) (line 2)",
				"ha.retry_period: 10ms is out of range (50ms <= value < renew_deadline 50ms) (line 4)",
			},
		},
		{
			name: "kubernetes: whole seconds, client-go's jitter, names",
			yaml: "ha:\n  backend: kubernetes\n  lease_duration: 1500ms\n  renew_deadline: 1s\n  retry_period: 900ms\n" +
				"  kubernetes: {namespace: \"\", name: Bad_Name}\n",
			want: []string{
				"ha.lease_duration: 1.5s is not a whole number of seconds (a Kubernetes Lease stores its duration in seconds) (line 3)",
				"ha.retry_period: 900ms is too close to renew_deadline 1s (client-go needs renew_deadline > 1.2 × retry_period) (line 5)",
				"ha.kubernetes.namespace: is required with backend kubernetes (the Lease's namespace) (line 6)",
				`ha.kubernetes.name: "Bad_Name" is not a Lease name (lower-case letters, digits, - and ., at most 253) (line 6)`,
			},
		},
		{
			name: "dynamodb: names required",
			yaml: "ha:\n  backend: dynamodb\n  dynamodb:\n    table: \"\"\n    key: \"\"\n",
			want: []string{
				"ha.dynamodb.table: is required with backend dynamodb (a table with partition key LeaseKey, type S) (line 4)",
				"ha.dynamodb.key: is required with backend dynamodb (the lease item's LeaseKey) (line 5)",
			},
		},
		{
			name: "dynamodb: bad table name; names of the other backend are not checked",
			yaml: "ha:\n  backend: dynamodb\n  dynamodb: {table: \"a b\"}\n  kubernetes: {namespace: \"\"}\n",
			want: []string{`ha.dynamodb.table: "a b" is not a DynamoDB table name (3 to 255 letters, digits, _, - and .) (line 3)`},
		},
		{
			name: "identity",
			yaml: "ha:\n  identity: \" pod\"\n",
			want: []string{`ha.identity: " pod" is not a usable identity (1 to 128 characters, no control characters or surrounding spaces; leave it empty for host name + pid) (line 2)`},
		},
		{
			name: "unknown key in ha",
			yaml: "ha:\n  retry: 2s\n",
			want: []string{`ha.retry: unknown key (allowed: backend, lease_duration, renew_deadline, retry_period, kubernetes, dynamodb, identity) (line 2)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml + oneTarget))
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			var verr *ValidationError
			require.True(t, errors.As(err, &verr), "%v", err)
			var got []string
			for _, p := range verr.Problems {
				got = append(got, p.String())
			}
			require.Equal(t, tc.want, got)
		})
	}
}
