package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
)

// Lambda operation names, as the API and fault specs name them.
const (
	opPutPC             = "PutProvisionedConcurrencyConfig"
	opGetPC             = "GetProvisionedConcurrencyConfig"
	opDeletePC          = "DeleteProvisionedConcurrencyConfig"
	opListPC            = "ListProvisionedConcurrencyConfigs"
	opGetConcurrency    = "GetFunctionConcurrency"
	opPutConcurrency    = "PutFunctionConcurrency"
	opDeleteConcurrency = "DeleteFunctionConcurrency"
	opAccountSettings   = "GetAccountSettings"
	opGetAlias          = "GetAlias"
	opListAliases       = "ListAliases"
	opListVersions      = "ListVersionsByFunction"
	opListFunctions     = "ListFunctions"
	opGetConfiguration  = "GetFunctionConfiguration"
	// Deploy operations (opCreateAlias, …) are in alias.go, tag ones in tags.go.
)

// lambdaRequest is a routed Lambda request: the operation and its path
// labels, and for Put and Delete what the write log needs.
type lambdaRequest struct {
	op       string
	function string // {FunctionName} as sent (name, ARN or partial ARN)
	alias    string // {Name} of GetAlias, UpdateAlias, DeleteAlias
	resource string // {Resource} of the tag operations (a function ARN)

	caller  string // who sent it, for the write and deploy logs
	body    []byte // Put: read before the faults, so a faulted Put logs its value
	bodyErr error
	logged  bool // the World has logged this write (it reached the World)
}

func (req *lambdaRequest) isWrite() bool { return req.op == opPutPC || req.op == opDeletePC }

// logUnanswered logs a write the World never saw: answered with an injected
// fault or a wire-level error (code), with what it asked for as far as the
// request says it.
func (h *handler) logUnanswered(req *lambdaRequest, q url.Values, code string) {
	if !req.isWrite() || req.logged {
		return
	}
	n := 0
	var in lambdaPutPCInput
	if req.op == opPutPC && json.Unmarshal(req.body, &in) == nil && in.ProvisionedConcurrentExecutions != nil {
		n = *in.ProvisionedConcurrentExecutions
	}
	rec := newWriteRecord(req.op, req.caller, req.function, q.Get("Qualifier"), n)
	rec.Result = code
	req.logged = true
	h.world.logWrite(rec)
}

// routeLambda maps method and path to an operation (paths as the Go SDK
// v1.114 and botocore 1.43 send them; see AWS-FACTS.md §3.1). It returns ""
// for anything else.
func routeLambda(method string, segs []string, q url.Values) lambdaRequest {
	n := len(segs)
	if n < 2 {
		return lambdaRequest{}
	}
	version, kind := segs[0], segs[1]
	switch {
	case version == "2016-08-19" && kind == "account-settings" && n == 2 && method == http.MethodGet:
		return lambdaRequest{op: opAccountSettings}
	case version == "2017-03-31" && kind == "tags" && n == 3:
		return routeTags(method, segs[2])
	case kind != "functions":
		return lambdaRequest{}
	case version == "2015-03-31" && n == 2 && method == http.MethodGet:
		return lambdaRequest{op: opListFunctions}
	case version == "2015-03-31" && n == 3 && method == http.MethodGet:
		return lambdaRequest{op: opGetFunction, function: segs[2]}
	case n < 4:
		return lambdaRequest{}
	}
	fn, sub := segs[2], segs[3]
	switch {
	case version == "2019-09-30" && sub == "provisioned-concurrency" && n == 4:
		switch method {
		case http.MethodPut:
			return lambdaRequest{op: opPutPC, function: fn}
		case http.MethodDelete:
			return lambdaRequest{op: opDeletePC, function: fn}
		case http.MethodGet:
			if q.Get("List") == "ALL" {
				return lambdaRequest{op: opListPC, function: fn}
			}
			return lambdaRequest{op: opGetPC, function: fn}
		}
	case version == "2019-09-30" && sub == "concurrency" && n == 4 && method == http.MethodGet:
		return lambdaRequest{op: opGetConcurrency, function: fn}
	case version == "2017-10-31" && sub == "concurrency" && n == 4:
		switch method {
		case http.MethodPut:
			return lambdaRequest{op: opPutConcurrency, function: fn}
		case http.MethodDelete:
			return lambdaRequest{op: opDeleteConcurrency, function: fn}
		}
	case version == "2015-03-31":
		return route20150331(method, fn, sub, segs[4:])
	}
	return lambdaRequest{}
}

