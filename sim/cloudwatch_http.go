package sim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
)

// CloudWatch operation names.
const (
	opGetMetricData = "GetMetricData"
	opPutMetricData = "PutMetricData"
	opListMetrics   = "ListMetrics"
)

// cwListMetricPage is ListMetrics' page size, as CloudWatch's.
const cwListMetricPage = 500

func knownCloudWatchOp(op string) bool {
	return op == opGetMetricData || op == opPutMetricData || op == opListMetrics
}

// serveCloudWatchRPCv2 serves POST /service/{service}/operation/{op}, the
// Smithy RPC v2 CBOR path the Go SDK uses.
func (h *handler) serveCloudWatchRPCv2(w http.ResponseWriter, r *http.Request, c *call, service, op string) {
	codec := cborCodec{}
	c.protocol = codec.name()
	if service != cwServiceName || !knownCloudWatchOp(op) {
		h.failCW(w, c, codec, cwUnknownOperation(service+"."+op))
		return
	}
	h.serveCloudWatch(w, r, c, codec, op)
}

// serveCloudWatchRoot serves POST /: AWS JSON 1.0 when X-Amz-Target names
// the operation (botocore), else the awsQuery protocol's form body.
func (h *handler) serveCloudWatchRoot(w http.ResponseWriter, r *http.Request, c *call) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		codec := jsonCodec{}
		c.protocol = codec.name()
		service, op, _ := strings.Cut(target, ".")
		if service != cwServiceName || !knownCloudWatchOp(op) {
			h.failCW(w, c, codec, cwUnknownOperation(target))
			return
		}
		h.serveCloudWatch(w, r, c, codec, op)
		return
	}
	h.serveCloudWatchQuery(w, r, c)
}

func cwUnknownOperation(what string) *wireError {
	return &wireError{status: http.StatusNotFound, code: "UnknownOperationException", queryCode: "InvalidAction", message: "Unknown operation " + what}
}

// failCW writes a CloudWatch error in codec's envelope and records it.
func (h *handler) failCW(w http.ResponseWriter, c *call, codec cwCodec, e *wireError) {
	h.fail(w, c, e, func(w http.ResponseWriter, e *wireError) { codec.writeError(w, c.op, e) })
}

// serveCloudWatch reads the body and runs one known operation.
func (h *handler) serveCloudWatch(w http.ResponseWriter, r *http.Request, c *call, codec cwCodec, op string) {
	c.op = op
	body, err := readBody(w, r)
	if err != nil {
		h.failCW(w, c, codec, cwSerialization(err.Error()))
		return
	}
	h.serveCloudWatchBody(w, r, c, codec, op, body)
}

// serveCloudWatchBody runs one known operation: faults, decode, World, encode.
func (h *handler) serveCloudWatchBody(w http.ResponseWriter, r *http.Request, c *call, codec cwCodec, op string, body []byte) {
	c.op = op
	if h.world.outage(op) {
		h.hangUp(w, c)
		return
	}
	if e := h.begin(w, r, c); e != nil {
		h.failCW(w, c, codec, e)
		return
	}
	out, e := h.cloudWatchCall(codec, op, body)
	if e != nil {
		h.failCW(w, c, codec, e)
		return
	}
	h.succeed(c, http.StatusOK)
	codec.writeOutput(w, op, out)
}

func (h *handler) cloudWatchCall(codec cwCodec, op string, body []byte) (any, *wireError) {
	switch op {
	case opGetMetricData:
		var in cwGetMetricDataInput
		if err := codec.decode(body, &in); err != nil {
			return nil, cwSerialization(err.Error())
		}
		wi, e := in.toWorld()
		if e != nil {
			return nil, e
		}
		out, err := h.world.GetMetricData(wi)
		if err != nil {
			return nil, toWireError(false, err)
		}
		return fromWorldMetricData(out), nil
	case opPutMetricData:
		var in cwPutMetricDataInput
		if err := codec.decode(body, &in); err != nil {
			return nil, cwSerialization(err.Error())
		}
		ns, data, e := in.toWorld()
		if e != nil {
			return nil, e
		}
		if err := h.world.PutMetricData(ns, data); err != nil {
			return nil, toWireError(false, err)
		}
		return struct{}{}, nil
	case opListMetrics:
		var in cwListMetricsInput
		if err := codec.decode(body, &in); err != nil {
			return nil, cwSerialization(err.Error())
		}
		return h.listMetrics(in)
	}
	return nil, cwUnknownOperation(op)
}

