package render

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/johnfercher/go-tree/node"
	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/page"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/border"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/pagesize"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"
	"github.com/johnfercher/maroto/v2/pkg/repository"
	"github.com/phpdave11/gofpdf"
	slaconfig "github.com/slaprobe/slaprobe/config"
	"golang.org/x/image/font/sfnt"

	"github.com/slaprobe/slaprobe/report"
)

// The bundled font: NanumGothic (SIL Open Font License 1.1, see
// fonts/LICENSE-NanumGothic), which draws Latin and Hangul.
var (
	//go:embed fonts/NanumGothic.ttf
	nanumRegular []byte
	//go:embed fonts/NanumGothicBold.ttf
	nanumBold []byte
)

// PDFOptions chooses the font of the PDF report. With neither field set the
// bundled NanumGothic (regular and bold) is used; a custom font is used for
// both weights and must be TrueType (glyf outlines).
type PDFOptions struct {
	// FontTTF is the bytes of a TrueType font; nil means the bundled one.
	FontTTF []byte
	// FontPath is a TrueType font file, used when FontTTF is nil.
	FontPath string
}

// pdfGrid is the number of grid columns a PDF row is divided into: 48,
// 3.9 mm each, so that a table's columns can be sized to half of the 24
// they were (the windows table's Duration and Function, windowTable).
const pdfGrid = 48

const fontFamily = "report"

// palette is the PDF's colours.
type palette struct {
	accent, ink, muted, ok, bad, below, head, stripe, line, white props.Color
}

func newPalette() palette {
	return palette{
		accent: props.Color{Red: 31, Green: 95, Blue: 168},
		ink:    props.Color{Red: 29, Green: 39, Blue: 51},
		muted:  props.Color{Red: 91, Green: 103, Blue: 117},
		ok:     props.Color{Red: 30, Green: 123, Blue: 69},
		bad:    props.Color{Red: 180, Green: 35, Blue: 24},
		below:  props.Color{Red: 154, Green: 103, Blue: 0}, // the status page's amber
		head:   props.Color{Red: 232, Green: 237, Blue: 243},
		stripe: props.Color{Red: 247, Green: 249, Blue: 251},
		line:   props.Color{Red: 200, Green: 207, Blue: 215},
		white:  props.Color{Red: 255, Green: 255, Blue: 255},
	}
}

// PDF writes r as an A4 PDF report. Before drawing anything it checks that
// the font has a glyph for every rune of every name in the report (title,
// locations, services, flows, steps, functions, incident ids); a missing one
// is an error naming the text and the rune. Free text (error messages,
// reasons, policy sentences) has undrawable runes replaced by '?'.
func PDF(w io.Writer, r *report.Report, o PDFOptions) error {
	if r == nil {
		return fmt.Errorf("render: nil report")
	}
	loc, err := location(r.Timezone)
	if err != nil {
		return err
	}
	regular, bold, err := o.fonts()
	if err != nil {
		return err
	}
	g, err := newGlyphs(regular)
	if err != nil {
		return err
	}
	if err := g.checkNames(r); err != nil {
		return err
	}
	v := newView(r, loc)
	g.sanitize(&v)
	date := docDate(r, loc)

	fonts, err := repository.New().
		AddUTF8FontFromBytes(fontFamily, fontstyle.Normal, regular).
		AddUTF8FontFromBytes(fontFamily, fontstyle.Bold, bold).
		Load()
	if err != nil {
		return fmt.Errorf("render: pdf font: %w", err)
	}
	m := newMeasurer(regular)
	timelines := make([]figure, len(v.Timelines))
	for i, tf := range v.Timelines {
		timelines[i] = tf.TL.figure(m)
	}
	p := &pdfDoc{c: newPalette(), g: g, width: 210 - 24}
	cfg := config.NewBuilder().
		WithPageSize(pagesize.A4).
		WithLeftMargin(12).WithRightMargin(12).WithTopMargin(12).WithBottomMargin(10).
		WithMaxGridSize(pdfGrid).
		WithCustomFonts(fonts).
		WithDefaultFont(&props.Font{Family: fontFamily, Size: 8, Color: &p.c.ink}).
		WithPageNumber(props.PageNumber{Pattern: "Page {current} of {total}", Place: props.RightBottom, Family: fontFamily, Size: 7, Color: &p.c.muted}).
		WithTitle(v.Title, true).
		WithCreator("slaprobe", false).
		WithCreationDate(date).
		WithCompression(true).
		Build()
	p.m = newMaroto(cfg, date)
	p.start()
	p.cover(v, timelines)
	for _, s := range v.Services {
		p.service(s)
	}
	doc, err := p.m.Generate()
	if err != nil {
		return fmt.Errorf("render: pdf: %w", err)
	}
	if _, err := w.Write(doc.GetBytes()); err != nil {
		return fmt.Errorf("render: pdf: %w", err)
	}
	return nil
}

