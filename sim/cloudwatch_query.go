package sim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// The awsQuery protocol: form-encoded requests (Action=GetMetricData&
// Version=2010-08-01&MetricDataQueries.member.1.Id=…) and XML responses.
// CloudWatch emulators such as moto speak it, and the Go SDK can be set to it
// (awsquery.New), so the daemon's `cloudwatch_protocol: query` is testable
// against the simulator too.

func (h *handler) serveCloudWatchQuery(w http.ResponseWriter, r *http.Request, c *call) {
	codec := queryCodec{}
	c.protocol = codec.name()
	body, err := readBody(w, r)
	if err != nil {
		h.failCW(w, c, codec, cwSerialization(err.Error()))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		h.failCW(w, c, codec, &wireError{status: http.StatusBadRequest, code: "MalformedQueryString", queryCode: "MalformedQueryString", message: "The query string is malformed: " + err.Error()})
		return
	}
	op := form.Get("Action")
	if !knownCloudWatchOp(op) {
		h.failCW(w, c, codec, cwUnknownOperation(strconv.Quote(op)))
		return
	}
	if v := form.Get("Version"); v != "2010-08-01" {
		h.failCW(w, c, codec, &wireError{status: http.StatusBadRequest, code: "InvalidParameterValueException", queryCode: "InvalidParameterValue", message: "Version must be 2010-08-01, got " + strconv.Quote(v)})
		return
	}
	h.serveCloudWatchBody(w, r, c, codec, op, body)
}

// queryCodec decodes form bodies into the same wire structs the CBOR and
// JSON codecs use, by their json member names, and encodes XML.
type queryCodec struct{}

func (queryCodec) name() string { return protoQuery }

func (queryCodec) decode(body []byte, v any) error {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fmt.Errorf("decoding form body: %w", err)
	}
	prefixes := make(map[string]bool, len(form)*4)
	for k := range form {
		for i := 0; i < len(k); i++ {
			if k[i] == '.' {
				prefixes[k[:i]] = true
			}
		}
		prefixes[k] = true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return errors.New("query decode needs a pointer to a struct")
	}
	return fillQuery(rv.Elem(), "", form, prefixes)
}

var wireTimeType = reflect.TypeFor[wireTime]()

// fillQuery sets the fields of struct v from form keys under prefix.
func fillQuery(v reflect.Value, prefix string, form url.Values, prefixes map[string]bool) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		if name == "" {
			continue
		}
		if err := fillQueryValue(v.Field(i), prefix+name, form, prefixes); err != nil {
			return err
		}
	}
	return nil
}

func fillQueryValue(fv reflect.Value, key string, form url.Values, prefixes map[string]bool) error {
	if !prefixes[key] {
		return nil
	}
	if fv.Kind() == reflect.Pointer {
		elem := reflect.New(fv.Type().Elem())
		if err := fillQueryValue(elem.Elem(), key, form, prefixes); err != nil {
			return err
		}
		fv.Set(elem)
		return nil
	}
	text := form.Get(key)
	switch {
	case fv.Type() == wireTimeType:
		var wt wireTime
		if err := wt.parseText(text); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		fv.Set(reflect.ValueOf(wt))
	case fv.Kind() == reflect.Struct:
		return fillQuery(fv, key+".", form, prefixes)
	case fv.Kind() == reflect.Slice:
		// Lists are key.member.1, key.member.2, … (1-based, no gaps).
		s := reflect.MakeSlice(fv.Type(), 0, 0)
		for n := 1; ; n++ {
			ek := key + ".member." + strconv.Itoa(n)
			if !prefixes[ek] {
				break
			}
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := fillQueryValue(ev, ek, form, prefixes); err != nil {
				return err
			}
			s = reflect.Append(s, ev)
		}
		fv.Set(s)
	case fv.Kind() == reflect.String:
		fv.SetString(text)
	case fv.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not an integer", key, text)
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return fmt.Errorf("%s: %q is not a number", key, text)
		}
		fv.SetFloat(f)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean", key, text)
		}
		fv.SetBool(b)
	}
	return nil
}

func jsonName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	if tag == "" {
		return f.Name
	}
	return tag
}

func (queryCodec) writeOutput(w http.ResponseWriter, op string, v any) {
	var b bytes.Buffer
	b.WriteString(`<` + op + `Response xmlns="` + cwXMLNamespace + `"><` + op + `Result>`)
	writeQueryXML(&b, reflect.ValueOf(v))
	b.WriteString(`</` + op + `Result><ResponseMetadata><RequestId>`)
	_ = xml.EscapeText(&b, []byte(w.Header().Get("X-Amzn-RequestId")))
	b.WriteString(`</RequestId></ResponseMetadata></` + op + `Response>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// writeQueryXML writes a struct's fields as elements named by their json
// member names; lists as <Name><member>…</member></Name>.
func writeQueryXML(b *bytes.Buffer, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		fv := v.Field(i)
		if name == "" || (strings.Contains(f.Tag.Get("json"), ",omitempty") && fv.IsZero()) {
			continue
		}
		b.WriteString("<" + name + ">")
		writeQueryXMLValue(b, fv)
		b.WriteString("</" + name + ">")
	}
}

func writeQueryXMLValue(b *bytes.Buffer, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == wireTimeType:
		b.WriteString(v.Interface().(wireTime).UTC().Format("2006-01-02T15:04:05.000Z"))
	case v.Kind() == reflect.Struct:
		writeQueryXML(b, v)
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			b.WriteString("<member>")
			writeQueryXMLValue(b, v.Index(i))
			b.WriteString("</member>")
		}
	case v.Kind() == reflect.String:
		_ = xml.EscapeText(b, []byte(v.String()))
	case v.Kind() == reflect.Int64 || v.Kind() == reflect.Int:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case v.Kind() == reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case v.Kind() == reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	}
}

func (queryCodec) writeError(w http.ResponseWriter, _ string, e *wireError) {
	code := e.queryCode
	if code == "" {
		code = e.code
	}
	fault := "Sender"
	if e.server {
		fault = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + cwXMLNamespace + `"><Error><Type>` + fault + `</Type><Code>`)
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString(`</Code><Message>`)
	_ = xml.EscapeText(&b, []byte(e.message))
	b.WriteString(`</Message></Error><RequestId>`)
	_ = xml.EscapeText(&b, []byte(w.Header().Get("X-Amzn-RequestId")))
	b.WriteString(`</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(b.Bytes())
}
