package backtest

import (
	"bufio"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Colours: one per series, the same on every chart (Tableau 10, which
// stays apart for the common colour-vision deficiencies).
var (
	colorOurs   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	colorAAS    = color.RGBA{R: 0xd6, G: 0x5f, B: 0x0e, A: 0xff} // orange
	colorStatic = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff} // grey, dashed
	colorOracle = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff} // green
	colorDemand = color.RGBA{R: 0x20, G: 0x20, B: 0x20, A: 0xff}
	fillDemand  = color.RGBA{R: 0xd9, G: 0xd9, B: 0xd9, A: 0xff}
	fillWarmup  = color.RGBA{R: 0xee, G: 0xee, B: 0xf4, A: 0xff}
	fillZoom    = color.RGBA{R: 0xff, G: 0xf3, B: 0xb0, A: 0xff}
)

// policyColors keeps a policy's colour the same on every chart.
var policyColors = map[string]color.RGBA{
	PolicyOurs: colorOurs, PolicyAAS: colorAAS, PolicyStatic: colorStatic, PolicyOracle: colorOracle,
}

var (
	sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	boldFont = font.Font{Typeface: "Liberation", Variant: "Sans", Weight: 700}
)

// ChartSpec is one function's chart.
type ChartSpec struct {
	Title   string
	Start   time.Time // the replay's first minute (for clock-time ticks)
	Results []Result  // one per policy, same function
}

const (
	chartDPI  = 100
	zoomHours = 3
)

