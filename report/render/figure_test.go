package render

import (
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/pagesize"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"github.com/johnfercher/maroto/v2/pkg/repository"
)

// TestFigureLinesAxisAligned: the PDF draws horizontal and vertical lines
// only (pdfFigure), so no layout may make a sloped one.
func TestFigureLinesAxisAligned(t *testing.T) {
	m := newMeasurer(nanumRegular)
	r := timelineReport()
	tl := NewTimeline(r, TimelineOptions{})
	figs := map[string]figure{"timeline": tl.figure(m)}
	if c, ok := tl.CloseUp(r); ok {
		figs["close-up"] = c.figure(m)
	}
	for _, s := range fixture().Services {
		fig, ok := dailyChart(s.Daily, s.Objective)
		if !ok {
			t.Fatalf("%s: no chart", s.Name)
		}
		figs["chart "+s.Name] = fig
	}
	for name, fig := range figs {
		lines := 0
		for _, s := range fig.shapes {
			if s.kind == shapeLine {
				lines++
				if s.w != 0 && s.h != 0 {
					t.Errorf("%s: sloped line %+v", name, s)
				}
			}
		}
		if lines == 0 {
			t.Errorf("%s: no lines at all", name)
		}
	}
}

// TestDailyChart checks the chart's layout: each day with a figure is a
// level step across that day at its height, a day without data is a gap,
// and the objective is a dashed line at its height.
func TestDailyChart(t *testing.T) {
	avail := map[int]*float64{4: ptr(0.98), 5: ptr(0.995), 10: nil, 11: nil} // by day of month
	days := days(14, avail)
	fig, ok := dailyChart(days, 0.999)
	if !ok {
		t.Fatal("no chart")
	}
	lo, hi := yRange(days, 0.999)
	top := hi + (hi-lo)*0.06
	yOf := func(v float64) float64 { return chartBottom - (v-lo)/(top-lo)*(chartBottom-chartTop) }
	xOf := func(d float64) float64 { return chartLeft + d/14*(chartRight-chartLeft) }
	// at returns the height of the blue line over the middle of day d, or
	// NaN where nothing is drawn.
	at := func(d int) float64 {
		mid := xOf(float64(d) + 0.5)
		for _, s := range fig.shapes {
			if s.kind == shapeLine && s.stroke == chartLine && s.h == 0 && s.x <= mid && mid <= s.x+s.w {
				return s.y
			}
		}
		return math.NaN()
	}
	for d := range 14 {
		want := yOf(1)
		switch {
		case d == 3:
			want = yOf(0.98)
		case d == 4:
			want = yOf(0.995)
		case d == 9 || d == 10:
			want = math.NaN()
		}
		got := at(d)
		if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && math.Abs(got-want) > 1e-9) {
			t.Errorf("day %d: line at %v, want %v", d, got, want)
		}
	}
	// Risers join days 2-3, 3-4 and 4-5, none across the gap.
	var risers []float64
	for _, s := range fig.shapes {
		if s.kind == shapeLine && s.stroke == chartLine && s.w == 0 {
			risers = append(risers, s.x)
		}
	}
	if want := []float64{xOf(3), xOf(4), xOf(5)}; len(risers) != 3 || risers[0] != want[0] || risers[1] != want[1] || risers[2] != want[2] {
		t.Errorf("risers at %v, want %v", risers, want)
	}
	var objective []shape
	for _, s := range fig.shapes {
		if s.stroke == chartObj {
			objective = append(objective, s)
		}
	}
	if len(objective) != 1 || math.Abs(objective[0].y-yOf(0.999)) > 1e-9 || len(objective[0].dash) == 0 {
		t.Errorf("objective: %+v, want one dashed line at %v", objective, yOf(0.999))
	}
	if _, ok := dailyChart(nil, 0.999); ok {
		t.Errorf("a chart without days")
	}
}

