package sim

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/stretchr/testify/require"
)

// httpTestStart is the virtual time every HTTP test world starts at.
var httpTestStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// httpTestScenario: checkout-api has PC on alias live (version 2) and on
// version 1, a weighted alias canary, no reserved concurrency, and tags;
// capped has reserved concurrency 20. Unreserved = 1000 − 20 = 980.
const httpTestScenario = `
seed: 7
functions:
  - name: checkout-api
    memory_mb: 1024
    versions: 3
    aliases:
      - {name: live, version: "2"}
      - {name: canary, version: "2", routing: {"3": 0.1}}
    provisioned: {live: 10, "1": 5}
    tags: {pcautoscaler: "on", team: pay}
  - name: capped
    reserved: 20
    versions: 2
    aliases: [{name: live, version: "1"}]
  - {name: fn-a}
  - {name: fn-b, tags: {pcautoscaler: "off"}}
  - {name: fn-c}
`

// simServer is a World behind NewHandler on a loopback httptest server.
type simServer struct {
	world *World
	clock *VirtualClock
	url   string
	logs  *syncBuffer
}

// newSimServer starts a server for scenario YAML (httpTestScenario when "").
func newSimServer(t *testing.T, scenario string) *simServer {
	t.Helper()
	return newSimServerAt(t, scenario, httpTestStart)
}

// newSimServerAt is newSimServer with the world's clock starting at start.
func newSimServerAt(t *testing.T, scenario string, start time.Time) *simServer {
	t.Helper()
	if scenario == "" {
		scenario = httpTestScenario
	}
	sc, err := ParseScenario([]byte(scenario))
	require.NoError(t, err)
	clk := NewVirtualClock(start)
	w, err := NewWorld(sc, clk)
	require.NoError(t, err)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(NewHandler(w, logger))
	t.Cleanup(srv.Close)
	return &simServer{world: w, clock: clk, url: srv.URL, logs: logs}
}

func (s *simServer) awsConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		// One attempt: the tests look at each answer, not at the retryer.
		RetryMaxAttempts: 1,
	}
}

func (s *simServer) lambda() *lambda.Client {
	return lambda.NewFromConfig(s.awsConfig(), func(o *lambda.Options) { o.BaseEndpoint = aws.String(s.url) })
}

// CloudWatch client protocols: the SDK default, and the two the daemon's
// aws.cloudwatch_protocol can select.
const (
	cwProtoCBOR  = "cbor"
	cwProtoJSON  = "json"
	cwProtoQuery = "query"
)

func (s *simServer) cloudwatch(protocol string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(s.awsConfig(), func(o *cloudwatch.Options) {
		o.BaseEndpoint = aws.String(s.url)
		switch protocol {
		case cwProtoJSON:
			o.Protocol = awsjson.New10(schemas.GraniteServiceVersion20100801)
		case cwProtoQuery:
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	})
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
