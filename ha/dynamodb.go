package ha

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pcautoscaler/pcautoscaler/awsapi"
)

// The lease item's attributes. The table is created by the user with
// partition key LeaseKey (S) and nothing else; one item per key.
const (
	AttrLeaseKey        = "LeaseKey"        // S: the partition key (ha.dynamodb.key)
	AttrOwner           = "Owner"           // S: the holder's identity
	AttrVersion         = "Version"         // S: a random token, new on every renewal
	AttrLeaseDurationMs = "LeaseDurationMs" // N: the holder's lease_duration in milliseconds
)

// maxRecordLease bounds a lease duration read from the table: a garbled
// value must not keep every follower waiting forever.
const maxRecordLease = time.Hour

// maxUnanswered bounds the tokens kept of renewals that got no answer.
const maxUnanswered = 16

// releaseTimeout bounds the release at shutdown.
const releaseTimeout = 5 * time.Second

// DynamoDBAPI is the part of *dynamodb.Client the lease uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// DynamoDBOptions name the lease item.
type DynamoDBOptions struct {
	Table string // ha.dynamodb.table
	Key   string // ha.dynamodb.key: the item's LeaseKey
	// Client is usually dynamodb.NewFromConfig(awsCfg): the SDK's standard
	// chain, endpoint (AWS_ENDPOINT_URL_DYNAMODB) and retryer.
	Client DynamoDBAPI
	// Observer sees every call (telemetry's pcautoscaler_aws_api_calls_total);
	// may be nil.
	Observer awsapi.CallObserver
}

// dynamoLease is the dynamodb backend. Its loop state is owned by Run's
// goroutine (Preflight only reads the table).
type dynamoLease struct {
	*leadership
	api      DynamoDBAPI
	caller   *awsapi.Caller
	table    string
	key      string
	resource string // table/key, in errors
	errs     callErrors

	// held: the item carried our Owner and version when we last wrote it.
	held    bool
	version string
	// unanswered: tokens of renewals that failed without a definite answer
	// (a timeout may still have written one), with when each began.
	unanswered []sentToken

	// What a follower saw: the version, when it first saw it (monotonic),
	// and the lease the holder declared.
	seenVersion string
	seenAt      time.Time
	seenLease   time.Duration
	seen        bool
}

type sentToken struct {
	token string
	start time.Time
}

// NewDynamoDB returns the dynamodb backend.
func NewDynamoDB(o Options, d DynamoDBOptions) (Elector, error) {
	var errs []error
	if d.Table == "" {
		errs = append(errs, errors.New("ha.dynamodb.table is required"))
	}
	if d.Key == "" {
		errs = append(errs, errors.New("ha.dynamodb.key is required"))
	}
	if d.Client == nil {
		errs = append(errs, errors.New("ha: a DynamoDB client is required"))
	}
	l, err := newLeadership(BackendDynamoDB, o)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	l.log = l.log.With("table", d.Table, "key", d.Key)
	return &dynamoLease{leadership: l, api: d.Client, caller: awsapi.NewCaller(nil, d.Observer, nil),
		table: d.Table, key: d.Key, resource: d.Table + "/" + d.Key, errs: callErrors{log: l.log}}, nil
}

// Preflight reads the item once: a missing table or permission stops the
// daemon at start-up.
func (d *dynamoLease) Preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err := d.get(ctx)
	if err == nil {
		return nil
	}
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return fmt.Errorf("ha.dynamodb.table %q not found: create it with partition key %s (S): %w", d.table, AttrLeaseKey, err)
	}
	if awsapi.Classify(err) == awsapi.ClassAccessDenied {
		return fmt.Errorf("missing IAM permission %s on the lease table %s: %w", awsapi.OpLeaseGet.Action(), d.table, err)
	}
	return fmt.Errorf("cannot read the leader lease %s: %w", d.resource, err)
}

// Run campaigns every retry_period until ctx ends, then releases.
func (d *dynamoLease) Run(ctx context.Context) error {
	d.log.Info("leader election started", KeyLeaseDuration, d.timings.LeaseDuration.String(),
		KeyRenewDeadline, d.timings.RenewDeadline.String(), KeyRetryPeriod, d.timings.RetryPeriod.String())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			d.release()
			return nil
		case <-timer.C:
		}
		d.step(ctx)
		timer.Reset(d.timings.RetryPeriod)
	}
}

// step is one round: renew while held, else look and maybe acquire.
func (d *dynamoLease) step(ctx context.Context) {
	// Calls are not cut by ctx: a renewal cut half-way could have written
	// a version we would never learn. renew_deadline bounds each, and the
	// Caller's per-call timeout (awsapi's readTimeout, 10 s) below a longer
	// one: a lease call is answered in milliseconds.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.timings.RenewDeadline)
	defer cancel()
	if d.held {
		d.renew(cctx)
		return
	}
	d.look(cctx)
}

