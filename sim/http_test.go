package sim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
)

// TestHandlerWire checks what the SDK hides: status codes, headers and
// bodies on the wire, for each protocol.
func TestHandlerWire(t *testing.T) {
	const arnPath = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheckout-api"
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		body       string
		wantStatus int
		wantHeader map[string]string
		wantBody   string // substring; "<empty>" for none
	}{
		{
			name: "account settings with the API reference's trailing slash", method: "GET", path: "/2016-08-19/account-settings/",
			wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}, wantBody: `"UnreservedConcurrentExecutions":980`,
		},
		{
			name: "put is 202", method: "PUT", path: "/2019-09-30/functions/capped/provisioned-concurrency?Qualifier=live",
			body: `{"ProvisionedConcurrentExecutions":3}`, wantStatus: 202, wantBody: `"Status":"IN_PROGRESS"`,
		},
		{
			name: "delete is 204 with no body", method: "DELETE", path: "/2019-09-30/functions/checkout-api/provisioned-concurrency?Qualifier=1",
			wantStatus: 204, wantBody: "<empty>",
		},
		{
			name: "delete function concurrency is 204", method: "DELETE", path: "/2017-10-31/functions/capped/concurrency",
			wantStatus: 204, wantBody: "<empty>",
		},
		{
			name: "list functions with trailing slash", method: "GET", path: "/2015-03-31/functions/",
			wantStatus: 200, wantBody: `"FunctionName":"capped"`,
		},
		{
			name: "percent-escaped ARN in the path", method: "GET", path: "/2019-09-30/functions/" + arnPath + "/provisioned-concurrency?Qualifier=live",
			wantStatus: 200, wantBody: `"RequestedProvisionedConcurrentExecutions":10`,
		},
		{
			name: "list needs List=ALL", method: "GET", path: "/2019-09-30/functions/checkout-api/provisioned-concurrency?List=ALL&MaxItems=1",
			wantStatus: 200, wantBody: `"NextMarker":"live"`,
		},
		{
			name: "MaxItems out of range", method: "GET", path: "/2019-09-30/functions/checkout-api/provisioned-concurrency?List=ALL&MaxItems=51",
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-ErrorType": "InvalidParameterValueException"}, wantBody: `"Type":"User"`,
		},
		{
			name: "body is not JSON", method: "PUT", path: "/2019-09-30/functions/capped/provisioned-concurrency?Qualifier=live",
			body: `not json`, wantStatus: 400, wantHeader: map[string]string{"X-Amzn-ErrorType": "SerializationException"},
		},
		{
			name: "count of the wrong type", method: "PUT", path: "/2019-09-30/functions/capped/provisioned-concurrency?Qualifier=live",
			body: `{"ProvisionedConcurrentExecutions":"3"}`, wantStatus: 400, wantHeader: map[string]string{"X-Amzn-ErrorType": "SerializationException"},
		},
		{
			name: "missing count", method: "PUT", path: "/2019-09-30/functions/capped/provisioned-concurrency?Qualifier=live",
			body: `{}`, wantStatus: 400, wantHeader: map[string]string{"X-Amzn-ErrorType": "InvalidParameterValueException"},
		},
		{
			name: "missing qualifier", method: "GET", path: "/2019-09-30/functions/capped/provisioned-concurrency",
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-ErrorType": "InvalidParameterValueException"},
		},
		{
			name: "resource not found uses Message", method: "GET", path: "/2019-09-30/functions/nope/concurrency",
			wantStatus: 404, wantHeader: map[string]string{"X-Amzn-ErrorType": "ResourceNotFoundException"}, wantBody: `"Message":"Function not found`,
		},
		{
			name: "bad function name", method: "GET", path: "/2019-09-30/functions/bad%20name/concurrency",
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-ErrorType": "InvalidParameterValueException"},
		},
		{
			name: "unknown route", method: "GET", path: "/2099-01-01/nothing",
			wantStatus: 404, wantHeader: map[string]string{"X-Amzn-ErrorType": "UnknownOperationException"},
		},
		{
			name: "wrong method", method: "POST", path: "/2016-08-19/account-settings",
			wantStatus: 404, wantHeader: map[string]string{"X-Amzn-ErrorType": "UnknownOperationException"},
		},
		{
			name: "JSON 1.0 unknown target", method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.DescribeAlarms", "Content-Type": "application/x-amz-json-1.0"},
			body:       `{}`,
			wantStatus: 404, wantHeader: map[string]string{"Content-Type": "application/x-amz-json-1.0"}, wantBody: `"__type":"com.amazonaws.cloudwatch#UnknownOperationException"`,
		},
		{
			name: "JSON 1.0 malformed body", method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData", "Content-Type": "application/x-amz-json-1.0"},
			body:       `{"MetricDataQueries": 5}`,
			wantStatus: 400, wantHeader: map[string]string{"X-Amzn-Query-Error": "SerializationException;Sender"}, wantBody: `SerializationException`,
		},
		{
			name: "JSON 1.0 list metrics", method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics", "Content-Type": "application/x-amz-json-1.0"},
			body:       `{"Namespace":"AWS/Lambda"}`,
			wantStatus: 200, wantBody: `{"Metrics":[]}`,
		},
		{
			name: "CBOR garbage", method: "POST", path: "/service/GraniteServiceVersion20100801/operation/GetMetricData",
			header:     map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"},
			body:       "\xff\x00garbage",
			wantStatus: 400, wantHeader: map[string]string{"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor", "X-Amzn-Query-Error": "SerializationException;Sender"},
		},
		{
			name: "CBOR unknown service", method: "POST", path: "/service/Other/operation/GetMetricData",
			wantStatus: 404, wantHeader: map[string]string{"Content-Type": "application/cbor"},
		},
		{
			name: "query protocol list metrics", method: "POST", path: "/",
			header:     map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:       "Action=ListMetrics&Version=2010-08-01",
			wantStatus: 200, wantHeader: map[string]string{"Content-Type": "text/xml"}, wantBody: `<ListMetricsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><ListMetricsResult><Metrics></Metrics>`,
		},
		{
			name: "query protocol bad version", method: "POST", path: "/",
			header:     map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:       "Action=ListMetrics&Version=2099",
			wantStatus: 400, wantBody: `<Code>InvalidParameterValue</Code>`,
		},
		{
			name: "query protocol unknown action", method: "POST", path: "/",
			body:       "Action=DescribeAlarms&Version=2010-08-01",
			wantStatus: 404, wantBody: `<Code>InvalidAction</Code>`,
		},
		{
			name: "body over 2 MiB", method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData"},
			body:       `{"Namespace":"` + strings.Repeat("x", 3<<20) + `"}`,
			wantStatus: 400, wantBody: "request body larger than 2 MiB",
		},
		{
			name: "gzip bomb", method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData", "Content-Encoding": "gzip"},
			body:       gzipped(t, strings.Repeat(" ", 8<<20)),
			wantStatus: 400, wantBody: "inflated request body larger than 2 MiB",
		},
		{
			name: "unknown content encoding", method: "POST", path: "/",
			header:     map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.ListMetrics", "Content-Encoding": "br"},
			body:       `{}`,
			wantStatus: 400, wantBody: `unsupported Content-Encoding \"br\"`,
		},
		{
			name: "stats", method: "GET", path: "/_sim/stats",
			wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}, wantBody: `"api_calls"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSimServer(t, "")
			req, err := http.NewRequest(tc.method, s.url+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, resp.StatusCode, "body: %s", body)
			require.NotEmpty(t, resp.Header.Get("X-Amzn-RequestId"))
			for k, v := range tc.wantHeader {
				require.Equal(t, v, resp.Header.Get(k), "header %s", k)
			}
			switch tc.wantBody {
			case "":
			case "<empty>":
				require.Empty(t, body)
			default:
				require.Contains(t, string(body), tc.wantBody)
			}
		})
	}
}

// TestHandlerCountsAndLogs: every answered operation is counted by its
// result code (what /_sim/stats shows) and logged at Debug.
func TestHandlerCountsAndLogs(t *testing.T) {
	s := newSimServer(t, "")
	do := func(method, path, body string, header map[string]string) {
		req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
		require.NoError(t, err)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
	}
	do("GET", "/2016-08-19/account-settings", "", nil)
	do("GET", "/2016-08-19/account-settings", "", nil)
	do("PUT", "/2019-09-30/functions/checkout-api/provisioned-concurrency?Qualifier=$LATEST", `{"ProvisionedConcurrentExecutions":1}`, nil)
	do("POST", "/", `{"MetricDataQueries":[]}`, map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.GetMetricData"})
	do("GET", "/not/an/operation", "", nil) // not an operation: not counted

	resp, err := http.Get(s.url + "/_sim/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var stats Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	require.Equal(t, map[string]map[string]int64{
		"GetAccountSettings":              {"OK": 2},
		"PutProvisionedConcurrencyConfig": {"InvalidParameterValueException": 1},
		"GetMetricData":                   {"MissingParameter": 1},
	}, stats.APICalls)

	logs := s.logs.String()
	require.Contains(t, logs, "level=DEBUG msg=\"sim request\" method=PUT path=/2019-09-30/functions/checkout-api/provisioned-concurrency operation=PutProvisionedConcurrencyConfig protocol=rest-json status=400 code=InvalidParameterValueException request_id=")
	require.Contains(t, logs, "operation=GetMetricData protocol=json-1.0 status=400 code=MissingRequiredParameterException")
}

// TestHandlerInjectedLatency: a latency fault holds the answer until that
// much of the World's clock has passed.
func TestHandlerInjectedLatency(t *testing.T) {
	s := newSimServer(t, `
