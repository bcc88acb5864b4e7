package ha

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// kubeFast: a Lease counts whole seconds, so 1 s is the shortest lease.
var kubeFast = Timings{LeaseDuration: time.Second, RenewDeadline: 800 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}

type kubeElector struct {
	*running
	reg *prometheus.Registry
}

func newKube(t *testing.T, cs *fake.Clientset, id string, tm Timings) *kubeElector {
	t.Helper()
	logs, logger := newLog()
	reg := prometheus.NewRegistry()
	e, err := NewKubernetes(Options{Identity: id, Timings: tm, Logger: logger, Metrics: NewMetrics(reg)},
		KubernetesOptions{Namespace: "pcautoscaler", Name: "pcautoscaler", Client: cs.CoordinationV1()})
	require.NoError(t, err)
	require.NoError(t, e.Preflight(context.Background()))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s log:\n%s", id, logs.String())
		}
	})
	return &kubeElector{running: start(t, e, logs), reg: reg}
}

func holder(t *testing.T, cs *fake.Clientset) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases("pcautoscaler").Get(context.Background(), "pcautoscaler", metav1.GetOptions{})
	require.NoError(t, err)
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// Two electors on one Lease: one leads; cancelling its context releases
// the Lease (ReleaseOnCancel) and the other takes over at once.
func TestKubernetesTwoElectorsHandOver(t *testing.T) {
	cs := fake.NewClientset()
	slow := Timings{LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newKube(t, cs, "a", slow)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	b := newKube(t, cs, "b", slow)
	s := sample(func() []*running { return []*running{a.running, b.running} }, slow)
	time.Sleep(5 * slow.RetryPeriod)
	require.False(t, b.IsLeader())
	require.NoError(t, a.MayWrite(context.Background()))
	require.ErrorIs(t, b.MayWrite(context.Background()), ErrNotLeader)
	require.ErrorContains(t, b.MayWrite(context.Background()), "held by a")
	require.Equal(t, "a", holder(t, cs))

	stopped := time.Now()
	a.stop(t)
	require.False(t, a.IsLeader())
	require.Error(t, a.MayWrite(context.Background()))
	took := eventually(t, "b takes over", 10*time.Second, b.IsLeader)
	require.Less(t, took.Sub(stopped), slow.LeaseDuration/2, "b waited for expiry: the Lease was not released")
	t.Logf("handover %s after a stopped", took.Sub(stopped).Round(time.Millisecond))
	eventually(t, "b may write", 10*time.Second, func() bool { return b.MayWrite(context.Background()) == nil })
	require.Equal(t, "b", holder(t, cs))
	require.Contains(t, a.logs.String(), "stepped down")
	require.Equal(t, 0.0, testutil.ToFloat64(NewMetrics(a.reg).leader))
	require.Equal(t, 1.0, testutil.ToFloat64(NewMetrics(b.reg).leader))
	s.finish(t)
}

// The leader's renewals fail (the API server refuses its updates): its
// gate closes on the first failure, it steps down at renew_deadline and
// says so at Warn, and the follower takes over after the lease — never
// two writers at once.
func TestKubernetesFailedRenewalStopsWrites(t *testing.T) {
	cs := fake.NewClientset()
	// Reactors are installed before any client runs (the fake's chain is
	// not safe to change while in use); refuse switches this one on.
	var refuse atomic.Bool
	var refused atomic.Int32
	cs.PrependReactor("update", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
		l, ok := action.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if refuse.Load() && ok && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "a" {
			refused.Add(1)
			return true, nil, errors.New("injected: the API server is overloaded")
		}
		return false, nil, nil
	})
	a := newKube(t, cs, "a", kubeFast)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	b := newKube(t, cs, "b", kubeFast)
	s := sample(func() []*running { return []*running{a.running, b.running} }, kubeFast)
	time.Sleep(3 * kubeFast.RetryPeriod)

	refuse.Store(true)
	eventually(t, "a renewal of a's is refused", 10*time.Second, func() bool { return refused.Load() > 0 })
	require.Error(t, a.MayWrite(context.Background()), "the gate closes on the first failed renewal")
	eventually(t, "b takes over", 15*time.Second, b.IsLeader)
	// client-go's own view may lag by a retry period (it is not fenced);
	// the gate closed on the first failure.
	eventually(t, "a steps down", 15*time.Second, func() bool { return !a.IsLeader() })
	require.Error(t, a.MayWrite(context.Background()))
	require.Contains(t, a.logs.String(), `"level":"WARN","msg":"lost the lease`)
	s.finish(t)
	// a goes on as a follower (a new term), not stopped.
	select {
	case err := <-a.done:
		t.Fatalf("a's Run returned after losing the lease: %v", err)
	default:
	}
}

func TestNewKubernetesChecksOptions(t *testing.T) {
	_, err := NewKubernetes(Options{Timings: Timings{LeaseDuration: 600 * time.Millisecond, RenewDeadline: 400 * time.Millisecond,
		RetryPeriod: 100 * time.Millisecond}}, KubernetesOptions{})
	for _, want := range []string{"ha.kubernetes.namespace is required", "ha.kubernetes.name is required",
		"lease_duration (600ms) must be at least 1s"} {
		require.ErrorContains(t, err, want)
	}
	_, err = NewKubernetes(Options{Timings: Timings{LeaseDuration: 15 * time.Second, RenewDeadline: 2 * time.Second,
		RetryPeriod: 1900 * time.Millisecond}}, KubernetesOptions{Namespace: "n", Name: "l", Client: fake.NewClientset().CoordinationV1()})
	require.ErrorContains(t, err, "renew_deadline (2s) must be more than 1.2 × retry_period (1.9s)")
}
