package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
	"github.com/pcautoscaler/pcautoscaler/controller"
	"github.com/pcautoscaler/pcautoscaler/internal/testenv"
)

// motoDynamoDB is a real aws-sdk-go-v2 DynamoDB client on moto_server,
// with explicit test credentials and a loopback-only HTTP client, and a
// fresh table (partition key LeaseKey, S) for this test.
func motoDynamoDB(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	testenv.IsolateAWS(t)
	ep := testenv.MotoEndpoint(t)
	client := dynamodb.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPCAUTOSCALERTEST", "pcautoscaler-test-secret", ""),
		BaseEndpoint: aws.String(ep),
		HTTPClient:   testenv.LoopbackHTTPClient(t),
	})
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "pcautoscaler-leases-" + hex.EncodeToString(b[:])
	ctx := context.Background()
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrLeaseKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrLeaseKey), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	require.NoError(t, err, "create table on moto")
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	return client, table
}

// motoSerial serialises the tests' calls to moto_server: its conditional
// writes are not atomic under concurrent requests (measured here: two of
// three simultaneous PutItem attribute_not_exists calls both succeeded
// once in 300 tries), DynamoDB's are. The tests check our protocol, not
// moto's threading.
var motoSerial sync.Mutex

type ddbElector struct {
	*running
	api *faultyDynamoDB
	reg *prometheus.Registry
}

func newDDB(t *testing.T, client DynamoDBAPI, table, id string, tm Timings) *ddbElector {
	t.Helper()
	logs, logger := newLog()
	api := &faultyDynamoDB{DynamoDBAPI: client}
	reg := prometheus.NewRegistry()
	e, err := NewDynamoDB(Options{Identity: id, Timings: tm, Logger: logger, Metrics: NewMetrics(reg)},
		DynamoDBOptions{Table: table, Key: "default", Client: api})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s log:\n%s", id, logs.String())
		}
	})
	return &ddbElector{running: start(t, e, logs), api: api, reg: reg}
}

func runningOf(es ...*ddbElector) func() []*running {
	return func() []*running {
		out := make([]*running, len(es))
		for i, e := range es {
			out[i] = e.running
		}
		return out
	}
}

func item(t *testing.T, client *dynamodb.Client, table string) (leaseRecord, bool) {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: map[string]types.AttributeValue{AttrLeaseKey: str("default")},
		ConsistentRead: aws.Bool(true),
	})
	require.NoError(t, err)
	if out.Item == nil {
		return leaseRecord{}, false
	}
	return parseRecord(out.Item), true
}

