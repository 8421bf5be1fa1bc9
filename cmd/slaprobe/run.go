package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/daemon/statuspage"
	"github.com/slaprobe/slaprobe/internal/httpserve"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/internal/textpages"
	"github.com/slaprobe/slaprobe/report/publish"
	"github.com/slaprobe/slaprobe/store"
)

// The daemon hands the notifier the maintenance: windows of every reload.
var _ daemon.MaintenanceAware = (*alert.Notifier)(nil)

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "--config FILE [--listen ADDR] [--db PATH|URL] [--alertmanager URL]... [--log-level LEVEL] [--pprof]", stdout, stderr)
	path := fs.String("config", "", "config file (required)")
	listen := fs.String("listen", "", "address for /metrics, /healthz and /api/v1/status (overrides the config)")
	db := fs.String("db", "", "SQLite database path or postgres:// URL (overrides the config's storage)")
	var ams multiFlag
	fs.Var(&ams, "alertmanager", "Alertmanager base URL (repeatable; overrides the config)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	pprofOn := fs.Bool("pprof", false, "also serve Go's profiler (net/http/pprof) under /debug/pprof/ on the listen address")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *listen != "" {
		// Found before any work (the store is opened, and a new SQLite
		// database made, before the listener is bound).
		if err := checkListen(*listen); err != nil {
			return usagef("--listen %q: %v", *listen, err)
		}
	}
	if !*pprofOn {
		// Heap profiles are only read through --pprof: without it the
		// runtime need not sample allocations (its bucket table alone is
		// 1.5 MB of a 1,000-flow daemon's RSS).
		runtime.MemProfileRate = 0
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("--log-level %q: %v", *logLevel, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// From here on the binary's pages are mapped one at a time as they
	// are touched (byPage), and those that the runtime's and the
	// packages' set-up mapped 64 KiB at a time are given back.
	defer byPage(log)()
	dropText(log)

	load := func() (*config.Config, error) {
		cfg, err := loadConfig(*path)
		if err != nil {
			return nil, err
		}
		if *listen != "" {
			cfg.Listen = *listen
		}
		if len(ams) > 0 {
			cfg.Alerting.AlertmanagerURLs = ams
		}
		if cfg.Reports.Enabled && cfg.Reports.Archive == "" {
			if cfg.Reports.Archive, err = defaultArchive(cfg, *db); err != nil {
				return nil, err
			}
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	// Parsing walks a YAML tree several times the file's size (about 4 KB
	// a flow): let it go before the daemon builds its own state, so that
	// the peak is the larger of the two, not their sum. The code that
	// the parse ran is given back too (dropText).
	debug.FreeOSMemory()
	dropText(log)
	steadyGC(os.Getenv, debug.SetGCPercent, liveHeap())
	for _, ref := range cfg.ShortSecrets() {
		log.Warn("secret too short to be redacted from messages", "secret", "${"+ref+"}", "min_bytes", redact.MinLen)
	}
	driver, dsn, err := storeTarget(cfg, *db)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings(driver) {
		file := *path
		if w.File != "" {
			file = w.File
		}
		log.Warn(w.Key+": "+w.Msg, "file", file, "line", w.Line)
	}
	// The Alertmanager URLs with their secrets filled in; --alertmanager's
	// are found bad here, before any work (the config's were by load).
	amURLs := make([]string, len(cfg.Alerting.AlertmanagerURLs))
	for i, u := range cfg.Alerting.AlertmanagerURLs {
		if amURLs[i], err = cfg.ExpandSecrets(u); err != nil {
			return usageError{fmt.Errorf("alerting.alertmanager.urls[%d]: %w", i, err)}
		}
		if err := alert.CheckURL(amURLs[i], cfg.Redact); err != nil {
			return usageError{err}
		}
	}
	st, err := openStore(ctx, cfg, *db, log)
	var pending *store.Pending
	if err != nil {
		if !storeRetryable(err) || ctx.Err() != nil {
			return err
		}
		// Started while the database is unreachable: probe anyway (the
		// daemon holds the results), and open it, with its migrations,
		// once it answers.
		log.Warn("store not reachable at startup: starting without it, retrying", "err", err, "retry", storeOpenRetry)
		pending = store.NewPending(err)
		st = pending
	}
	defer func() {
		// Bounded: a PostgreSQL that stopped answering is given up.
		if err := st.Close(); err != nil {
			log.Warn("closing the store", "err", err)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var alerter daemon.Alerter
	var notifier *alert.Notifier
	if len(cfg.Alerting.AlertmanagerURLs) > 0 {
		statePath, legacyState := alertStatePath(driver, dsn, cfg.Location), ""
		if driver == "" || driver == "sqlite" {
			legacyState = filepath.Join(filepath.Dir(dsn), alert.LegacyStateFile)
		}
		notifier, err = alert.NewNotifier(alert.Options{
			URLs:             amURLs,
			Redact:           cfg.Redact,
			RedactMaxLen:     cfg.Redactor().MaxLen(),
			Resend:           cfg.Alerting.Resend,
			RunbookURL:       cfg.Alerting.RunbookURL,
			SeverityDown:     cfg.Alerting.SeverityDown,
			SeverityDegraded: cfg.Alerting.SeverityDegraded,
			Location:         cfg.Location,
			Zone:             cfg.Loc,
			Clock:            clock.Real{},
			Logger:           log,
			Metrics:          reg,
			StatePath:        statePath,
			LegacyStatePath:  legacyState,
			// d.Run reconciles the restored alerts with the open windows.
			HoldUntilReconcile: true,
			// Windows detected during planned maintenance are held (the
			// daemon hands it every reload's maintenance: too).
			Maintenance: cfg.Maintenance,
			// In a fleet the push follows the quorum: the status page's
			// builds of the month's figures give the verdict (SetFleet).
			FleetAware: true,
		})
		if err != nil {
			return usageError{err}
		}
		alerter = notifier
	}

	// Results the store refuses for good are kept beside a SQLite database
	// (with PostgreSQL: in the log and in memory).
	quarantine := ""
	if driver == "" || driver == "sqlite" {
		quarantine = filepath.Join(filepath.Dir(dsn), "slaprobe-quarantine.jsonl")
	}
	spool := spoolPath(driver, dsn, cfg.Location)
	hooks, err := startWebhooks(ctx, cfg, cfg.Webhooks.Line != 0 || cfg.UsesWebhooks(), log, stdout)
	if err != nil {
		return err
	}
	defer hooks.close(log) //nolint:errcheck // on the error paths; the end of a run closes it first
	// Heavy phases (reloads, report builds) run at a lower GOGC.
	gc := newGCPhases(heavyGCPercent)
	gc.busy, gc.idle = phaseHooks(debug.FreeOSMemory, func() { dropText(log) })
	d, err := daemon.New(cfg, daemon.Deps{Store: st, Clock: clock.Real{}, Logger: log, Registry: reg, Alerter: alerter, Version: version,
		QuarantineFile: quarantine, SpoolFile: spool, Webhooks: hooks.registry(), Heavy: gc.begin})
	if err != nil {
		return usageError{err}
	}

	// Scheduled monthly reports (reports:), archived and delivered.
	var pub *publish.Publisher
	pageOpts := statuspage.Options{Store: d.ReportStore(), Clock: clock.Real{}, Logger: log, Live: d.Status, StoreHealth: d.StoreHealth, Exclusive: d.Exclusive}
	if notifier != nil {
		pageOpts.Verdict = func(v statuspage.Verdict) {
			notifier.SetFleet(alert.Fleet{Fleet: v.Fleet, NoRuns: !v.Runs, Counted: v.Counted, Unknown: v.Unknown, Next: v.Next})
		}
	}
	if cfg.Reports.Enabled {
		ps, ok := st.(publish.Store)
		if !ok {
			return usagef("reports: the %s store keeps no delivery records", driver)
		}
		if pub, err = publish.New(cfg, publish.Options{Store: ps, Clock: clock.Real{}, Logger: log, Registry: reg}); err != nil {
			return usageError{err}
		}
		archive := cfg.Reports.Archive
		pageOpts.ArchiveDir = archive
		pageOpts.Archive = func() ([]statuspage.ArchiveMonth, error) { return archiveMonths(archive) }
	}
	page, err := statuspage.New(cfg, pageOpts)
	if err != nil {
		return err
	}
	if notifier != nil {
		// In a fleet, this prober's own window opening or closing asks
		// for the verdict sooner than the next rebuild.
		notifier.SetFleetChange(page.Kick)
	}
	// The internal status page at / beside the daemon's endpoints; the
	// public one, if configured, on a listener of its own.
	mux := http.NewServeMux()
	mux.Handle("/", d.Handler())
	internal := page.Handler(false)
	mux.Handle("GET /{$}", internal)
	mux.Handle("GET /reports/", internal)
	if *pprofOn {
		mountPprof(mux)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		key := "listen"
		if *listen != "" {
			key = "--listen"
		}
		return usageError{fmt.Errorf("%s: %w", key, err)}
	}
	srv := httpserve.New(mux, httpserve.Options{Logger: log})
	var pubLn net.Listener
	var pubSrv *httpserve.Server
	if cfg.Status.Listen != "" {
		if pubLn, err = net.Listen("tcp", cfg.Status.Listen); err != nil {
			ln.Close()
			return usageError{fmt.Errorf("status.listen: %w", err)}
		}
		pubSrv = httpserve.New(page.Handler(true), httpserve.Options{Logger: log})
	}
	// Said once every listener is bound.
	fmt.Fprintf(stdout, "slaprobe %s probing from %s, serving http://%s/ (status page) and /metrics\n", version, cfg.Location, ln.Addr())
	if pubLn != nil {
		fmt.Fprintf(stdout, "public status page on http://%s/\n", pubLn.Addr())
	}

	// Shutdown goes in order (DESIGN: SIGTERM drains in-flight runs and
	// flushes the store): the daemon stops scheduling, drains the runs in
	// flight and flushes the store (d.Run returns); then the notifier sends
	// what those runs changed (a window closed during the drain is resolved
	// in Alertmanager) and saves its state file; HTTP stops last, so /healthz
	// and /metrics answer during the drain. So the notifier and the server
	// run on contexts of their own, not on the signal's.
	base := context.WithoutCancel(ctx)
	httpCtx, stopHTTP := context.WithCancel(base)
	defer stopHTTP()
	alertCtx, stopAlerts := context.WithCancel(base)
	defer stopAlerts()
	httpDone := make(chan error, 2)
	go func() { httpDone <- srv.Run(httpCtx, ln) }()
	if pubSrv != nil {
		go func() { httpDone <- pubSrv.Run(httpCtx, pubLn) }()
	}
	// The page's figures are rebuilt in the background until the daemon
	// has stopped; the page keeps answering from the last ones until HTTP
	// stops.
	pageCtx, stopPage := context.WithCancel(base)
	defer stopPage()
	pageDone := make(chan struct{})
	go func() { defer close(pageDone); page.Run(pageCtx) }() //nolint:errcheck // Run returns nil when stopped
	pubDone := make(chan error, 1)
	if pub != nil {
		go func() {
			err := pub.Run(pageCtx)
			if err != nil && pageCtx.Err() == nil {
				// Said now, not only at shutdown: the daemon runs on
				// without scheduled reports.
				log.Error("scheduled reports stopped; no monthly report is made until a restart", "err", err)
			}
			pubDone <- err
		}()
	} else {
		pubDone <- nil
	}
	alertDone := make(chan error, 1)
	if notifier != nil {
		go func() { alertDone <- notifier.Run(alertCtx) }()
	} else {
		alertDone <- nil
	}

	// SIGHUP reloads (daemon.Reloader); an invalid config is logged with
	// all its errors and the running one stays.
	then := []daemon.Reconfigurer{page}
	if notifier != nil {
		then = append(then, daemon.ReconfigureFunc(func(c *config.Config) { notifier.SetZone(c.Loc) }))
	}
	if pub != nil {
		then = append(then, pub)
	}
	reloader := &daemon.Reloader{Daemon: d, Load: load, File: *path, Then: then, Logger: log}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	runDone := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-runDone:
				return
			case <-hup:
				reloader.Reload(ctx) //nolint:errcheck // logged; the running config stays
			}
		}
	}()

	// A second SIGINT or SIGTERM while the daemon drains hurries the stop
	// rather than ending the process at once: what the store has not
	// taken goes to the spool now, not after the writer's flush.
	hurryOnSecondSignal(ctx, runDone, d.Hurry, log)

	// A store opened late that cannot be used (a newer schema, a config
	// error only the database tells) stops the daemon: exit 1.
	dctx, stopDaemon := context.WithCancelCause(ctx)
	defer stopDaemon(nil)
	opened := make(chan struct{})
	if pending != nil {
		go func() {
			defer close(opened)
			err := pending.OpenLater(dctx, store.Reopen{
				Open:  func(ctx context.Context) (store.Store, error) { return openStore(ctx, cfg, *db, log) },
				Every: storeOpenRetry, Wait: storeOpenWait, Retryable: storeRetryable, Logger: log,
			})
			if err != nil {
				stopDaemon(err)
			}
		}()
	} else {
		close(opened)
	}

	runErr := d.Run(dctx) // returns after SIGTERM: no new runs, drained, flushed
	<-opened
	if ctx.Err() == nil && dctx.Err() != nil {
		runErr = joinErr(context.Cause(dctx), runErr)
	}
	close(runDone)
	stopPage()                                 // and the report scheduler: a report in the making finishes
	runErr = joinErr(runErr, hooks.close(log)) // no run awaits a callback any more
	// The notifier sends what the drained runs changed and saves its state
	// now, not after a status page rebuild or a report in the making (they
	// may take longer than the time left before a SIGKILL).
	stopAlerts()
	if err := <-alertDone; err != nil && !errors.Is(err, context.Canceled) {
		runErr = joinErr(runErr, err)
	}
	<-pageDone
	runErr = joinErr(runErr, <-pubDone)
	stopHTTP()
	runErr = joinErr(runErr, <-httpDone)
	if pubSrv != nil {
		runErr = joinErr(runErr, <-httpDone)
	}
	if runErr != nil && ctx.Err() == nil {
		return runErr // stopped by itself, not by a signal: a real failure
	}
	if errors.Is(runErr, daemon.ErrResultsLost) {
		// A stop that lost measured results (the spool not written, or
		// full) fails, exit 1, so that it shows where a stop is seen:
		// systemd's unit state (failed), Docker's exit code. It returned
		// nil, and a stop that lost 100 runs read as a clean one there.
		log.Error("stopped, measured results lost (see the spool's error line): exit status 1", "err", runErr)
		return runErr
	}
	if runErr != nil {
		// Nothing measured lost (an alert or a report not sent, the
		// HTTP server's close): a clean stop, with a warning.
		log.Warn("shutdown", "err", runErr)
	}
	log.Info("stopped")
	return nil
}

// hurryOnSecondSignal takes SIGINT and SIGTERM from now until done (the
// daemon has stopped) and calls hurry at the second one the process gets
// (the first, which main turns into ctx's cancellation, counts whether it
// came before the call or after). main gives a second signal its default
// handling (the process ends at once, so that a command stuck in start-up
// can be ended); while the channel registered here is, the signal comes to
// it instead. It is registered before the daemon runs, not once its stop
// has begun, so that two signals sent back to back cannot end the process
// before the spool is written. A signal after this has returned (after the
// second, or once done) ends the process.
func hurryOnSecondSignal(ctx context.Context, done <-chan struct{}, hurry func(), log *slog.Logger) {
	seen := 0
	if ctx.Err() != nil { // the first came before: it is not sent to sig
		seen = 1
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case s := <-sig:
				if seen++; seen < 2 {
					continue
				}
				log.Warn("second signal: hurrying the stop (in-flight runs cancelled, results not yet stored kept in the spool at once); a third ends the process at once", "signal", s.String())
				hurry()
				return
			case <-done:
				return
			}
		}
	}()
}

