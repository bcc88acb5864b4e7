package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// CloudWatch wire shapes, shared by the CBOR and JSON codecs: both protocols
// use the Smithy member names as keys, so one set of structs (json tags, which
// fxamacker/cbor also reads) serves both. Only timestamps differ, see wireTime.

type cwDimension struct {
	Name  string `json:"Name"`
	Value string `json:"Value,omitempty"`
}

type cwMetric struct {
	Namespace  string        `json:"Namespace,omitempty"`
	MetricName string        `json:"MetricName,omitempty"`
	Dimensions []cwDimension `json:"Dimensions,omitempty"`
}

type cwMetricStat struct {
	Metric cwMetric `json:"Metric"`
	Period int64    `json:"Period"`
	Stat   string   `json:"Stat"`
	Unit   string   `json:"Unit,omitempty"`
}

type cwMetricDataQuery struct {
	ID         string        `json:"Id"`
	Label      string        `json:"Label,omitempty"`
	MetricStat *cwMetricStat `json:"MetricStat,omitempty"`
	Expression string        `json:"Expression,omitempty"`
	ReturnData *bool         `json:"ReturnData,omitempty"`
	Period     int64         `json:"Period,omitempty"`
	AccountID  string        `json:"AccountId,omitempty"`
}

type cwGetMetricDataInput struct {
	MetricDataQueries []cwMetricDataQuery `json:"MetricDataQueries"`
	StartTime         *wireTime           `json:"StartTime"`
	EndTime           *wireTime           `json:"EndTime"`
	NextToken         string              `json:"NextToken,omitempty"`
	ScanBy            string              `json:"ScanBy,omitempty"`
	MaxDatapoints     int64               `json:"MaxDatapoints,omitempty"`
}

type cwMessage struct {
	Code  string `json:"Code,omitempty"`
	Value string `json:"Value,omitempty"`
}

type cwMetricDataResult struct {
	ID         string      `json:"Id"`
	Label      string      `json:"Label,omitempty"`
	Timestamps []wireTime  `json:"Timestamps"`
	Values     []float64   `json:"Values"`
	StatusCode string      `json:"StatusCode"`
	Messages   []cwMessage `json:"Messages,omitempty"`
}

type cwGetMetricDataOutput struct {
	MetricDataResults []cwMetricDataResult `json:"MetricDataResults"`
	NextToken         string               `json:"NextToken,omitempty"`
	Messages          []cwMessage          `json:"Messages,omitempty"`
}

type cwStatisticSet struct {
	SampleCount float64 `json:"SampleCount"`
	Sum         float64 `json:"Sum"`
	Minimum     float64 `json:"Minimum"`
	Maximum     float64 `json:"Maximum"`
}

type cwMetricDatum struct {
	MetricName        string          `json:"MetricName"`
	Dimensions        []cwDimension   `json:"Dimensions,omitempty"`
	Timestamp         *wireTime       `json:"Timestamp,omitempty"`
	Value             *float64        `json:"Value,omitempty"`
	StatisticValues   *cwStatisticSet `json:"StatisticValues,omitempty"`
	Values            []float64       `json:"Values,omitempty"`
	Counts            []float64       `json:"Counts,omitempty"`
	Unit              string          `json:"Unit,omitempty"`
	StorageResolution int64           `json:"StorageResolution,omitempty"`
}

type cwPutMetricDataInput struct {
	Namespace  string          `json:"Namespace"`
	MetricData []cwMetricDatum `json:"MetricData"`
}

type cwListMetricsInput struct {
	Namespace      string        `json:"Namespace,omitempty"`
	MetricName     string        `json:"MetricName,omitempty"`
	Dimensions     []cwDimension `json:"Dimensions,omitempty"`
	NextToken      string        `json:"NextToken,omitempty"`
	RecentlyActive string        `json:"RecentlyActive,omitempty"`
}

type cwListMetricsOutput struct {
	Metrics   []cwMetric `json:"Metrics"`
	NextToken string     `json:"NextToken,omitempty"`
}

// wireTime is a CloudWatch timestamp. On CBOR it is tag 1 around epoch seconds
// (float64 with millisecond precision; the SDK also accepts and may send an
// integer), on AWS JSON a bare number of epoch seconds, and on the query
// protocol an ISO-8601 string.
type wireTime struct{ time.Time }

func (t wireTime) epochSeconds() float64 { return float64(t.UnixMilli()) / 1e3 }

// MarshalCBOR writes tag 1 wrapping a float64, which is what the SDK writes.
func (t wireTime) MarshalCBOR() ([]byte, error) {
	return cbor.Marshal(cbor.Tag{Number: 1, Content: t.epochSeconds()})
}

// UnmarshalCBOR accepts tag 1 around an integer or a float, and (leniently)
// a bare number.
func (t *wireTime) UnmarshalCBOR(data []byte) error {
	var raw cbor.RawTag
	content := data
	if err := raw.UnmarshalCBOR(data); err == nil {
		if raw.Number != 1 {
			return fmt.Errorf("timestamp: CBOR tag %d, want 1", raw.Number)
		}
		content = raw.Content
	}
	var v any
	if err := cbor.Unmarshal(content, &v); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	switch n := v.(type) {
	case uint64:
		if n > math.MaxInt64/1000 {
			return errors.New("timestamp: out of range")
		}
		t.Time = time.Unix(int64(n), 0).UTC()
	case int64:
		if n < math.MinInt64/1000 {
			return errors.New("timestamp: out of range")
		}
		t.Time = time.Unix(n, 0).UTC()
	case float64:
		return t.setFloat(n)
	default:
		return fmt.Errorf("timestamp: want a number in tag 1, got %T", v)
	}
	return nil
}

// setFloat stores epoch seconds given as a float.
func (t *wireTime) setFloat(f float64) error {
	// ±1e11 s is year ±5000: far beyond anything CloudWatch accepts, and it
	// keeps the millisecond conversion inside int64.
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return fmt.Errorf("timestamp: %v out of range", f)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1e3))).UTC()
	return nil
}

// MarshalJSON writes epoch seconds as a number (AWS JSON 1.0's default
// timestamp format).
func (t wireTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, t.epochSeconds(), 'f', -1, 64), nil
}

// UnmarshalJSON accepts epoch seconds as a number or as a string, and an
// ISO-8601 string.
func (t *wireTime) UnmarshalJSON(data []byte) error {
	s := strings.TrimSpace(string(data))
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(data, &str); err != nil {
			return fmt.Errorf("timestamp: %w", err)
		}
		return t.parseText(str)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("timestamp: %q is not a number", s)
	}
	return t.setFloat(f)
}

// parseText reads the query protocol's ISO-8601 form or a numeric string.
func (t *wireTime) parseText(s string) error {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return t.setFloat(f)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("timestamp: %q is neither epoch seconds nor ISO-8601", s)
}
