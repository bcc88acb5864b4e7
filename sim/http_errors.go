package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// wireError is an AWS error as the wire layer writes it. code is the modelled
// shape name (what X-Amzn-ErrorType or __type carry); queryCode is
// CloudWatch's awsQuery code, sent in X-Amzn-Query-Error and used by the
// query protocol.
type wireError struct {
	status     int
	code       string
	queryCode  string
	message    string
	server     bool // Type "Service" / fault Receiver, else User / Sender
	retryAfter int  // seconds; > 0 adds Retry-After (Lambda 429)
	reason     string
}

func (e *wireError) Error() string { return e.code + ": " + e.message }

// accountingCode is the code API-call accounting records: Lambda's error
// type, or CloudWatch's query code (what clients report as ErrorCode()).
func (e *wireError) accountingCode() string {
	if e.queryCode != "" {
		return e.queryCode
	}
	return e.code
}

// writeQueryHeaders adds awsQueryCompatible's X-Amzn-Query-Error, which makes
// the SDK and botocore report the query code (InvalidParameterValue) rather
// than the shape name.
func (e *wireError) writeQueryHeaders(w http.ResponseWriter) {
	if e.queryCode == "" {
		return
	}
	fault := "Sender"
	if e.server {
		fault = "Receiver"
	}
	w.Header().Set("X-Amzn-Query-Error", e.queryCode+";"+fault)
}

// writeLambdaError writes a restJson1 error the way Lambda does: the code in
// X-Amzn-ErrorType, a body with Type and message, Retry-After on throttles.
func writeLambdaError(w http.ResponseWriter, e *wireError) {
	typ := "User"
	if e.server {
		typ = "Service"
	}
	body := map[string]string{"Type": typ}
	// ResourceNotFoundException and ServiceException model "Message"; the
	// others "message". Clients accept either; be faithful anyway.
	switch e.code {
	case "ResourceNotFoundException", "ServiceException":
		body["Message"] = e.message
	default:
		body["message"] = e.message
	}
	if e.reason != "" {
		body["Reason"] = e.reason
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"Type":"Service","Message":"encoding response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Constructors for the errors the wire layer itself raises.

func lambdaInvalidParameter(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, code: "InvalidParameterValueException", message: msg}
}

func lambdaSerialization(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, code: "SerializationException", message: msg}
}

func unknownOperation(method, path string) *wireError {
	return &wireError{
		status:  http.StatusNotFound,
		code:    "UnknownOperationException",
		message: "Unknown operation " + method + " " + path,
	}
}

func cwInvalidParameter(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, code: "InvalidParameterValueException", queryCode: "InvalidParameterValue", message: msg}
}

func cwSerialization(msg string) *wireError {
	return &wireError{status: http.StatusBadRequest, code: "SerializationException", queryCode: "SerializationException", message: msg}
}