func TestDynamoDBSingleElectorLeads(t *testing.T) {
	client, table := motoDynamoDB(t)
	// A long renew deadline: a slow moto on a busy machine must not make a
	// step down (the change count is asserted).
	tm := Timings{LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newDDB(t, client, table, "a", tm)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	require.NoError(t, a.MayWrite(context.Background()))
	require.Equal(t, 1.0, testutil.ToFloat64(NewMetrics(a.reg).leader))
	require.Equal(t, 1.0, testutil.ToFloat64(NewMetrics(a.reg).changes))

	rec, ok := item(t, client, table)
	require.True(t, ok)
	require.Equal(t, "a", rec.owner)
	require.Equal(t, tm.LeaseDuration, rec.lease)
	// The version changes on every renewal.
	eventually(t, "a renews (new version)", 10*time.Second, func() bool {
		now, _ := item(t, client, table)
		return now.version != rec.version && now.owner == "a"
	})

	a.stop(t)
	require.ErrorIs(t, a.MayWrite(context.Background()), ErrNotLeader)
	require.False(t, a.IsLeader())
	_, ok = item(t, client, table)
	require.False(t, ok, "released at shutdown: the item is deleted")
	require.Equal(t, 0.0, testutil.ToFloat64(NewMetrics(a.reg).leader))
	require.Contains(t, a.logs.String(), "released the lease")
}

// Two and three electors on one item: at no sampled instant can two write,
// while leaders come and go (release on cancel, replacements start).
func TestDynamoDBAtMostOneWriter(t *testing.T) {
	client, table := motoDynamoDB(t)
	var mu sync.Mutex
	es := []*ddbElector{newDDB(t, client, table, "e0", fast), newDDB(t, client, table, "e1", fast), newDDB(t, client, table, "e2", fast)}
	current := func() []*running {
		mu.Lock()
		defer mu.Unlock()
		return runningOf(es...)()
	}
	s := sample(current, fast)
	leaders := map[string]bool{}
	for round := 0; round < 6; round++ {
		var leader *ddbElector
		eventually(t, "someone leads", 15*time.Second, func() bool {
			for _, e := range current() {
				if e.IsLeader() {
					mu.Lock()
					for _, d := range es {
						if d.running == e {
							leader = d
						}
					}
					mu.Unlock()
					return true
				}
			}
			return false
		})
		leaders[leader.Identity()] = true
		time.Sleep(2 * fast.RetryPeriod) // a few renewals
		leader.stop(t)
		mu.Lock()
		for i, e := range es {
			if e == leader {
				es[i] = newDDB(t, client, table, "r"+string(rune('0'+round)), fast)
			}
		}
		mu.Unlock()
	}
	s.finish(t)
	require.GreaterOrEqual(t, len(leaders), 6, "every round had a new leader: %v", leaders)
}

// The leader stops renewing (its calls hang, as in a pause): the follower
// takes over no sooner than a whole lease after the leader's last renewal
// began; the leader's gate closed renew_deadline after it, before the
// takeover; resuming, its stale renewal fails the condition and it stays
// a follower without its gate ever opening.
func TestDynamoDBPausedLeaderLosesAndCannotWrite(t *testing.T) {
	client, table := motoDynamoDB(t)
	// Short, but with room for a slow moto: b must not take over before
	// the pause.
	fast := Timings{LeaseDuration: 1500 * time.Millisecond, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newDDB(t, client, table, "a", fast)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	b := newDDB(t, client, table, "b", fast)
	s := sample(runningOf(a, b), fast)
	time.Sleep(3 * fast.RetryPeriod)
	require.False(t, b.IsLeader())

	a.api.pause()
	took := eventually(t, "b takes over", 10*time.Second, b.IsLeader)
	require.Error(t, a.MayWrite(context.Background()), "a's gate is closed when b takes over")
	lastRenew := a.api.lastUpdateStart() // paused calls record nothing
	require.GreaterOrEqual(t, took.Sub(lastRenew), fast.LeaseDuration,
		"b took over sooner than a lease after a's last renewal began")
	t.Logf("takeover %s after a's last renewal began (lease %s)", took.Sub(lastRenew).Round(time.Millisecond), fast.LeaseDuration)

	// a is resumed: its hung renewal goes out late, on the old version.
	var opened atomic.Bool
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			if a.MayWrite(context.Background()) == nil {
				opened.Store(true)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	a.api.resume()
	eventually(t, "a's late renewal is refused", 10*time.Second, func() bool { return a.api.conditionFailures() > 0 })
	time.Sleep(5 * fast.RetryPeriod)
	close(stopWatch)
	<-watched
	require.False(t, opened.Load(), "a's gate opened after it resumed")
	require.False(t, a.IsLeader())
	require.True(t, b.IsLeader())
	require.Contains(t, a.logs.String(), "lost the lease")
	s.finish(t)
	rec, _ := item(t, client, table)
	require.Equal(t, "b", rec.owner)
}

// Release on cancel: the follower acquires at its next look, long before
// the (here 30 s) lease would have expired.
func TestDynamoDBReleaseOnCancelHandsOver(t *testing.T) {
	client, table := motoDynamoDB(t)
	slow := Timings{LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newDDB(t, client, table, "a", slow)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	b := newDDB(t, client, table, "b", slow)
	time.Sleep(3 * slow.RetryPeriod)
	require.False(t, b.IsLeader())
	stopped := time.Now()
	a.stop(t)
	took := eventually(t, "b acquires the released lease", 10*time.Second, b.IsLeader)
	require.Less(t, took.Sub(stopped), slow.LeaseDuration/2, "b waited for the lease to expire: the release did not happen")
	t.Logf("handover %s after a stopped", took.Sub(stopped).Round(time.Millisecond))
	require.NoError(t, b.MayWrite(context.Background()))
}

// One failed renewal closes the gate at once, before renew_deadline; the
// next success opens it again without a change of leadership.
func TestDynamoDBFailedRenewalClosesGateAtOnce(t *testing.T) {
	client, table := motoDynamoDB(t)
	tm := Timings{LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newDDB(t, client, table, "a", tm)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	require.NoError(t, a.MayWrite(context.Background()))
	a.api.failUpdates(errors.New("injected: connection reset"))
	failed := a.api.updateFailures()
	eventually(t, "a renewal fails", 10*time.Second, func() bool { return a.api.updateFailures() > failed })
	err := a.MayWrite(context.Background())
	require.ErrorIs(t, err, ErrNotLeader)
	require.ErrorContains(t, err, "renewal failed")
	require.True(t, a.IsLeader(), "still within renew_deadline: not stepped down")
	a.api.failUpdates(nil)
	eventually(t, "the gate opens on the next renewal", 10*time.Second, func() bool { return a.MayWrite(context.Background()) == nil })
	require.Equal(t, 1.0, testutil.ToFloat64(NewMetrics(a.reg).changes), "no change of leadership")
}

// A renewal whose answer is lost although DynamoDB applied it: the next
// renewal's condition fails, the look finds a version of ours, and the
// leader keeps the lease instead of waiting a lease for itself.
func TestDynamoDBAdoptsItsOwnUnansweredRenewal(t *testing.T) {
	client, table := motoDynamoDB(t)
	tm := Timings{LeaseDuration: 6 * time.Second, RenewDeadline: 4 * time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newDDB(t, client, table, "a", tm)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	a.api.loseNextAnswer()
	eventually(t, "the lost answer happened", 10*time.Second, func() bool { return a.api.updateFailures() > 0 })
	eventually(t, "a writes again", 10*time.Second, func() bool { return a.MayWrite(context.Background()) == nil })
	require.True(t, a.IsLeader())
	require.Positive(t, a.api.conditionFailures(), "the renewal after the lost answer was on the old version")
	require.Contains(t, a.logs.String(), "a renewal of ours that timed out was written")
	require.Equal(t, 1.0, testutil.ToFloat64(NewMetrics(a.reg).changes), "a kept the lease throughout")
}

func TestDynamoDBPreflight(t *testing.T) {
	client, table := motoDynamoDB(t)
	e, err := NewDynamoDB(Options{Identity: "p"}, DynamoDBOptions{Table: table, Key: "default", Client: client})
	require.NoError(t, err)
	require.NoError(t, e.Preflight(context.Background()))
	e, err = NewDynamoDB(Options{Identity: "p"}, DynamoDBOptions{Table: table + "-missing", Key: "default", Client: client})
	require.NoError(t, err)
	err = e.Preflight(context.Background())
	require.ErrorContains(t, err, "not found: create it with partition key LeaseKey (S)")
}

func TestNewDynamoDBChecksOptions(t *testing.T) {
	_, err := NewDynamoDB(Options{Timings: Timings{LeaseDuration: time.Second, RenewDeadline: 2 * time.Second}}, DynamoDBOptions{})
	require.Error(t, err)
	for _, want := range []string{"ha.dynamodb.table is required", "ha.dynamodb.key is required", "a DynamoDB client is required",
		"renew_deadline (2s) must be less than lease_duration (1s)"} {
		require.ErrorContains(t, err, want)
	}
}

// parseRecord reads whatever another writer left without panicking.
func TestParseRecordTolerates(t *testing.T) {
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want leaseRecord
	}{
		{name: "empty", item: map[string]types.AttributeValue{}},
		{name: "nil values", item: map[string]types.AttributeValue{AttrOwner: nil, AttrVersion: nil, AttrLeaseDurationMs: nil}},
		{name: "wrong types", item: map[string]types.AttributeValue{
			AttrOwner: &types.AttributeValueMemberN{Value: "1"}, AttrVersion: &types.AttributeValueMemberBOOL{Value: true},
			AttrLeaseDurationMs: &types.AttributeValueMemberS{Value: "600"}}},
		{name: "garbled duration", item: map[string]types.AttributeValue{AttrOwner: str("x"), AttrVersion: str("v"),
			AttrLeaseDurationMs: &types.AttributeValueMemberN{Value: "1e99"}}, want: leaseRecord{owner: "x", version: "v", hasVersion: true}},
		{name: "absurd duration", item: map[string]types.AttributeValue{AttrOwner: str("x"), AttrVersion: str("v"),
			AttrLeaseDurationMs: &types.AttributeValueMemberN{Value: "86400000"}}, want: leaseRecord{owner: "x", version: "v", hasVersion: true}},
		{name: "negative duration", item: map[string]types.AttributeValue{AttrLeaseDurationMs: &types.AttributeValueMemberN{Value: "-5"}}},
		{name: "good", item: map[string]types.AttributeValue{AttrOwner: str("x"), AttrVersion: str("v"),
			AttrLeaseDurationMs: &types.AttributeValueMemberN{Value: "15000"}},
			want: leaseRecord{owner: "x", version: "v", hasVersion: true, lease: 15 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, parseRecord(tc.item))
		})
	}
}

// faultyDynamoDB passes calls to moto and lets a test pause them (a hung
// leader: calls wait, then go out late), fail them, or lose an answer.
type faultyDynamoDB struct {
	DynamoDBAPI

	mu          sync.Mutex
	paused      chan struct{} // non-nil while paused: closed on resume
	failErr     error
	loseAnswer  bool
	lastStart   time.Time // start of the last successful UpdateItem
	updFailures int
	ccf         int
}

func (f *faultyDynamoDB) pause() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused = make(chan struct{})
}

func (f *faultyDynamoDB) resume() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.paused)
	f.paused = nil
}

func (f *faultyDynamoDB) failUpdates(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failErr = err
}

func (f *faultyDynamoDB) loseNextAnswer() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loseAnswer = true
}

