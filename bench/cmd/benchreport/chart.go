package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// chartGroup is one cluster of bars: a path, and the benchmark of each
// series on it ("" when a series has none).
type chartGroup struct {
	label string
	names []string // one per series
}

// chartSeries are the libraries drawn, in order.
var chartSeries = []string{"tiercache", "go-redis-cache", "gocache", "floor (bare ristretto / go-redis)"}

// seriesColors are the series' colours, in chartSeries order.
var seriesColors = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// stampedePath is the peer path whose panel shows source loads.
const stampedePath = "Stampede"

// peerGroups returns the groups the time panel shows: each peer path on the
// Zipf distribution with both tiers where the path has variants.
func peerGroups() []chartGroup {
	lib := func(prefix string, floor string) chartGroup {
		g := chartGroup{label: prefix}
		for _, l := range chartSeries[:3] {
			g.names = append(g.names, "Peers/"+prefix+"/"+l)
		}
		if floor != "" {
			g.names = append(g.names, "Peers/"+prefix+"/"+floor)
		} else {
			g.names = append(g.names, "")
		}
		return g
	}
	return []chartGroup{
		lib("L1Hit/zipf", "ristretto"),
		lib("L2Hit/zipf", "go-redis"),
		lib("MissLoad/L1+L2", ""),
		lib("Set/L1+L2", ""),
		lib("Mixed/zipf/L1+L2", ""),
	}
}

// Chart geometry: the time panel takes the left timeShare of the width,
// the stampede panel the rest.
const (
	chartWidth  = 28 * vg.Centimeter
	chartHeight = 13 * vg.Centimeter
	timeShare   = 0.62
)

// drawChart draws two panels side by side and saves them as an SVG (or PNG,
// by the file name's extension): the median time per operation of every
// group, on a log scale, and the source loads per stampede of each
// library.
func drawChart(res *results, groups []chartGroup, path string) error {
	times, err := timePanel(res, groups)
	if err != nil {
		return err
	}
	stampede, err := stampedePanel(res)
	if err != nil {
		return err
	}
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	c, err := draw.NewFormattedCanvas(chartWidth, chartHeight, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	split := vg.Length(timeShare) * chartWidth
	times.Draw(draw.Crop(dc, 0, split-chartWidth, 0, 0))
	stampede.Draw(draw.Crop(dc, split+vg.Centimeter/2, 0, 0, 0))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// timePanel is the median ns/op of every group, one bar per series, drawn
// on log10(ns) with labelled ticks (gonum's log scale cannot draw bars that
// start at zero). The legend sits in the headroom above the bars, a
// centimetre right of the axis, clear of its labels and ticks.
func timePanel(res *results, groups []chartGroup) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Median time per operation (log scale; lower is better)"
	p.Y.Label.Text = "time per operation"
	p.Y.Min = 1
	maxLog := 2.0
	w := vg.Points(9)
	for s := range chartSeries {
		vals := make(plotter.Values, len(groups))
		for i, g := range groups {
			if g.names[s] == "" {
				continue
			}
			if ns, ok := res.median(g.names[s], "ns/op"); ok && ns > 0 {
				vals[i] = math.Log10(ns)
				maxLog = max(maxLog, vals[i])
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = seriesColors[s]
		bars.Offset = vg.Length(float64(s)-float64(len(chartSeries)-1)/2) * w
		p.Add(bars)
		p.Legend.Add(chartSeries[s], bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Centimeter
	p.Legend.Padding = vg.Points(2)
	// Two decades of headroom: the legend's four lines fit above the
	// tallest bar.
	p.Y.Max = math.Ceil(maxLog) + 2
	labels := make([]string, len(groups))
	for i, g := range groups {
		labels[i] = g.label
	}
	p.NominalX(labels...)
	// Half a group of margin each side, so that the outer labels and bars
	// are not clipped.
	p.X.Min, p.X.Max = -0.6, float64(len(groups))-0.4
	var ticks []plot.Tick
	for e := 1; e <= int(p.Y.Max); e++ {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: durationLabel(math.Pow(10, float64(e)))})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	return p, nil
}

// stampedePanel is the median source loads per stampede of each library
// (what a stampede costs the source), labelled with the median time a
// stampede took.
func stampedePanel(res *results) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Stampede: loads of the source"
	p.Y.Label.Text = "source loads per stampede (lower is better)"
	p.Y.Min = 0
	maxLoads := 1.0
	var labels []string
	w := vg.Points(18)
	libs := chartSeries[:3]
	for s, lib := range libs {
		name := "Peers/" + stampedePath + "/" + lib
		vals := make(plotter.Values, len(libs))
		loads, ok := res.median(name, "loads/stampede")
		label := lib
		if ok {
			vals[s] = loads
			maxLoads = max(maxLoads, loads)
			if ns, ok := res.median(name, "ns/op"); ok {
				label += "\n" + durationLabel(ns)
			}
		} else {
			label += "\n(no run)"
		}
		labels = append(labels, label)
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = seriesColors[s]
		p.Add(bars)
	}
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.6, float64(len(libs))-0.4
	p.Y.Max = math.Ceil(maxLoads) + 1
	var ticks []plot.Tick
	for v := 0; v <= int(p.Y.Max); v++ {
		ticks = append(ticks, plot.Tick{Value: float64(v), Label: fmt.Sprint(v)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	return p, nil
}

// durationLabel formats nanoseconds as a short duration.
func durationLabel(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3gµs", ns/1e3)
	}
	return fmt.Sprintf("%.3gns", ns)
}
