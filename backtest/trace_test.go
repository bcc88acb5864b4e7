package backtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadTrace(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		format    string
		ids       []string
		start     int
		counts    [][]float64
		duration  float64
		wantError string
	}{
		{
			name:   "azure original layout with trigger and offset minutes",
			in:     "HashOwner,HashApp,HashFunction,Trigger,480,481,482\no1,a1,f1,http,1,2,3\no2,a2,f2,timer,0,0,7\n",
			format: FormatAzure2019, ids: []string{"f1", "f2"}, start: 480,
			counts: [][]float64{{1, 2, 3}, {0, 0, 7}},
		},
		{
			name:   "invitro layout",
			in:     "HashFunction,HashApp,HashOwner,minute_1,minute_2\nfa,aa,oa,5,6\n",
			format: FormatAzure2019, ids: []string{"fa"}, start: 1,
			counts: [][]float64{{5, 6}},
		},
		{
			name:   "plain with gaps and weighted duration",
			in:     "minute,invocations,avg_duration_ms\n0,10,100\n2,30,500\n",
			format: FormatPlain, ids: []string{"t.csv"}, start: 0,
			counts: [][]float64{{10, 0, 30}}, duration: 400,
		},
		{name: "empty", in: "", wantError: "t.csv:1: empty file"},
		{name: "unknown header", in: "a,b\n1,2\n", wantError: `t.csv:1: column "a": unknown header`},
		{name: "no function column", in: "HashApp,1,2\na,1,2\n", wantError: "no HashFunction column"},
		{name: "no minutes", in: "HashFunction,HashApp\nf,a\n", wantError: "no minute columns"},
		{name: "gap in minute columns", in: "HashFunction,1,3\nf,1,2\n", wantError: `column "3": minute columns must be consecutive; expected minute 2`},
		{name: "negative count", in: "HashFunction,1,2\nf,1,2\ng,3,-4\n", wantError: `t.csv:3: column 2: "-4" is not a non-negative number`},
		{name: "text count", in: "HashFunction,1\nf,x\n", wantError: `t.csv:2: column 1: "x" is not`},
		{name: "short row", in: "HashFunction,1,2\nf,1\n", wantError: "t.csv:2: wrong number of fields"},
		{name: "duplicate function", in: "HashFunction,1\nf,1\nf,2\n", wantError: "t.csv:3: column HashFunction: function f repeats line 2"},
		{name: "no rows", in: "HashFunction,1\n", wantError: "no functions after the header"},
		{name: "plain minutes must ascend", in: "minute,invocations,avg_duration_ms\n5,1,1\n5,1,1\n", wantError: "t.csv:3: column minute: minute 5 does not ascend"},
		{name: "plain bad duration", in: "minute,invocations,avg_duration_ms\n1,1,NaN\n", wantError: "t.csv:2: column avg_duration_ms"},
		{name: "plain huge span", in: "minute,invocations,avg_duration_ms\n0,1,1\n999999999,1,1\n", wantError: "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ReadTrace(strings.NewReader(tc.in), "t.csv")
			if tc.wantError != "" {
				require.ErrorContains(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.format, tr.Format)
			require.Len(t, tr.Functions, len(tc.ids))
			for i, f := range tr.Functions {
				require.Equal(t, tc.ids[i], f.ID)
				require.Equal(t, tc.start, f.StartMinute)
				require.Equal(t, tc.counts[i], f.Counts)
				require.InDelta(t, tc.duration, f.DurationMS, 1e-9)
			}
		})
	}
}

