package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
)

func cmdWindows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("windows", "--config FILE [--db PATH|URL] --from T --to T [--format text|json|csv] [--recompute] [--connect-timeout D] [--read-timeout D]", stdout, stderr)
	path := fs.String("config", "", "config file (required)")
	db := fs.String("db", "", "SQLite database path or postgres:// URL to read (default: the config's storage)")
	waits := storeWaitFlags(fs)
	from := fs.String("from", "", "start of the range: RFC 3339, or a date in the config's time zone (required)")
	to := fs.String("to", "", "end of the range, exclusive (required)")
	format := fs.String("format", "text", "output: text, json or csv")
	recompute := fs.Bool("recompute", false, "rebuild windows from raw results instead of stored state events")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json", "csv"); err != nil {
		return err
	}
	if err := waits.check(); err != nil {
		return err
	}
	cfg, err := loadResultsConfig(*path)
	if err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usagef("--from and --to are required")
	}
	f, t, err := rangeFlags(*from, *to, cfg.Loc, func(n string) { fmt.Fprintln(stderr, "slaprobe windows:", n) })
	if err != nil {
		return err
	}
	st, err := openExistingStore(ctx, cfg, *db, *waits)
	if err != nil {
		return err
	}
	defer st.Close()
	warn := func(msg string) { fmt.Fprintln(stderr, "slaprobe: windows:", msg) }
	ws, below, err := report.WindowsAndBelow(ctx, report.Input{Config: cfg, Store: st, From: f, To: t, Now: reportNow(), Timelines: cfg.Timelines, Recompute: *recompute, Warn: warn})
	if err != nil {
		return waits.explain(err)
	}
	if len(below) > 0 {
		// Listed are the windows the quorum counts; a location failing
		// alone is not one, but an operator looking at an outage at one
		// location must not read "(no windows)" as nothing seen.
		var locs []string
		for _, w := range below {
			locs = append(locs, w.Locations...)
		}
		slices.Sort(locs)
		warn(fmt.Sprintf("%d below-quorum windows (seen from too few locations to count as downtime: %s) are not listed; `slaprobe report` lists them under below_quorum",
			len(below), strings.Join(slices.Compact(locs), ", ")))
	}
	if in, whole := inMaintenance(ws); in > 0 {
		// Listed are the windows as measured; a report does not count
		// what planned maintenance covered, and its windows table marks
		// them. Said here too, so that the list is not read as downtime.
		warn(fmt.Sprintf("%d of the windows listed lie in planned maintenance (%d wholly), which `slaprobe report` does not count as downtime (its windows table marks them)", in, whole))
	}
	switch *format {
	case "json":
		return render.WindowsJSON(stdout, ws)
	case "csv":
		return render.WindowsCSV(stdout, ws)
	default:
		return render.WindowsText(stdout, ws, cfg.Loc)
	}
}

// inMaintenance counts the windows of ws that planned maintenance of their
// service covered in part or whole (report.Window.MaintenanceSeconds, which
// the JSON gives), and of those the ones it covered whole.
func inMaintenance(ws []report.Window) (in, whole int) {
	for _, w := range ws {
		if w.MaintenanceSeconds <= 0 {
			continue
		}
		in++
		if w.MaintenanceSeconds >= w.DurationSeconds {
			whole++
		}
	}
	return in, whole
}