// storeOpenRetry is how often a store not reachable at startup is tried
// again (the store writer's retry); storeOpenWait bounds each attempt.
const (
	storeOpenRetry = 5 * time.Second
	storeOpenWait  = 30 * time.Second
)

// storeRetryable reports whether a store that failed to open is worth
// trying again (store.Retryable), bad input (a bad path or driver) never.
func storeRetryable(err error) bool {
	var ue usageError
	return !errors.As(err, &ue) && store.Retryable(err)
}

// spoolPath is where the daemon keeps, across a stop, the results the
// database had not taken by then: beside a SQLite database, named after it
// (probers whose databases share a directory keep their own); with
// PostgreSQL in the working directory (the systemd unit's StateDirectory,
// the image's /data), named after the location, as probers sharing one
// database each have their own.
func spoolPath(driver, dsn, location string) string {
	if driver == "" || driver == "sqlite" {
		return filepath.Join(filepath.Dir(dsn), filepath.Base(dsn)+".slaprobe-spool.jsonl")
	}
	name := "slaprobe-spool-" + url.PathEscape(location) + ".jsonl"
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}

// alertStatePath is the alert state file (the alerts firing and the
// resolves not yet delivered, across a restart): beside a SQLite database,
// named after it (alert.StatePath); with PostgreSQL in the working
// directory, named after the location, as the spool is (spoolPath): a
// prober restarted while PostgreSQL is down (started without its store)
// knows from it the quorum's page it was sending and its own alerts.
// Before, with PostgreSQL there was none: such a prober sent nothing until
// it lapsed, and Alertmanager resolved the quorum's page while the
// platform was still down.
func alertStatePath(driver, dsn, location string) string {
	if driver == "" || driver == "sqlite" {
		return alert.StatePath(dsn)
	}
	name := "slaprobe-alerts-" + url.PathEscape(location) + ".json"
	if abs, err := filepath.Abs(name); err == nil {
		return abs
	}
	return name
}

