// Package backtest replays invocation traces through the simulator, with the
// controller the daemon runs and the policies it is measured against.
package backtest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// Trace formats, detected from the header.
const (
	FormatAzure2019 = "azure2019"          // HashOwner,HashApp,HashFunction,Trigger,1..1440 (either column order)
	FormatPlain     = "minute-invocations" // minute,invocations,avg_duration_ms
)

// maxMinutes bounds a trace's span so a hostile file cannot make us allocate
// without limit (a year of minutes).
const maxMinutes = 366 * 24 * 60

// Function is one function's invocations per minute.
type Function struct {
	ID          string // HashFunction, or the file's name for a plain CSV
	Format      string // the trace's format (FormatAzure2019 or FormatPlain)
	App         string
	Owner       string
	Trigger     string
	StartMinute int       // the source's number for Counts[0] (Azure headers count from 1)
	Counts      []float64 // invocations per minute
	// DurationMS is the mean execution time; 0 until known (durations file,
	// a plain CSV's own column, or --duration-ms).
	DurationMS float64
}

// Total is the function's invocation count over the trace.
func (f Function) Total() float64 {
	var s float64
	for _, c := range f.Counts {
		s += c
	}
	return s
}

// Trace is a parsed invocations file.
type Trace struct {
	Format    string
	Functions []Function
}

// ParseError names the file, line and column of a bad input.
type ParseError struct {
	File   string
	Line   int
	Column string
	Msg    string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func newReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	cr.TrimLeadingSpace = true
	return cr
}

// csvErr turns encoding/csv's errors (which carry the line) into ParseErrors.
func csvErr(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: file, Line: pe.Line, Msg: pe.Err.Error()}
	}
	return &ParseError{File: file, Msg: err.Error()}
}

// ReadTrace parses an invocations CSV: the Azure 2019 layout (original or the
// invitro repackaging, told apart by the header) or the plain
// minute,invocations,avg_duration_ms layout. name is used in errors and as the
// function ID of a plain CSV.
func ReadTrace(r io.Reader, name string) (*Trace, error) {
	cr := newReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{File: name, Line: 1, Msg: "empty file: expected a header"}
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	if isPlainHeader(header) {
		return readPlain(cr, name)
	}
	return readAzure(cr, header, name)
}

func isPlainHeader(h []string) bool {
	return len(h) == 3 && strings.EqualFold(h[0], "minute") &&
		strings.EqualFold(h[1], "invocations") && strings.EqualFold(h[2], "avg_duration_ms")
}

// azureLayout locates the columns of an Azure header.
type azureLayout struct {
	fn, app, owner, trigger int // -1 when absent (app, owner, trigger are optional)
	firstMinute             int // column of the first minute
	startMinute             int // its number
	minutes                 int
}

func parseAzureHeader(h []string, name string) (azureLayout, error) {
	l := azureLayout{fn: -1, app: -1, owner: -1, trigger: -1, firstMinute: -1}
	for i, c := range h {
		switch c {
		case "HashFunction":
			l.fn = i
		case "HashApp":
			l.app = i
		case "HashOwner":
			l.owner = i
		case "Trigger":
			l.trigger = i
		default:
			n, ok := minuteColumn(c)
			if !ok {
				return l, &ParseError{File: name, Line: 1, Column: strconv.Quote(c),
					Msg: "unknown header; expected HashFunction,HashApp,HashOwner[,Trigger] then minute columns (1,2,… or minute_1,minute_2,…), or minute,invocations,avg_duration_ms"}
			}
			if l.firstMinute < 0 {
				l.firstMinute, l.startMinute = i, n
			} else if want := l.startMinute + (i - l.firstMinute); n != want || i != l.firstMinute+l.minutes {
				return l, &ParseError{File: name, Line: 1, Column: strconv.Quote(c),
					Msg: fmt.Sprintf("minute columns must be consecutive; expected minute %d here", want)}
			}
			l.minutes++
		}
	}
	switch {
	case l.fn < 0:
		return l, &ParseError{File: name, Line: 1, Msg: "header has no HashFunction column (and is not minute,invocations,avg_duration_ms)"}
	case l.minutes == 0:
		return l, &ParseError{File: name, Line: 1, Msg: "header has no minute columns"}
	case l.minutes > maxMinutes:
		return l, &ParseError{File: name, Line: 1, Msg: fmt.Sprintf("%d minute columns; at most %d", l.minutes, maxMinutes)}
	}
	return l, nil
}

// minuteColumn accepts "480" and "minute_480".
func minuteColumn(c string) (int, bool) {
	c = strings.TrimPrefix(c, "minute_")
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 || n > maxMinutes*2 {
		return 0, false
	}
	return n, true
}

