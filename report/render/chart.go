package render

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/slaprobe/slaprobe/report"
)

// yRange is the availability axis of the daily chart: from a little below
// the lowest day (or the objective, whichever is lower) up to 100%, so that a
// 99.9% objective is not flattened against a 0..100 scale.
func yRange(days []report.Day, objective float64) (lo, hi float64) {
	m := objective
	if math.IsNaN(m) || m > 1 {
		m = 1
	}
	for _, d := range days {
		if d.Availability != nil && !math.IsNaN(*d.Availability) && *d.Availability < m {
			m = *d.Availability
		}
	}
	span := math.Max(1-m, 0.0005) * 1.25
	return math.Max(0, 1-span), 1
}

// dailyChart draws a service's daily availability with its objective as a
// dashed line; days without data are gaps in the line. rp is chart.PNG or
// chart.SVG: the PDF and the HTML report draw the same chart.
func dailyChart(days []report.Day, objective float64, rp chart.RendererProvider) ([]byte, error) {
	if len(days) == 0 {
		return nil, nil
	}
	lo, hi := yRange(days, objective)
	blue := drawing.ColorFromHex("1f5fa8")
	red := drawing.ColorFromHex("c0392b")

	var series []chart.Series
	var xs, ys []float64
	flush := func() {
		if len(xs) == 0 {
			return
		}
		series = append(series, chart.ContinuousSeries{
			Style:   chart.Style{StrokeColor: blue, StrokeWidth: 2, DotColor: blue, DotWidth: 2.5},
			XValues: xs,
			YValues: ys,
		})
		xs, ys = nil, nil
	}
	for i, d := range days {
		if d.Availability == nil || math.IsNaN(*d.Availability) {
			flush()
			continue
		}
		xs = append(xs, float64(i))
		ys = append(ys, math.Max(lo, math.Min(hi, *d.Availability)))
	}
	flush()
	last := float64(len(days) - 1)
	if last == 0 {
		last = 1
	}
	obj := math.Max(lo, math.Min(hi, objective))
	series = append(series, chart.ContinuousSeries{
		Style:   chart.Style{StrokeColor: red, StrokeWidth: 1.5, StrokeDashArray: []float64{6, 4}},
		XValues: []float64{0, last},
		YValues: []float64{obj, obj},
	})

	var xticks []chart.Tick
	step := max(1, (len(days)+7)/8)
	for i := 0; i < len(days); i += step {
		label := days[i].Date
		if len(label) == len("2006-01-02") {
			label = label[5:]
		}
		xticks = append(xticks, chart.Tick{Value: float64(i), Label: label})
	}
	// go-chart takes an axis' range from its ticks: end both axes with an
	// unlabelled tick so the last days and the 100% line are not clipped.
	if xticks[len(xticks)-1].Value != last {
		xticks = append(xticks, chart.Tick{Value: last})
	}
	top := hi + (hi-lo)*0.06
	var yticks []chart.Tick
	decimals := 0
	for span := (hi - lo) * 100 / 4; span < 1 && decimals < 4; span *= 10 {
		decimals++
	}
	for i := 0; i <= 4; i++ {
		y := lo + (hi-lo)*float64(i)/4
		yticks = append(yticks, chart.Tick{Value: y, Label: strconv.FormatFloat(y*100, 'f', decimals, 64) + "%"})
	}

	yticks = append(yticks, chart.Tick{Value: top})
	grid := chart.Style{StrokeColor: drawing.ColorFromHex("dddddd"), StrokeWidth: 1}
	var ygrid []chart.GridLine
	for _, t := range yticks[:len(yticks)-1] {
		ygrid = append(ygrid, chart.GridLine{Value: t.Value})
	}
	c := chart.Chart{
		Width:      1000,
		Height:     280,
		Background: chart.Style{Padding: chart.Box{Top: 12, Left: 8, Right: 16, Bottom: 8}},
		XAxis: chart.XAxis{
			Range: &chart.ContinuousRange{Min: 0, Max: last},
			Ticks: xticks,
			Style: chart.Style{FontSize: 9},
		},
		YAxis: chart.YAxis{
			Range:          &chart.ContinuousRange{Min: lo, Max: top},
			Ticks:          yticks,
			Style:          chart.Style{FontSize: 9},
			GridLines:      ygrid,
			GridMajorStyle: grid,
			GridMinorStyle: grid,
		},
		Series: series,
	}
	var buf bytes.Buffer
	if err := c.Render(rp, &buf); err != nil {
		return nil, fmt.Errorf("render: daily chart: %w", err)
	}
	return buf.Bytes(), nil
}
