package ha

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// The election's own client: a few requests a retry_period at most, on a
// rate limiter no other caller shares, so a busy API server or a busy
// daemon cannot starve renewals.
const (
	kubeQPS       = 5
	kubeBurst     = 10
	kubeUserAgent = "pcautoscaler-leader-election"
	kubeLockName  = "pcautoscaler"
)

// KubernetesOptions name the Lease object.
type KubernetesOptions struct {
	Namespace string // ha.kubernetes.namespace
	Name      string // ha.kubernetes.name
	// Client, when nil, is built from the in-cluster service account (or
	// $KUBECONFIG outside a cluster) with its own QPS and burst. Tests pass
	// a fake clientset's CoordinationV1().
	Client coordinationv1.LeasesGetter
}

// kubeLease is the kubernetes backend: client-go's leaderelection on a
// Lease lock, wrapped so the gate sees every renewal's outcome.
type kubeLease struct {
	*leadership
	client    coordinationv1.LeasesGetter
	namespace string
	name      string
}

// NewKubernetes returns the kubernetes backend. client-go writes the
// lease's duration in whole seconds: lease_duration must be at least 1s.
func NewKubernetes(o Options, k KubernetesOptions) (Elector, error) {
	var errs []error
	if k.Namespace == "" {
		errs = append(errs, errors.New("ha.kubernetes.namespace is required"))
	}
	if k.Name == "" {
		errs = append(errs, errors.New("ha.kubernetes.name is required"))
	}
	l, err := newLeadership(BackendKubernetes, o)
	errs = append(errs, err)
	if err == nil {
		if t := l.timings; t.LeaseDuration < time.Second {
			errs = append(errs, fmt.Errorf("lease_duration (%s) must be at least 1s: a Lease counts whole seconds", t.LeaseDuration))
		} else if float64(t.RenewDeadline) <= leaderelection.JitterFactor*float64(t.RetryPeriod) {
			errs = append(errs, fmt.Errorf("renew_deadline (%s) must be more than %.1f × retry_period (%s)",
				t.RenewDeadline, leaderelection.JitterFactor, t.RetryPeriod))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	l.log = l.log.With("namespace", k.Namespace, "name", k.Name)
	client := k.Client
	if client == nil {
		cfg, err := kubeConfig()
		if err != nil {
			return nil, err
		}
		c, err := coordinationv1.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
		client = c
	}
	return &kubeLease{leadership: l, client: client, namespace: k.Namespace, name: k.Name}, nil
}

// kubeConfig is the in-cluster config, or $KUBECONFIG's current context,
// with the election's own rate limit.
func kubeConfig() (*rest.Config, error) {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		path := os.Getenv("KUBECONFIG")
		if path == "" {
			return nil, fmt.Errorf("ha.backend kubernetes: not in a cluster (%v) and KUBECONFIG is not set", err)
		}
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("ha.backend kubernetes: KUBECONFIG %s: %w", path, err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = kubeQPS, kubeBurst
	cfg.UserAgent = kubeUserAgent
	return cfg, nil
}

// Preflight reads the Lease once: absent is fine, forbidden is not.
func (k *kubeLease) Preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := k.client.Leases(k.namespace).Get(ctx, k.name, metav1.GetOptions{})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsForbidden(err):
		return fmt.Errorf("RBAC: the service account may not read Lease %s/%s (it needs get, create and update on leases in coordination.k8s.io): %w",
			k.namespace, k.name, err)
	}
	return fmt.Errorf("cannot read the Lease %s/%s: %w", k.namespace, k.name, err)
}

// Run campaigns until ctx ends. client-go's elector returns when it loses
// the lease; a new one then campaigns again as a follower.
func (k *kubeLease) Run(ctx context.Context) error {
	k.log.Info("leader election started", KeyLeaseDuration, k.timings.LeaseDuration.String(),
		KeyRenewDeadline, k.timings.RenewDeadline.String(), KeyRetryPeriod, k.timings.RetryPeriod.String())
	// client-go logs through the context's logger: ours, not klog's global.
	ctx = klog.NewContext(ctx, logr.FromSlogHandler(k.log.With("component", "client-go").Handler()))
	for ctx.Err() == nil {
		tm := &term{}
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: &observedLock{
				Interface: &resourcelock.LeaseLock{
					LeaseMeta: metav1.ObjectMeta{Namespace: k.namespace, Name: k.name},
					Client:    k.client,
					LockConfig: resourcelock.ResourceLockConfig{
						Identity: k.identity,
					},
				},
				k:   k,
				ctx: ctx,
			},
			LeaseDuration:   k.timings.LeaseDuration,
			RenewDeadline:   k.timings.RenewDeadline,
			RetryPeriod:     k.timings.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            kubeLockName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) { k.started(tm) },
				OnStoppedLeading: func() { k.stopped(tm, ctx.Err() != nil) },
				OnNewLeader:      k.observe,
			},
		})
		if err != nil {
			return fmt.Errorf("ha.backend kubernetes: %w", err)
		}
		le.Run(ctx)
	}
	k.log.Info("leader election stopped")
	return nil
}