func TestReadDurations(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      map[string]float64
		wantError string
	}{
		{name: "500fn layout", in: "HashOwner,HashApp,HashFunction,Average,Count\no,a,f1,3,10\no,a,f2,6108,2\n", want: map[string]float64{"f1": 3, "f2": 6108}},
		{name: "invitro layout", in: "HashFunction,HashApp,HashOwner,Count,Average\nf,a,o,2,49\n", want: map[string]float64{"f": 49}},
		{name: "missing average", in: "HashFunction,Count\nf,1\n", wantError: "needs HashFunction and Average"},
		{name: "bad value", in: "HashFunction,Average\nf,1\ng,oops\n", wantError: `d.csv:3: column Average: "oops"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadDurations(strings.NewReader(tc.in), "d.csv")
			if tc.wantError != "" {
				require.ErrorContains(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// The shipped traces must load: both Azure layouts and both durations files.
func TestReadSharedTraces(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "traces")
	tests := []struct {
		name, inv, dur string
		functions      int
		minutes, start int
	}{
		{name: "1250fn invitro", inv: "azure2019-1250fn-1day/1250_inv.csv", dur: "azure2019-1250fn-1day/1250_run.csv", functions: 1250, minutes: 1440, start: 1},
		{name: "500fn original", inv: "azure2019-500fn-8h/invocations.csv", dur: "azure2019-500fn-8h/durations.csv", functions: 500, minutes: 480, start: 480},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := os.Open(filepath.Join(dir, tc.inv))
			if os.IsNotExist(err) {
				t.Skip("shared traces not present: ", err)
			}
			require.NoError(t, err)
			defer inv.Close()
			tr, err := ReadTrace(inv, tc.inv)
			require.NoError(t, err)
			require.Len(t, tr.Functions, tc.functions)
			require.Len(t, tr.Functions[0].Counts, tc.minutes)
			require.Equal(t, tc.start, tr.Functions[0].StartMinute)
			d, err := os.Open(filepath.Join(dir, tc.dur))
			require.NoError(t, err)
			defer d.Close()
			durs, err := ReadDurations(d, tc.dur)
			require.NoError(t, err)
			require.Len(t, durs, tc.functions)
			_, ok := durs[tr.Functions[0].ID]
			require.True(t, ok, "durations keyed by the invocations' HashFunction")
		})
	}
}

func FuzzReadTrace(f *testing.F) {
	f.Add("HashOwner,HashApp,HashFunction,Trigger,480,481\no,a,f,http,1,2\n")
	f.Add("HashFunction,HashApp,HashOwner,minute_1,minute_2\nf,a,o,1,2\n")
	f.Add("minute,invocations,avg_duration_ms\n0,10,100\n3,1,1\n")
	f.Add("minute,invocations,avg_duration_ms\n0,1e308,1e308\n")
	f.Add("HashFunction,1\n\"f\nx\",1\n")
	f.Add("\ufeffHashFunction,minute_99999999\nf,1\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ReadTrace(strings.NewReader(in), "fuzz.csv")
		if err != nil {
			require.Nil(t, tr)
			return
		}
		require.NotEmpty(t, tr.Functions)
		for _, fn := range tr.Functions {
			require.NotEmpty(t, fn.Counts)
			require.LessOrEqual(t, len(fn.Counts), maxMinutes)
			for _, c := range fn.Counts {
				require.GreaterOrEqual(t, c, 0.0)
			}
			// Selection and scaling must not panic on anything the reader accepts.
			_ = ScalePeak(Function{Counts: fn.Counts, DurationMS: 1000}, 200)
			_ = Burstiness(fn.Counts)
		}
	})
}

func FuzzReadDurations(f *testing.F) {
	f.Add("HashFunction,Average\nf,1\n")
	f.Add("HashOwner,HashApp,HashFunction,Average,Count\no,a,f,3,10\n")
	f.Add("Average\n")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ReadDurations(strings.NewReader(in), "fuzz.csv")
		if err == nil {
			for _, v := range d {
				require.GreaterOrEqual(t, v, 0.0)
			}
		}
	})
}

func TestSelect(t *testing.T) {
	tr := &Trace{Functions: []Function{
		{ID: "aa11", Counts: []float64{10, 10, 10, 10}}, // busiest, flat
		{ID: "aa22", Counts: []float64{0, 0, 0, 20}},    // bursty
		{ID: "bb33", Counts: []float64{5, 6, 5, 6}},     // flat
		{ID: "cc44", Counts: []float64{0, 1, 0, 0}},     // bursty but tiny
		{ID: "dd55", Counts: []float64{30, 0, 0, 0}},    // bursty and larger
	}}
	tests := []struct {
		name      string
		sel       Selection
		want      []string
		wantError string
	}{
		{name: "all by default", sel: Selection{}, want: []string{"aa11", "aa22", "bb33", "cc44", "dd55"}},
		{name: "top 2", sel: Selection{Top: 2}, want: []string{"aa11", "dd55"}},
		{name: "prefix matches several busiest first", sel: Selection{Prefixes: []string{"AA"}}, want: []string{"aa11", "aa22"}},
		{name: "burstiest skips tiny", sel: Selection{Burstiest: 2, MinInvocations: 10}, want: []string{"dd55", "aa22"}},
		{name: "burstiest needs activity", sel: Selection{Burstiest: 2, MinActive: 0.5}, want: []string{"bb33", "aa11"}},
		{name: "union without repeats", sel: Selection{Prefixes: []string{"dd"}, Top: 2}, want: []string{"dd55", "aa11"}},
		{name: "prefix without match", sel: Selection{Prefixes: []string{"zz"}}, wantError: "--function zz: no function"},
		{name: "negative top", sel: Selection{Top: -1}, wantError: "must be ≥ 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(tr, tc.sel)
			if tc.wantError != "" {
				require.ErrorContains(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, f := range got {
				ids = append(ids, f.ID)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestScalePeak(t *testing.T) {
	tests := []struct {
		name     string
		f        Function
		peak     float64
		want     []float64
		wantPeak float64
	}{
		{name: "scales to peak concurrency", f: Function{Counts: []float64{60, 120}, DurationMS: 1000}, peak: 10, want: []float64{300, 600}, wantPeak: 10},
		{name: "zero peak leaves counts", f: Function{Counts: []float64{60, 120}, DurationMS: 1000}, peak: 0, want: []float64{60, 120}, wantPeak: 2},
		{name: "idle function untouched", f: Function{Counts: []float64{0, 0}, DurationMS: 1000}, peak: 10, want: []float64{0, 0}, wantPeak: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ScalePeak(tc.f, tc.peak)
			require.InDeltaSlice(t, tc.want, got.Counts, 1e-9)
			require.InDelta(t, tc.wantPeak, PeakMeanConcurrency(got), 1e-9)
		})
	}
}

func TestApplyDurations(t *testing.T) {
	tests := []struct {
		name      string
		own       float64
		file      map[string]float64
		fallback  float64
		want      float64
		wantError string
	}{
		{name: "file wins", own: 5, file: map[string]float64{"f": 50}, fallback: 1000, want: 50},
		{name: "own next", own: 5, fallback: 1000, want: 5},
		{name: "fallback last", fallback: 1000, want: 1000},
		{name: "sub-millisecond rounds up", file: map[string]float64{"f": 0}, fallback: 0.2, want: 1},
		{name: "none", wantError: "function f has no duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fns := []Function{{ID: "f", DurationMS: tc.own}}
			err := ApplyDurations(fns, tc.file, tc.fallback)
			if tc.wantError != "" {
				require.ErrorContains(t, err, tc.wantError)
				return
			}
			require.NoError(t, err)
			require.InDelta(t, tc.want, fns[0].DurationMS, 1e-9)
		})
	}
}
