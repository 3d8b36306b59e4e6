package debugpage

import "strconv"

// Geometry of a chart, in SVG user units (pixels at 100 %).
const (
	chartWidth  = 720
	labelWidth  = 190 // the row labels, left of the bars
	countWidth  = 90  // the row totals, right of the bars
	rowHeight   = 24
	barHeight   = 16
	legendSpace = 26 // the legend, below the rows
)

// chart is a horizontal stacked bar chart of reads by the tier that
// answered: one row per bar, drawn to one scale.
type chart struct {
	Width, Height int
	CountX        int // where the row totals start
	Rows          []chartRow
	Legend        []legendItem
}

// chartRow is one bar: its label, its total, and its segments.
type chartRow struct {
	Label    string
	Y, TextY int
	Total    uint64
	Segments []segment
}

// segment is one tier's part of a bar.
type segment struct {
	Tier  string // l1, l2, source, none, miss: the CSS class and data-tier
	Count uint64
	X, W  string // formatted SVG numbers
}

// legendItem names a tier's colour under the chart.
type legendItem struct {
	Tier, Label string
	X, Y        int
	TextX       int // where its label starts
}

// tierLabels returns the tiers a chart may show, in the order bars stack
// them, and their legend labels.
func tierLabels() [5][2]string {
	return [...][2]string{{"l1", "L1"}, {"l2", "L2"}, {"source", "source"}, {"miss", "L2 miss"}, {"none", "failed"}}
}

// newChart lays out the Store's bar and its data types' bars.
func newChart(s StoreSnapshot) chart {
	type bar struct {
		label  string
		counts map[string]uint64
	}
	bars := []bar{{"all reads (Store)", map[string]uint64{
		"l1": s.Stats.L1Hits, "l2": s.Stats.L2Hits, "miss": s.Stats.L2Misses,
	}}}
	for _, t := range s.Types {
		label := t.Namespace + "/" + t.Entity
		if t.Entity == "" {
			label = t.Namespace
		}
		bars = append(bars, bar{label, map[string]uint64{
			"l1": t.L1Hits, "l2": t.L2Hits, "source": t.SourceHits, "none": t.Failed,
		}})
	}
	var most uint64
	for _, b := range bars {
		var total uint64
		for _, n := range b.counts {
			total += n
		}
		most = max(most, total)
	}
	scale := 0.0
	if most > 0 {
		scale = float64(chartWidth-labelWidth-countWidth) / float64(most)
	}
	c := chart{Width: chartWidth, Height: len(bars)*rowHeight + legendSpace, CountX: chartWidth - countWidth + 8}
	for i, b := range bars {
		row := chartRow{Label: b.label, Y: i*rowHeight + (rowHeight-barHeight)/2, TextY: i*rowHeight + rowHeight/2 + 4}
		x := float64(labelWidth)
		for _, tl := range tierLabels() {
			n, ok := b.counts[tl[0]]
			if !ok {
				continue
			}
			w := float64(n) * scale
			row.Segments = append(row.Segments, segment{Tier: tl[0], Count: n, X: num(x), W: num(w)})
			row.Total += n
			x += w
		}
		c.Rows = append(c.Rows, row)
	}
	for i, tl := range tierLabels() {
		x := labelWidth + i*90
		c.Legend = append(c.Legend, legendItem{Tier: tl[0], Label: tl[1], X: x, Y: len(bars)*rowHeight + 8, TextX: x + 16})
	}
	return c
}

// num formats an SVG coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
