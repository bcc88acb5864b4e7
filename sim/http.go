package sim

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Log keys of the HTTP layer (snake_case, fixed once).
const (
	logKeyMethod    = "method"
	logKeyPath      = "path"
	logKeyOperation = "operation"
	logKeyProtocol  = "protocol"
	logKeyStatus    = "status"
	logKeyCode      = "code"
	logKeyRequestID = "request_id"
	logKeyLatency   = "injected_latency"
)

// Protocol names in logs.
const (
	protoLambda  = "rest-json"
	protoCBOR    = "rpc-v2-cbor"
	protoJSON    = "json-1.0"
	protoQuery   = "query"
	protoTagging = "json-1.1" // the Resource Groups Tagging API
)

// maxBodyBytes caps request bodies. PutMetricData allows 1 MB; a 500-query
// GetMetricData is far below that.
const maxBodyBytes = 2 << 20

// NewHandler serves the simulated Lambda control plane (restJson1) and
// CloudWatch on one endpoint, so any AWS client can point its endpoint URL
// at it (authentication headers are ignored):
//
//	PUT|GET|DELETE /2019-09-30/functions/{fn}/provisioned-concurrency?Qualifier=Q
//	GET    /2019-09-30/functions/{fn}/provisioned-concurrency?List=ALL[&Marker][&MaxItems]
//	GET    /2019-09-30/functions/{fn}/concurrency
//	PUT|DELETE /2017-10-31/functions/{fn}/concurrency
//	GET    /2016-08-19/account-settings[/]
//	GET    /2015-03-31/functions[/]                        ListFunctions
//	GET    /2015-03-31/functions/{fn}[?Qualifier=Q]        GetFunction (own quota: account.get_function_rps)
//	GET    /2015-03-31/functions/{fn}/aliases[/{name}]     ListAliases, GetAlias
//	POST   /2015-03-31/functions/{fn}/aliases              CreateAlias
//	PUT|DELETE /2015-03-31/functions/{fn}/aliases/{name}   UpdateAlias, DeleteAlias
//	GET|POST /2015-03-31/functions/{fn}/versions           ListVersionsByFunction, PublishVersion
//	GET    /2015-03-31/functions/{fn}/configuration        GetFunctionConfiguration
//	POST|DELETE|GET /2017-03-31/tags/{arn}                 TagResource, UntagResource, ListTags
//	POST   / with X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources  Tagging API, AWS JSON 1.1
//	POST   /service/GraniteServiceVersion20100801/operation/{Op}   CloudWatch, RPC v2 CBOR (Go SDK)
//	POST   / with X-Amz-Target: GraniteServiceVersion20100801.{Op} CloudWatch, AWS JSON 1.0 (AWS CLI)
//	POST   / with Action={Op}&Version=2010-08-01                    CloudWatch, awsQuery
//	GET    /_sim/stats                                    World.Stats() as JSON
//	GET    /_sim/writes                                   World.WriteLog() as JSON: every Put and Delete answered
//	GET    /_sim/deploys                                  World.DeployLog() as JSON: every alias change and publication
//
// CloudWatch operations are GetMetricData, PutMetricData and ListMetrics.
// {fn} is a name, a partial or full ARN, percent-escaped or not. Each
// operation first meets the World's injected faults (an outage, which
// closes the connection; latency on the World's clock; then errors), then
// runs, and is counted by result code. Every response's Date header is the
// World's clock, not wall time.
func NewHandler(w *World, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &handler{world: w, log: logger}
}

type handler struct {
	world *World
	log   *slog.Logger
}

// call is one request on its way through the handler: what it is, and what
// was answered, for the log line and the API-call accounting.
type call struct {
	op       string
	protocol string
	status   int
	code     string
	latency  time.Duration
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("X-Amzn-RequestId", reqID)
	h.stampDate(w)
	c := &call{}
	h.route(w, r, c)
	attrs := []any{
		logKeyMethod, r.Method,
		logKeyPath, r.URL.Path,
		logKeyOperation, c.op,
		logKeyProtocol, c.protocol,
		logKeyStatus, c.status,
		logKeyCode, c.code,
		logKeyRequestID, reqID,
	}
	if c.latency > 0 {
		attrs = append(attrs, logKeyLatency, c.latency)
	}
	h.log.Debug("sim request", attrs...)
}