// WriteChart draws a function's replay as a PNG at path: on the left the
// whole replay, on the right the 3 hours around its worst spillover; on
// top each policy's allocated PC over the demand (per-second peak of each
// minute, which is also oracle's PC), below the invocations that spilled
// to standard concurrency each minute. The warm-up is shaded, the zoomed
// window is marked on the whole-replay panel, the legend sits above the
// panels.
func WriteChart(path string, spec ChartSpec) error {
	rs := spec.Results
	if len(rs) == 0 || len(rs[0].Demand) == 0 {
		return nil
	}
	n := len(rs[0].Demand)
	warm := rs[0].Warmup
	z0, z1 := zoomWindow(rs, warm, n, zoomHours*60)

	const w, h = 16 * vg.Inch, 9.5 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	fill(dc, color.White)

	var entries []legendEntry
	entries = append(entries, legendEntry{label: "demand = oracle PC (per-second peak of each minute)", fill: fillDemand, line: colorDemand, width: 0.6})
	for _, r := range rs {
		switch r.Policy {
		case PolicyOurs, PolicyAAS:
			entries = append(entries, legendEntry{label: r.Policy + " PC" + targetLabel(r), line: policyColors[r.Policy], width: 2})
		case PolicyStatic:
			entries = append(entries, legendEntry{label: "static PC (the day's peak)", line: colorStatic, width: 1.5, dashed: true})
		}
	}
	entries = append(entries,
		legendEntry{label: "warm-up (not scored)", fill: fillWarmup},
		legendEntry{label: "zoomed window", fill: fillZoom})
	titleH := 0.55 * vg.Inch
	legendH := 0.1*vg.Inch + legendRow*vg.Length(legendRows(entries, 0.25*vg.Inch, w))
	drawText(dc, boldFont, 17, vg.Point{X: 0.25 * vg.Inch, Y: h - 0.38*vg.Inch}, spec.Title, colorDemand)
	drawLegend(dc, entries, vg.Point{X: 0.25 * vg.Inch, Y: h - titleH - legendRow/2})

	body := draw.Crop(dc, 0.1*vg.Inch, -0.2*vg.Inch, 0.1*vg.Inch, -(titleH + legendH))
	bw, bh := body.Max.X-body.Min.X, body.Max.Y-body.Min.Y
	split := body.Min.X + bw*0.62
	pcH := bh * 0.64
	cell := func(x0, x1 vg.Length, top bool) draw.Canvas {
		c := body
		c.Min.X, c.Max.X = x0, x1
		if top {
			c.Min.Y = body.Max.Y - pcH
		} else {
			c.Max.Y = body.Max.Y - pcH
		}
		return c
	}

	peak := 1.0
	for _, r := range rs {
		if r.Policy == PolicyOracle {
			continue
		}
		for _, v := range r.PC {
			peak = math.Max(peak, v)
		}
	}
	for _, d := range rs[0].Demand {
		peak = math.Max(peak, float64(d))
	}
	spillPeak := func(a, b int) float64 {
		m := 1.0
		for _, r := range rs {
			for i := a; i < b && i < len(r.Spill); i++ {
				m = math.Max(m, float64(r.Spill[i]))
			}
		}
		return m
	}

	hours := func(m int) float64 { return float64(m) / 60 }
	for _, panel := range []struct {
		a, b      int
		x0, x1    vg.Length
		title     string
		day       bool
		spillPeak float64
	}{
		{a: 0, b: n, x0: body.Min.X, x1: split, title: "whole replay", day: true, spillPeak: spillPeak(0, n)},
		{a: z0, b: z1, x0: split, x1: body.Max.X, title: fmt.Sprintf("zoom: %s–%s, the 3 hours with the most spillover",
			clock(spec.Start, z0), clock(spec.Start, z1)), spillPeak: spillPeak(z0, z1)},
	} {
		ticks := clockTicks(spec.Start, panel.day)
		// PC panel.
		p := newPlot(panel.title, "", "concurrency")
		p.X.Tick.Marker = ticks
		p.Y.Tick.Marker = niceTicks{}
		shade(p, 0, hours(warm), peak*1.08, fillWarmup)
		if panel.day {
			shade(p, hours(z0), hours(z1), peak*1.08, fillZoom)
		}
		p.Add(plotter.NewGrid())
		if err := addDemand(p, rs[0].Demand, panel.a, panel.b); err != nil {
			return fmt.Errorf("chart %s: %w", path, err)
		}
		for _, r := range rs {
			if r.Policy == PolicyOracle {
				continue // oracle's PC is the demand curve
			}
			l, err := series(r.PC, panel.a, panel.b)
			if err != nil {
				return fmt.Errorf("chart %s: %w", path, err)
			}
			l.Color, l.Width = policyColors[r.Policy], vg.Points(1.6)
			if !panel.day {
				l.Width = vg.Points(2.2)
			}
			if r.Policy == PolicyStatic {
				l.Width, l.Dashes = vg.Points(1.4), []vg.Length{vg.Points(6), vg.Points(4)}
			}
			p.Add(l)
		}
		// Ranges last: Add widens them to whatever it is given.
		p.X.Min, p.X.Max = hours(panel.a), hours(panel.b)
		p.Y.Min, p.Y.Max = 0, peak*1.08

		// Spillover panel.
		s := newPlot("", "time of day (trace clock)", "spilled invocations / min")
		s.X.Tick.Marker = ticks
		s.Y.Tick.Marker = niceTicks{}
		shade(s, 0, hours(warm), panel.spillPeak*1.1, fillWarmup)
		if panel.day {
			shade(s, hours(z0), hours(z1), panel.spillPeak*1.1, fillZoom)
		}
		s.Add(plotter.NewGrid())
		for _, pol := range []string{PolicyAAS, PolicyOurs} { // ours on top
			r, ok := resultOf(rs, pol)
			if !ok {
				continue
			}
			vals := make([]float64, len(r.Spill))
			for i, v := range r.Spill {
				vals[i] = float64(v)
			}
			l, err := series(vals, panel.a, panel.b)
			if err != nil {
				return fmt.Errorf("chart %s: %w", path, err)
			}
			l.Color, l.Width = policyColors[r.Policy], vg.Points(1.4)
			s.Add(l)
		}
		s.X.Min, s.X.Max = hours(panel.a), hours(panel.b)
		s.Y.Min, s.Y.Max = 0, panel.spillPeak*1.1
		drawAligned([]*plot.Plot{p, s}, []draw.Canvas{cell(panel.x0, panel.x1, true), cell(panel.x0, panel.x1, false)})
	}
	return savePNG(img, path)
}