// route20150331 maps the /2015-03-31/functions/{fn}/{sub}[/{name}] paths.
func route20150331(method, fn, sub string, rest []string) lambdaRequest {
	ops := map[string]string{}
	switch {
	case sub == "aliases" && len(rest) == 1:
		ops = map[string]string{http.MethodGet: opGetAlias, http.MethodPut: opUpdateAlias, http.MethodDelete: opDeleteAlias}
	case sub == "aliases" && len(rest) == 0:
		ops = map[string]string{http.MethodGet: opListAliases, http.MethodPost: opCreateAlias}
	case sub == "versions" && len(rest) == 0:
		ops = map[string]string{http.MethodGet: opListVersions, http.MethodPost: opPublishVersion}
	case sub == "configuration" && len(rest) == 0:
		ops = map[string]string{http.MethodGet: opGetConfiguration}
	}
	req := lambdaRequest{op: ops[method], function: fn}
	if req.op == "" {
		return lambdaRequest{}
	}
	if len(rest) == 1 {
		req.alias = rest[0]
	}
	return req
}

func (h *handler) serveLambda(w http.ResponseWriter, r *http.Request, c *call, segs []string) {
	c.protocol = protoLambda
	q := r.URL.Query()
	req := routeLambda(r.Method, segs, q)
	if req.op == "" {
		h.fail(w, c, unknownOperation(r.Method, r.URL.Path), writeLambdaError)
		return
	}
	c.op = req.op
	req.caller = callerFromUserAgent(r.UserAgent())
	if req.op == opPutPC {
		req.body, req.bodyErr = readBody(w, r)
	}
	if h.world.outage(c.op) {
		h.logUnanswered(&req, q, ResultUnavailable)
		h.hangUp(w, c)
		return
	}
	if e := h.begin(w, r, c); e != nil {
		h.logUnanswered(&req, q, e.code)
		h.fail(w, c, e, writeLambdaError)
		return
	}
	status, out, e := h.lambdaCall(w, r, &req, q)
	if e != nil {
		h.logUnanswered(&req, q, e.code)
		h.fail(w, c, e, writeLambdaError)
		return
	}
	h.succeed(c, status)
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, out)
}