// defaultArchive is where the reports go when the config names no
// reports.archive: "reports" beside the SQLite database, or in the working
// directory with PostgreSQL; with the results, that is, in the one place a
// deployment lets the daemon write (the systemd unit's StateDirectory, the
// image's /data volume), not beside a config that is read-only there.
func defaultArchive(cfg *config.Config, db string) (string, error) {
	driver, dsn, err := storeTarget(cfg, db)
	if err != nil {
		return "", err
	}
	dir := "."
	if driver == "" || driver == "sqlite" {
		dir = filepath.Dir(dsn)
	}
	return filepath.Abs(filepath.Join(dir, config.DefaultReportArchive))
}

// archiveMonths lists the report archive for the status page.
func archiveMonths(dir string) ([]statuspage.ArchiveMonth, error) {
	ms, err := publish.List(dir)
	out := make([]statuspage.ArchiveMonth, 0, len(ms))
	for _, m := range ms {
		am := statuspage.ArchiveMonth{Month: m.Month, Version: m.Version}
		for _, f := range m.Files {
			am.Files = append(am.Files, statuspage.ArchiveFile{Name: f, Path: m.Month + "/" + f})
		}
		out = append(out, am)
	}
	return out, err
}

// steadyGCPercent is the daemon's GOGC between heavy phases when its heap
// is small, unless the GOGC environment variable sets one: the collector
// lets the heap grow to (1 + GOGC/100) times what was live at its last
// cycle, and at 1,000 flows (~5 MB live) that headroom and the span slack
// it leaves are a fifth of the process's RSS. At 50 instead of Go's 100, a
// 1,000-flow row's peak RSS read 34.1-35.3 MiB where it read 36.5-38.2
// (RssAnon 16.7-17.0 against 19.1-19.3), CPU per check 1.11-1.13x the raw
// floor's against 1.07x (README, Cost per check). A large fleet pays for
// it in CPU and needs it less: at 50,000 flows every 60 s, 0.524 CPU-s per
// 1,000 checks against 0.38-0.40, for a peak of 496 MiB against 530-536.
const steadyGCPercent = 50

