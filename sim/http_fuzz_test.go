package sim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzHandler feeds arbitrary methods, paths, targets and bodies (CBOR,
// JSON, form, gzip) to the handler: it must never panic, and must always
// answer with an AWS-shaped status and a request ID.
func FuzzHandler(f *testing.F) {
	sc, err := ParseScenario([]byte(httpTestScenario))
	require.NoError(f, err)
	w, err := NewWorld(sc, NewVirtualClock(httpTestStart))
	require.NoError(f, err)
	h := NewHandler(w, nil)

	cborGMD, err := cborEncMode.Marshal(cwGetMetricDataInput{
		MetricDataQueries: []cwMetricDataQuery{{ID: "u", MetricStat: &cwMetricStat{
			Metric: cwMetric{Namespace: "AWS/Lambda", MetricName: "ProvisionedConcurrencyUtilization", Dimensions: []cwDimension{{Name: "Resource", Value: "checkout-api:live"}}},
			Period: 60, Stat: "Maximum",
		}}},
		StartTime: &wireTime{httpTestStart.Add(-time.Hour)}, EndTime: &wireTime{httpTestStart},
	})
	require.NoError(f, err)
	jsonGMD, err := json.Marshal(cwGetMetricDataInput{
		MetricDataQueries: []cwMetricDataQuery{{ID: "u", MetricStat: &cwMetricStat{Metric: cwMetric{Namespace: "N", MetricName: "M"}, Period: 60, Stat: "Sum"}}},
		StartTime:         &wireTime{httpTestStart.Add(-time.Hour)}, EndTime: &wireTime{httpTestStart}, MaxDatapoints: 2,
	})
	require.NoError(f, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"Namespace":"Test/Sim","MetricData":[{"MetricName":"Util","Value":1}]}`))
	require.NoError(f, zw.Close())

	const (
		modeGet = iota
		modePut
		modeDelete
		modePost
		modeHead
		modeGzip = 0x80
	)
	seeds := []struct {
		mode   uint8
		path   string
		target string
		body   []byte
	}{
		{modeGet, "/2016-08-19/account-settings", "", nil},
		{modePut, "/2019-09-30/functions/checkout-api/provisioned-concurrency?Qualifier=live", "", []byte(`{"ProvisionedConcurrentExecutions":12}`)},
		{modePut, "/2019-09-30/functions/checkout-api/provisioned-concurrency?Qualifier=live", "", []byte(`{"ProvisionedConcurrentExecutions":1e99}`)},
		{modeGet, "/2019-09-30/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheckout-api/provisioned-concurrency?List=ALL&MaxItems=1&Marker=live", "", nil},
		{modeDelete, "/2019-09-30/functions/checkout-api/provisioned-concurrency?Qualifier=1", "", nil},
		{modePut, "/2017-10-31/functions/capped/concurrency", "", []byte(`{"ReservedConcurrentExecutions":-5}`)},
		{modeGet, "/2015-03-31/functions/checkout-api/aliases/canary", "", nil},
		{modeGet, "/2015-03-31/functions/?MaxItems=2&Marker=fn-a", "", nil},
		{modeGet, "/2015-03-31/functions/checkout-api:live/configuration?Qualifier=live", "", nil},
		{modeGet, "/2015-03-31/functions/%ZZ/versions", "", nil},
		{modePost, "/service/GraniteServiceVersion20100801/operation/GetMetricData", "", cborGMD},
		{modePost, "/service/GraniteServiceVersion20100801/operation/ListMetrics", "", []byte{0xbf, 0xff}},
		{modePost, "/service/GraniteServiceVersion20100801/operation/PutMetricData", "", []byte{0xc1, 0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{modePost, "/", "GraniteServiceVersion20100801.GetMetricData", jsonGMD},
		{modePost | modeGzip, "/", "GraniteServiceVersion20100801.PutMetricData", gz.Bytes()},
		{modePost, "/", "", []byte("Action=GetMetricData&Version=2010-08-01&MetricDataQueries.member.1.Id=u&MetricDataQueries.member.1.MetricStat.Period=60&StartTime=2026-01-05T09:00:00Z&EndTime=2026-01-05T10:00:00Z")},
		{modePost, "/", "", []byte("Action=PutMetricData&Version=2010-08-01&Namespace=X&MetricData.member.1.MetricName=M&MetricData.member.1.Value=nan")},
		{modeGet, "/_sim/stats", "", nil},
		{modeHead, "/", "", nil},
		{modePost, "/2015-03-31/functions/checkout-api/versions", "", []byte(`{"Description":"x","RevisionId":"r"}`)},
		{modePost, "/2015-03-31/functions/checkout-api/aliases", "", []byte(`{"Name":"b","FunctionVersion":"3","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}}`)},
		{modePut, "/2015-03-31/functions/checkout-api/aliases/live", "", []byte(`{"FunctionVersion":"3","RoutingConfig":{"AdditionalVersionWeights":{"2":1e308}}}`)},
		{modePut, "/2015-03-31/functions/checkout-api/aliases/canary", "", []byte(`{"RoutingConfig":{}}`)},
		{modeDelete, "/2015-03-31/functions/checkout-api/aliases/canary", "", nil},
		{modeGet, "/2015-03-31/functions/checkout-api/aliases?FunctionVersion=2", "", nil},
		{modePost, "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheckout-api", "", []byte(`{"Tags":{"a":"b"}}`)},
		{modeDelete, "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheckout-api?tagKeys=a", "", nil},
		{modePost, "/", "ResourceGroupsTaggingAPI_20170126.GetResources", []byte(`{"TagFilters":[{"Key":"pcautoscaler","Values":["on"]}],"ResourcesPerPage":1}`)},
		{modePost, "/", "ResourceGroupsTaggingAPI_20170126.TagResources", []byte(`{}`)},
		{modeGet, "/_sim/deploys", "", nil},
	}
	for _, s := range seeds {
		f.Add(s.mode, s.path, s.target, s.body)
	}

	methods := []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPost, http.MethodHead}
	allowed := map[int]bool{200: true, 201: true, 202: true, 204: true, 400: true, 404: true, 409: true, 412: true, 429: true, 500: true}
	f.Fuzz(func(t *testing.T, mode uint8, path, target string, body []byte) {
		u, err := url.Parse(path)
		if err != nil || strings.ContainsAny(path, "\r\n") {
			return // not a request line a server could receive
		}
		req := &http.Request{
			Method:     methods[int(mode&0x7f)%len(methods)],
			URL:        u,
			Header:     http.Header{},
			Body:       io.NopCloser(bytes.NewReader(body)),
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
		}
		req = req.WithContext(t.Context())
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		if mode&modeGzip != 0 {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.True(t, allowed[rec.Code], "status %d for %s %q", rec.Code, req.Method, path)
		require.NotEmpty(t, rec.Header().Get("X-Amzn-RequestId"))
		if rec.Code >= 400 {
			require.NotEmpty(t, rec.Body.Bytes(), "an error needs a body")
		}
	})
}

// FuzzCloudWatchDecode aims the three codecs straight at the input shapes
// and their conversion to the World's types.
func FuzzCloudWatchDecode(f *testing.F) {
	f.Add(uint8(0), []byte{0xbf, 0x71, 'M', 'e', 't', 'r', 'i', 'c', 'D', 'a', 't', 'a', 'Q', 'u', 'e', 'r', 'i', 'e', 's', 0x80, 0xff})
	f.Add(uint8(0), []byte{0xa1, 0x69, 'S', 't', 'a', 'r', 't', 'T', 'i', 'm', 'e', 0xc1, 0xfb, 0x41, 0xda, 0x55, 0x8c, 0x6f, 0x10, 0x00, 0x00})
	f.Add(uint8(1), []byte(`{"MetricDataQueries":[{"Id":"a","Period":99999999999}],"StartTime":1.5,"EndTime":"2026-01-05T10:00:00Z"}`))
	f.Add(uint8(1), []byte(`{"Namespace":"N","MetricData":[{"MetricName":"M","Timestamp":1e10,"StatisticValues":{"SampleCount":1,"Sum":1,"Minimum":1,"Maximum":1}}]}`))
	f.Add(uint8(2), []byte("MetricDataQueries.member.1.Id=a&MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=R&StartTime=2026-01-05T09:00:00Z"))
	f.Add(uint8(2), []byte("MetricData.member.1.Values.member.1=1&MetricData.member.1.Counts.member.1=x"))
	codecs := []cwCodec{cborCodec{}, jsonCodec{}, queryCodec{}}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		codec := codecs[int(which)%len(codecs)]
		var gmd cwGetMetricDataInput
		if codec.decode(body, &gmd) == nil {
			_, _ = gmd.toWorld()
		}
		var pmd cwPutMetricDataInput
		if codec.decode(body, &pmd) == nil {
			_, _, _ = pmd.toWorld()
		}
		var lm cwListMetricsInput
		_ = codec.decode(body, &lm)
	})
}