func (f *faultyDynamoDB) lastUpdateStart() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastStart
}

func (f *faultyDynamoDB) updateFailures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updFailures
}

func (f *faultyDynamoDB) conditionFailures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ccf
}

// hold waits while paused; a paused call then goes out on a fresh context,
// as a stopped process's request would once it runs again.
func (f *faultyDynamoDB) hold(ctx context.Context) context.Context {
	f.mu.Lock()
	p := f.paused
	f.mu.Unlock()
	if p == nil {
		return ctx
	}
	<-p
	return context.Background()
}

func (f *faultyDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	ctx = f.hold(ctx)
	motoSerial.Lock()
	defer motoSerial.Unlock()
	return f.DynamoDBAPI.GetItem(ctx, in, o...)
}

func (f *faultyDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	ctx = f.hold(ctx)
	motoSerial.Lock()
	out, err := f.DynamoDBAPI.PutItem(ctx, in, o...)
	motoSerial.Unlock()
	f.count(err)
	return out, err
}

func (f *faultyDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	ctx = f.hold(ctx)
	motoSerial.Lock()
	defer motoSerial.Unlock()
	return f.DynamoDBAPI.DeleteItem(ctx, in, o...)
}

func (f *faultyDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	start := time.Now()
	ctx = f.hold(ctx)
	f.mu.Lock()
	failErr, lose := f.failErr, f.loseAnswer
	f.loseAnswer = false
	f.mu.Unlock()
	if failErr != nil {
		f.mu.Lock()
		f.updFailures++
		f.mu.Unlock()
		return nil, failErr
	}
	motoSerial.Lock()
	out, err := f.DynamoDBAPI.UpdateItem(ctx, in, o...)
	motoSerial.Unlock()
	f.mu.Lock()
	if err == nil {
		f.lastStart = start
	}
	f.mu.Unlock()
	f.count(err)
	if err == nil && lose {
		f.mu.Lock()
		f.updFailures++
		f.mu.Unlock()
		return nil, context.DeadlineExceeded
	}
	return out, err
}

