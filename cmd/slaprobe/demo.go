package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/examples"
	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
	"github.com/slaprobe/slaprobe/store"
)

// defaultDemoTimeline is the bundled timeline the demo replays by default.
const defaultDemoTimeline = "incidents/kakao-2022-10-15.yaml"

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := newFlags("demo", "[--config FILE] [--timeline FILE]... [--from T --to T] [--interval D] [--out DIR]", stdout, stderr)
	cfgPath := fset.String("config", "", "config (default: the built-in one with flows for every platform service)")
	var timelines multiFlag
	fset.Var(&timelines, "timeline", "timeline to replay as faults and reconcile against (repeatable; default: the bundled 2022-10-15 fire)")
	from := fset.String("from", "", "start of the replay (default: the start of the first month an incident falls in)")
	to := fset.String("to", "", "end of the replay, exclusive (default: the end of the last month an incident falls in)")
	interval := fset.Duration("interval", time.Minute, "probe interval of every flow of the built-in config (or of --config's flows when given explicitly)")
	out := fset.String("out", "out/demo", "directory for report.pdf, report.html, report.json, windows.json, windows.csv and results.db")
	if err := parse(fset, args); err != nil {
		return err
	}
	intervalSet := false
	fset.Visit(func(f *flag.Flag) { intervalSet = intervalSet || f.Name == "interval" })
	if *interval < config.MinInterval {
		return usagef("--interval %s: must be at least %s", *interval, config.MinInterval)
	}

	cfg, err := demoConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *cfgPath != "" && intervalSet {
		// As if written in the config, where check refuses a timeout
		// longer than the interval: a run that outlasts the interval
		// makes the next ones be skipped, so the flow is measured at
		// its timeout's pace, not at --interval's.
		if err := intervalFits(cfg, *interval); err != nil {
			return err
		}
	}
	if *cfgPath == "" {
		// The built-in config is not the user's to change: its flows
		// time out at the interval when it is shorter than their
		// timeout (30s), so that they run every --interval.
		boundTimeout(cfg, *interval)
	}
	if *cfgPath == "" || intervalSet {
		cfg.SetInterval(*interval)
	}
	if *cfgPath != "" && intervalSet {
		teardownWarnings(stderr, cfg, *interval)
	}
	tls, err := demoTimelines(timelines)
	if err != nil {
		return err
	}
	if len(timelines) == 0 && *cfgPath != "" {
		// The config's timelines are reconciled only if replayed: without
		// a word, a config declaring a January of its own was replayed
		// over the Kakao fire, nothing injected, nothing reconciled.
		// The bundled file itself (examples/demo.yaml names its copy) is
		// replayed: not listed.
		bundled, _ := fs.ReadFile(examples.Files(), defaultDemoTimeline)
		var other []string
		for _, ct := range cfg.Timelines {
			if data, err := os.ReadFile(ct.File); err != nil || !bytes.Equal(data, bundled) {
				other = append(other, ct.File)
			}
		}
		if len(other) > 0 {
			fmt.Fprintf(stderr, "slaprobe demo: no --timeline: replaying the bundled 2022-10-15 fire only, not %s of the config; give --timeline FILE for each to replay\n",
				strings.Join(other, ", "))
		}
	}
	// The timelines the config names are warned of too, as check does (they
	// are loaded, though --timeline's are the ones replayed), and a file
	// named both ways once.
	warn := tls
	if *cfgPath != "" {
		warn = append(slices.Clip(cfg.Timelines), tls...)
	}
	timelineWarnings(stderr, warn)
	// What check says of a config's timelines against the config (a
	// service it lacks, functions no flow probes), for the replayed files,
	// which check never sees: an incident of a service the config lacks
	// was left out of the report without a word.
	eachTimelineWarning(stderr, tls, cfg.TimelineWarnings)
	if *cfgPath != "" {
		// The config's maintenance is excluded from the demo's report:
		// its warnings (a time with the other season's offset, a service
		// the config lacks) as check gives them.
		for _, w := range cfg.Warnings("sqlite") {
			if w.File == "" && strings.HasPrefix(w.Key, "maintenance[") {
				fmt.Fprintf(stderr, "%s:%d: %s: warning: %s\n", *cfgPath, w.Line, w.Key, w.Msg)
			}
		}
	}
	// The built-in config's zone is the bundled fire's (Asia/Seoul); other
	// timelines are reported in their own when they agree on one.
	if tz, ok := config.CommonTimezone(tls); ok && *cfgPath == "" {
		if err := cfg.SetTimezone(tz); err != nil {
			return err
		}
	}
	f, t, err := demoRange(*from, *to, tls, cfg.Loc, func(n string) { fmt.Fprintln(stderr, "slaprobe demo:", n) })
	if err != nil {
		return err
	}

	outs, err := demoOutputs(*out, stdout)
	if err != nil {
		return err
	}
	defer func() {
		for _, o := range outs {
			o.discard()
		}
	}()
	dbPath := filepath.Join(*out, "results.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Lstat(dbPath + suffix); err == nil && !fi.Mode().IsRegular() {
			return usagef("--out %s: %s is not a regular file", *out, dbPath+suffix)
		}
		if err := os.Remove(dbPath + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	cfg.Storage.Driver, cfg.Storage.DSN = "sqlite", dbPath
	st, err := store.OpenSQLite(ctx, dbPath, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Webhook callbacks stay in process: the platform calls the registry's
	// handler through an in-process transport, before the request that
	// caused the callback returns, and run tokens come from a fixed key, so
	// a replay is the same every time.
	hooks, err := probe.NewWebhooks(probe.WebhookOptions{PublicURL: cfg.Webhooks.PublicURL, Key: []byte("slaprobe demo"), MaxBodyBytes: cfg.Webhooks.MaxBodyBytes})
	if err != nil {
		return err
	}
	// The replay begins one (longest) interval before the range, so that
	// the range opens on a prober that was already running, as a month's
	// report of a live one does: every flow has a run before it, and an
	// outage already under way at the range's start is cut by the range
	// (start_cut "period"), not taken for one that began at the first run.
	warm := f.Add(-cfg.MaxInterval())
	plat := platform.New(platform.Options{Clock: clock.NewManual(warm), Timelines: tls, Logger: log, Callbacks: platform.HandlerTransport(hooks.Handler())})

	fmt.Fprintf(stderr, "replaying %s to %s (%s) against the demo platform, %d timeline(s), from %s on to warm up\n",
		f.In(cfg.Loc).Format(time.RFC3339), t.In(cfg.Loc).Format(time.RFC3339), cfg.Timezone, len(tls), warm.In(cfg.Loc).Format(time.RFC3339))
	progress := demoProgress(stderr, t.Sub(warm))
	started := time.Now()
	err = daemon.Replay(ctx, cfg, daemon.Deps{Store: st, Clock: clock.NewManual(warm), Logger: log, Transport: plat.Transport(), Webhooks: hooks, Version: version}, warm, t, progress)
	if err != nil {
		return err
	}
	replayed := time.Since(started)

	in := report.Input{Config: cfg, Store: st, From: f, To: t, Timelines: tls}
	r, err := report.Build(ctx, in)
	if err != nil {
		return err
	}
	ws, err := report.Windows(ctx, in)
	if err != nil {
		return err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.pdf", func(w io.Writer) error { return render.PDF(w, r, render.PDFOptions{FontPath: cfg.Report.Font}) }},
		{"report.html", func(w io.Writer) error { return render.HTML(w, r) }},
		{"report.json", func(w io.Writer) error { return render.JSON(w, r) }},
		{"windows.json", func(w io.Writer) error { return render.WindowsJSON(w, ws) }},
		{"windows.csv", func(w io.Writer) error { return render.WindowsCSV(w, ws) }},
	}
	for _, file := range files {
		if err := outs[file.name].commit(file.write); err != nil {
			return fmt.Errorf("%s: %w", file.name, err)
		}
	}

	fmt.Fprintf(stdout, "replayed %s of virtual time in %s; %d windows\n", t.Sub(f), replayed.Round(time.Millisecond), len(ws))
	for _, s := range r.Services {
		fmt.Fprintln(stdout, demoSummary(s, r.Policy))
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(*out, "report.pdf"))
	return nil
}

// demoSummary is a service's line in the demo's summary: availability,
// objective, downtime and credit, and the degraded and unknown time when
// there is any, with how the policy counted it: with `degraded: down` the
// availability counts degraded time that the downtime figure leaves out (a
// 90-minute slow route read "downtime 4h57m0s" beside an availability that
// had counted 6h27m).
func demoSummary(s report.Service, p report.Policy) string {
	avail, credit := "no data", "-"
	if s.Availability != nil {
		avail = render.Percent(*s.Availability, 4)
	}
	if s.CreditPercent != nil {
		credit = fmt.Sprintf("%g%%", *s.CreditPercent)
	} else if s.CreditWithheld != "" {
		credit = "withheld (" + s.CreditWithheld + ")"
	}
	dur := func(sec float64) string { return time.Duration(sec * float64(time.Second)).Round(time.Second).String() }
	// The objective with its own decimals (at least three): %.3f would
	// print 99.9995% as 100.000%.
	line := fmt.Sprintf("  %-10s availability %9s  objective %s  downtime %s",
		s.Name, avail, render.Availability(s.Objective, s.Objective), dur(s.DowntimeSeconds))
	counted := func(how string) string {
		if how == "down" {
			return "counted as down"
		}
		if how == "up" {
			return "counted as up"
		}
		return "excluded"
	}
	if s.DegradedSeconds > 0 {
		line += "  degraded " + dur(s.DegradedSeconds) + " (" + counted(p.Degraded) + ")"
	}
	if s.UnknownSeconds > 0 {
		line += "  unknown " + dur(s.UnknownSeconds) + " (" + counted(p.Unknown) + ")"
	}
	return line + "  credit " + credit
}

// demoFiles are the files demo writes in its --out directory, besides
// results.db.
var demoFiles = []string{"report.pdf", "report.html", "report.json", "windows.json", "windows.csv"}

// demoOutputs makes the --out directory and checks each file the demo will
// write there, before the replay.
func demoOutputs(dir string, stdout io.Writer) (map[string]*outFile, error) {
	// The store it will hold ("o?2/results.db" is no plain path) is bad
	// input too, before the directory is made.
	if err := store.CheckSQLitePath(filepath.Join(dir, "results.db")); err != nil {
		return nil, usagef("--out %s: %v", dir, err)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, usagef("--out %s is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, usagef("--out %s: %v", dir, errors.Unwrap(err))
	}
	outs := map[string]*outFile{}
	for _, name := range demoFiles {
		o, err := prepareOut("out", filepath.Join(dir, name), stdout)
		if err != nil {
			for _, o := range outs {
				o.discard()
			}
			return nil, err
		}
		outs[name] = o
	}
	return outs, nil
}

// intervalFits refuses an --interval shorter than a flow's timeout of
// --config, naming the flows, as check refuses such an interval written in
// the config.
func intervalFits(cfg *config.Config, d time.Duration) error {
	var longest time.Duration
	var flows []string
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			if f.Timeout > d {
				flows = append(flows, fmt.Sprintf("%s (%s)", f.Name, f.Timeout))
				longest = max(longest, f.Timeout)
			}
		}
	}
	if len(flows) == 0 {
		return nil
	}
	what := "flow " + flows[0]
	if len(flows) > 1 {
		what = "flows " + strings.Join(flows, ", ")
		if len(flows) > 4 {
			what = fmt.Sprintf("flows %s and %d more", strings.Join(flows[:3], ", "), len(flows)-3)
		}
	}
	return usagef("--interval %s is shorter than the timeout of %s: a timeout longer than the interval is refused in the config too; give --interval %s or more, or shorter timeouts in --config", d, what, longest)
}

