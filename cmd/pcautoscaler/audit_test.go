package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/sim"
)

// auditScenario plants leftover PC next to configs that are in use:
//
//	svc:live    managed, invoked                      kept
//	svc:1       a version no alias points to          listed
//	svc:3       canary's weighted version              kept (traffic goes there)
//	svc:beta    an alias nothing manages, never invoked listed (both reasons)
//	other:1     a version no alias points to          listed with --all
//	other:prod  an alias nothing manages, invoked      listed with --all
const auditScenario = `
functions:
  - name: svc
    memory_mb: 1024
    versions: 5
    aliases:
      - {name: live, version: "5"}
      - {name: beta, version: "4"}
      - {name: canary, version: "5", routing: {"3": 0.1}}
    provisioned: {live: 10, "1": 4, "3": 2, beta: 3}
    loads:
      - {qualifier: live, kind: constant, duration_ms: 200, rate: 600}
  - name: other
    memory_mb: 512
    reserved: 50
    versions: 2
    aliases: [{name: prod, version: "2"}]
    provisioned: {"1": 5, prod: 2}
    loads:
      - {qualifier: prod, kind: constant, duration_ms: 200, rate: 60}
`

// auditWorld serves the scenario over HTTP, two simulated hours old (so
// the live aliases have invocations in CloudWatch), and returns a config
// file managing svc:live on it.
func auditWorld(t *testing.T) (*sim.World, string) {
	t.Helper()
	isolateAWS(t)
	sc, err := sim.ParseScenario([]byte(auditScenario))
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Minute)
	clk := sim.NewVirtualClock(now.Add(-2 * time.Hour))
	w, err := sim.NewWorld(sc, clk)
	require.NoError(t, err)
	clk.Set(now)
	w.AdvanceTo(now)
	srv := httptest.NewServer(simMux(w, clk, 1, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte("aws: {endpoint: \""+srv.URL+"\"}\n"+
		"targets:\n  - {function: svc, qualifier: live, min: 1, max: 50}\n"), 0o600))
	return w, path
}

func configsLeft(t *testing.T, w *sim.World, endpoint string) []string {
	t.Helper()
	c := lambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
	var out []string
	for _, fn := range []string{"svc", "other"} {
		res, err := c.ListProvisionedConcurrencyConfigs(context.Background(), &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String(fn)})
		require.NoError(t, err)
		for _, pc := range res.ProvisionedConcurrencyConfigs {
			arn := aws.ToString(pc.FunctionArn)
			out = append(out, fn+":"+arn[strings.LastIndex(arn, ":")+1:])
		}
	}
	sort.Strings(out)
	return out
}

func listed(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.Contains(f[0], ":") {
			out = append(out, f[0])
		}
	}
	return out
}

func TestAuditSimulator(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantList []string
		wantLeft []string // configs left afterwards
		contains []string
	}{
		{
			name: "managed functions, dry", args: nil, wantCode: exitFound,
			wantList: []string{"svc:1", "svc:beta"},
			wantLeft: []string{"other:1", "other:prod", "svc:1", "svc:3", "svc:beta", "svc:live"},
			contains: []string{"version_without_alias", "alias_not_managed, no_invocations", "dry run: nothing deleted",
				"4 of account unreserved pool", "$43.80"}, // 4 × 1 GB × 0.0000041667 × 730 h
		},
		{
			name: "--all, dry", args: []string{"--all"}, wantCode: exitFound,
			wantList: []string{"other:1", "other:prod", "svc:1", "svc:beta"},
			wantLeft: []string{"other:1", "other:prod", "svc:1", "svc:3", "svc:beta", "svc:live"},
			contains: []string{"5 of reserved 50"},
		},
		{
			name: "--delete answered no", args: []string{"--delete"}, stdin: "n\n", wantCode: exitFound,
			wantList: []string{"svc:1", "svc:beta"},
			wantLeft: []string{"other:1", "other:prod", "svc:1", "svc:3", "svc:beta", "svc:live"},
			contains: []string{"delete these 2 configs? [y/N]", "nothing deleted"},
		},
		{
			name: "--delete --yes removes only the listed", args: []string{"--delete", "--yes"}, wantCode: exitOK,
			wantList: []string{"svc:1", "svc:beta"},
			wantLeft: []string{"other:1", "other:prod", "svc:3", "svc:live"},
			contains: []string{"deleted 2 configs"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, path := auditWorld(t)
			var stdout, stderr bytes.Buffer
			code := auditWith(append([]string{"--config", path}, tc.args...), strings.NewReader(tc.stdin), &stdout, &stderr)
			require.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			t.Logf("audit %s:\n%s%s", strings.Join(tc.args, " "), stdout.String(), stderr.String())
			require.Equal(t, tc.wantList, listed(stdout.String()), stdout.String())
			for _, s := range tc.contains {
				require.Contains(t, stdout.String(), s)
			}
			cfgData, err := os.ReadFile(path)
			require.NoError(t, err)
			endpoint := strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(string(cfgData), "\n", 2)[0], "aws: {endpoint: \""), "\"}")
			require.Equal(t, tc.wantLeft, configsLeft(t, w, endpoint))
		})
	}

	t.Run("clean after the deletion", func(t *testing.T) {
		_, path := auditWorld(t)
		var stdout, stderr bytes.Buffer
		require.Equal(t, exitOK, auditWith([]string{"--config", path, "--delete", "--yes"}, strings.NewReader(""), &stdout, &stderr), stderr.String())
		stdout.Reset()
		require.Equal(t, exitOK, auditWith([]string{"--config", path}, strings.NewReader(""), &stdout, &stderr), stderr.String())
		require.Contains(t, stdout.String(), "no leftover provisioned concurrency")
	})
}