func (in *cwGetMetricDataInput) toWorld() (MetricDataInput, *wireError) {
	// Limits and required members are the World's to check (it serves
	// in-process callers too); here only what the wire types can't carry.
	if in.MaxDatapoints < 0 || in.MaxDatapoints > math.MaxInt32 {
		return MetricDataInput{}, cwInvalidParameter("The parameter MaxDatapoints must be a positive integer.")
	}
	out := MetricDataInput{
		ScanBy:        in.ScanBy,
		MaxDatapoints: int(in.MaxDatapoints),
		NextToken:     in.NextToken,
	}
	if in.StartTime != nil {
		out.StartTime = in.StartTime.Time
	}
	if in.EndTime != nil {
		out.EndTime = in.EndTime.Time
	}
	out.MetricDataQueries = make([]MetricDataQuery, 0, len(in.MetricDataQueries))
	for i, q := range in.MetricDataQueries {
		period, ok := int32Of(q.Period)
		if !ok {
			return MetricDataInput{}, cwInvalidParameter("The value of MetricDataQueries.member." + strconv.Itoa(i+1) + ".Period is out of range.")
		}
		wq := MetricDataQuery{
			Id:         q.ID,
			Expression: q.Expression,
			Label:      q.Label,
			ReturnData: q.ReturnData,
			Period:     period,
			AccountId:  q.AccountID,
		}
		if q.MetricStat != nil {
			p, ok := int32Of(q.MetricStat.Period)
			if !ok {
				return MetricDataInput{}, cwInvalidParameter("The value of MetricDataQueries.member." + strconv.Itoa(i+1) + ".MetricStat.Period is out of range.")
			}
			wq.MetricStat = &MetricStat{
				Metric: Metric{
					Namespace:  q.MetricStat.Metric.Namespace,
					MetricName: q.MetricStat.Metric.MetricName,
					Dimensions: dimensionsToWorld(q.MetricStat.Metric.Dimensions),
				},
				Period: p,
				Stat:   q.MetricStat.Stat,
				Unit:   q.MetricStat.Unit,
			}
		}
		out.MetricDataQueries = append(out.MetricDataQueries, wq)
	}
	return out, nil
}

func fromWorldMetricData(o MetricDataOutput) cwGetMetricDataOutput {
	out := cwGetMetricDataOutput{
		MetricDataResults: make([]cwMetricDataResult, 0, len(o.MetricDataResults)),
		NextToken:         o.NextToken,
		Messages:          messagesFromWorld(o.Messages),
	}
	for _, r := range o.MetricDataResults {
		wr := cwMetricDataResult{
			ID:         r.Id,
			Label:      r.Label,
			StatusCode: r.StatusCode,
			Timestamps: make([]wireTime, len(r.Timestamps)),
			Values:     nonNil(r.Values),
			Messages:   messagesFromWorld(r.Messages),
		}
		for i, t := range r.Timestamps {
			wr.Timestamps[i] = wireTime{t}
		}
		out.MetricDataResults = append(out.MetricDataResults, wr)
	}
	return out
}

func messagesFromWorld(ms []MessageData) []cwMessage {
	if len(ms) == 0 {
		return nil
	}
	out := make([]cwMessage, len(ms))
	for i, m := range ms {
		out[i] = cwMessage(m)
	}
	return out
}

func (in *cwPutMetricDataInput) toWorld() (string, []MetricDatum, *wireError) {
	if len(in.MetricData) > maxPutDatums {
		// Checked before converting a huge body; the World checks it too.
		return "", nil, cwInvalidParameter("The collection MetricData must not have a size greater than " + strconv.Itoa(maxPutDatums) + ".")
	}
	data := make([]MetricDatum, 0, len(in.MetricData))
	for i, d := range in.MetricData {
		res, ok := int32Of(d.StorageResolution)
		if !ok {
			return "", nil, cwInvalidParameter("The value of MetricData.member." + strconv.Itoa(i+1) + ".StorageResolution is out of range.")
		}
		wd := MetricDatum{
			MetricName:        d.MetricName,
			Dimensions:        dimensionsToWorld(d.Dimensions),
			Value:             d.Value,
			Values:            d.Values,
			Counts:            d.Counts,
			Unit:              d.Unit,
			StorageResolution: res,
		}
		if d.Timestamp != nil {
			wd.Timestamp = d.Timestamp.Time
		}
		if d.StatisticValues != nil {
			s := StatisticSet(*d.StatisticValues)
			wd.StatisticValues = &s
		}
		data = append(data, wd)
	}
	return in.Namespace, data, nil
}

// listMetrics pages the World's (unpaged) answer; the token is the offset.
func (h *handler) listMetrics(in cwListMetricsInput) (any, *wireError) {
	if len(in.Dimensions) > maxDimensions {
		return nil, cwInvalidParameter("The collection Dimensions must not have a size greater than " + strconv.Itoa(maxDimensions) + ".")
	}
	all := h.world.ListMetrics(in.Namespace, in.MetricName, dimensionsToWorld(in.Dimensions))
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "lm-"))
		if err != nil || !strings.HasPrefix(in.NextToken, "lm-") || n < 0 || n > len(all) {
			return nil, &wireError{status: http.StatusBadRequest, code: "InvalidNextToken", queryCode: CodeCWInvalidNextToken, message: "The specified NextToken is invalid."}
		}
		start = n
	}
	end := min(start+cwListMetricPage, len(all))
	out := cwListMetricsOutput{Metrics: make([]cwMetric, 0, end-start)}
	for _, m := range all[start:end] {
		out.Metrics = append(out.Metrics, cwMetric{
			Namespace:  m.Namespace,
			MetricName: m.MetricName,
			Dimensions: dimensionsFromWorld(m.Dimensions),
		})
	}
	if end < len(all) {
		out.NextToken = "lm-" + strconv.Itoa(end)
	}
	return out, nil
}

func dimensionsToWorld(ds []cwDimension) []Dimension {
	if len(ds) == 0 {
		return nil
	}
	out := make([]Dimension, len(ds))
	for i, d := range ds {
		out[i] = Dimension(d)
	}
	return out
}

func dimensionsFromWorld(ds []Dimension) []cwDimension {
	if len(ds) == 0 {
		return nil
	}
	out := make([]cwDimension, len(ds))
	for i, d := range ds {
		out[i] = cwDimension(d)
	}
	return out
}

func int32Of(v int64) (int32, bool) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}