// teardownWarnings says, as check does of a config's own interval, which
// flows of --config have teardown steps and a timeout longer than half of
// --interval d: a run lasts up to twice its timeout (the steps, then the
// teardown with a deadline of its own as long), so such a flow's next run
// is skipped while one lasts.
func teardownWarnings(stderr io.Writer, cfg *config.Config, d time.Duration) {
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			if len(f.Teardown) > 0 && 2*f.Timeout > d {
				fmt.Fprintf(stderr, "slaprobe demo: warning: flow %s has teardown steps: a run can last twice the timeout (the steps, then the teardown with a deadline of its own as long): 2 x %v is longer than --interval %v, and the flow's next run is skipped while one lasts: --interval %v or more, or a timeout of at most %v, keeps every run\n",
					f.Name, f.Timeout, d, 2*f.Timeout, d/2)
			}
		}
	}
}

// boundTimeout makes the timeout of every flow (and of the defaults) at
// most d, and of a flow with teardown steps at most d/2: the teardown has a
// deadline of its own as long as the timeout (a run lasts at most twice
// it), so that a slow teardown made its runs outlast d (messaging-roundtrip,
// whose delete-message is of its send function, 8 s a run at --interval 5s
// with send 4 s slow: 226 runs in 30 minutes where 361 were due).
func boundTimeout(cfg *config.Config, d time.Duration) {
	cfg.Defaults.Timeout = min(cfg.Defaults.Timeout, d)
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			f := &cfg.Services[i].Flows[j]
			bound := d
			if len(f.Teardown) > 0 {
				bound = d / 2
			}
			f.Timeout = min(f.Timeout, bound)
		}
	}
}