// smallHeap is the largest heap, live once the config is loaded (before
// the daemon builds its state), at which steadyGC lowers GOGC: the config
// holds ~0.7 KB a flow, so up to ~20,000 flows.
const smallHeap = 16 << 20

// steadyGC sets GOGC to steadyGCPercent when the heap live once the config
// is loaded is at most smallHeap, unless the GOGC environment variable
// (read through getenv) is set: the operator's choice, "off" included,
// stands. set is debug.SetGCPercent; tests fake both. The choice is made
// once, at start-up: a reload that grows the fleet keeps it.
func steadyGC(getenv func(string) string, set func(int) int, live uint64) {
	if getenv("GOGC") == "" && live <= smallHeap {
		set(steadyGCPercent)
	}
}

// liveHeap is the heap the last collection found live (runtime/metrics'
// /gc/heap/live:bytes); 0 if the runtime does not say.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// heavyGCPercent is the GOGC while a heavy phase runs (smallHeavyGCPercent
// when it begins on a small heap): a SIGHUP reload's parse and compile, a
// periodic report build (daemon.Deps.Heavy, called by Daemon.Exclusive,
// which runs both). Each
// allocates much garbage in a few seconds over the daemon's live heap, and
// the collector lets the heap grow to twice what was live at its last
// cycle. A reload: at 50,000 flows a gc=1 profile in the middle of the parse
// had 342 MB live (the daemon's ~190, the new config and the parse's ~150)
// and a next GC goal of 702 MB; VmRSS went from 520-630 to 790-830 MiB. At
// 50 for those few seconds the reload peaked at 620 MiB and took 5.4 s
// instead of 3.7 s (one run each on a loaded 2-core machine,
// notes/reload-prof); at 25 it peaked at 619 MiB but took 6-16 s. A report
// build at 50,000 flows: ~80-100 MB of garbage over ~190 MB live made the
// run's peaks after the reload was at 50 (start-up's first build and the
// rebuilds, 576-639 MiB).
const heavyGCPercent = 50

