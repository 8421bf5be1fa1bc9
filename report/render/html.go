package render

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"unicode"

	"github.com/slaprobe/slaprobe/report"
)

//go:embed templates/report.html.tmpl
var htmlTemplate string

// htmlData is what the HTML template draws: the view plus one inline SVG
// chart per service (empty when the service has no daily figures).
type htmlData struct {
	view
	Charts   []template.HTML
	Timeline []template.HTML // one inline SVG per view.Timelines
	TLLegend string
}

// tableRef is a table with the heading level it is drawn at.
type tableRef struct {
	T     table
	Level string
}

// HTML writes r as one self-contained HTML file: inline CSS, inline SVG
// charts (the function timeline first), no scripts and no external assets.
// Printed, sections flow: headings stay with what follows them and table
// rows and figures are not split. Every name and message is
// escaped by html/template.
func HTML(w io.Writer, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("render: nil report")
	}
	loc, err := location(r.Timezone)
	if err != nil {
		return err
	}
	return writeHTML(w, newView(r, loc))
}

func writeHTML(w io.Writer, v view) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"tbl":      func(t table, level string) tableRef { return tableRef{T: t, Level: level} },
		"numeric":  numeric,
		"unbroken": unbroken,
	}).Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("render: html template: %w", err)
	}
	d := htmlData{view: v, Charts: make([]template.HTML, len(v.Services)), TLLegend: timelineLegend}
	for _, tf := range v.Timelines {
		d.Timeline = append(d.Timeline, tf.TL.SVG())
	}
	for i, s := range v.Services {
		d.Charts[i] = chartSVG(s.Daily, s.Objective)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return fmt.Errorf("render: html: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("render: html: %w", err)
	}
	return nil
}

// unbrokenRun is the longest run of text without a space that a table cell
// keeps whole; a cell with a longer one (a token or URL an error quotes
// from a target) is drawn with class wrap, which breaks it anywhere.
const unbrokenRun = 40

// unbroken reports whether s has a run of more than unbrokenRun runes
// without a space: left as it is, such a cell widened its table, and the
// page, to fit it (a 200-character token in an error made the report 2534
// pixels wide in a 1200-pixel window).
func unbroken(s string) bool {
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) {
			n = 0
			continue
		}
		if n++; n > unbrokenRun {
			return true
		}
	}
	return false
}

// numeric reports whether a cell holds a figure, a duration or a time, or a
// window's edge bounds (boundsCell), which the HTML table right-aligns and
// keeps on one line.
func numeric(s string) bool {
	if boundsCell(s) { // "-1m10s +14.4s / -59.8s +300ms": longer than a time
		return true
	}
	if s == "" || len(s) > len(timeLayout) {
		return false
	}
	c := s[0]
	if c == '+' || c == '-' {
		return len(s) > 1 && s[1] >= '0' && s[1] <= '9'
	}
	return c >= '0' && c <= '9'
}
