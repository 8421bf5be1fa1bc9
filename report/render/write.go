package render

import (
	"fmt"
	"io"

	"github.com/slaprobe/slaprobe/report"
)

// Write renders r in one format (pdf, html, json, csv or md) to w: what
// `slaprobe report` and the scheduled reports write.
func Write(w io.Writer, r *report.Report, format string, pdf PDFOptions) error {
	switch format {
	case "pdf":
		return PDF(w, r, pdf)
	case "html":
		return HTML(w, r)
	case "json":
		return JSON(w, r)
	case "csv":
		return CSV(w, r)
	case "md":
		return Markdown(w, r)
	}
	return fmt.Errorf("render: unknown format %q (want pdf, html, json, csv or md)", format)
}