func (f *faultyDynamoDB) count(err error) {
	if conditionFailed(err) {
		f.mu.Lock()
		f.ccf++
		f.mu.Unlock()
	}
}

// A write the gate let through just before the leader's DynamoDB went
// silent is abandoned at WriteDeadline, before a follower can take over: it
// never lands at Lambda after another replica may write. Lambda here takes
// 3 s to apply a's Put (a lossy link), far past the takeover; the real
// awsapi store and the real elector over moto.
func TestDynamoDBWriteInFlightIsAbandonedBeforeATakeover(t *testing.T) {
	client, table := motoDynamoDB(t)
	fast := Timings{LeaseDuration: 1500 * time.Millisecond, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	a := newDDB(t, client, table, "a", fast)
	eventually(t, "a leads", 10*time.Second, a.IsLeader)
	b := newDDB(t, client, table, "b", fast)

	var mu sync.Mutex
	applied := map[string]time.Time{} // writer (the qualifier it writes) → when Lambda applied it
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("Qualifier")
		if who == "a" {
			select {
			case <-r.Context().Done(): // the writer gave up: not applied
				return
			case <-time.After(3 * time.Second):
			}
		}
		mu.Lock()
		applied[who] = time.Now()
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"RequestedProvisionedConcurrentExecutions":5,"Status":"IN_PROGRESS"}`))
	}))
	defer lambda.Close()
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(lambda.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	storeA := awsapi.NewLambda(cfg, 100, awsapi.WithWriteGate(a))
	storeB := awsapi.NewLambda(cfg, 100, awsapi.WithWriteGate(b))

	eventually(t, "a's gate opens", 5*time.Second, func() bool { return a.MayWrite(context.Background()) == nil })
	a.api.pause() // renewals hang from now on
	done := make(chan error, 1)
	go func() {
		_, err := storeA.PutPC(context.Background(), controller.TargetID{Function: "f", Qualifier: "a"}, 5)
		done <- err
	}()
	took := eventually(t, "b takes over", 10*time.Second, func() bool { return b.MayWrite(context.Background()) == nil })
	_, err := storeB.PutPC(context.Background(), controller.TargetID{Function: "f", Qualifier: "b"}, 7)
	require.NoError(t, err)
	errA := <-done
	require.Error(t, errA)
	t.Logf("a's Put: %v", errA)
	mu.Lock()
	defer mu.Unlock()
	if at, ok := applied["a"]; ok {
		t.Fatalf("the old leader's write landed %s after the new leader's gate opened", at.Sub(took).Round(time.Millisecond))
	}
	require.Contains(t, applied, "b")
	a.api.resume()
}