// gofpdfDefaults guards gofpdf's process-wide defaults while newMaroto sets
// them: they are gofpdf's, not this package's state, and every PDF is made
// through newMaroto.
var gofpdfDefaults sync.Mutex

// newMaroto creates the document with gofpdf set up for reproducible
// output. gofpdf (under maroto) writes its fonts in the order of a Go map
// unless "catalog sort" is on, and stamps the modification date from the
// clock unless told one; maroto passes on neither setting, and gofpdf copies
// both from process-wide defaults when maroto creates its instance. So they
// are set here, under gofpdfDefaults, for that moment: catalog sort always,
// the modification date the same as the creation date (the report's
// generation time). The other source of disorder, the order of embedded
// images, is avoided by embedding none (figures are vector drawings, see
// pdfFigure).
func newMaroto(cfg *entity.Config, date time.Time) core.Maroto {
	gofpdfDefaults.Lock()
	defer gofpdfDefaults.Unlock()
	gofpdf.SetDefaultCatalogSort(true)
	gofpdf.SetDefaultModificationDate(date)
	defer gofpdf.SetDefaultModificationDate(time.Time{})
	return maroto.New(cfg)
}

// docDate is the PDF's creation and modification date: when the report was
// generated (virtual time in a replay), in the report's zone as its text
// says it.
func docDate(r *report.Report, loc *time.Location) time.Time {
	if r.Generated.IsZero() {
		return r.To.In(loc)
	}
	return r.Generated.In(loc)
}

// fonts returns the regular and bold TrueType bytes to use.
func (o PDFOptions) fonts() (regular, bold []byte, err error) {
	switch {
	case o.FontTTF != nil:
		return o.FontTTF, o.FontTTF, nil
	case o.FontPath != "":
		b, err := slaconfig.ReadFile(o.FontPath, slaconfig.MaxFileBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("render: pdf font: %w", err)
		}
		return b, b, nil
	default:
		return nanumRegular, nanumBold, nil
	}
}

// glyphs answers whether the report font can draw a rune.
type glyphs struct {
	f   *sfnt.Font
	buf sfnt.Buffer
}

func newGlyphs(ttf []byte) (*glyphs, error) {
	if len(ttf) < 4 {
		return nil, fmt.Errorf("render: pdf font: not a TrueType font (%d bytes)", len(ttf))
	}
	if string(ttf[:4]) == "OTTO" {
		return nil, fmt.Errorf("render: pdf font: CFF-based OpenType fonts are not supported; use a TrueType (.ttf) font")
	}
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("render: pdf font: not a TrueType font: %w", err)
	}
	return &glyphs{f: f}, nil
}

// missing returns the first rune of s the font has no glyph for.
func (g *glyphs) missing(s string) (rune, bool) {
	for _, r := range s {
		if r == ' ' {
			continue
		}
		i, err := g.f.GlyphIndex(&g.buf, r)
		if err != nil || i == 0 {
			return r, true
		}
	}
	return 0, false
}