// smallHeavyGCPercent is heavyGCPercent's stand-in for a heavy phase that
// begins on a small heap (at most smallHeap live: at 1,000 flows the
// daemon holds ~5-6 MB): between phases such a daemon already runs at
// steadyGCPercent (50), so heavyGCPercent lowered nothing. Lowering GOGC
// as the phase begins collects at once (the goal falls under the heap),
// and the phase's garbage (a status page rebuild at 1,000 flows every
// 10 s allocates 5.6 MB, a reload parses a 290 KB file) then grows the
// heap by a quarter of what is live, not a half. At 1,000 flows every 10 s
// (go run ./test/scale -flows 1000 -interval 10s -raw -together), sampled
// every 2 ms, RssAnon peaked at 17.3 and 17.5 MiB where it read 19.3 and
// 19.8 at 50 (the peak a phase's Go heap: the reload at 75 s) and 19.2 and
// 19.2 in the binary before; the rows' peak RSS moves more with the
// binary's layout (RssFile) than that (README, Cost per check). The
// collector took 3.58 s of CPU in 3.5 minutes of such a daemon against
// 3.25 s at 50 (gctrace), CPU per check 1.11-1.21x the raw floor's
// against 1.10-1.24x. At 50,000 flows (~190 MB live) the phases keep
// heavyGCPercent: a reload at 25 took 6-16 s where it took 5.4 s at 50.
const smallHeavyGCPercent = 25

