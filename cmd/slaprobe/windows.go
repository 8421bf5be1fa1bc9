package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
)

func cmdWindows(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("windows", "--config FILE [--db PATH|URL] --from T --to T [--format text|json|csv] [--recompute] [--connect-timeout D] [--read-timeout D]", stderr)
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
	if in, whole := inMaintenance(ws, cfg.Maintenance); in > 0 {
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
// service overlaps, and of those the ones it covers whole.
func inMaintenance(ws []report.Window, plan config.MaintenancePlan) (in, whole int) {
	for _, w := range ws {
		end := w.Start.Add(time.Duration(w.DurationSeconds * float64(time.Second)))
		if w.End != nil {
			end = *w.End
		}
		var covered time.Duration
		var spans [][2]time.Time
		for i := range plan {
			m := &plan[i]
			if !m.Covers(w.Service) || !m.Start.Before(end) || !m.End.After(w.Start) {
				continue
			}
			spans = append(spans, [2]time.Time{laterOf(m.Start, w.Start), earlierOf(m.End, end)})
		}
		if len(spans) == 0 {
			continue
		}
		in++
		// The union of the covered stretches (two windows of maintenance may overlap).
		slices.SortFunc(spans, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
		cur := spans[0]
		for _, sp := range spans[1:] {
			if sp[0].After(cur[1]) {
				covered += cur[1].Sub(cur[0])
				cur = sp
				continue
			}
			cur[1] = laterOf(cur[1], sp[1])
		}
		covered += cur[1].Sub(cur[0])
		if covered >= end.Sub(w.Start) {
			whole++
		}
	}
	return in, whole
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlierOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