func resultOf(rs []Result, policy string) (Result, bool) {
	for _, r := range rs {
		if r.Policy == policy {
			return r, true
		}
	}
	return Result{}, false
}

// drawAligned draws plots stacked in one column so that their data areas
// share left and right edges, whatever their axis labels' widths.
func drawAligned(ps []*plot.Plot, cs []draw.Canvas) {
	left, right := vg.Length(0), vg.Length(0)
	for i, p := range ps {
		da := p.DataCanvas(cs[i])
		left, right = max(left, da.Min.X-cs[i].Min.X), max(right, cs[i].Max.X-da.Max.X)
	}
	for i, p := range ps {
		da := p.DataCanvas(cs[i])
		c := cs[i]
		c.Min.X += left - (da.Min.X - cs[i].Min.X)
		c.Max.X -= right - (cs[i].Max.X - da.Max.X)
		p.Draw(c)
	}
}

func targetLabel(r Result) string {
	if r.Target > 0 {
		return fmt.Sprintf(" (target %s)", ff(r.Target, 2))
	}
	return ""
}

// zoomWindow is the width-minute window of the scored part with the most
// spillover of ours and aas together (the busiest one when none spilled).
func zoomWindow(rs []Result, warm, n, width int) (int, int) {
	if n <= width {
		return 0, n
	}
	score := make([]float64, n)
	anySpill := false
	for _, r := range rs {
		if r.Policy != PolicyOurs && r.Policy != PolicyAAS {
			continue
		}
		for i, v := range r.Spill {
			if i >= warm && i < n {
				score[i] += float64(v)
				anySpill = anySpill || v > 0
			}
		}
	}
	if !anySpill {
		for i, d := range rs[0].Demand {
			if i >= warm {
				score[i] = float64(d)
			}
		}
	}
	lo := min(warm, n-width)
	best, bestAt, sum := -1.0, lo, 0.0
	for i := lo; i < n; i++ {
		sum += score[i]
		if i-lo >= width {
			sum -= score[i-width]
		}
		if i-lo >= width-1 && sum > best {
			best, bestAt = sum, i-width+1
		}
	}
	return bestAt, bestAt + width
}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansFont, 13)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 12)
		a.Tick.Label.Font = font.From(sansFont, 11)
		a.Padding = vg.Points(2)
	}
	p.Legend.TextStyle.Font = font.From(sansFont, 11)
	return p
}

// series is vals[a:b] against hours, as a line.
func series(vals []float64, a, b int) (*chunkedLine, error) {
	a, b = max(a, 0), min(b, len(vals))
	pts := make(plotter.XYs, 0, b-a)
	for i := a; i < b; i++ {
		pts = append(pts, plotter.XY{X: float64(i) / 60, Y: vals[i]})
	}
	if len(pts) == 0 {
		pts = append(pts, plotter.XY{})
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, err
	}
	return &chunkedLine{Line: l}, nil
}

// chunkedLine strokes a long line as pieces of at most chunkPoints points:
// the rasterizer's cost grows with the cells one path covers, and a day of
// bursts is one very long path (0.85 s a chart drawn whole, 0.35 s in
// pieces). Fills are drawn whole.
type chunkedLine struct{ *plotter.Line }

const chunkPoints = 64

func (l *chunkedLine) Plot(c draw.Canvas, p *plot.Plot) {
	pts := l.XYs
	if len(pts) <= chunkPoints || l.FillColor != nil {
		l.Line.Plot(c, p)
		return
	}
	for lo := 0; lo < len(pts)-1; lo += chunkPoints {
		part := *l.Line
		part.XYs = pts[lo:min(len(pts), lo+chunkPoints+1)]
		part.Plot(c, p)
	}
}