// overlapGCPercent is the GOGC while two heavy phases or more run at once:
// a SIGHUP reload reading its file beside a report build in the making
// (the reload ends the build only once it knows the file loads). At 50,000
// flows the parse holds ~50 MB live and a build up to ~100 MB over the
// daemon's ~190, and at heavyGCPercent the two made the process's peak:
// with a SIGHUP every 4 s (test/scale -hup-for) VmRSS read 589-592 MiB in
// such overlaps, 534-543 MiB at 25 (the parse 3.2-4.1 s instead of
// 2.6-3.0 s, on a loaded 2-core machine). Only the overlaps pay for it.
const overlapGCPercent = 25

// gcPhases lowers GOGC to percent while at least one heavy phase runs, to
// overlap while more than one does, and puts back what it was when the
// last one ends; phases may overlap (a reload during a report build). A
// GOGC already lower, or off, stays.
type gcPhases struct {
	percent int
	overlap int           // while phases overlap; 0: percent
	set     func(int) int // debug.SetGCPercent; tests fake it
	// small is the GOGC instead of percent for phases that begin on a
	// small heap (live, as the first of them begins, at most smallHeap:
	// read through live); 0 or live nil: percent whatever the heap.
	small int
	live  func() uint64 // liveHeap; tests fake it

	busy func() // when the first phase begins (none was running); nil: nothing
	idle func() // when the last phase running ends; nil: nothing

	mu    sync.Mutex
	n     int // phases running
	saved int // GOGC before the first of them
	base  int // the GOGC of one phase alone, chosen as the first began
}

func newGCPhases(percent int) *gcPhases {
	return &gcPhases{percent: percent, overlap: overlapGCPercent, set: debug.SetGCPercent,
		small: smallHeavyGCPercent, live: liveHeap}
}

// at is the GOGC for n phases running at once (n > 0): never above the
// GOGC before the first (-1, off, stays off).
func (g *gcPhases) at(n int) int {
	p := g.base
	if n > 1 && g.overlap > 0 {
		p = min(p, g.overlap)
	}
	return min(p, g.saved)
}

