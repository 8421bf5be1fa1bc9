package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// loadConfig loads and validates a config file; every problem is a usage
// error whose text lists all of them as FILE:LINE: message.
func loadConfig(path string) (*config.Config, error) {
	return loadConfigOpts(path, config.Options{})
}

// loadResultsConfig loads a config for a command that only reads results
// (windows, report) or makes rules from it (rules): the flows' secrets need
// not be set.
func loadResultsConfig(path string) (*config.Config, error) {
	return loadConfigOpts(path, config.Options{SecretsOptional: true})
}

func loadConfigOpts(path string, opts config.Options) (*config.Config, error) {
	if path == "" {
		return nil, usagef("--config is required")
	}
	cfg, err := config.Load(path, opts)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// dbFlag reads a --db value: a postgres:// (or postgresql://) URL selects
// PostgreSQL, anything else is a SQLite file path.
func dbFlag(db string) (driver, dsn string) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return "postgres", db
	}
	return "sqlite", db
}

// storeTarget is the store a command opens: db, when set, is a --db value
// (a SQLite path or a postgres:// URL, taken literally) that overrides the
// config; else the config's storage, whose dsn may hold ${env:NAME} and
// ${file:PATH} secrets (a PostgreSQL password), expanded here and only here.
func storeTarget(cfg *config.Config, db string) (driver, dsn string, err error) {
	if db != "" {
		driver, dsn = dbFlag(db)
		return driver, dsn, nil
	}
	dsn, err = cfg.ExpandSecrets(cfg.Storage.DSN)
	if err != nil {
		return "", "", usagef("storage.dsn: %v", err)
	}
	return cfg.Storage.Driver, dsn, nil
}

// openStore opens the configured store; db, when set, is a --db value (a
// SQLite path or a postgres:// URL) that overrides the config. log (nil:
// none) gets the store's notices: each schema version it migrates the
// database to ("store schema migrated"), the line README's upgrade
// procedure waits for.
func openStore(ctx context.Context, cfg *config.Config, db string, log *slog.Logger) (store.Store, error) {
	st, err := openStoreDriver(ctx, cfg, db, log)
	return st, redactErr(cfg, err)
}

