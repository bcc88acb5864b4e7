package awsapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// AppID is sent in every request's User-Agent, so account owners can tell
// pcautoscaler's calls apart in CloudTrail.
const AppID = "pcautoscaler"

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
// resolved lazily by the SDK and never logged here.
func LoadAWSConfig(ctx context.Context, region, endpoint string) (aws.Config, error) {
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
		config.WithAppID(AppID),
		config.WithHTTPClient(httpClient),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
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