// renew writes a new version, on condition that the item still carries
// ours and our name.
func (d *dynamoLease) renew(ctx context.Context) {
	start := time.Now()
	token := newToken()
	err := d.caller.Call(ctx, awsapi.OpLeaseUpdate, d.resource, func(ctx context.Context) error {
		_, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(d.table),
			Key:                      d.itemKey(),
			UpdateExpression:         aws.String("SET #v = :new, #d = :dur"),
			ConditionExpression:      aws.String("#v = :old AND #o = :me"),
			ExpressionAttributeNames: map[string]string{"#v": AttrVersion, "#d": AttrLeaseDurationMs, "#o": AttrOwner},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":new": str(token), ":old": str(d.version), ":me": str(d.identity), ":dur": d.leaseMs(),
			},
		})
		return err
	})
	switch {
	case err == nil:
		d.errs.ok()
		d.version, d.unanswered = token, nil
		d.renewed(start)
		d.become(true, "renewed the lease", false)
	case conditionFailed(err):
		d.errs.ok()
		// The SDK may have retried an attempt that was written but whose
		// answer was lost: then the condition failed on our own token.
		d.remember(token, start)
		if d.adoptOwn(ctx) {
			return
		}
		d.held, d.version = false, ""
		d.renewFailed(err)
		d.become(false, "another replica took the lease over (its version changed)", false)
		d.look(ctx)
	default:
		// No definite answer: the write may or may not have happened.
		d.renewFailed(err)
		d.remember(token, start)
		d.errs.failed("lease renewal failed: writes paused", err)
		if since := d.sinceRenew(); since >= d.timings.RenewDeadline {
			// Keep the version: a later conditional renewal on it still
			// proves nobody took over, and wins the lease back.
			d.become(false, fmt.Sprintf("not renewed within renew_deadline (%s)", d.timings.RenewDeadline), false)
		}
	}
}

// look reads the item and acquires it when absent or free, adopts it when
// it carries a version we wrote, or takes it over once its version stood
// still for a whole lease on our clock.
func (d *dynamoLease) look(ctx context.Context) {
	rec, found, err := d.get(ctx)
	seenAt := time.Now() // after the answer: the version was written before this
	if err != nil {
		d.errs.failed("cannot read the leader lease", err)
		return
	}
	d.errs.ok()
	if !found {
		d.observe("")
		d.acquire(ctx)
		return
	}
	if start, ok := d.ours(rec.version); ok && rec.owner == d.identity {
		d.held, d.version, d.unanswered = true, rec.version, nil
		d.renewed(start)
		d.become(true, "the lease carries a renewal of ours that timed out", false)
		return
	}
	d.observe(rec.owner)
	if rec.owner == "" {
		d.takeOver(ctx, rec, "the lease was released")
		return
	}
	lease := max(rec.lease, d.timings.LeaseDuration)
	if !d.seen || rec.version != d.seenVersion {
		d.seen, d.seenVersion, d.seenAt, d.seenLease = true, rec.version, seenAt, lease
		return
	}
	d.seenLease = max(d.seenLease, lease)
	if waited := seenAt.Sub(d.seenAt); waited >= d.seenLease {
		d.takeOver(ctx, rec, fmt.Sprintf("%s did not renew for %s (lease %s)", rec.owner,
			waited.Round(time.Millisecond), d.seenLease))
	}
}

// acquire creates the item on condition that it does not exist.
func (d *dynamoLease) acquire(ctx context.Context) {
	start := time.Now()
	token := newToken()
	err := d.caller.Call(ctx, awsapi.OpLeasePut, d.resource, func(ctx context.Context) error {
		item := d.itemKey()
		item[AttrOwner], item[AttrVersion], item[AttrLeaseDurationMs] = str(d.identity), str(token), d.leaseMs()
		_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                aws.String(d.table),
			Item:                     item,
			ConditionExpression:      aws.String("attribute_not_exists(#k)"),
			ExpressionAttributeNames: map[string]string{"#k": AttrLeaseKey},
		})
		return err
	})
	d.acquired(start, token, err, "the lease was free")
}

// takeOver writes our name and a new version on condition that the
// version is still the one seen.
func (d *dynamoLease) takeOver(ctx context.Context, rec leaseRecord, why string) {
	start := time.Now()
	token := newToken()
	err := d.caller.Call(ctx, awsapi.OpLeaseUpdate, d.resource, func(ctx context.Context) error {
		in := &dynamodb.UpdateItemInput{
			TableName:                aws.String(d.table),
			Key:                      d.itemKey(),
			UpdateExpression:         aws.String("SET #o = :me, #v = :new, #d = :dur"),
			ExpressionAttributeNames: map[string]string{"#o": AttrOwner, "#v": AttrVersion, "#d": AttrLeaseDurationMs},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":me": str(d.identity), ":new": str(token), ":dur": d.leaseMs(),
			},
		}
		if rec.hasVersion {
			in.ConditionExpression = aws.String("#v = :old")
			in.ExpressionAttributeValues[":old"] = str(rec.version)
		} else {
			in.ConditionExpression = aws.String("attribute_exists(#k) AND attribute_not_exists(#v)")
			in.ExpressionAttributeNames["#k"] = AttrLeaseKey
		}
		_, err := d.api.UpdateItem(ctx, in)
		return err
	})
	d.acquired(start, token, err, why)
}