// route dispatches on path shape: Lambda's versioned REST paths, CloudWatch's
// RPC v2 path or POST / (JSON 1.0 by X-Amz-Target, query by form body), and
// the simulator's own /_sim/ endpoints.
func (h *handler) route(w http.ResponseWriter, r *http.Request, c *call) {
	segs, ok := pathSegments(r.URL)
	if !ok {
		c.protocol = protoLambda
		h.fail(w, c, unknownOperation(r.Method, r.URL.Path), writeLambdaError)
		return
	}
	switch {
	case len(segs) == 0 && r.Method == http.MethodPost && isTaggingTarget(r.Header.Get("X-Amz-Target")):
		h.serveTagging(w, r, c)
	case len(segs) == 0 && r.Method == http.MethodPost:
		h.serveCloudWatchRoot(w, r, c)
	case len(segs) == 4 && segs[0] == "service" && segs[2] == "operation" && r.Method == http.MethodPost:
		h.serveCloudWatchRPCv2(w, r, c, segs[1], segs[3])
	case len(segs) == 2 && segs[0] == "_sim" && segs[1] == "stats" && r.Method == http.MethodGet:
		c.op, c.protocol, c.status = "SimStats", "json", http.StatusOK
		writeJSON(w, http.StatusOK, h.world.Stats())
	case len(segs) == 2 && segs[0] == "_sim" && segs[1] == "writes" && r.Method == http.MethodGet:
		c.op, c.protocol, c.status = "SimWrites", "json", http.StatusOK
		writeJSON(w, http.StatusOK, nonNil(h.world.WriteLog()))
	case len(segs) == 2 && segs[0] == "_sim" && segs[1] == "deploys" && r.Method == http.MethodGet:
		c.op, c.protocol, c.status = "SimDeploys", "json", http.StatusOK
		writeJSON(w, http.StatusOK, nonNil(h.world.DeployLog()))
	default:
		h.serveLambda(w, r, c, segs)
	}
}

