package metrics

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
)

// accessDenied answers every CloudWatch request as IAM does without the
// permission, in the protocol the request came in.
func accessDenied(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const msg = "User: arn:aws:sts::123456789012:assumed-role/pcautoscaler/x is not authorized to perform: cloudwatch:GetMetricData"
		switch {
		case strings.HasPrefix(r.URL.Path, "/service/"): // rpc-v2-cbor
			body, err := cbor.Marshal(map[string]string{"__type": "com.amazonaws.cloudwatch#AccessDeniedException", "message": msg})
			require.NoError(t, err)
			w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
			w.Header().Set("Content-Type", "application/cbor")
			w.Header().Set("X-Amzn-Query-Error", "AccessDenied;Sender")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(body)
		case r.Header.Get("X-Amz-Target") != "": // json 1.0
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("X-Amzn-Query-Error", "AccessDenied;Sender")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"__type":"com.amazonaws.cloudwatch#AccessDeniedException","message":"` + msg + `"}`))
		default: // query
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>` + msg + `</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
		}
	})
}