// lambdaCall decodes the operation's input, calls the World and returns the
// success status and body.
func (h *handler) lambdaCall(w http.ResponseWriter, r *http.Request, req *lambdaRequest, q url.Values) (int, any, *wireError) {
	if req.op == opAccountSettings {
		return http.StatusOK, h.world.AccountSettings(), nil
	}
	if req.op == opListFunctions {
		marker, maxItems, err := pageParams(q, 50, 10000)
		if err != nil {
			return 0, nil, lambdaInvalidParameter(err.Error())
		}
		fns, next, werr := h.world.ListFunctions(marker, maxItems)
		if werr != nil {
			return 0, nil, lambdaWireErrorOf(werr)
		}
		return http.StatusOK, lambdaFunctionList{Functions: nonNil(fns), NextMarker: next}, nil
	}

	if isTagOp(req.op) {
		return h.tagCall(w, r, req, q)
	}

	// The World resolves names and ARNs (and rejects other accounts); here
	// only the shape is checked, and a qualifier carried by the name must
	// agree with the Qualifier parameter.
	fn := req.function
	_, qualifier, err := parseFunctionRef(fn)
	if err != nil {
		return 0, nil, lambdaInvalidParameter(err.Error())
	}
	if qp := q.Get("Qualifier"); qp != "" {
		if qualifier != "" && qualifier != qp {
			return 0, nil, lambdaInvalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
		}
		qualifier = qp
	}

	switch req.op {
	case opPutPC, opGetPC, opDeletePC:
		if qualifier == "" {
			return 0, nil, lambdaInvalidParameter("Qualifier is required: provisioned concurrency is configured on an alias or a published version.")
		}
	case opGetAlias, opListAliases, opListVersions, opGetConcurrency, opPutConcurrency, opDeleteConcurrency, opListPC,
		opCreateAlias, opUpdateAlias, opDeleteAlias, opPublishVersion:
		if qualifier != "" {
			return 0, nil, lambdaInvalidParameter("FunctionName must not include a qualifier for " + req.op + ".")
		}
	}

	switch req.op {
	case opPutPC:
		var in lambdaPutPCInput
		if e := decodeLambdaJSON(req.body, req.bodyErr, &in); e != nil {
			return 0, nil, e
		}
		if in.ProvisionedConcurrentExecutions == nil {
			return 0, nil, lambdaInvalidParameter("ProvisionedConcurrentExecutions is required.")
		}
		req.logged = true
		v, werr := h.world.PutProvisionedConcurrencyAs(req.caller, fn, qualifier, *in.ProvisionedConcurrentExecutions)
		return lambdaResult(http.StatusAccepted, v, werr)
	case opGetPC:
		v, werr := h.world.GetProvisionedConcurrency(fn, qualifier)
		return lambdaResult(http.StatusOK, v, werr)
	case opDeletePC:
		req.logged = true
		return lambdaResult(http.StatusNoContent, nil, h.world.DeleteProvisionedConcurrencyAs(req.caller, fn, qualifier))
	case opListPC:
		marker, maxItems, err := pageParams(q, 50, 50)
		if err != nil {
			return 0, nil, lambdaInvalidParameter(err.Error())
		}
		list, next, werr := h.world.ListProvisionedConcurrency(fn, marker, maxItems)
		return lambdaResult(http.StatusOK, lambdaPCList{ProvisionedConcurrencyConfigs: nonNil(list), NextMarker: next}, werr)
	case opGetConcurrency:
		n, werr := h.world.GetFunctionConcurrency(fn)
		return lambdaResult(http.StatusOK, lambdaConcurrency{ReservedConcurrentExecutions: n}, werr)
	case opPutConcurrency:
		var in lambdaConcurrency
		if e := decodeLambdaBody(w, r, &in); e != nil {
			return 0, nil, e
		}
		if in.ReservedConcurrentExecutions == nil {
			return 0, nil, lambdaInvalidParameter("ReservedConcurrentExecutions is required.")
		}
		return lambdaResult(http.StatusOK, in, h.world.PutFunctionConcurrency(fn, *in.ReservedConcurrentExecutions))
	case opDeleteConcurrency:
		return lambdaResult(http.StatusNoContent, nil, h.world.DeleteFunctionConcurrency(fn))
	case opGetAlias:
		v, werr := h.world.GetAlias(fn, req.alias)
		return lambdaResult(http.StatusOK, v, werr)
	case opListAliases:
		marker, maxItems, err := pageParams(q, 50, 10000)
		if err != nil {
			return 0, nil, lambdaInvalidParameter(err.Error())
		}
		list, next, werr := h.world.ListAliasesByVersion(fn, q.Get("FunctionVersion"), marker, maxItems)
		return lambdaResult(http.StatusOK, lambdaAliasList{Aliases: nonNil(list), NextMarker: next}, werr)
	case opListVersions:
		marker, maxItems, err := pageParams(q, 50, 10000)
		if err != nil {
			return 0, nil, lambdaInvalidParameter(err.Error())
		}
		list, next, werr := h.world.ListVersions(fn, marker, maxItems)
		return lambdaResult(http.StatusOK, lambdaVersionList{Versions: nonNil(list), NextMarker: next}, werr)
	case opGetConfiguration:
		v, werr := h.world.GetFunctionConfiguration(fn, qualifier)
		return lambdaResult(http.StatusOK, v, werr)
	case opGetFunction:
		v, werr := h.world.GetFunction(fn, qualifier)
		return lambdaResult(http.StatusOK, v, werr)
	case opCreateAlias, opUpdateAlias, opDeleteAlias, opPublishVersion:
		return h.deployCall(w, r, req, fn)
	}
	return 0, nil, unknownOperation(r.Method, r.URL.Path)
}

func lambdaResult(status int, out any, err error) (int, any, *wireError) {
	if err != nil {
		return 0, nil, lambdaWireErrorOf(err)
	}
	return status, out, nil
}

func lambdaWireErrorOf(err error) *wireError { return toWireError(true, err) }

// decodeLambdaBody decodes a JSON request body strictly enough to reject
// wrong types and trailing garbage; unknown members are ignored, as AWS does.
func decodeLambdaBody(w http.ResponseWriter, r *http.Request, v any) *wireError {
	body, err := readBody(w, r)
	return decodeLambdaJSON(body, err, v)
}

// decodeLambdaJSON is decodeLambdaBody on a body already read (with its
// read error).
func decodeLambdaJSON(body []byte, err error, v any) *wireError {
	if err != nil {
		return lambdaSerialization(err.Error())
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return lambdaSerialization("Could not parse request body into json: " + err.Error())
	}
	if dec.More() {
		return lambdaSerialization("Could not parse request body into json: trailing data")
	}
	return nil
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
