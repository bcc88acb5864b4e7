package awsapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// AppID is sent in every request's User-Agent (app/…), so account owners
// can tell pcautoscaler's calls apart in CloudTrail. LoadAWSConfig sends
// ReplicaAppID, which starts with it.
const AppID = "pcautoscaler"

// MaxAppIDLen is the SDKs' limit for an application ID (sdk_ua_app_id).
const MaxAppIDLen = 50

// ReplicaAppID is AppID plus this process's host name and PID
// (AppIDFor(os.Hostname(), os.Getpid())): two daemons writing the same
// account are told apart in CloudTrail and in the simulator's write log.
func ReplicaAppID() string {
	host, _ := os.Hostname()
	return AppIDFor(host, os.Getpid())
}

// AppIDFor builds "pcautoscaler-<host>-<pid>" within MaxAppIDLen: the host
// name's first DNS label (a pod name, ip-10-0-1-23), characters other than
// letters, digits, '_' and '-' replaced by '-', and a label too long
// for the limit cut from the front, since pod names end in their unique
// part. No host gives "pcautoscaler-<pid>".
func AppIDFor(host string, pid int) string {
	suffix := "-" + strconv.Itoa(pid)
	label, _, _ := strings.Cut(host, ".")
	label = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '-'
	}, label)
	label = strings.Trim(label, "-")
	if room := MaxAppIDLen - len(AppID) - 1 - len(suffix); len(label) > room {
		label = strings.TrimLeft(label[len(label)-max(room, 0):], "-")
	}
	if label == "" {
		return AppID + suffix
	}
	return AppID + "-" + label + suffix
}

// HTTP timeouts: an AWS control-plane answer takes well under a second; a
// call hanging much longer than that is better failed and retried next tick.
const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 5 * time.Second
	responseHeaderTimeout = 20 * time.Second
	requestTimeout        = 30 * time.Second
)

// LoadAWSConfig loads the SDK's standard chain (environment, shared files,
// SSO, web identity, container and instance roles) for both clients.
//
// region overrides the chain's region when not empty. endpoint (config
// aws.endpoint) sends both services to one URL, e.g. `pcautoscaler sim`.
// Endpoint precedence, most specific first: AWS_ENDPOINT_URL_LAMBDA /
// AWS_ENDPOINT_URL_CLOUDWATCH (and their shared-config equivalents), then
// endpoint, then AWS_ENDPOINT_URL, then AWS's own endpoints. Credentials are
// resolved lazily by the SDK and never logged here. The config's AppID is
// ReplicaAppID. extra options apply last (the daemon's config.WithLogger,
// so the SDK's own lines while loading the chain go through its logger).
func LoadAWSConfig(ctx context.Context, region, endpoint string, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err != nil || u.Scheme == "" || u.Host == "" {
			return aws.Config{}, fmt.Errorf("aws.endpoint: %q is not an absolute URL (want e.g. http://127.0.0.1:4566)", endpoint)
		}
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(requestTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = tlsHandshakeTimeout
			t.ResponseHeaderTimeout = responseHeaderTimeout
		})
	opts := []func(*config.LoadOptions) error{
		config.WithAppID(ReplicaAppID()),
		config.WithHTTPClient(httpClient),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	opts = append(opts, extra...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("no AWS region: set region in the config file, AWS_REGION, or a profile's region")
	}
	return cfg, nil
}
