package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/config"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
	"github.com/pcautoscaler/pcautoscaler/sim"
)

// keySeen records the access key of every request a simulated account
// receives (the SigV4 Authorization header's Credential).
type keySeen struct {
	mu   sync.Mutex
	keys map[string]int
}

var credentialRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func (k *keySeen) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			k.mu.Lock()
			k.keys[m[1]]++
			k.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

func (k *keySeen) list() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for key := range k.keys {
		out = append(out, key)
	}
	sort.Strings(out)
	return out
}

// simAccount is one simulated account over HTTP.
func simAccount(t *testing.T, sc *sim.Scenario, start time.Time) (*sim.World, string, *keySeen) {
	t.Helper()
	w, err := sim.NewWorld(sc, sim.NewVirtualClock(start))
	require.NoError(t, err)
	seen := &keySeen{keys: map[string]int{}}
	srv := httptest.NewServer(seen.wrap(sim.NewHandler(w, nil)))
	t.Cleanup(srv.Close)
	return w, srv.URL, seen
}

// TestTwoAccounts: one config, two accounts, two roles assumed through STS
// (moto_server), each account-Region its own simulated Lambda with its own
// budget, loop, discovery and account label.
func TestTwoAccounts(t *testing.T) {
	moto := testenv.MotoEndpoint(t)
	isolateAWS(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", moto) // the daemon's own STS endpoint
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

	prodWorld, prodURL, prodKeys := simAccount(t, &sim.Scenario{Seed: 1, AccountID: "111111111111",
		Functions: []sim.FunctionSpec{{Name: "orders", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}},
			Provisioned: map[string]int{"live": 1}}}}, start)
	stagingWorld, stagingURL, stagingKeys := simAccount(t, &sim.Scenario{Seed: 2, AccountID: "222222222222",
		Functions: []sim.FunctionSpec{
			{Name: "orders", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}, // same name, other account
				Provisioned: map[string]int{"live": 1}, Tags: map[string]string{"pcautoscaler/managed": "true", "pcautoscaler/min": "2"}},
		}}, start)

	cfg, err := config.Parse([]byte(`
region: us-east-1
accounts:
  - name: prod
    role_arn: arn:aws:iam::111111111111:role/pcautoscaler
    external_id: pcautoscaler-prod
    endpoint: "` + prodURL + `"
    lambda_rps: 4
    targets:
      - {function: orders, qualifier: live, min: 3}
  - name: staging
    role_arn: arn:aws:iam::222222222222:role/pcautoscaler-staging
    endpoint: "` + stagingURL + `"
    lambda_rps: 2
    discover: {tags: {pcautoscaler/managed: "true"}, qualifier: live}
`))
	require.NoError(t, err)
	own, err := awsapi.LoadAWSConfig(ctx, cfg.Region, "")
	require.NoError(t, err)
	clk := &jumpClock{now: start}
	fl, err := wireFleet(wireOptions{cfg: cfg, awsCfg: own, logger: slog.New(slog.DiscardHandler), clock: clk,
		serverClock: controller.FixedOffset(0), ctx: ctx}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"prod", "staging"}, fl.names, "no top-level targets: no default account")

	// Each account-Region its own budget.
	prod, staging := fl.daemons[0], fl.daemons[1]
	require.NotSame(t, prod.lambda.Bucket(), staging.lambda.Bucket())
	require.InDelta(t, 4, prod.lambda.Bucket().Rate(), 0)
	require.InDelta(t, 2, staging.lambda.Bucket().Rate(), 0)

	require.NoError(t, fl.preflight(ctx))
	for _, d := range fl.daemons {
		require.NoError(t, d.ctrl.Tick(ctx, clk.Now()))
	}

	// The writes went to each account, from its own targets.
	puts := func(w *sim.World) []string {
		var out []string
		for _, r := range w.WriteLog() {
			out = append(out, r.Function+":"+r.Qualifier+"="+strconv.Itoa(r.Value)+" "+r.Result)
		}
		return out
	}
	require.Equal(t, []string{"orders:live=3 ok"}, puts(prodWorld), "prod: the file's min 3")
	require.Equal(t, []string{"orders:live=2 ok"}, puts(stagingWorld), "staging: found by its tags, min 2")

	// Each account saw one access key, its role's, never the daemon's own.
	pk, sk := prodKeys.list(), stagingKeys.list()
	require.Len(t, pk, 1, "prod: %v", pk)
	require.Len(t, sk, 1, "staging: %v", sk)
	require.NotEqual(t, pk[0], sk[0])
	for _, k := range append(pk, sk...) {
		require.NotEqual(t, "AKIDPCAUTOSCALERTEST", k, "the daemon's own credentials reached an account")
	}
	// STS says whose they are.
	whoami := func(key string) string {
		c := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(moto),
			Credentials: credentials.NewStaticCredentialsProvider(key, "x", "")})
		out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		require.NoError(t, err)
		return aws.ToString(out.Arn)
	}
	require.True(t, strings.HasPrefix(whoami(pk[0]), "arn:aws:sts::111111111111:assumed-role/pcautoscaler/pcautoscaler-"), whoami(pk[0]))
	require.True(t, strings.HasPrefix(whoami(sk[0]), "arn:aws:sts::222222222222:assumed-role/pcautoscaler-staging/pcautoscaler-"), whoami(sk[0]))

	// One registry: every account's series carry its account label, so the
	// two orders:live do not collide; the runtime's series carry none.
	n, err := testutil.GatherAndCount(fl.registry, "pcautoscaler_targets")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, testutil.GatherAndCompare(fl.registry, strings.NewReader(`
# HELP pcautoscaler_pc_desired Provisioned concurrency the last decision wanted (instances).
# TYPE pcautoscaler_pc_desired gauge
pcautoscaler_pc_desired{account="prod",function="orders",qualifier="live"} 3
pcautoscaler_pc_desired{account="staging",function="orders",qualifier="live"} 2
`), "pcautoscaler_pc_desired"))
	families, err := fl.registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			has := false
			for _, l := range m.GetLabel() {
				has = has || l.GetName() == "account"
			}
			if strings.HasPrefix(f.GetName(), "pcautoscaler_") {
				require.True(t, has, "%s without an account label", f.GetName())
			} else {
				require.False(t, has, "%s with an account label", f.GetName())
			}
		}
	}
	require.Greater(t, counterFrom(t, fl, "pcautoscaler_aws_api_calls_total", `account="staging"`, `service="sts"`), 0.0,
		"AssumeRole is observed per account")
	require.NoError(t, fl.ready(), "both loops ticked")
}