func readAzure(cr *csv.Reader, header []string, name string) (*Trace, error) {
	l, err := parseAzureHeader(header, name)
	if err != nil {
		return nil, err
	}
	cr.FieldsPerRecord = len(header)
	t := &Trace{Format: FormatAzure2019}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		f := Function{ID: strings.TrimSpace(rec[l.fn]), Format: FormatAzure2019, StartMinute: l.startMinute, Counts: make([]float64, l.minutes)}
		if f.ID == "" {
			return nil, &ParseError{File: name, Line: line, Column: "HashFunction", Msg: "empty function hash"}
		}
		if prev, dup := seen[f.ID]; dup {
			return nil, &ParseError{File: name, Line: line, Column: "HashFunction",
				Msg: fmt.Sprintf("function %s repeats line %d", f.ID, prev)}
		}
		seen[f.ID] = line
		if l.app >= 0 {
			f.App = rec[l.app]
		}
		if l.owner >= 0 {
			f.Owner = rec[l.owner]
		}
		if l.trigger >= 0 {
			f.Trigger = rec[l.trigger]
		}
		for i := range l.minutes {
			col := l.firstMinute + i
			v, err := parseCount(rec[col])
			if err != nil {
				ln, _ := cr.FieldPos(col)
				return nil, &ParseError{File: name, Line: ln, Column: header[col], Msg: err.Error()}
			}
			f.Counts[i] = v
		}
		t.Functions = append(t.Functions, f)
	}
	if len(t.Functions) == 0 {
		return nil, &ParseError{File: name, Msg: "no functions after the header"}
	}
	return t, nil
}

func parseCount(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("%q is not a non-negative number", s)
	}
	return v, nil
}

// readPlain reads minute,invocations,avg_duration_ms. Minutes ascend; gaps
// are minutes without invocations. The function's duration is the
// invocation-weighted mean of the rows' durations, because the simulator
// takes one duration per function (the per-minute concurrency of a minute
// whose duration differs from the mean is off by that ratio).
func readPlain(cr *csv.Reader, name string) (*Trace, error) {
	cr.FieldsPerRecord = 3
	f := Function{ID: filepath.Base(name), Format: FormatPlain}
	var weighted, count float64
	last := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		line, _ := cr.FieldPos(0)
		m, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || m < 0 {
			return nil, &ParseError{File: name, Line: line, Column: "minute", Msg: fmt.Sprintf("%q is not a non-negative integer", rec[0])}
		}
		if f.Counts == nil {
			f.StartMinute = m
		} else if m <= last {
			return nil, &ParseError{File: name, Line: line, Column: "minute", Msg: fmt.Sprintf("minute %d does not ascend (previous %d)", m, last)}
		}
		if m-f.StartMinute >= maxMinutes {
			return nil, &ParseError{File: name, Line: line, Column: "minute", Msg: fmt.Sprintf("minute %d is more than %d minutes after the first", m, maxMinutes)}
		}
		inv, err := parseCount(rec[1])
		if err != nil {
			return nil, &ParseError{File: name, Line: line, Column: "invocations", Msg: err.Error()}
		}
		dur, err := parseCount(rec[2])
		if err != nil {
			return nil, &ParseError{File: name, Line: line, Column: "avg_duration_ms", Msg: err.Error()}
		}
		for len(f.Counts) < m-f.StartMinute {
			f.Counts = append(f.Counts, 0)
		}
		f.Counts = append(f.Counts, inv)
		weighted += inv * dur
		count += inv
		last = m
	}
	if f.Counts == nil {
		return nil, &ParseError{File: name, Msg: "no rows after the header"}
	}
	if count > 0 {
		f.DurationMS = weighted / count
	}
	return &Trace{Format: FormatPlain, Functions: []Function{f}}, nil
}

// ReadDurations parses an Azure 2019 durations CSV into Average ms by
// HashFunction (both repackagings: columns are found by name).
func ReadDurations(r io.Reader, name string) (map[string]float64, error) {
	cr := newReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ParseError{File: name, Line: 1, Msg: "empty file: expected a header"}
	}
	if err != nil {
		return nil, csvErr(name, err)
	}
	fn, avg := -1, -1
	for i, c := range header {
		switch strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")) {
		case "HashFunction":
			fn = i
		case "Average":
			avg = i
		}
	}
	if fn < 0 || avg < 0 {
		return nil, &ParseError{File: name, Line: 1, Msg: "header needs HashFunction and Average columns"}
	}
	cr.FieldsPerRecord = len(header)
	out := map[string]float64{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(name, err)
		}
		v, err := parseCount(rec[avg])
		if err != nil {
			line, _ := cr.FieldPos(avg)
			return nil, &ParseError{File: name, Line: line, Column: "Average", Msg: err.Error()}
		}
		out[strings.TrimSpace(rec[fn])] = v
	}
	return out, nil
}