// TestPDFFigure draws shapes with pdfFigure on a page of their own, at one
// canvas unit per millimetre, and reads them back with pdftoppm (colours
// where the shapes are, white around them) and pdftotext -bbox (text set as
// text, anchored at its x, on its baseline).
func TestPDFFigure(t *testing.T) {
	pdftotext, pdftoppm := poppler(t, "pdftotext"), poppler(t, "pdftoppm")
	red := color.RGBA{200, 0, 0, 255}
	blue := color.RGBA{0, 0, 200, 255}
	green := color.RGBA{0, 150, 0, 255}
	fig := figure{w: 190, h: 80, shapes: []shape{
		{kind: shapeRect, x: 10, y: 10, w: 30, h: 20, fill: red},
		{kind: shapeRect, x: 60, y: 10, w: 30, h: 20, stroke: blue, width: 1},
		{kind: shapeRect, x: 110, y: 10, w: 30, h: 10, fill: tlDegFill, stroke: tlDegraded, width: 0.5, hatch: true},
		{kind: shapeLine, x: 160, y: 5, h: 35, stroke: green, width: 1},
		{kind: shapeLine, x: 10, y: 45, w: 100, stroke: red, width: 1, dash: []float64{3, 2}},
		{kind: shapeText, x: 10, y: 60, text: "Leftanchored", size: 5, fill: tlInk, anchor: "start"},
		{kind: shapeText, x: 100, y: 60, text: "Centred", size: 5, fill: tlInk, anchor: "middle"},
		{kind: shapeText, x: 180, y: 70, text: "Rightanchored", size: 5, fill: tlInk, anchor: "end", bold: true},
	}}
	fonts, err := repository.New().
		AddUTF8FontFromBytes(fontFamily, fontstyle.Normal, nanumRegular).
		AddUTF8FontFromBytes(fontFamily, fontstyle.Bold, nanumBold).
		Load()
	if err != nil {
		t.Fatal(err)
	}
	const margin = 10.0
	m := maroto.New(config.NewBuilder().WithPageSize(pagesize.A4).
		WithLeftMargin(margin).WithTopMargin(margin).WithRightMargin(margin).
		WithCustomFonts(fonts).WithDefaultFont(&props.Font{Family: fontFamily, Size: 8}).Build())
	m.AddRow(fig.h, col.New(12).Add(&pdfFigure{fig: fig}))
	doc, err := m.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "f.pdf")
	if err := os.WriteFile(pdf, doc.GetBytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const dpi = 100
	if out, err := exec.Command(pdftoppm, "-png", "-r", strconv.Itoa(dpi), "-f", "1", "-l", "1", pdf, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	if len(pages) != 1 {
		t.Fatalf("pages: %v", pages)
	}
	img := decodePNG(t, pages[0])
	px := func(mm float64) int { return int(math.Round((margin + mm) * dpi / 25.4)) }
	colourAt := func(x, y float64) color.RGBA {
		r, g, b, _ := img.At(px(x), px(y)).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	}
	near := func(c, want color.RGBA) bool {
		d := func(a, b uint8) int { return abs(int(a) - int(b)) }
		return d(c.R, want.R) < 40 && d(c.G, want.G) < 40 && d(c.B, want.B) < 40
	}
	white := color.RGBA{255, 255, 255, 255}
	for _, p := range []struct {
		what string
		x, y float64
		want color.RGBA
	}{
		{"filled rectangle", 25, 20, red},
		{"filled rectangle, near its corner", 11, 11, red},
		{"left of the filled rectangle", 8, 20, white},
		{"right of it", 42, 20, white},
		{"above it", 25, 8, white},
		{"below it", 25, 32, white},
		{"outline, left edge", 60, 20, blue},
		{"outline, top edge", 75, 10, blue},
		{"outline, right edge", 90, 20, blue},
		{"outline, bottom edge", 75, 30, blue},
		{"outline, outer corner", 59.7, 9.7, blue},
		{"inside the outline", 75, 20, white},
		{"vertical line", 160, 20, green},
		{"beyond the vertical line's end", 160, 43, white},
	} {
		if c := colourAt(p.x, p.y); !near(c, p.want) {
			t.Errorf("%s (%v mm, %v mm): %v, want %v", p.what, p.x, p.y, c, p.want)
		}
	}
	// The hatch: its stripes and the pale fill between them; the dashed
	// line: dashes and gaps.
	count := func(y, x0, x1 float64, want color.RGBA) (n int) {
		for x := px(x0); x <= px(x1); x++ {
			r, g, b, _ := img.At(x, px(y)).RGBA()
			if near(color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}, want) {
				n++
			}
		}
		return n
	}
	if pale, stripes := count(15, 111, 139, tlDegFill), count(15, 111, 139, tlDegraded); pale == 0 || stripes == 0 {
		t.Errorf("hatched rectangle: %d pale and %d stripe pixels, want both", pale, stripes)
	}
	if dashes, gaps := count(45, 10, 110, red), count(45, 10, 110, white); dashes == 0 || gaps == 0 {
		t.Errorf("dashed line: %d dash and %d gap pixels, want both", dashes, gaps)
	}

	// Text: real text, anchored as asked, its baseline at y.
	out, err := exec.Command(pdftotext, "-bbox", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(\w+)</word>`)
	boxes := map[string][4]float64{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		var b [4]float64
		for i := range b {
			b[i], _ = strconv.ParseFloat(m[i+1], 64)
			b[i] = b[i]*25.4/72 - margin // points to figure millimetres
		}
		boxes[m[5]] = b
	}
	for _, w := range []struct {
		word string
		x    float64
		edge int // 0 left, 1 centre, 2 right
		y    float64
	}{
		{"Leftanchored", 10, 0, 60},
		{"Centred", 100, 1, 60},
		{"Rightanchored", 180, 2, 70},
	} {
		b, ok := boxes[w.word]
		if !ok {
			t.Errorf("pdftotext does not find %q: %s", w.word, strings.TrimSpace(string(out)))
			continue
		}
		x := []float64{b[0], (b[0] + b[2]) / 2, b[2]}[w.edge]
		if math.Abs(x-w.x) > 0.5 {
			t.Errorf("%q anchored at %.2f mm, want %.2f", w.word, x, w.x)
		}
		if b[1] > w.y || b[3] < w.y-1 || b[3] > w.y+2.5 {
			t.Errorf("%q spans y %.2f..%.2f mm, want its baseline at %.2f", w.word, b[1], b[3], w.y)
		}
	}
}

// TestDailyChartAxisLabels: each percentage on the daily chart's axis is
// the value its grid line is drawn at, exactly to the label's decimals:
// the axis was cut in four equal parts and each label rounded to the
// nearest, so November's maps chart (lowest day 69.999%) labelled lines at
// 90.625% and 71.875% "91%" and "72%" (a day at 71.9% showed below the
// 72% line), against the printed policy that percentages are never
// rounded up.
func TestDailyChartAxisLabels(t *testing.T) {
	for _, tc := range []struct {
		lowest, objective float64
	}{
		{0.69999661, 0.999}, {0.9985, 0.999}, {0.97916997, 0.999}, {0.95403, 0.995}, {1, 0.999}, {0.2, 0.99}, {0, 0.999}, {0.999995, 0.99999},
	} {
		days := days(10, map[int]*float64{3: ptr(tc.lowest)})
		fig, ok := dailyChart(days, tc.objective)
		if !ok {
			t.Fatal("no chart")
		}
		lo, hi := yRange(days, tc.objective)
		if lo > tc.lowest || lo > tc.objective || hi != 1 || lo < 0 {
			t.Errorf("lowest %v: axis %v..%v does not hold the lowest day and the objective", tc.lowest, lo, hi)
		}
		top := hi + (hi-lo)*0.06
		valueAt := func(y float64) float64 { return lo + (chartBottom-y)/(chartBottom-chartTop)*(top-lo) }
		labels := 0
		for _, s := range fig.shapes {
			if s.kind != shapeText || !strings.HasSuffix(s.text, "%") {
				continue
			}
			labels++
			label, err := strconv.ParseFloat(strings.TrimSuffix(s.text, "%"), 64)
			if err != nil {
				t.Fatal(err)
			}
			if v := valueAt(s.y-3.5) * 100; math.Abs(v-label) > 1e-6 {
				t.Errorf("lowest %v: label %q on a line at %.6f%%", tc.lowest, s.text, v)
			}
		}
		if labels < 3 {
			t.Errorf("lowest %v: %d axis labels, want at least 3", tc.lowest, labels)
		}
	}
}