func addDemand(p *plot.Plot, demand []int, a, b int) error {
	vals := make([]float64, len(demand))
	for i, d := range demand {
		vals[i] = float64(d)
	}
	l, err := series(vals, a, b)
	if err != nil {
		return err
	}
	l.Color, l.Width, l.FillColor = colorDemand, vg.Points(0.6), fillDemand
	p.Add(l)
	return nil
}

// shade fills [x0, x1] over the plot's height.
func shade(p *plot.Plot, x0, x1, top float64, c color.Color) {
	if x1 <= x0 {
		return
	}
	poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: 0}, {X: x1, Y: 0}, {X: x1, Y: top}, {X: x0, Y: top}})
	if err != nil {
		return
	}
	poly.Color, poly.LineStyle.Width = c, 0
	p.Add(poly)
}

// clockTicks labels hours since the replay's start as the trace's clock
// time: every 2 h (hourly minor ticks) for a day, every 30 min (10-minute
// minor ticks) for a zoom.
func clockTicks(start time.Time, day bool) plot.Ticker {
	major, minor := 2*time.Hour, time.Hour
	if !day {
		major, minor = 30*time.Minute, 10*time.Minute
	}
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var ts []plot.Tick
		first := start.Add(time.Duration(lo * float64(time.Hour))).Truncate(minor)
		for t := first; ; t = t.Add(minor) {
			x := t.Sub(start).Hours()
			if x > hi+1e-9 {
				break
			}
			if x < lo-1e-9 {
				continue
			}
			label := ""
			if t.Sub(t.Truncate(major)) == 0 {
				label = t.UTC().Format("15:04")
			}
			ts = append(ts, plot.Tick{Value: x, Label: label})
		}
		return ts
	})
}

func clock(start time.Time, minute int) string {
	return start.Add(time.Duration(minute) * time.Minute).UTC().Format("15:04")
}

// niceTicks puts 5–10 labelled ticks at 1, 2 or 5 × 10^k.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if hi <= lo {
		return []plot.Tick{{Value: lo, Label: ff(lo, 0)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step))))
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: ff(v, prec)})
		if mv := v + step/2; mv < hi {
			ts = append(ts, plot.Tick{Value: mv})
		}
	}
	return ts
}

type legendEntry struct {
	label  string
	line   color.Color // nil: no line
	fill   color.Color // nil: no swatch
	width  float64     // line width in points
	dashed bool
}

