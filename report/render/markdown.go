package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/slaprobe/slaprobe/report"
)

// Markdown writes r as a Markdown document: header, policy, and per service
// its figures, a daily availability sparkline and table, and its tables.
// Every cell is escaped, so a name or error cannot break a table or inject
// HTML into a Markdown viewer.
func Markdown(w io.Writer, r *report.Report) error {
	if r == nil {
		return fmt.Errorf("render: nil report")
	}
	loc, err := location(r.Timezone)
	if err != nil {
		return err
	}
	v := newView(r, loc)
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# %s\n\n", md(v.Title))
	p("- **Period:** %s (%s)\n", v.Period, md(v.Zone))
	p("- **Generated:** %s\n", v.Generated)
	p("- **Measured from:** %s\n", md(v.Locations))
	for _, s := range v.Services {
		p("- **%s:** %s\n", md(s.Name), s.Headline)
	}
	p("\n")
	mdTable(b, v.Summary, 2)

	p("## Accounting policy\n\n")
	if len(v.Policy) == 0 {
		p("No policy text was recorded for this report.\n")
	}
	for _, line := range v.Policy {
		p("- %s\n", md(line))
	}
	p("\n")

	for _, s := range v.Services {
		p("## Service: %s\n\n", md(s.Name))
		p("**Availability %s**\n\n", s.Headline)
		p("| Figure | Value |\n|---|---|\n")
		for _, f := range s.Facts {
			p("| %s | %s |\n", f.Label, md(f.Value))
		}
		p("\n### Daily availability\n\n")
		if len(s.Daily) == 0 {
			p("No daily figures.\n\n")
		} else {
			p("Scaled from the lowest day (or the objective) to 100%%; a blank is a day without data.\n\n")
			p("```\n%s  %s .. %s\n```\n\n", s.Sparkline, s.Daily[0].Date, s.Daily[len(s.Daily)-1].Date)
			p("| Date | Availability |\n|---|---|\n")
			for _, d := range s.Daily {
				p("| %s | %s |\n", md(d.Date), fmtMeasured(d.Availability, false, d.MaintenanceOnly, s.Objective))
			}
			p("\n")
		}
		for _, t := range s.Tables {
			mdTable(b, t, 3)
		}
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("render: markdown: %w", err)
	}
	return nil
}

func mdTable(b *bufio.Writer, t table, level int) {
	fmt.Fprintf(b, "%s %s\n\n", strings.Repeat("#", level), md(t.Title))
	if t.Note != "" {
		fmt.Fprintf(b, "%s\n\n", md(t.Note))
	}
	if len(t.Rows) == 0 {
		fmt.Fprintf(b, "%s\n\n", md(t.Empty))
		return
	}
	b.WriteString("|")
	for _, h := range t.Head {
		b.WriteString(" " + md(h) + " |")
	}
	b.WriteString("\n|")
	for range t.Head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		b.WriteString("|")
		for _, c := range row {
			b.WriteString(" " + md(c) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// md escapes Markdown and HTML specials in inline text (GFM's strikethrough
// ~ and GitHub's math $ among them) and keeps it on one line.
// It also breaks GFM's autolinks (the ':' of "://", the '.' of "www." and
// an '@'), so that a URL an error quotes from a target is not offered to
// the report's readers as a link.
func md(s string) string {
	var b strings.Builder
	s = printable(s)
	for i, r := range s {
		switch r {
		case '\\', '|', '*', '_', '`', '[', ']', '#', '@', '~', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		case ':':
			if strings.HasPrefix(s[i+1:], "//") {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '.':
			if i >= 3 && strings.EqualFold(s[i-3:i], "www") {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
