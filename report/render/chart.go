package render

import (
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/slaprobe/slaprobe/report"
)

// yRange is the availability axis of the daily chart: from a little below
// the lowest day (or the objective, whichever is lower) up to 100%, so that a
// 99.9% objective is not flattened against a 0..100 scale. Its lower end is
// a whole number of axis steps (chartAxis) below 100%.
func yRange(days []report.Day, objective float64) (lo, hi float64) {
	lo, _, _ = chartAxis(days, objective)
	return lo, 1
}

// chartAxis is the chart's axis: its lower end lo, and n grid steps of
// step percentage points (1, 2 or 5 times a power of ten) from 100% down
// to lo, so that every grid line is at the value its label prints, to the
// label's decimals: a label is never a rounded figure.
func chartAxis(days []report.Day, objective float64) (lo, step float64, n int) {
	m := objective
	if math.IsNaN(m) || m > 1 {
		m = 1
	}
	for _, d := range days {
		if d.Availability != nil && !math.IsNaN(*d.Availability) && *d.Availability < m {
			m = *d.Availability
		}
	}
	span := math.Min(math.Max(1-m, 0.0005)*1.25, 1) * 100 // percentage points
	raw := span / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, f := range []float64{1, 2, 5} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	n = int(math.Ceil(span/step - 1e-9))
	n = min(n, int(math.Round(100/step)))
	return 1 - float64(n)*step/100, step, n
}

// stepDecimals is how many decimals the labels of a chartAxis step need.
func stepDecimals(step float64) int {
	return max(0, -int(math.Floor(math.Log10(step)+1e-9)))
}

// The daily chart's canvas and colours.
const (
	chartW      = 1000.0
	chartH      = 280.0
	chartLeft   = 12.0
	chartRight  = chartW - 72 // the plot's right edge; labels beyond it
	chartTop    = 14.0
	chartBottom = chartH - 30 // the x axis
	chartFont   = 11.0
)

var (
	chartLine = color.RGBA{31, 95, 168, 255}   // daily availability
	chartObj  = color.RGBA{192, 57, 43, 255}   // the objective
	chartGrid = color.RGBA{221, 221, 221, 255} // grid lines
)

// dailyChart lays out a service's daily availability against its objective:
// each day a level step across its width (a daily figure holds for the whole
// day), days without data gaps in the line, the objective a dashed line,
// the availability axis from yRange. ok is false without days.
func dailyChart(days []report.Day, objective float64) (fig figure, ok bool) {
	n := len(days)
	if n == 0 {
		return figure{}, false
	}
	lo, pctStep, steps := chartAxis(days, objective)
	hi := 1.0
	top := hi + (hi-lo)*0.06
	x := func(day int) float64 { return chartLeft + float64(day)/float64(n)*(chartRight-chartLeft) }
	y := func(v float64) float64 {
		v = math.Max(lo, math.Min(hi, v))
		return chartBottom - (v-lo)/(top-lo)*(chartBottom-chartTop)
	}
	var out []shape
	hline := func(x0, x1, at, width float64, c color.RGBA, dash []float64) {
		out = append(out, shape{kind: shapeLine, x: x0, y: at, w: x1 - x0, stroke: c, width: width, dash: dash})
	}
	vline := func(at, y0, y1, width float64, c color.RGBA) {
		out = append(out, shape{kind: shapeLine, x: at, y: y0, h: y1 - y0, stroke: c, width: width})
	}
	text := func(x, y float64, s, anchor string) {
		out = append(out, shape{kind: shapeText, x: x, y: y, text: s, size: chartFont, fill: tlInk, anchor: anchor})
	}

	// Grid and availability axis (labels on the right), from 100% down.
	decimals := stepDecimals(pctStep)
	for i := 0; i <= steps; i++ {
		pct := 100 - float64(i)*pctStep
		v := pct / 100
		hline(chartLeft, chartRight, y(v), 1, chartGrid, nil)
		hline(chartRight, chartRight+4, y(v), 1, tlMuted, nil)
		text(chartRight+8, y(v)+3.5, strconv.FormatFloat(pct, 'f', decimals, 64)+"%", "start")
	}
	vline(chartRight, chartTop, chartBottom, 1, tlMuted)
	// Day axis: a label under every step-th day.
	hline(chartLeft, chartRight, chartBottom, 1, tlMuted, nil)
	step := max(1, (n+7)/8)
	for i := 0; i < n; i += step {
		label := days[i].Date
		if len(label) == len("2006-01-02") {
			label = label[5:]
		}
		mid := (x(i) + x(i+1)) / 2
		vline(mid, chartBottom, chartBottom+4, 1, tlMuted)
		text(mid, chartBottom+17, label, "middle")
	}

	// The steps, lengthened by half the line's width at each end so that
	// they meet the risers without a notch.
	const lw = 2.0
	var prev *float64
	for i, d := range days {
		if d.Availability == nil || math.IsNaN(*d.Availability) {
			prev = nil
			continue
		}
		v := y(*d.Availability)
		hline(math.Max(chartLeft, x(i)-lw/2), math.Min(chartRight, x(i+1)+lw/2), v, lw, chartLine, nil)
		if prev != nil && *prev != v {
			vline(x(i), math.Min(*prev, v)-lw/2, math.Max(*prev, v)+lw/2, lw, chartLine)
		}
		prev = &v
	}
	if !math.IsNaN(objective) {
		hline(chartLeft, chartRight, y(objective), 1.5, chartObj, []float64{6, 4})
	}
	return figure{shapes: out, w: chartW, h: chartH}, true
}

// chartSVG draws the daily chart as an inline SVG element, or returns ""
// without days. It holds only dates and percentages, no report text.
func chartSVG(days []report.Day, objective float64) template.HTML {
	fig, ok := dailyChart(days, objective)
	if !ok {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %s %s" width="100%%" role="img" aria-label="daily availability against the objective" style="font-family: %s">`,
		num(fig.w), num(fig.h), svgFonts)
	writeSVGShapes(&b, fig.shapes)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built here, all text escaped
}

// svgFonts is the font list of the SVG figures: the PDF's font first.
const svgFonts = "NanumGothic, 'Noto Sans KR', 'Segoe UI', Helvetica, Arial, sans-serif"
