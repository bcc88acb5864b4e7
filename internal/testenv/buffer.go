package testenv

import (
	"bytes"
	"strings"
	"sync"
)

// LineBuffer collects a child process's output (or a logger's) safely for
// exec's copier goroutines and the test reading it at the same time.
type LineBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines returns the complete lines written so far (a JSON log's records).
func (b *LineBuffer) Lines() []string {
	s := b.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}