// demoConfig loads --config, or the built-in example config whose timeline
// paths resolve inside the embedded examples.
func demoConfig(cfgPath string) (*config.Config, error) {
	if cfgPath != "" {
		return loadConfig(cfgPath)
	}
	cfg, err := config.Parse(examples.DemoPath, examples.DemoConfig(), config.Options{ReadFile: examples.ReadFile})
	if err != nil {
		return nil, fmt.Errorf("built-in demo config: %w", err)
	}
	return cfg, nil
}

func demoTimelines(paths []string) ([]*config.Timeline, error) {
	if len(paths) == 0 {
		data, err := fs.ReadFile(examples.Files(), defaultDemoTimeline)
		if err != nil {
			return nil, err
		}
		t, err := config.ParseTimeline(defaultDemoTimeline, data)
		if err != nil {
			return nil, err
		}
		return []*config.Timeline{t}, nil
	}
	out, err := config.LoadTimelines(paths, config.Options{})
	if err != nil {
		return nil, usageError{err}
	}
	return out, nil
}

// demoRange is --from/--to, or the calendar months the incidents fall in (at
// most three). notice takes rangeFlags' notices.
func demoRange(from, to string, tls []*config.Timeline, loc *time.Location, notice func(string)) (time.Time, time.Time, error) {
	if from != "" || to != "" {
		return rangeFlags(from, to, loc, notice)
	}
	var first, last time.Time
	for _, tl := range tls {
		for _, inc := range tl.Incidents {
			// The last instant the incident is under way: its end is
			// exclusive, so one that ends at a month's first instant
			// does not take in that month.
			end := inc.Start
			if inc.End.After(inc.Start) {
				end = inc.End.Add(-time.Nanosecond)
			}
			if first.IsZero() || inc.Start.Before(first) {
				first = inc.Start
			}
			if end.After(last) {
				last = end
			}
		}
	}
	if first.IsZero() {
		return first, last, usagef("the timelines declare no incident: give --from and --to")
	}
	first, last = first.In(loc), last.In(loc)
	f := report.DayStart(first.Year(), first.Month(), 1, loc)
	t := report.DayStart(last.Year(), last.Month()+1, 1, loc)
	if months := (last.Year()-first.Year())*12 + int(last.Month()-first.Month()) + 1; months > 3 {
		return f, t, usagef("the incidents span %d months (%s to %s): give --from and --to", months, first.Format("2006-01"), last.Format("2006-01"))
	}
	for _, e := range []time.Time{f, t} {
		if err := report.Writable(e, loc); err != nil {
			return f, t, usagef("the incidents' months (%s to %s): %s %v: give --from and --to", first.Format("2006-01"), last.Format("2006-01"), e.In(loc).Format(time.RFC3339), err)
		}
	}
	return f, t, nil
}

// demoProgress returns a progress callback: a bar on a terminal, nothing
// otherwise.
func demoProgress(stderr io.Writer, total time.Duration) func(done, total time.Duration) {
	f, ok := stderr.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	bar := progressbar.NewOptions64(int64(total/time.Minute),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("virtual minutes"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return func(done, _ time.Duration) { _ = bar.Set64(int64(done / time.Minute)) }
}