// drawLegend lays the entries out in rows from at (the first row's left
// end, vertically centred), wrapping before the canvas' right edge; it
// returns the rows used.
func drawLegend(c draw.Canvas, entries []legendEntry, at vg.Point) int {
	face := font.DefaultCache.Lookup(sansFont, 12)
	x, rows := at.X, 1
	for _, e := range entries {
		sw := 0.35 * vg.Inch
		if need := sw + 5 + face.Width(e.label); x > at.X && x+need > c.Max.X-0.2*vg.Inch {
			x, at.Y, rows = at.X, at.Y-legendRow, rows+1
		}
		if e.fill != nil {
			c.FillPolygon(e.fill, []vg.Point{{X: x, Y: at.Y - 5}, {X: x + sw, Y: at.Y - 5}, {X: x + sw, Y: at.Y + 5}, {X: x, Y: at.Y + 5}})
		}
		if e.line != nil {
			sty := draw.LineStyle{Color: e.line, Width: vg.Points(e.width)}
			if e.dashed {
				sty.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			c.StrokeLine2(sty, x, at.Y, x+sw, at.Y)
		}
		x += sw + 5
		drawText(c, sansFont, 12, vg.Point{X: x, Y: at.Y - face.Extents().Ascent/2 + 1}, e.label, colorDemand)
		x += face.Width(e.label) + 0.3*vg.Inch
	}
	return rows
}

const legendRow = 0.3 * vg.Inch

// legendRows is how many rows drawLegend needs for entries in width.
func legendRows(entries []legendEntry, left, width vg.Length) int {
	face := font.DefaultCache.Lookup(sansFont, 12)
	x, rows := left, 1
	for _, e := range entries {
		need := 0.35*vg.Inch + 5 + face.Width(e.label)
		if x > left && x+need > width-0.2*vg.Inch {
			x, rows = left, rows+1
		}
		x += need + 0.3*vg.Inch
	}
	return rows
}

func drawText(c draw.Canvas, f font.Font, size vg.Length, at vg.Point, s string, col color.Color) {
	sty := text.Style{Color: col, Font: font.From(f, size), Handler: plot.DefaultTextHandler, XAlign: draw.XLeft, YAlign: draw.YBottom}
	c.FillText(sty, at, s)
}

func fill(c draw.Canvas, col color.Color) {
	c.FillPolygon(col, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// savePNG encodes at png.BestSpeed: a third of the default's time, files
// about 10% larger.
func savePNG(img *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	bw := bufio.NewWriter(f)
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(bw, img.Image()); err != nil {
		f.Close()
		return fmt.Errorf("chart %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return f.Close()
}

// WriteFrontierChart draws PC-hours against spillover for ours and aas at
// each swept target, AAS at its own target as the reference, and where
// ours meets the reference's PC-hours and spillover; the numbers are
// written above the plot. Spillover is on a log axis when it spans more
// than two decades (zero drawn at the axis floor, said in the axis label).
func WriteFrontierChart(path, title string, f *Frontier, aasTarget float64) error {
	if f == nil || len(f.Points) == 0 {
		return nil
	}
	const w, h = 12 * vg.Inch, 8 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(chartDPI))
	dc := draw.New(img)
	fill(dc, color.White)
	titleH := 0.55 * vg.Inch
	drawText(dc, boldFont, 16, vg.Point{X: 0.25 * vg.Inch, Y: h - 0.38*vg.Inch}, title, colorDemand)
	ref := "AAS-" + ff(aasTarget, 2)
	entries := []legendEntry{
		{label: "ours (label: target_utilization)", line: colorOurs, width: 2},
		{label: "aas (label: aas-target)", line: colorAAS, width: 2},
	}
	if f.HasRef {
		entries = append(entries, legendEntry{label: ref + "'s PC-hours and spillover (circles: ours there)", line: colorStatic, width: 1, dashed: true})
	}
	rows := legendRows(entries, 0.25*vg.Inch, w)
	drawLegend(dc, entries, vg.Point{X: 0.25 * vg.Inch, Y: h - titleH - legendRow/2})
	noteH := vg.Length(0)
	if f.HasRef {
		le := map[bool]string{true: "≤ "}
		note := fmt.Sprintf("%s: %s PC-hours at %s%% spillover.", ref, ff(f.Ref.PCHours, 0), ff(f.Ref.SpilloverPct, 3))
		if f.SpillAtRefOK {
			note += fmt.Sprintf("  Ours at its PC-hours: %s%s%% (%s%s×).", le[f.SpillAtRefBound], ff(f.SpillAtRef, 3), le[f.SpillAtRefBound], ratio(f.SpillAtRef, f.Ref.SpilloverPct))
		}
		if f.PCHAtRefOK {
			note += fmt.Sprintf("  Ours at its spillover: %s%s PC-hours (%s%s×).", le[f.PCHAtRefBound], ff(f.PCHAtRef, 0), le[f.PCHAtRefBound], ratio(f.PCHAtRef, f.Ref.PCHours))
		}
		noteH = legendRow
		drawText(dc, sansFont, 12, vg.Point{X: 0.25 * vg.Inch, Y: h - titleH - legendRow*vg.Length(rows) - legendRow/2 - 4}, note, colorDemand)
	}
	legendH := 0.1*vg.Inch + legendRow*vg.Length(rows) + noteH

	xmin, xmax, ymax, ypos := math.Inf(1), math.Inf(-1), 0.0, math.Inf(1)
	for _, pt := range f.Points {
		xmin, xmax, ymax = math.Min(xmin, pt.PCHours), math.Max(xmax, pt.PCHours), math.Max(ymax, pt.SpilloverPct)
		if pt.SpilloverPct > 0 {
			ypos = math.Min(ypos, pt.SpilloverPct)
		}
	}
	logY := ymax > 0 && !math.IsInf(ypos, 1) && ymax/ypos > 100
	floor := 0.0
	ylabel := "spillover % of invocations"
	if logY {
		floor = math.Pow(10, math.Floor(math.Log10(ypos)))
		ylabel = fmt.Sprintf("spillover %% of invocations (log; 0 drawn at %s)", strconv.FormatFloat(floor, 'g', -1, 64))
	}
	yv := func(v float64) float64 {
		if logY {
			return math.Max(v, floor)
		}
		return v
	}
	// The y label is drawn outside the plot: gonum centres it on the
	// arithmetic middle of the axis, which a log axis puts near its top.
	p := newPlot("", "PC-hours (scored part, all functions)", "")
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	}
	p.Add(plotter.NewGrid())
	for _, pol := range []string{PolicyOurs, PolicyAAS} {
		pts := f.Policy(pol)
		if len(pts) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(pts))
		labels := make([]string, len(pts))
		for i, pt := range pts {
			xys[i] = plotter.XY{X: pt.PCHours, Y: yv(pt.SpilloverPct)}
			labels[i] = ff(pt.Target, 2)
		}
		l, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("chart %s: %w", path, err)
		}
		l.Color, l.Width = policyColors[pol], vg.Points(2)
		sc.Color, sc.Shape, sc.Radius = policyColors[pol], draw.CircleGlyph{}, vg.Points(4)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return fmt.Errorf("chart %s: %w", path, err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font = font.From(sansFont, 11)
			lb.TextStyle[i].Color = policyColors[pol]
		}
		lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(5)}
		if pol == PolicyAAS {
			lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(-15)}
		}
		p.Add(l, sc, lb)
	}
	pad := (xmax - xmin) * 0.08
	if pad == 0 {
		pad = xmax*0.05 + 1
	}
	x0, x1 := math.Max(0, xmin-pad), xmax+pad
	y0, y1 := 0.0, ymax*1.12+0.1
	if logY {
		y0, y1 = floor/1.5, ymax*2
	}
	if f.HasRef {
		guide := func(xys plotter.XYs) {
			l, err := plotter.NewLine(xys)
			if err == nil {
				l.Color, l.Width, l.Dashes = colorStatic, vg.Points(1), []vg.Length{vg.Points(5), vg.Points(3)}
				p.Add(l)
			}
		}
		guide(plotter.XYs{{X: f.Ref.PCHours, Y: y0}, {X: f.Ref.PCHours, Y: y1}})
		guide(plotter.XYs{{X: x0, Y: yv(f.Ref.SpilloverPct)}, {X: x1, Y: yv(f.Ref.SpilloverPct)}})
		var marks plotter.XYs
		if f.SpillAtRefOK && !f.SpillAtRefBound {
			marks = append(marks, plotter.XY{X: f.Ref.PCHours, Y: yv(f.SpillAtRef)})
		}
		if f.PCHAtRefOK && !f.PCHAtRefBound {
			marks = append(marks, plotter.XY{X: f.PCHAtRef, Y: yv(f.Ref.SpilloverPct)})
		}
		if len(marks) > 0 {
			if sc, err := plotter.NewScatter(marks); err == nil {
				sc.Shape, sc.Radius, sc.Color = draw.RingGlyph{}, vg.Points(7), colorDemand
				p.Add(sc)
			}
		}
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = x0, x1, y0, y1
	area := draw.Crop(dc, 0.45*vg.Inch, -0.3*vg.Inch, 0.1*vg.Inch, -(titleH + legendH))
	p.Draw(area)
	sty := text.Style{Color: colorDemand, Font: font.From(sansFont, 12), Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter, YAlign: draw.YTop, Rotation: math.Pi / 2}
	dc.FillText(sty, vg.Point{X: 0.15 * vg.Inch, Y: (area.Min.Y + area.Max.Y) / 2}, ylabel)
	return savePNG(img, path)
}

// logTicks labels 1, 2 and 5 × 10^k.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	return ts
}
