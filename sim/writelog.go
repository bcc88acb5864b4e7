package sim

import (
	"context"
	"errors"
	"strings"
	"time"
)

// WriteRecord is one Put or Delete the simulator answered.
type WriteRecord struct {
	Time      time.Time `json:"time"`     // world time the request was answered
	Op        string    `json:"op"`       // "PutProvisionedConcurrencyConfig" | "DeleteProvisionedConcurrencyConfig"
	Function  string    `json:"function"` // function name as resolved (not the ARN)
	Qualifier string    `json:"qualifier"`
	Value     int       `json:"value"`  // requested value (0 for a Delete)
	Result    string    `json:"result"` // WriteOK or the error code answered (e.g. TooManyRequestsException)
	Caller    string    `json:"caller"` // who sent it
}

// Write-log results and callers the simulator itself names.
const (
	WriteOK           = "ok"
	ResultUnavailable = "unavailable" // an injected outage: nothing was answered
	CallerDirect      = "direct"      // World.PutProvisionedConcurrency / DeleteProvisionedConcurrency
	CallerInProcess   = "inprocess"   // the in-process ports without WithCaller
)

// MaxWriteLog bounds the write log. A record is 150 to 300 bytes; a month of
// one Put a minute on one target is 43,200 records. Past the bound the
// oldest tenth is dropped (Stats().APICalls still counts every call).
const MaxWriteLog = 100_000

// maxCallerLen trims callers taken from a User-Agent, which may be long.
const maxCallerLen = 128

// WriteLog returns every Put and Delete answered so far (up to MaxWriteLog,
// the newest kept), oldest first: over HTTP, in process or by direct World
// calls, including those answered with an injected fault or a validation
// error. Served at GET /_sim/writes.
func (w *World) WriteLog() []WriteRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WriteRecord(nil), w.writes...)
}

// logWrite appends rec, stamped with the world's time.
func (w *World) logWrite(rec WriteRecord) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logWriteLocked(rec)
}

func (w *World) logWriteLocked(rec WriteRecord) {
	rec.Time = w.clk.Now().UTC()
	w.writes = appendBounded(w.writes, rec, MaxWriteLog)
}

// appendBounded appends rec, first dropping the oldest tenth of log when it
// holds limit records: amortized O(1), and memory stays within limit.
func appendBounded[T any](log []T, rec T, limit int) []T {
	if len(log) >= limit {
		log = append(log[:0], log[max(limit/10, 1):]...)
	}
	return append(log, rec)
}

// newWriteRecord names the target of a write as the World resolves it: the
// function name out of a name or ARN, and the qualifier given or else the
// one the reference carries.
func newWriteRecord(op, caller, fn, qualifier string, n int) WriteRecord {
	name, carried := splitFunctionRef(fn)
	if qualifier == "" {
		qualifier = carried
	}
	return WriteRecord{Op: op, Function: name, Qualifier: qualifier, Value: n, Caller: caller}
}

// resultOf is the write log's result for an operation's error.
func resultOf(err error) string {
	if err == nil {
		return WriteOK
	}
	if aerr, ok := errors.AsType[*APIError](err); ok {
		return aerr.Code
	}
	return "error"
}

type callerKey struct{}

// WithCaller names who makes the in-process ports' writes, for the write log
// (CallerInProcess when absent): e.g. two daemons sharing one world.
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

func callerFrom(ctx context.Context) string {
	if c, ok := ctx.Value(callerKey{}).(string); ok {
		return c
	}
	return CallerInProcess
}

// callerFromUserAgent names an HTTP caller: the aws-sdk-go-v2 adds
// "app/<AppID>" to its User-Agent when aws.Config.AppID is set, which is the
// one name a client chooses; else the whole User-Agent, trimmed.
func callerFromUserAgent(ua string) string {
	for _, f := range strings.Fields(ua) {
		if id, ok := strings.CutPrefix(f, "app/"); ok && id != "" {
			return trimCaller(id)
		}
	}
	return trimCaller(ua)
}

func trimCaller(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxCallerLen {
		s = strings.ToValidUTF8(s[:maxCallerLen], "")
	}
	return s
}
