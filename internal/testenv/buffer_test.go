package testenv

import (
	"testing"
)

func TestLineBufferLines(t *testing.T) {
	for _, tc := range []struct {
		name, written string
		want          []string
	}{
		{"nothing", "", nil},
		{"a partial line", `{"msg":"a"`, nil},
		{"two lines and a partial one", "one\ntwo\nthr", []string{"one", "two"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b LineBuffer
			_, _ = b.Write([]byte(tc.written))
			got := b.Lines()
			if len(got) != len(tc.want) {
				t.Fatalf("Lines() = %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("Lines() = %q, want %q", got, tc.want)
				}
			}
		})
	}
}