// term is one client-go elector's life: its callbacks come from different
// goroutines, and a late OnStartedLeading must not revive a term already
// stopped.
type term struct {
	started, stopped bool
}

func (k *kubeLease) started(tm *term) {
	k.mu.Lock()
	if tm.stopped {
		k.mu.Unlock()
		return
	}
	tm.started = true
	k.mu.Unlock()
	k.become(true, "acquired the Lease", false)
}

func (k *kubeLease) stopped(tm *term, shutdown bool) {
	k.mu.Lock()
	tm.stopped = true
	wasStarted := tm.started
	k.mu.Unlock()
	if !wasStarted {
		return
	}
	if shutdown {
		k.become(false, "shutting down: released the Lease", true)
		return
	}
	k.become(false, fmt.Sprintf("could not renew the Lease within renew_deadline (%s)", k.timings.RenewDeadline), false)
}

// observedLock passes every call to the Lease lock and tells the gate
// what each one proves: a renewal of ours that succeeded (stamped with
// when it began), one that failed (the gate closes until the next
// success), a record held by someone else, or our own release (the gate
// closes before it is sent).
type observedLock struct {
	resourcelock.Interface
	k   *kubeLease
	ctx context.Context // Run's: done means shutting down
}

func (o *observedLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := o.Interface.Get(ctx)
	if err == nil && rec != nil && rec.HolderIdentity != o.k.identity && o.k.IsLeader() {
		holder := rec.HolderIdentity
		if holder == "" {
			holder = "nobody"
		}
		o.k.renewFailed(fmt.Errorf("the Lease is held by %s", holder))
	}
	return rec, raw, err
}

func (o *observedLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	start := time.Now()
	err := o.Interface.Create(ctx, ler)
	o.wrote(start, ler, err)
	return err
}

func (o *observedLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	if ler.HolderIdentity != o.k.identity {
		// client-go's release (ReleaseOnCancel, at shutdown or after a
		// renewal failed): stop writing before it is sent.
		o.k.renewFailed(errors.New("releasing the Lease"))
		if o.ctx.Err() != nil {
			o.k.become(false, "shutting down: releasing the Lease", true)
		} else {
			o.k.become(false, fmt.Sprintf("could not renew the Lease within renew_deadline (%s)", o.k.timings.RenewDeadline), false)
		}
	}
	start := time.Now()
	err := o.Interface.Update(ctx, ler)
	o.wrote(start, ler, err)
	return err
}

func (o *observedLock) wrote(start time.Time, ler resourcelock.LeaderElectionRecord, err error) {
	if ler.HolderIdentity != o.k.identity {
		return
	}
	if err != nil {
		o.k.renewFailed(err)
		return
	}
	o.k.renewed(start)
}
