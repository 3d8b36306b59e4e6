package main

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// chartGroup is one cluster of bars: a path, and the benchmark of each
// series on it ("" when a series has none).
type chartGroup struct {
	label string
	names []string // one per series
}

// chartSeries are the libraries drawn, in order.
var chartSeries = []string{"tiercache", "go-redis-cache", "gocache", "floor (bare ristretto / go-redis)"}

// peerGroups returns the groups the chart shows: each peer path on the Zipf
// distribution with both tiers where the path has variants.
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
		lib("Stampede", ""),
	}
}

// drawChart draws ns/op of every group on a log scale and saves it as an
// SVG (or PNG, by the file name's extension).
func drawChart(res *results, groups []chartGroup, path string) error {
	p := plot.New()
	p.Title.Text = "tiercache vs peers (median ns/op, log scale; lower is better)"
	p.Y.Label.Text = "time per operation"
	// Bars are drawn on log10(ns) with labelled ticks: gonum's log scale
	// cannot draw bars that start at zero.
	p.Y.Min = 1
	var maxLog float64 = 2
	colors := []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	}
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
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = colors[s]
		bars.Offset = vg.Length(float64(s)-float64(len(chartSeries)-1)/2) * w
		p.Add(bars)
		p.Legend.Add(chartSeries[s], bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Max = math.Ceil(maxLog) + 1 // room for the legend
	labels := make([]string, len(groups))
	for i, g := range groups {
		labels[i] = g.label
	}
	p.NominalX(labels...)
	var ticks []plot.Tick
	for e := 1; e <= int(p.Y.Max); e++ {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: durationLabel(math.Pow(10, float64(e)))})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	return p.Save(24*vg.Centimeter, 12*vg.Centimeter, path)
}

// durationLabel formats nanoseconds as a short duration.
func durationLabel(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%gs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%gms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%gµs", ns/1e3)
	}
	return fmt.Sprintf("%gns", ns)
}
