package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
)

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "--config FILE [--db PATH|URL] (--month YYYY-MM | --from T --to T) --format pdf|html|json|csv|md --out PATH [--connect-timeout D] [--read-timeout D]", stdout, stderr)
	path := fs.String("config", "", "config file (required)")
	db := fs.String("db", "", "SQLite database path or postgres:// URL to read (default: the config's storage)")
	waits := storeWaitFlags(fs)
	month := fs.String("month", "", "calendar month YYYY-MM in the config's time zone")
	from := fs.String("from", "", "start of the range (instead of --month)")
	to := fs.String("to", "", "end of the range, exclusive")
	format := fs.String("format", "", "pdf, html, json, csv or md (required)")
	out := fs.String("out", "", "output file; - for standard output (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oneOf("format", *format, "pdf", "html", "json", "csv", "md"); err != nil {
		return err
	}
	if err := waits.check(); err != nil {
		return err
	}
	cfg, err := loadResultsConfig(*path)
	if err != nil {
		return err
	}
	var f, t time.Time
	switch {
	case *month != "" && (*from != "" || *to != ""):
		return usagef("--month and --from/--to are exclusive")
	case *month != "":
		if f, t, err = report.MonthRange(*month, cfg.Loc); err != nil {
			return usageError{err}
		}
	case *from != "" || *to != "":
		if f, t, err = rangeFlags(*from, *to, cfg.Loc, func(n string) { fmt.Fprintln(stderr, "slaprobe report:", n) }); err != nil {
			return err
		}
	default:
		return usagef("give --month YYYY-MM or --from and --to")
	}
	o, err := prepareOut("out", *out, stdout)
	if err != nil {
		return err
	}
	defer o.discard()
	st, err := openExistingStore(ctx, cfg, *db, *waits)
	if err != nil {
		return err
	}
	defer st.Close()
	warn := func(msg string) { fmt.Fprintln(stderr, "slaprobe: report:", msg) }
	r, err := report.Build(ctx, report.Input{Config: cfg, Store: st, From: f, To: t, Now: reportNow(), Timelines: cfg.Timelines, Warn: warn})
	if err != nil {
		return waits.explain(err)
	}
	if err := writeReport(r, *format, o, render.PDFOptions{FontPath: cfg.Report.Font}); err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	}
	return nil
}

// writeReport renders r in one format to out.
func writeReport(r *report.Report, format string, out *outFile, pdf render.PDFOptions) error {
	return out.commit(func(w io.Writer) error { return render.Write(w, r, format, pdf) })
}