// counterFrom sums a family's samples whose labels include all of labels.
func counterFrom(t *testing.T, fl *fleet, name string, labels ...string) float64 {
	t.Helper()
	families, err := fl.registry.Gather()
	require.NoError(t, err)
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
			}
			all := true
			for _, want := range labels {
				all = all && strings.Contains(strings.Join(ls, ","), want)
			}
			if all {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestAccountRoleDenied: a role the daemon may not assume stops the start-up
// with the action and the role named, before any loop runs.
func TestAccountRoleDenied(t *testing.T) {
	isolateAWS(t)
	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
			`<Code>AccessDenied</Code><Message>User: arn:aws:iam::111122223333:user/pcautoscaler is not authorized to perform: ` +
			`sts:AssumeRole on resource: arn:aws:iam::111111111111:role/pcautoscaler</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
	}))
	defer denied.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", denied.URL)
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	world, url, _ := simAccount(t, &sim.Scenario{Seed: 1, AccountID: "111111111111",
		Functions: []sim.FunctionSpec{{Name: "orders", Versions: 1, Aliases: []sim.AliasSpec{{Name: "live", Version: "1"}}}}}, start)
	cfg, err := config.Parse([]byte(`
region: us-east-1
accounts:
  - name: prod
    role_arn: arn:aws:iam::111111111111:role/pcautoscaler
    endpoint: "` + url + `"
    targets: [{function: orders, qualifier: live}]
`))
	require.NoError(t, err)
	own, err := awsapi.LoadAWSConfig(ctx, cfg.Region, "")
	require.NoError(t, err)
	fl, err := wireFleet(wireOptions{cfg: cfg, awsCfg: own, logger: slog.New(slog.DiscardHandler), clock: &jumpClock{now: start},
		serverClock: controller.FixedOffset(0), ctx: ctx}, nil)
	require.NoError(t, err)
	err = fl.preflight(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "account prod: missing IAM permission sts:AssumeRole on arn:aws:iam::111111111111:role/pcautoscaler")
	require.Equal(t, 1, strings.Count(err.Error(), "sts:AssumeRole"), "one line for one cause: %v", err)
	require.Zero(t, world.Stats().APICalls["GetAccountSettings"][sim.CodeOK], "nothing reached the account")
}