// checkNames fails on the first name the font cannot draw.
func (g *glyphs) checkNames(r *report.Report) error {
	check := func(what, s string) error {
		if c, ok := g.missing(s); ok {
			return fmt.Errorf("render: pdf: the font has no glyph for %q (U+%04X) in %s %q; pass a font that covers it (PDFOptions.FontTTF or FontPath)", c, c, what, s)
		}
		return nil
	}
	var errs []error
	add := func(what, s string) {
		if len(errs) == 0 {
			if err := check(what, s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	window := func(w report.Window) {
		add("service name", w.Service)
		add("flow name", w.Flow)
		if w.Function != nil {
			add("function name", *w.Function)
		}
		add("step name", w.CauseStep)
		for _, c := range w.Causes {
			add("step name", c.Step)
		}
		for _, l := range w.Locations {
			add("location", l)
		}
	}
	add("report title", r.Title)
	add("location", r.Location)
	for _, w := range r.Windows {
		window(w)
	}
	for _, s := range r.Services {
		add("service name", s.Name)
		for _, f := range s.Flows {
			add("flow name", f.Name)
		}
		for _, st := range s.Steps {
			add("flow name", st.Flow)
			add("step name", st.Step)
			add("function name", st.Function)
		}
		for _, w := range s.Windows {
			window(w)
		}
		for _, w := range s.Undeclared {
			window(w)
		}
		for _, w := range s.BelowQuorum {
			window(w)
		}
		for _, in := range s.IncidentList {
			for _, f := range in.Functions {
				add("function name", f)
			}
		}
		for _, sp := range s.Unknown {
			add("flow name", sp.Flow)
		}
		for _, sp := range s.Maintenance {
			add("flow name", sp.Flow)
		}
		for _, rc := range s.Reconciliation {
			add("incident id", rc.ID)
			for _, f := range rc.Functions {
				add("function name", f)
			}
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// replace turns runes the font cannot draw into '?'.
func (g *glyphs) replace(s string) string {
	if _, ok := g.missing(s); !ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == ' ' {
			return r
		}
		if i, err := g.f.GlyphIndex(&g.buf, r); err != nil || i == 0 {
			return '?'
		}
		return r
	}, s)
}

// width is the width of s in millimetres at size points, from the font's
// advance widths.
func (g *glyphs) width(s string, size float64) float64 {
	return ems(g.f, &g.buf, s) * size * 25.4 / 72
}

// nbsp binds the words on either side of it into one that maroto, which
// wraps at spaces only, does not break (keepEdges), unless fit must.
const nbsp = "\u00a0"

// uncertaintySize is the font size of an Uncertainty cell, a point under
// the other cells': at it an edge of the bounds 10 to 60 minute intervals
// give keeps its "/" on one line of its column, 20.75 mm for the text
// ("-1h59m59s +59.9s /" is 20.0 mm; at 7 points it is 23.4 mm and broke
// inside itself), and the demo's "-1m1s +0s / -10s +0s" is one line.
const uncertaintySize = 6.0

// keepEdges binds the words of each edge of an Uncertainty cell with no-break
// spaces, the start's with the "/" after it ("-1m\u00a0+15s\u00a0/
// -10s\u00a0+14.4s"), so that a cell too wide for one line breaks between
// the start and the end, always after the "/", and not inside an edge: it
// read "-1m +0s /" then "-10s +0s" in one row and "-1m1s +0s" then "/ -10s
// +0s" in the next.
func keepEdges(c string) string {
	start, end, ok := strings.Cut(c, " / ")
	if !ok {
		return c
	}
	return strings.ReplaceAll(start, " ", nbsp) + nbsp + "/ " + strings.ReplaceAll(end, " ", nbsp)
}

// fit breaks every word of s wider than maxWidth millimetres (cut), so that
// a long identifier wraps inside its cell instead of running into the next
// one (maroto wraps at spaces only). A word bound with no-break spaces
// (keepEdges) that is too wide breaks at them (fitBound).
func (g *glyphs) fit(s string, size, maxWidth float64) string {
	words := strings.Split(s, " ")
	changed := false
	for i, w := range words {
		if g.width(w, size) <= maxWidth {
			continue
		}
		changed = true
		if strings.Contains(w, nbsp) {
			words[i] = g.fitBound(w, size, maxWidth)
			continue
		}
		words[i] = strings.Join(g.cut(w, size, maxWidth), " ")
	}
	if !changed {
		return s
	}
	return strings.Join(words, " ")
}

// fitBound breaks w, words bound with no-break spaces (an Uncertainty
// cell's edge and its "/", keepEdges) too wide for one line, into lines of
// as many of them as fit, the "/" staying with the word before it: an edge
// that fits but not with its "/" read "-29m59s +300ms", then "/" alone on
// a line. The lines are joined with spaces, which maroto, packing words as
// this does, breaks at; a word wider than a line alone is cut (fit).
func (g *glyphs) fitBound(w string, size, maxWidth float64) string {
	var words []string
	for _, x := range strings.Split(w, nbsp) {
		if x == "/" && len(words) > 0 {
			words[len(words)-1] += nbsp + x
			continue
		}
		words = append(words, x)
	}
	var lines []string
	for _, x := range words {
		if n := len(lines); n > 0 && g.width(lines[n-1]+nbsp+x, size) <= maxWidth {
			lines[n-1] += nbsp + x
			continue
		}
		if g.width(x, size) > maxWidth {
			x = g.fit(strings.ReplaceAll(x, nbsp, " "), size, maxWidth)
		}
		lines = append(lines, x)
	}
	return strings.Join(lines, " ")
}

// breakAfter are the characters after which cut breaks a word.
const breakAfter = "-/_.:"

// cut breaks w, a word wider than maxWidth millimetres, into pieces that
// each fit: after a hyphen, slash, underscore, dot or colon when there is
// one, and otherwise where as much as fits ends, marked with a hyphen
// ("attachme-" then "nts", which read "attachmen" then "ts" as if they were
// two words). A hyphen, added or the word's own, may hang into the cell's
// padding, the 0.5 mm maxWidth leaves to it: "messaging-" (13.01 mm) in a
// 13 mm column, not "messaging" then "-roundtrip".
func (g *glyphs) cut(w string, size, maxWidth float64) []string {
	var parts []string
	for w != "" && g.width(w, size) > maxWidth {
		cut, soft, hyph := 0, 0, 0
		for pos, r := range w {
			end := pos + len(string(r))
			if pos > 0 && g.width(w[:end], size) > maxWidth {
				if strings.ContainsRune(breakAfter, r) && g.width(w[:end], size) <= maxWidth+0.5 {
					soft = end
				}
				break
			}
			cut = end
			if strings.ContainsRune(breakAfter, r) {
				soft = cut
			} else if end < len(w) && g.width(w[:end]+"-", size) <= maxWidth+0.5 {
				hyph = end
			}
		}
		switch {
		case soft > 0:
			parts = append(parts, w[:soft])
			w = w[soft:]
		case hyph > 0:
			parts = append(parts, w[:hyph]+"-")
			w = w[hyph:]
		default: // not even a character and a hyphen fit
			parts = append(parts, w[:cut])
			w = w[cut:]
		}
	}
	if w != "" {
		parts = append(parts, w)
	}
	return parts
}

// sanitize applies replace to every string of the view.
func (g *glyphs) sanitize(v *view) {
	v.Title, v.Locations, v.Zone = g.replace(v.Title), g.replace(v.Locations), g.replace(v.Zone)
	for i := range v.Policy {
		v.Policy[i] = g.replace(v.Policy[i])
	}
	g.sanitizeTable(&v.Summary)
	for i := range v.Services {
		s := &v.Services[i]
		for j := range s.Tables {
			g.sanitizeTable(&s.Tables[j])
		}
	}
}

func (g *glyphs) sanitizeTable(t *table) {
	for _, row := range t.Rows {
		for i := range row {
			row[i] = g.replace(row[i])
		}
	}
}

// pdfDoc lays the view out on a maroto document. Sections flow one after
// the other (a service does not start a new page); a block that must stay
// together (a heading with what follows it, a short table, a figure) moves
// to the next page when it does not fit on this one, and a table longer than
// a page breaks between rows, repeating its header row.
type pdfDoc struct {
	m     core.Maroto
	c     palette
	g     *glyphs
	width float64 // usable page width in millimetres

	// The layout provider and page cell, captured from maroto (see
	// measureProbe) to measure rows before adding them.
	probe measureProbe
}

// measureProbe is a component of height zero that remembers the provider
// and cell maroto measures it with: maroto measures rows only as it adds
// them, and keeping a block on one page needs its height before.
type measureProbe struct {
	provider core.Provider
	cell     entity.Cell
	cfg      *entity.Config
}

func (mp *measureProbe) GetHeight(provider core.Provider, cell *entity.Cell) float64 {
	if mp.provider == nil {
		mp.provider, mp.cell = provider, *cell
	}
	return 0
}
func (mp *measureProbe) Render(core.Provider, *entity.Cell) {}
func (mp *measureProbe) SetConfig(c *entity.Config)         { mp.cfg = c }
func (mp *measureProbe) GetStructure() *node.Node[core.Structure] {
	return node.New(core.Structure{Type: "probe"})
}

// start adds the probe row; measuring works from then on.
func (p *pdfDoc) start() {
	p.m.AddRow(0, col.New(pdfGrid).Add(&p.probe))
	p.probe.cell.Width = p.width
}

// height is the height the rows will take, in millimetres.
func (p *pdfDoc) height(rows ...core.Row) float64 {
	if p.probe.provider == nil {
		return 0
	}
	var h float64
	for _, r := range rows {
		r.SetConfig(p.m.GetCurrentConfig())
		cell := p.probe.cell
		h += r.GetHeight(p.probe.provider, &cell)
	}
	return h
}

// block adds rows that belong together: on the next page when they do not
// fit in what is left of this one but do on an empty page.
func (p *pdfDoc) block(rows ...core.Row) {
	if h := p.height(rows...); !p.m.FitlnCurrentPage(h) && h < p.probe.cell.Height {
		p.m.AddPages(page.New())
	}
	p.m.AddRows(rows...)
}

func (p *pdfDoc) text(size float64, style fontstyle.Type, c *props.Color, s string, top, bottom float64) core.Row {
	return row.New().Add(text.NewCol(pdfGrid, s, props.Text{Family: fontFamily, Size: size, Style: style, Color: c, Top: top, Bottom: bottom}))
}

func (p *pdfDoc) headingRow(s string, size float64) core.Row {
	return p.text(size, fontstyle.Bold, &p.c.accent, s, 4, 1.5)
}

func (p *pdfDoc) cover(v view, timelines []figure) {
	p.m.AddRows(
		p.text(20, fontstyle.Bold, &p.c.accent, v.Title, 0, 2),
		p.text(10, fontstyle.Normal, &p.c.ink, "Period: "+v.Period+" ("+v.Zone+")", 1, 0),
		p.text(8, fontstyle.Normal, &p.c.muted, "Generated "+v.Generated+" · measured from "+v.Locations, 1, 3),
	)
	p.m.AddRow(1.2, col.New(pdfGrid).WithStyle(&props.Cell{BackgroundColor: &p.c.accent}))
	for i, tf := range v.Timelines {
		rows := []core.Row{}
		if i == 0 {
			rows = append(rows, p.headingRow("Function timeline", 12),
				p.text(7, fontstyle.Normal, &p.c.muted, timelineLegend, 0, 1.5))
		}
		rows = append(rows, p.text(8, fontstyle.Bold, &p.c.ink, tf.Caption, 1, 0.5),
			row.New(p.width*tf.Aspect).Add(col.New(pdfGrid).Add(&pdfFigure{fig: timelines[i]})))
		p.block(rows...)
	}
	var verdicts []core.Row
	verdicts = append(verdicts, row.New(3))
	for _, s := range v.Services {
		verdicts = append(verdicts, row.New().Add(
			text.NewCol(16, s.Name, props.Text{Family: fontFamily, Size: 11, Style: fontstyle.Bold, Top: 1.5, Bottom: 1.5}),
			text.NewCol(32, "Availability "+s.Headline, props.Text{Family: fontFamily, Size: 11, Style: fontstyle.Bold, Color: p.verdictColor(s), Top: 1.5, Bottom: 1.5}),
		))
	}
	p.block(verdicts...)
	p.table(v.Summary, 12)
	lines := []core.Row{p.headingRow("Accounting policy", 12)}
	if len(v.Policy) == 0 {
		lines = append(lines, p.text(8, fontstyle.Normal, &p.c.muted, "No policy text was recorded for this report.", 0, 1))
	}
	for _, line := range v.Policy {
		lines = append(lines, row.New().Add(
			text.NewCol(2, "•", props.Text{Family: fontFamily, Size: 8, Align: align.Right, Right: 1.5, Top: 0.5}),
			text.NewCol(pdfGrid-2, line, props.Text{Family: fontFamily, Size: 8, Top: 0.5, Bottom: 0.8}),
		))
	}
	p.block(lines...)
}

// verdictColor is green for a met objective, red for a missed one, amber
// for one below so far (a period not over, its budget not spent), grey
// without data.
func (p *pdfDoc) verdictColor(s serviceView) *props.Color {
	switch {
	case s.NoData:
		return &p.c.muted
	case s.Met:
		return &p.c.ok
	case s.Below:
		return &p.c.below
	}
	return &p.c.bad
}

func (p *pdfDoc) service(s serviceView) {
	head := []core.Row{
		row.New(5),
		row.New().Add(text.NewCol(pdfGrid, "Service: "+s.Name, props.Text{Family: fontFamily, Size: 15, Style: fontstyle.Bold, Color: &p.c.white, Top: 2, Bottom: 2, Left: 2})).
			WithStyle(&props.Cell{BackgroundColor: &p.c.accent}),
		p.text(11, fontstyle.Bold, p.verdictColor(s), "Availability "+s.Headline, 3, 2),
	}
	// Figures in two label/value column pairs.
	half := (len(s.Facts) + 1) / 2
	for i := 0; i < half; i++ {
		cols := []core.Col{}
		for _, j := range []int{i, i + half} {
			if j >= len(s.Facts) {
				cols = append(cols, col.New(24))
				continue
			}
			f := s.Facts[j]
			cols = append(cols,
				text.NewCol(10, f.Label, props.Text{Family: fontFamily, Size: 8, Color: &p.c.muted, Top: 0.8, Bottom: 0.8, Left: 1}),
				text.NewCol(14, f.Value, props.Text{Family: fontFamily, Size: 8, Style: fontstyle.Bold, Top: 0.8, Bottom: 0.8}),
			)
		}
		r := row.New().Add(cols...)
		if i%2 == 0 {
			r.WithStyle(&props.Cell{BackgroundColor: &p.c.stripe})
		}
		head = append(head, r)
	}
	p.block(head...)

	chart := []core.Row{p.headingRow("Daily availability", 11)}
	if fig, ok := dailyChart(s.Daily, s.Objective); !ok {
		chart = append(chart, p.text(8, fontstyle.Normal, &p.c.muted, "No daily figures.", 0, 1))
	} else {
		chart = append(chart, row.New(p.width*fig.h/fig.w).Add(col.New(pdfGrid).Add(&pdfFigure{fig: fig})),
			p.text(7, fontstyle.Normal, &p.c.muted, "Blue: daily availability ("+s.Gaps+"). Red dashed: the objective.", 0.5, 1))
	}
	p.block(chart...)
	// Tables with rows in full; a run of empty ones as one short list.
	var empty []core.Row
	flush := func() {
		if len(empty) > 0 {
			p.block(empty...)
			empty = nil
		}
	}
	for _, t := range s.Tables {
		if len(t.Rows) > 0 {
			flush()
			p.table(t, 11)
			continue
		}
		if empty == nil {
			empty = append(empty, row.New(3))
		}
		empty = append(empty, row.New().Add(
			text.NewCol(14, t.Title, props.Text{Family: fontFamily, Size: 8.5, Style: fontstyle.Bold, Color: &p.c.accent, Top: 0.8, Bottom: 0.8}),
			text.NewCol(pdfGrid-14, t.Empty, props.Text{Family: fontFamily, Size: 8, Color: &p.c.muted, Top: 1, Bottom: 0.8}),
		))
	}
	flush()
}

// table draws a titled table: a shaded header row and striped auto-height
// rows with the view's column widths. It stays on one page when it fits on
// one; a longer one starts with at least its first rows under its heading
// and repeats its header row on every page it runs onto.
func (p *pdfDoc) table(t table, size float64) {
	top := []core.Row{p.headingRow(t.Title, size)}
	if t.Note != "" {
		top = append(top, p.text(7, fontstyle.Normal, &p.c.muted, t.Note, 0, 1.5))
	}
	if len(t.Rows) == 0 {
		p.block(append(top, p.text(8, fontstyle.Normal, &p.c.muted, t.Empty, 0, 1))...)
		return
	}
	cellStyle := func(bg *props.Color) *props.Cell {
		return &props.Cell{BackgroundColor: bg, BorderType: border.Bottom, BorderColor: &p.c.line, BorderThickness: 0.1}
	}
	header := func() core.Row {
		head := make([]core.Col, len(t.Head))
		for i, h := range t.Head {
			head[i] = text.NewCol(t.Widths[i], h, props.Text{Family: fontFamily, Size: 7, Style: fontstyle.Bold, Top: 1, Bottom: 1, Left: 1, Right: 1})
		}
		return row.New().Add(head...).WithStyle(cellStyle(&p.c.head))
	}
	rows := make([]core.Row, len(t.Rows))
	for n, cells := range t.Rows {
		cols := make([]core.Col, len(cells))
		for i, c := range cells {
			size := 7.0
			if t.Head[i] == uncertaintyHead {
				c, size = keepEdges(c), uncertaintySize
			}
			c = p.g.fit(c, size, p.width*float64(t.Widths[i])/pdfGrid-2.5)
			cols[i] = text.NewCol(t.Widths[i], c, props.Text{Family: fontFamily, Size: size, Top: 1, Bottom: 1, Left: 1, Right: 1})
		}
		bg := &p.c.white
		if n%2 == 1 {
			bg = &p.c.stripe
		}
		rows[n] = row.New().Add(cols...).WithStyle(cellStyle(bg))
	}
	whole := append(append(top, header()), rows...)
	if h := p.height(whole...); h < p.probe.cell.Height {
		p.block(whole...)
		return
	}
	// Longer than a page: the heading, the header and a few rows together,
	// then row by row.
	lead := min(3, len(rows))
	p.block(append(append(top, header()), rows[:lead]...)...)
	for _, r := range rows[lead:] {
		if !p.m.FitlnCurrentPage(p.height(r)) {
			p.m.AddPages(page.New())
			p.m.AddRows(header())
		}
		p.m.AddRows(r)
	}
}

// pdfBytes is a helper for tests and benchmarks.
func pdfBytes(r *report.Report, o PDFOptions) ([]byte, error) {
	var b bytes.Buffer
	err := PDF(&b, r, o)
	return b.Bytes(), err
}
