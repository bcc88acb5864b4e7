package backtest

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// progress reports finished replays: a redrawn bar on a terminal, one plain
// line per replay otherwise (logs, CI). Safe for concurrent use.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	total int
	done  int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// finished records one replay of fn under policy.
func (p *progress) finished(fn, policy string) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if !p.tty {
		fmt.Fprintf(p.w, "backtest: %d/%d %s %s\n", p.done, p.total, short(fn), policy)
		return
	}
	const width = 30
	filled := width * p.done / max(p.total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d %-12s %-6s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		100*p.done/max(p.total, 1), p.done, p.total, short(fn), policy)
	if p.done == p.total {
		fmt.Fprintln(p.w)
	}
}
