package config

import (
	"regexp"
	"strings"
	"time"
	"unicode"
)

// HA is leader election among replicas that share this config: one leads
// and writes, the others run read-only ticks (package ha).
type HA struct {
	Backend       string       `yaml:"backend"`        // none | kubernetes | dynamodb
	LeaseDuration Duration     `yaml:"lease_duration"` // a follower takes over after the lease stood still this long
	RenewDeadline Duration     `yaml:"renew_deadline"` // the leader writes only while renewed within this
	RetryPeriod   Duration     `yaml:"retry_period"`   // how often the leader renews and followers look
	Kubernetes    HAKubernetes `yaml:"kubernetes"`
	DynamoDB      HADynamoDB   `yaml:"dynamodb"`
	Identity      string       `yaml:"identity"` // "" = host name + pid
}

// HAKubernetes names the coordination.k8s.io Lease.
type HAKubernetes struct {
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
}

// HADynamoDB names the lease item: a table with partition key LeaseKey (S).
type HADynamoDB struct {
	Table string `yaml:"table"`
	Key   string `yaml:"key"`
}

// HA backends and defaults (Kubernetes controllers' timings).
const (
	HANone       = "none"
	HAKube       = "kubernetes"
	HADynamo     = "dynamodb"
	DefaultLease = 15 * time.Second
	DefaultRenew = 10 * time.Second
	DefaultRetry = 2 * time.Second
	// Lease bounds: under half a second a scheduling hiccup loses the
	// lease; over ten minutes a dead leader blocks scaling that long.
	MinLeaseDuration = 500 * time.Millisecond
	MaxLeaseDuration = 10 * time.Minute
	MinRetryPeriod   = 50 * time.Millisecond
	// kubeJitter is client-go's leaderelection.JitterFactor: it requires
	// renew_deadline > 1.2 × retry_period.
	kubeJitter     = 1.2
	maxIdentityLen = 128
	maxLeaseKeyLen = 1024
)

// DefaultHA is the ha block of a file without one: a single replica.
func DefaultHA() HA {
	return HA{
		Backend:       HANone,
		LeaseDuration: Duration{DefaultLease},
		RenewDeadline: Duration{DefaultRenew},
		RetryPeriod:   Duration{DefaultRetry},
		Kubernetes:    HAKubernetes{Namespace: "pcautoscaler", Name: "pcautoscaler"},
		DynamoDB:      HADynamoDB{Table: "pcautoscaler-leases", Key: "default"},
	}
}

var (
	dnsLabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	ddbTableRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

func (v *validator) ha(h HA) {
	oneOf(v, "ha.backend", h.Backend, HANone, HAKube, HADynamo)
	lease, renew, retry := h.LeaseDuration.Duration, h.RenewDeadline.Duration, h.RetryPeriod.Duration
	leaseOK := lease >= MinLeaseDuration && lease <= MaxLeaseDuration
	if !leaseOK {
		v.add("ha.lease_duration", "%s is out of range (%s <= value <= %s)", h.LeaseDuration, Duration{MinLeaseDuration}, Duration{MaxLeaseDuration})
	}
	renewOK := renew > 0 && (!leaseOK || renew < lease)
	if !renewOK {
		v.add("ha.renew_deadline", "%s is out of range (0s < value < lease_duration %s)", h.RenewDeadline, h.LeaseDuration)
	}
	if retry < MinRetryPeriod || renew > 0 && retry >= renew {
		v.add("ha.retry_period", "%s is out of range (%s <= value < renew_deadline %s)", h.RetryPeriod, Duration{MinRetryPeriod}, h.RenewDeadline)
	}
	if h.Identity != "" && (len(h.Identity) > maxIdentityLen || strings.IndexFunc(h.Identity, unicode.IsControl) >= 0 || strings.TrimSpace(h.Identity) != h.Identity) {
		v.add("ha.identity", "%q is not a usable identity (1 to %d characters, no control characters or surrounding spaces; leave it empty for host name + pid)",
			h.Identity, maxIdentityLen)
	}
	switch h.Backend {
	case HAKube:
		if leaseOK && lease%time.Second != 0 {
			v.add("ha.lease_duration", "%s is not a whole number of seconds (a Kubernetes Lease stores its duration in seconds)", h.LeaseDuration)
		}
		if renewOK && retry >= MinRetryPeriod && float64(renew) <= kubeJitter*float64(retry) {
			v.add("ha.retry_period", "%s is too close to renew_deadline %s (client-go needs renew_deadline > 1.2 × retry_period)", h.RetryPeriod, h.RenewDeadline)
		}
		switch n := h.Kubernetes.Namespace; {
		case n == "":
			v.add("ha.kubernetes.namespace", "is required with backend kubernetes (the Lease's namespace)")
		case len(n) > 63 || !dnsLabelRE.MatchString(n):
			v.add("ha.kubernetes.namespace", "%q is not a namespace name (lower-case letters, digits and -, at most 63)", n)
		}
		switch n := h.Kubernetes.Name; {
		case n == "":
			v.add("ha.kubernetes.name", "is required with backend kubernetes (the Lease's name)")
		case len(n) > 253 || !dnsSubdomainRE.MatchString(n):
			v.add("ha.kubernetes.name", "%q is not a Lease name (lower-case letters, digits, - and ., at most 253)", n)
		}
	case HADynamo:
		switch t := h.DynamoDB.Table; {
		case t == "":
			v.add("ha.dynamodb.table", "is required with backend dynamodb (a table with partition key LeaseKey, type S)")
		case !ddbTableRE.MatchString(t):
			v.add("ha.dynamodb.table", "%q is not a DynamoDB table name (3 to 255 letters, digits, _, - and .)", t)
		}
		switch k := h.DynamoDB.Key; {
		case k == "":
			v.add("ha.dynamodb.key", "is required with backend dynamodb (the lease item's LeaseKey)")
		case len(k) > maxLeaseKeyLen:
			v.add("ha.dynamodb.key", "is too long (at most %d bytes)", maxLeaseKeyLen)
		}
	}
}

// summary renders the block for the start-up line: the backend, its lease
// and timings ("none" alone when there is no election).
func (h HA) summary() string {
	var where string
	switch h.Backend {
	case HAKube:
		where = " lease=" + h.Kubernetes.Namespace + "/" + h.Kubernetes.Name
	case HADynamo:
		where = " table=" + h.DynamoDB.Table + " key=" + h.DynamoDB.Key
	default:
		return h.Backend
	}
	s := h.Backend + where + " lease_duration=" + h.LeaseDuration.String() + " renew_deadline=" + h.RenewDeadline.String() +
		" retry_period=" + h.RetryPeriod.String()
	if h.Identity != "" {
		s += " identity=" + h.Identity
	}
	return s
}