// pathSegments splits the escaped path and unescapes each segment, so a
// percent-escaped ARN in {FunctionName} stays one segment. A trailing slash
// is ignored (the API reference writes /account-settings/).
func pathSegments(u *url.URL) ([]string, bool) {
	p := strings.Trim(u.EscapedPath(), "/")
	if p == "" {
		return nil, true
	}
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

// stampDate sets the Date header to the World's clock. net/http would send
// wall time, but clients measure their clock skew against "AWS" from it
// (the SDK reads it as the response's server time), and the simulated AWS
// lives on the World's clock, which a virtual or scaled clock puts far from
// wall time.
func (h *handler) stampDate(w http.ResponseWriter) {
	w.Header().Set("Date", h.world.Clock().Now().UTC().Format(http.TimeFormat))
}

// begin applies the World's injected faults for op: latency first (on the
// World's clock, abandoned if the client goes away), then an injected error.
func (h *handler) begin(w http.ResponseWriter, r *http.Request, c *call) *wireError {
	d, apiErr := h.world.Fault(c.op)
	if d > 0 {
		c.latency = d
		select {
		case <-h.world.Clock().After(d):
		case <-r.Context().Done():
		}
		h.stampDate(w) // the answer leaves after the latency
	}
	if apiErr != nil {
		if c.protocol == protoTagging {
			return taggingWireError(apiErr)
		}
		return toWireError(c.protocol == protoLambda, apiErr)
	}
	return nil
}

// hangUp answers nothing, for an injected outage: it closes the connection
// under the request, so the client sees a transport error (EOF) as from an
// endpoint that is down or restarting, and its retryer does what it would.
// Where the connection can't be taken (HTTP/2, an in-memory ResponseWriter)
// it aborts the response with http.ErrAbortHandler, which net/http's servers
// turn into a reset; in-memory callers recover it (Transport does).
func (h *handler) hangUp(w http.ResponseWriter, c *call) {
	c.code = ResultUnavailable
	h.world.CountAPICall(c.op, ResultUnavailable)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// fail writes e with the protocol's writer and records it.
func (h *handler) fail(w http.ResponseWriter, c *call, e *wireError, write func(http.ResponseWriter, *wireError)) {
	c.status, c.code = e.status, e.code
	if c.op != "" {
		h.world.CountAPICall(c.op, e.accountingCode())
	}
	write(w, e)
}

// succeed records a successful call.
func (h *handler) succeed(c *call, status int) {
	c.status, c.code = status, ""
	h.world.CountAPICall(c.op, CodeOK)
}

// toWireError turns a World error into Lambda's or CloudWatch's wire error.
func toWireError(lambda bool, err error) *wireError {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = &APIError{Status: http.StatusInternalServerError, Message: err.Error(), Type: TypeService}
	}
	if lambda {
		return lambdaWireError(ae)
	}
	return cloudWatchWireError(ae)
}

func lambdaWireError(ae *APIError) *wireError {
	e := &wireError{
		status:  ae.Status,
		code:    ae.Code,
		message: ae.Message,
		server:  ae.Type == TypeService || ae.Type == TypeReceiver || (ae.Type == "" && ae.Status >= 500),
	}
	if e.status < 400 || e.status > 599 {
		e.status = http.StatusInternalServerError
	}
	if e.code == "" {
		e.code = CodeServiceException
	}
	if e.status == http.StatusTooManyRequests || e.code == CodeTooManyRequests {
		e.status = http.StatusTooManyRequests
		e.code = CodeTooManyRequests
		e.reason = "CallerRateLimitExceeded"
		e.retryAfter = max(ae.RetryAfterSeconds, 1)
	}
	return e
}

// cwShapes maps CloudWatch's query codes (what the World speaks) to the
// modelled error shapes (what __type carries on CBOR and JSON).
var cwShapes = map[string]string{
	CodeCWInvalidParameter:        "InvalidParameterValueException",
	CodeCWMissingParameter:        "MissingRequiredParameterException",
	CodeCWInternalService:         "InternalServiceFault",
	CodeCWInvalidNextToken:        "InvalidNextToken",
	CodeCWThrottling:              "ThrottlingException",
	"InvalidParameterCombination": "InvalidParameterCombinationException",
	"LimitExceeded":               "LimitExceededException",
	"ResourceNotFound":            "ResourceNotFound",
}

func cloudWatchWireError(ae *APIError) *wireError {
	e := &wireError{
		status:    ae.Status,
		code:      ae.Code,
		queryCode: ae.Code,
		message:   ae.Message,
		server:    ae.Type == TypeReceiver || ae.Type == TypeService || (ae.Type == "" && ae.Status >= 500),
	}
	if e.status < 400 || e.status > 599 {
		e.status = http.StatusInternalServerError
	}
	switch {
	case ae.Code == "":
		e.code, e.queryCode = "InternalServiceFault", CodeCWInternalService
	case cwShapes[ae.Code] != "":
		e.code = cwShapes[ae.Code]
	case strings.HasSuffix(ae.Code, "Exception"):
		// A Lambda-style code (e.g. a fault spec written for "*"): keep the
		// shape name and derive the query code the way CloudWatch names them.
		e.queryCode = strings.TrimSuffix(ae.Code, "Exception")
		if ae.Code == CodeTooManyRequests || ae.Status == http.StatusTooManyRequests {
			e.code, e.queryCode = "ThrottlingException", CodeCWThrottling
		}
	}
	// CloudWatch throttles with 400 Throttling; the SDK retries on the code.
	if e.queryCode == CodeCWThrottling && e.status == http.StatusTooManyRequests {
		e.status = http.StatusBadRequest
	}
	return e
}

// readBody reads a request body up to maxBodyBytes, inflating it when the
// client compressed it (the SDK gzips PutMetricData: requestCompression).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errors.New("request body larger than 2 MiB")
		}
		return nil, errors.New("reading request body: " + err.Error())
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, errors.New("request body is not valid gzip: " + err.Error())
		}
		// Bound the inflated size too: a small bomb must not exhaust memory.
		plain, err := io.ReadAll(io.LimitReader(zr, maxBodyBytes+1))
		if err != nil {
			return nil, errors.New("request body is not valid gzip: " + err.Error())
		}
		if len(plain) > maxBodyBytes {
			return nil, errors.New("inflated request body larger than 2 MiB")
		}
		return plain, nil
	default:
		return nil, errors.New("unsupported Content-Encoding " + strconv.Quote(enc))
	}
}

// newRequestID returns a UUID-shaped random request ID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
