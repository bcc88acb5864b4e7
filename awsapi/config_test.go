package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// hitServer is a simulator that remembers the User-Agent of every request.
type hitServer struct {
	url string
	mu  sync.Mutex
	ua  []string
}

func (h *hitServer) hits() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ua...)
}

func newHitServer(t *testing.T) *hitServer {
	t.Helper()
	w, err := sim.NewWorld(testScenario(), sim.NewVirtualClock(simStart))
	require.NoError(t, err)
	h := &hitServer{}
	next := sim.NewHandler(w, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.ua = append(h.ua, r.Header.Get("User-Agent"))
		h.mu.Unlock()
		next.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

// isolateAWSEnv gives the SDK's chain static keys and nothing else.
func isolateAWSEnv(t *testing.T) {
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA",
		"AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
}

func TestLoadAWSConfigEndpoints(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		env        map[string]string // values "A"/"B" name the servers
		endpoint   string            // "A", "B" or ""
		lambda, cw string            // which server each service reaches
	}{
		{name: "config endpoint", endpoint: "A", lambda: "A", cw: "A"},
		{name: "AWS_ENDPOINT_URL", env: map[string]string{"AWS_ENDPOINT_URL": "B"}, lambda: "B", cw: "B"},
		{name: "config endpoint beats AWS_ENDPOINT_URL", env: map[string]string{"AWS_ENDPOINT_URL": "B"}, endpoint: "A", lambda: "A", cw: "A"},
		{name: "service variables beat the config endpoint",
			env:      map[string]string{"AWS_ENDPOINT_URL_LAMBDA": "B", "AWS_ENDPOINT_URL_CLOUDWATCH": "B"},
			endpoint: "A", lambda: "B", cw: "B"},
		{name: "one service variable", env: map[string]string{"AWS_ENDPOINT_URL": "A", "AWS_ENDPOINT_URL_LAMBDA": "B"}, lambda: "B", cw: "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWSEnv(t)
			srv := map[string]*hitServer{"A": newHitServer(t), "B": newHitServer(t)}
			for k, v := range tc.env {
				t.Setenv(k, srv[v].url)
			}
			endpoint := ""
			if tc.endpoint != "" {
				endpoint = srv[tc.endpoint].url
			}
			cfg, err := LoadAWSConfig(ctx, "", endpoint)
			require.NoError(t, err)
			require.Equal(t, "eu-west-1", cfg.Region)

			_, err = NewLambda(cfg, 0).GetPC(ctx, controller.TargetID{Function: "checkout", Qualifier: "live"})
			require.NoError(t, err)
			require.Len(t, srv[tc.lambda].hits(), 1)
			require.Contains(t, srv[tc.lambda].hits()[0], "app/"+ReplicaAppID())
			require.Equal(t, ReplicaAppID(), cfg.AppID)

			before := len(srv[tc.cw].hits())
			_, err = cloudwatch.NewFromConfig(cfg).ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
			require.NoError(t, err)
			require.Len(t, srv[tc.cw].hits(), before+1)
		})
	}
}

func TestLoadAWSConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, region, endpoint, want string
	}{
		{name: "relative endpoint", region: "us-east-1", endpoint: "localhost:4566", want: "aws.endpoint"},
		{name: "not a URL", region: "us-east-1", endpoint: "::", want: "aws.endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWSEnv(t)
			_, err := LoadAWSConfig(ctx, tc.region, tc.endpoint)
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("region argument wins", func(t *testing.T) {
		isolateAWSEnv(t)
		cfg, err := LoadAWSConfig(ctx, "ap-south-1", "")
		require.NoError(t, err)
		require.Equal(t, "ap-south-1", cfg.Region)
	})
	t.Run("no region anywhere", func(t *testing.T) {
		isolateAWSEnv(t)
		t.Setenv("AWS_REGION", "")
		t.Setenv("AWS_DEFAULT_REGION", "")
		_, err := LoadAWSConfig(ctx, "", "")
		require.ErrorContains(t, err, "no AWS region")
	})
}

func TestAppIDFor(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		pid        int
		want       string
	}{
		{name: "pod name", host: "pcautoscaler-7d9f8b6c4-x2k9p", pid: 1, want: "pcautoscaler-pcautoscaler-7d9f8b6c4-x2k9p-1"},
		{name: "FQDN keeps the first label", host: "ip-10-0-1-23.ec2.internal", pid: 4242, want: "pcautoscaler-ip-10-0-1-23-4242"},
		{name: "odd characters", host: "my host/ü", pid: 7, want: "pcautoscaler-my-host-7"},
		{name: "no host", host: "", pid: 99, want: "pcautoscaler-99"},
		{name: "only odd characters", host: "///", pid: 3, want: "pcautoscaler-3"},
		{name: "long label keeps its tail", host: strings.Repeat("a", 40) + "-unique1", pid: 1234567,
			want: "pcautoscaler-" + strings.Repeat("a", 21) + "-unique1-1234567"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppIDFor(tc.host, tc.pid)
			require.Equal(t, tc.want, got)
			require.LessOrEqual(t, len(got), MaxAppIDLen)
			require.Regexp(t, `^pcautoscaler(-[A-Za-z0-9_-]+)?-[0-9]+$`, got)
		})
	}
	require.Equal(t, AppIDFor(hostname(t), os.Getpid()), ReplicaAppID())
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	require.NoError(t, err)
	return h
}