func (d *dynamoLease) acquired(start time.Time, token string, err error, why string) {
	d.seen = false
	switch {
	case err == nil:
		d.errs.ok()
		d.held, d.version, d.unanswered = true, token, nil
		d.renewed(start)
		d.become(true, why, false)
	case conditionFailed(err):
		// Another replica was quicker (or an SDK retry met our own write):
		// look again next round.
		d.errs.ok()
		d.remember(token, start)
	default:
		// Unknown outcome: if it was written, the next look adopts it.
		d.remember(token, start)
		d.errs.failed("cannot acquire the leader lease", err)
	}
}

// remember keeps the token of a write whose outcome we may not know.
func (d *dynamoLease) remember(token string, start time.Time) {
	d.unanswered = append(d.unanswered, sentToken{token: token, start: start})
	if len(d.unanswered) > maxUnanswered {
		d.unanswered = d.unanswered[len(d.unanswered)-maxUnanswered:]
	}
}

// adoptOwn, after a renewal's condition failed, reads the item: when it
// carries a token of an unanswered renewal of ours, that renewal was
// written, and the lease is still ours.
func (d *dynamoLease) adoptOwn(ctx context.Context) bool {
	if len(d.unanswered) == 0 {
		return false
	}
	rec, found, err := d.get(ctx)
	if err != nil || !found || rec.owner != d.identity {
		return false
	}
	start, ok := d.ours(rec.version)
	if !ok {
		return false
	}
	d.version, d.unanswered = rec.version, nil
	d.renewed(start)
	d.log.Info("a renewal of ours that timed out was written: the lease is still ours")
	return true
}

// ours reports whether version is a token we sent without an answer.
func (d *dynamoLease) ours(version string) (time.Time, bool) {
	for _, s := range d.unanswered {
		if s.token == version && version != "" {
			return s.start, true
		}
	}
	return time.Time{}, false
}

// release stops writing, then deletes the item on condition that it is
// still ours, so a follower acquires at its next look.
func (d *dynamoLease) release() {
	held := d.held
	d.become(false, "shutting down: releasing the lease", true)
	d.renewFailed(errors.New("shutting down"))
	if !held {
		d.log.Info("leader election stopped")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	err := d.caller.Call(ctx, awsapi.OpLeaseDelete, d.resource, func(ctx context.Context) error {
		_, err := d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                aws.String(d.table),
			Key:                      d.itemKey(),
			ConditionExpression:      aws.String("#v = :v AND #o = :me"),
			ExpressionAttributeNames: map[string]string{"#v": AttrVersion, "#o": AttrOwner},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":v": str(d.version), ":me": str(d.identity),
			},
		})
		return err
	})
	d.held = false
	switch {
	case err == nil:
		d.log.Info("released the lease")
	case conditionFailed(err):
		d.log.Info("the lease was no longer ours to release")
	default:
		d.log.Warn("could not release the lease: a follower takes over after lease_duration", KeyError, err.Error())
	}
}

// leaseRecord is the item as read; fields absent or of the wrong type read
// as empty (never a panic on what another writer left).
type leaseRecord struct {
	owner      string
	version    string
	hasVersion bool
	lease      time.Duration // 0 when absent or invalid
}

func (d *dynamoLease) get(ctx context.Context) (leaseRecord, bool, error) {
	var out *dynamodb.GetItemOutput
	err := d.caller.Call(ctx, awsapi.OpLeaseGet, d.resource, func(ctx context.Context) error {
		var err error
		out, err = d.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(d.table),
			Key:            d.itemKey(),
			ConsistentRead: aws.Bool(true),
		})
		return err
	})
	if err != nil {
		return leaseRecord{}, false, err
	}
	if out == nil || out.Item == nil {
		return leaseRecord{}, false, nil
	}
	return parseRecord(out.Item), true, nil
}

func parseRecord(item map[string]types.AttributeValue) leaseRecord {
	var r leaseRecord
	if v, ok := item[AttrOwner].(*types.AttributeValueMemberS); ok && v != nil {
		r.owner = v.Value
	}
	if v, ok := item[AttrVersion].(*types.AttributeValueMemberS); ok && v != nil {
		r.version, r.hasVersion = v.Value, true
	}
	if v, ok := item[AttrLeaseDurationMs].(*types.AttributeValueMemberN); ok && v != nil {
		if ms, err := strconv.ParseInt(v.Value, 10, 64); err == nil && ms > 0 && ms <= maxRecordLease.Milliseconds() {
			r.lease = time.Duration(ms) * time.Millisecond
		}
	}
	return r
}

func (d *dynamoLease) itemKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrLeaseKey: str(d.key)}
}

func (d *dynamoLease) leaseMs() types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(d.timings.LeaseDuration.Milliseconds(), 10)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// newToken is a random version: 128 bits, hex.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