// begin starts a phase and returns what ends it (once; more calls do
// nothing).
func (g *gcPhases) begin() (end func()) {
	g.mu.Lock()
	first := g.n == 0
	if first {
		g.base = g.percent
		if g.small > 0 && g.live != nil && g.live() <= smallHeap {
			g.base = min(g.base, g.small)
		}
		g.saved = g.set(g.base)
		if g.saved < g.base { // lower already, or off (-1)
			g.set(g.saved)
		}
	}
	if g.n++; g.n == 2 { // phases overlap from now on
		g.set(g.at(2))
	}
	g.mu.Unlock()
	if first && g.busy != nil {
		g.busy()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.n--
			last := g.n == 0
			if last {
				g.set(g.saved)
			} else if g.n == 1 {
				g.set(g.at(1))
			}
			g.mu.Unlock()
			if last && g.idle != nil {
				g.idle()
			}
		})
	}
}

// phaseHooks are what runs as the first heavy phase begins (busy) and as
// the last one ends (idle), given free (debug.FreeOSMemory) and drop
// (dropText). A heavy phase at 1,000 flows (the status page's build of the
// month's figures, a reload) sets the process's peak RSS: in some 30 ms
// RssAnon rises 2-5 MiB while RssFile is back at 16-20 MiB; sampled every
// 2 ms, 10-12 MiB of the pages dropText unmaps are mapped again within
// 10-20 ms of it (probably the collector's stack scans, which read the
// line tables, beside the probing path's code). So the binary's pages are
// dropped as the phase begins too: a build maps back most of them before
// it ends, but not all (sampled every 2 ms, RssFile 12.7 MiB in the middle
// of one, 15.7 at its end, 16.7 before it): without that drop, three
// 1,000-flow rows peaked at 34.9-35.2 MiB where three with it, alternating,
// read 32.9-34.7 (load 1.0-2.3). As it ends the heap is collected and
// its free pages returned (free) before the drop: the collector's next
// goal was twice the phase's live heap, and the pages it grew into stayed
// until the scavenger took them back, tens of seconds. That costs one
// forced collection a phase: at 50,000 flows 0.2-0.5 s of the collector's
// CPU each (README, Cost per check).
func phaseHooks(free, drop func()) (busy, idle func()) {
	return drop, func() {
		free()
		drop()
	}
}

// checkListen finds a --listen that no listener can bind for its form
// alone: not HOST:PORT, or a port number out of 0..65535. A host that does
// not resolve or a port in use are found when it is bound.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want HOST:PORT, e.g. 127.0.0.1:9115")
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 0 || n > 65535) {
		return fmt.Errorf("port %d is out of 0..65535", n)
	}
	return nil
}

// dropText gives back the pages of the binary's code and read-only data
// mapped so far (textpages.Drop): at 1,000 flows package init, the
// config's parse and each report build mapped 25 MiB of the 56 MB binary
// (Linux maps 64 KiB around each fault), where probing between builds
// uses under half of it; what is used again maps back, a minor fault.
// Called once the config is loaded and whenever the last heavy phase
// ends (a report build, a reload).
func dropText(log *slog.Logger) {
	if _, err := textpages.Drop(); err != nil {
		log.Debug("giving back the binary's mapped pages", "err", err)
	}
}

// byPage has the kernel map the binary's code and read-only data one page
// at a time as they are touched, not the 64 KiB around each fault
// (textpages.ByPage), and returns what ends it. At 1,000 flows every 10 s
// (go run ./test/scale -flows 1000 -interval 10s -raw -together) the
// 64 KiB blocks held 19.9-20.1 MiB of RssFile between heavy phases, at
// the row's peak the function table 8.2 MiB of its 10.9 (the collector
// reads it for every frame of every goroutine it scans), the code 7.8 and
// the read-only data 3.1 (/proc/PID/pagemap); the pages touched held
// 6.6 MiB between phases, and at the peak the function table 1.7, the
// code 5.1, the read-only data 1.4. Where the kernel or a sandbox does not offer it
// (Linux before 6.7, a seccomp filter without userfaultfd) the pages are
// mapped as before.
func byPage(log *slog.Logger) (stop func()) {
	end, _, err := textpages.ByPage()
	if err != nil {
		log.Debug("mapping the binary's pages one at a time", "err", err)
		return func() {}
	}
	return func() { _ = end() }
}