// redactErr hides the config's secrets in an error that may quote them
// (the driver's "failed to connect to `user=... database=...`" names the
// parts of a dsn it does not take for a password), keeping what it wraps
// for errors.Is.
func redactErr(cfg *config.Config, err error) error {
	if err == nil {
		return nil
	}
	if s := cfg.Redact(err.Error()); s != err.Error() {
		return redactedError{s, err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

func openStoreDriver(ctx context.Context, cfg *config.Config, db string, log *slog.Logger) (store.Store, error) {
	driver, dsn, err := storeTarget(cfg, db)
	if err != nil {
		return nil, err
	}
	switch driver {
	case "", "sqlite":
		if err := checkSQLitePath(dsn, false); err != nil {
			return nil, err
		}
		st, err := store.OpenSQLite(ctx, dsn, store.Options{Logger: log})
		if errors.Is(err, store.ErrNotSQLite) {
			return nil, usageError{err}
		}
		return st, err
	case "postgres":
		// The connection bounded as each later attempt is (storeOpenWait):
		// a server that accepts and never answers must not hold the start.
		st, err := store.OpenPostgres(ctx, dsn, store.Options{Logger: log, ConnectTimeout: storeOpenWait})
		if store.BadDSN(err) {
			return nil, usageError{err}
		}
		return st, err
	default:
		return nil, usagef("storage.driver %q: want sqlite or postgres", driver)
	}
}

// openExistingStore opens a store for a read-only command (report,
// windows) without creating or migrating it: a SQLite file that does not
// exist is "no such store", and an empty or foreign one "no slaprobe
// store", bad input, rather than a new empty database that reports every
// flow as missing.
// w bounds the wait for the database (--connect-timeout, --read-timeout).
func openExistingStore(ctx context.Context, cfg *config.Config, db string, w storeWaits) (store.Store, error) {
	st, err := openExistingStoreDriver(ctx, cfg, db, w)
	return st, redactErr(cfg, w.explain(err))
}

// storeWaits are how long a read-only command (report, windows) waits for
// its database: for the connection (PostgreSQL), as `run` does
// (storeOpenWait), and for each read. Without them a PostgreSQL that
// accepts the connection and never answers (frozen, a primary gone behind
// a proxy), or stops answering in the middle of a query, held the command
// with no output and no error for as long as the TCP connection lived.
type storeWaits struct {
	connect, read time.Duration
}

// defaultReadWait bounds each read of report and windows. Measured with the
// binary on `make bench`'s store (100 flows of three steps, one run a
// minute for 30 days: 13 M step results): `report --month` took 0.21 s in
// all from SQLite and 0.14 s from PostgreSQL (pdf 0.29 and 0.23 s),
// `windows` 0.07 and 0.05 s, and `windows --recompute` over the month,
// which reads each flow's runs in one read, 21 s and 14 s for its 100
// reads. A minute is a few hundred times the longest read, and a cron job's
// report over a database that stopped answering fails within it.
const defaultReadWait = time.Minute

// storeWaitFlags defines --connect-timeout and --read-timeout on fs.
func storeWaitFlags(fs *flag.FlagSet) *storeWaits {
	w := &storeWaits{}
	fs.DurationVar(&w.connect, "connect-timeout", storeOpenWait, "how long to wait for PostgreSQL's connection (0: no bound)")
	fs.DurationVar(&w.read, "read-timeout", defaultReadWait, "how long to wait for each read from the store (0: no bound)")
	return w
}

// check refuses a negative wait, bad usage: it read as no bound at all
// (`--read-timeout -1s`, a typo for 1s, waited for ever).
func (w storeWaits) check() error {
	if w.connect < 0 {
		return usagef("--connect-timeout %s: must not be negative (0 for no bound)", w.connect)
	}
	if w.read < 0 {
		return usagef("--read-timeout %s: must not be negative (0 for no bound)", w.read)
	}
	return nil
}

// explain names, in an error of a wait that ran out, the flag that sets it.
func (w storeWaits) explain(err error) error {
	var te *store.TimeoutError
	if !errors.As(err, &te) {
		return err
	}
	flag := "--connect-timeout"
	if te.Read {
		flag = "--read-timeout"
	}
	return fmt.Errorf("%w (%s)", err, flag)
}

func openExistingStoreDriver(ctx context.Context, cfg *config.Config, db string, w storeWaits) (store.Store, error) {
	driver, dsn, err := storeTarget(cfg, db)
	if err != nil {
		return nil, err
	}
	if driver == "postgres" {
		// Read only: a shared database is created and migrated by the
		// probers (README "Upgrading probers that share a PostgreSQL
		// database"), never by a report run from elsewhere.
		st, err := store.OpenPostgres(ctx, dsn, store.Options{ReadOnly: true, ConnectTimeout: w.connect, ReadTimeout: w.read})
		if errors.Is(err, store.ErrNoStore) {
			return nil, usagef("no slaprobe store in that PostgreSQL database (check --db or storage.dsn)")
		}
		if store.BadDSN(err) {
			return nil, usageError{err}
		}
		return st, err
	}
	if driver == "" || driver == "sqlite" {
		if err := checkSQLitePath(dsn, true); err != nil {
			return nil, err
		}
		// Read only too: a newer binary run beside a daemon not yet
		// restarted must not migrate the database under it, and an empty
		// or foreign file is no store rather than a new one.
		st, err := store.OpenSQLite(ctx, dsn, store.Options{ReadOnly: true, ReadTimeout: w.read})
		if errors.Is(err, store.ErrNoStore) {
			return nil, usagef("%s: %v (check --db or storage.dsn)", dsn, err)
		}
		return st, err
	}
	return openStore(ctx, cfg, db, nil)
}

// checkSQLitePath checks a SQLite store path before it is opened: an
// existing path must be a regular file, and a missing one is an error when
// mustExist (else its directory must exist, for the store to be created).
func checkSQLitePath(path string, mustExist bool) error {
	if err := store.CheckSQLitePath(path); err != nil {
		return usageError{err}
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return usagef("store %s is not a regular file", path)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return usagef("store %s: %v", path, errors.Unwrap(err))
	case mustExist:
		return usagef("no such store %s (check --db or storage.dsn)", path)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || !di.IsDir() {
		return usagef("store %s: directory %s does not exist", path, filepath.Dir(path))
	}
	return nil
}

// parseTime reads an RFC 3339 time, a date (YYYY-MM-DD: the first instant of
// that local date, which is not midnight where the clocks jump at midnight)
// or a date and time without offset (a wall time the clocks jump over is the
// first instant after the jump), the last two in loc.
func parseTime(flagName, v string, loc *time.Location) (time.Time, error) {
	t, _, err := parseTimeNoted(flagName, v, loc)
	return t, err
}

// parseTimeNoted is parseTime, with a notice for standard error where a
// date and time without offset did not name one instant in loc: one the
// clocks went back over (both readings, and the first taken), or one they
// jumped over (the end of the jump taken); "" otherwise.
func parseTimeNoted(flagName, v string, loc *time.Location) (time.Time, string, error) {
	t, rfcErr := config.ParseRFC3339(v)
	if rfcErr == nil {
		return t, "", nil
	}
	if t, err := report.ParseDate(v, loc); err == nil {
		return t, "", nil
	}
	// The local form takes a lower case t as the RFC 3339 one does, and
	// keeps a fraction of a second (time.Parse reads one after the seconds).
	local := v
	if len(local) > 10 && local[10] == 't' {
		local = local[:10] + "T" + local[11:]
	}
	if len(local) > 12 && local[10] == 'T' && local[12] == ':' { // time.Parse takes a one-digit hour
		return time.Time{}, "", usagef("--%s %q: the hour has two digits (0%s, not %s)", flagName, v, local[11:12], local[11:12])
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		t, err := time.Parse(layout, local)
		if err == nil && strings.Contains(local, ",") {
			// time.Parse takes a ',' before a fraction, which RFC 3339
			// does not; the local form needs no offset, so that (not
			// ParseRFC3339's "no offset") is why it is refused.
			_, why := config.ParseRFC3339(local + "Z")
			if why == nil {
				why = rfcErr
			}
			return time.Time{}, "", usagef("--%s %q: %s", flagName, v, why)
		}
		if err == nil { // the wall time, then its instant in loc
			h, m, sec := t.Clock()
			at := report.LocalTime(t.Year(), t.Month(), t.Day(), h, m, sec, loc)
			w := at.In(loc)
			if w.YearDay() != t.YearDay() || w.Hour() != h || w.Minute() != m || w.Second() != sec {
				// Nothing to choose between, as for a time read twice: the
				// offsets on either side of the jump are what may be meant.
				before, after := at.Add(-time.Nanosecond).In(loc).Format("-07:00"), at.In(loc).Format("-07:00")
				return at, fmt.Sprintf("--%s %s did not happen in %s, the clocks jumping forward over it: took the end of the jump, %s; write the offset meant (%s before the change, %s after)",
					flagName, v, loc, config.ReadingIn(at, loc), before, after), nil
			}
			at = at.Add(time.Duration(t.Nanosecond())) // not where a jump moved it
			if later, ok := config.LaterReading(at.In(loc), loc); ok {
				return at, fmt.Sprintf("--%s %s happened twice in %s, the clocks going back: took the first, %s, not %s %s later; write the offset to choose",
					flagName, v, loc, config.ReadingIn(at, loc), config.ReadingIn(later, loc), inWords(later.Sub(at))), nil
			}
			return at, "", nil
		}
	}
	const want = "want an RFC 3339 time (2022-10-15T15:30:00+09:00) or a date (2022-10-15)"
	why := rfcErr.Error()
	if why == config.UseRFC3339 {
		return time.Time{}, "", usagef("--%s %q: %s", flagName, v, want)
	}
	if hint, ok := strings.CutSuffix(why, ": "+config.UseRFC3339); ok {
		// A near miss ParseRFC3339 names (white space, a space for the T,
		// a zone's name for the offset). A wall time with loc's own zone
		// name for its offset ("2026-11-01 01:30 EST" in New York) says
		// what it is there, as a timeline's time does, in place of the
		// example offset.
		if strings.Contains(hint, "a zone's name (") {
			if wh := config.WallHint(v, loc, "where --from and --to are read"); wh != "" {
				return time.Time{}, "", usagef("--%s %q: %s: %s", flagName, v, strings.TrimSuffix(hint, ", e.g. +09:00"), wh)
			}
		}
		return time.Time{}, "", usagef("--%s %q: %s: %s", flagName, v, hint, want)
	}
	// Why it is not one, where ParseRFC3339 can tell (a leap second, a day
	// out of range, a ',' before a fraction).
	return time.Time{}, "", usagef("--%s %q: %s", flagName, v, why)
}

// inWords is a clock change's size: "an hour", "30 minutes", "2 hours".
func inWords(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "an hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

// timelineWarnings prints the warnings of timelines loaded without a config
// (demo's and platform's --timeline) as check prints a config's:
// FILE:LINE: key: warning: message.
func timelineWarnings(stderr io.Writer, tls []*config.Timeline) {
	eachTimelineWarning(stderr, tls, (*config.Timeline).Warnings)
}

// eachTimelineWarning prints what warnings says of each of tls, a file
// given twice (or by two spellings) once, as check prints a config's.
func eachTimelineWarning(stderr io.Writer, tls []*config.Timeline, warnings func(*config.Timeline) []config.Warning) {
	seen := map[string]bool{}
	for _, tl := range tls {
		key := tl.File
		if abs, err := filepath.Abs(tl.File); err == nil {
			key = abs
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		for _, w := range warnings(tl) {
			fmt.Fprintf(stderr, "%s:%d: %s: warning: %s\n", w.File, w.Line, w.Key, w.Msg)
		}
	}
}

// reportNow is the "now" of a report or windows listing: the
// wall clock, while the period is not over (the rest of it has not
// happened: it is neither unknown time nor the end of a window still open)
// and once it is. It was to once the period was over, so that a past
// period read the same on every run, but then no time ever passed after
// it: a location whose last run came less than two intervals before its
// end and never another (a prober stopped for good) was never late, and
// the stretch after the run that never came read as up, where the
// publisher's report of the same month (made with the wall clock) read it
// unknown. Once two of the longest interval have passed after to, nothing
// of the figures depends on it.
func reportNow() time.Time {
	return time.Now()
}

// rangeFlags resolves --from/--to (both or neither).
// A time without offset that loc's clocks read twice or never gets a
// notice, one line each, through notice (nil: none), once both parsed.
func rangeFlags(from, to string, loc *time.Location, notice func(string)) (time.Time, time.Time, error) {
	if (from == "") != (to == "") {
		return time.Time{}, time.Time{}, usagef("--from and --to go together")
	}
	f, fn, err := parseTimeNoted("from", from, loc)
	if err != nil {
		return f, f, err
	}
	t, tn, err := parseTimeNoted("to", to, loc)
	if err != nil {
		return f, t, err
	}
	for _, n := range []string{fn, tn} {
		if n != "" && notice != nil {
			notice(n)
		}
	}
	if !t.After(f) {
		return f, t, usagef("--to %s is not after --from %s", to, from)
	}
	for _, e := range []struct {
		name, v string
		t       time.Time
	}{{"from", from, f}, {"to", to, t}} {
		if err := report.Writable(e.t, loc); err != nil {
			return f, t, usagef("--%s %s (%s) %v", e.name, e.v, e.t.In(loc).Format(time.RFC3339), err)
		}
	}
	return f, t, nil
}

// oneOf checks an enumerated flag value.
func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usagef("--%s %q: want one of %s", flagName, v, strings.Join(allowed, ", "))
}

// joinErr keeps the first non-nil error, adding later ones.
func joinErr(err, more error) error {
	if more == nil {
		return err
	}
	if err == nil {
		return more
	}
	return errors.Join(err, more)
}
