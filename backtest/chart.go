package backtest

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// policyColors keeps a policy's colour the same on every chart.
var policyColors = map[string]color.RGBA{
	PolicyOurs:   {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	PolicyAAS:    {R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	PolicyStatic: {R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	PolicyOracle: {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// WriteChart draws demand (per-minute peak concurrency) and each policy's
// allocated PC against hours since the start, as a PNG at path.
func WriteChart(path, title string, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "hours since start"
	p.Y.Label.Text = "concurrency"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	for _, r := range results {
		pts := make(plotter.XYs, len(r.PC))
		for i, v := range r.PC {
			pts[i] = plotter.XY{X: float64(i) / 60, Y: v}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("chart %s: %w", path, err)
		}
		if c, ok := policyColors[r.Policy]; ok {
			l.Color = c
		}
		l.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(r.Policy+" PC", l)
	}
	// Demand last, so the policies' lines do not hide it.
	demand := make(plotter.XYs, len(results[0].Demand))
	for i, d := range results[0].Demand {
		demand[i] = plotter.XY{X: float64(i) / 60, Y: float64(d)}
	}
	dl, err := plotter.NewLine(demand)
	if err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	dl.Color = color.RGBA{A: 0xb0}
	dl.Width = vg.Points(0.5)
	p.Add(dl)
	p.Legend.Add("demand (per-second peak of each minute)", dl)
	if err := p.Save(14*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return nil
}