functions: [{name: checkout-api}]
faults: [{op: GetAccountSettings, kind: latency, latency: 1h}]
`)
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Get(s.url + "/2016-08-19/account-settings")
		if err != nil {
			done <- nil
			return
		}
		_ = resp.Body.Close()
		done <- resp
	}()
	// Wait (without a deadline of our own) until the handler sleeps on the
	// virtual clock, then let the hour pass.
	for s.clock.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("answered before the injected latency passed")
	default:
	}
	s.clock.Advance(time.Hour)
	resp := <-done
	require.NotNil(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, httpTestStart.Add(time.Hour).Format(http.TimeFormat), resp.Header.Get("Date"), "Date is when the answer leaves")
	require.Contains(t, s.logs.String(), "injected_latency=1h0m0s")
}

// TestWireTime covers the timestamp forms each protocol may send.
func TestWireTime(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 50, 20, 250_000_000, time.UTC)
	mustCBOR := func(v any) []byte {
		b, err := cbor.Marshal(v)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name    string
		cbor    []byte
		json    string
		want    time.Time
		wantErr bool
	}{
		{name: "CBOR tag 1 float", cbor: mustCBOR(cbor.Tag{Number: 1, Content: 1767606620.25}), want: at},
		{name: "CBOR tag 1 integer", cbor: mustCBOR(cbor.Tag{Number: 1, Content: uint64(1767606620)}), want: at.Truncate(time.Second)},
		{name: "CBOR tag 1 negative integer", cbor: mustCBOR(cbor.Tag{Number: 1, Content: int64(-1)}), want: time.Unix(-1, 0).UTC()},
		{name: "CBOR bare float", cbor: mustCBOR(1767606620.25), want: at},
		{name: "CBOR tag 0 string", cbor: mustCBOR(cbor.Tag{Number: 0, Content: "2026-01-05T09:50:20Z"}), wantErr: true},
		{name: "CBOR tag 1 string", cbor: mustCBOR(cbor.Tag{Number: 1, Content: "x"}), wantErr: true},
		{name: "CBOR tag 1 huge", cbor: mustCBOR(cbor.Tag{Number: 1, Content: uint64(1) << 62}), wantErr: true},
		{name: "CBOR NaN", cbor: mustCBOR(cbor.Tag{Number: 1, Content: nanValue()}), wantErr: true},
		{name: "JSON number", json: `1767606620.25`, want: at},
		{name: "JSON integer", json: `1767606620`, want: at.Truncate(time.Second)},
		{name: "JSON ISO string", json: `"2026-01-05T09:50:20.25Z"`, want: at},
		{name: "JSON numeric string", json: `"1767606620.25"`, want: at},
		{name: "JSON boolean", json: `true`, wantErr: true},
		{name: "JSON out of range", json: `1e300`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got wireTime
			var err error
			if tc.cbor != nil {
				err = cborDecMode.Unmarshal(tc.cbor, &got)
			} else {
				err = json.Unmarshal([]byte(tc.json), &got)
			}
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got.Time), "got %v, want %v", got.Time, tc.want)
		})
	}

	// Output: tag 1 (0xc1) around a float64 (0xfb), as the SDK writes it;
	// JSON a bare number of seconds.
	b, err := cborEncMode.Marshal(wireTime{at})
	require.NoError(t, err)
	require.Equal(t, []byte{0xc1, 0xfb}, b[:2])
	j, err := json.Marshal(wireTime{at})
	require.NoError(t, err)
	require.Equal(t, "1767606620.25", string(j))
}

func gzipped(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.String()
}

func nanValue() float64 {
	zero := 0.0
	return zero / zero
}
