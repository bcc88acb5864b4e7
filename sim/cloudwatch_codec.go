package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fxamacker/cbor/v2"
)

// cwCodec is one CloudWatch wire protocol. The operations are the same for
// all three; only the envelope differs.
type cwCodec interface {
	name() string
	decode(body []byte, v any) error
	writeOutput(w http.ResponseWriter, op string, v any)
	writeError(w http.ResponseWriter, op string, e *wireError)
}

const (
	cwServiceName  = "GraniteServiceVersion20100801"
	cwXMLNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
	cwShapePrefix  = "com.amazonaws.cloudwatch#"
)

// cborDecMode bounds what a hostile body can make us allocate.
var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  16,
		MaxArrayElements: 100_000,
		MaxMapPairs:      10_000,
		IndefLength:      cbor.IndefLengthAllowed, // the SDK writes indefinite-length maps
		DupMapKey:        cbor.DupMapKeyQuiet,
	}.DecMode()
	if err != nil {
		panic(err) // static options: a programming error
	}
	return dm
}()

// cborEncMode keeps float64 as float64 (the SDK reads any width, but
// shortest-float would lose nothing and gain nothing here).
var cborEncMode = func() cbor.EncMode {
	em, err := cbor.EncOptions{ShortestFloat: cbor.ShortestFloatNone}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// cborCodec is Smithy RPC v2 CBOR, the Go SDK's default for CloudWatch.
type cborCodec struct{}

func (cborCodec) name() string { return protoCBOR }

func (cborCodec) decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil // an empty body is an empty input
	}
	if err := cborDecMode.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding CBOR body: %w", err)
	}
	return nil
}

func (cborCodec) writeOutput(w http.ResponseWriter, _ string, v any) {
	body, err := cborEncMode.Marshal(v)
	if err != nil {
		body, _ = cborEncMode.Marshal(map[string]string{"__type": cwShapePrefix + "InternalServiceFault", "message": err.Error()})
		cborHeaders(w)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(body)
		return
	}
	cborHeaders(w)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (cborCodec) writeError(w http.ResponseWriter, _ string, e *wireError) {
	body, _ := cborEncMode.Marshal(map[string]string{"__type": cwShapePrefix + e.code, "message": e.message})
	cborHeaders(w)
	e.writeQueryHeaders(w)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func cborHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
}

// jsonCodec is AWS JSON 1.0, what botocore (the AWS CLI) picks for
// CloudWatch: it prefers "json" over "smithy-rpc-v2-cbor".
type jsonCodec struct{}

func (jsonCodec) name() string { return protoJSON }

func (jsonCodec) decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding JSON body: %w", err)
	}
	if dec.More() {
		return errors.New("decoding JSON body: trailing data")
	}
	return nil
}

func (jsonCodec) writeOutput(w http.ResponseWriter, _ string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		jsonCodec{}.writeError(w, "", &wireError{status: http.StatusInternalServerError, code: "InternalServiceFault", queryCode: "InternalServiceError", message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (jsonCodec) writeError(w http.ResponseWriter, _ string, e *wireError) {
	body, _ := json.Marshal(map[string]string{"__type": cwShapePrefix + e.code, "message": e.message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	e.writeQueryHeaders(w)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
