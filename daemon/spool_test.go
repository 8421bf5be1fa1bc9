package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// spoolDB is a real database whose writes the test can refuse, as an
// outage does, while reads go on.
type spoolDB struct {
	name string
	// open returns the store and a function that makes the database
	// refuse (or, with false, take again) every write.
	open func(t *testing.T) (store.Store, func(refuse bool))
}

var spoolDBs = []spoolDB{
	{"sqlite", func(t *testing.T) (store.Store, func(bool)) {
		path := filepath.Join(t.TempDir(), "results.db")
		st, err := store.OpenSQLite(context.Background(), path, store.Options{BusyTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		// Another process holding SQLite's write lock (a backup, a
		// sqlite3 shell left in a transaction): every commit fails with
		// "database is locked" after the busy timeout.
		var lock *sql.Conn
		var db *sql.DB
		return st, func(refuse bool) {
			ctx := context.Background()
			if !refuse {
				if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
					t.Fatal(err)
				}
				lock.Close()
				db.Close()
				return
			}
			if db, err = sql.Open("sqlite", path); err != nil {
				t.Fatal(err)
			}
			if lock, err = db.Conn(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{"postgres", func(t *testing.T) (store.Store, func(bool)) {
		dsn := pgtest.DSN(t)
		st, err := store.OpenPostgres(context.Background(), dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		// A session holding the tables in EXCLUSIVE mode (a migration
		// or a maintenance job stuck): reads go on, every write waits.
		var tx *sqlx.Tx
		var db *sqlx.DB
		return st, func(refuse bool) {
			if !refuse {
				if err := tx.Rollback(); err != nil {
					t.Fatal(err)
				}
				db.Close()
				return
			}
			if db, err = sqlx.Open("pgx", dsn); err != nil {
				t.Fatal(err)
			}
			if tx, err = db.Beginx(); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec("LOCK TABLE runs, events IN EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
		}
	}},
}

// spoolRig is one daemon's life on a real store: started, stopped and
// restarted on a fake clock, running a scripted target.
type spoolRig struct {
	*agreeRig
	st store.Store
	// next, if set, is the store the next start is given instead of st
	// (once: a store.Pending, for a start while the database is down).
	next  store.Store
	spool string
	d     *Daemon
	live  *agreeDaemon
	logs  *syncBuffer // the daemons' log, if set
}

func (r *spoolRig) start() *Daemon {
	r.t.Helper()
	st := r.st
	if r.next != nil {
		st, r.next = r.next, nil
	}
	deps := Deps{Store: st, Clock: ClockworkClock(r.fc), Grace: 5 * time.Second, SpoolFile: r.spool}
	if r.logs != nil {
		deps.Logger = slog.New(slog.NewTextHandler(r.logs, nil))
	}
	d, err := New(r.configAt("seoul-a"), deps)
	if err != nil {
		r.t.Fatal(err)
	}
	d.closeWait = 300 * time.Millisecond
	setRunner(d, r.runner("seoul-a", d))
	ctx, cancel := context.WithCancel(context.Background())
	a := &agreeDaemon{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- d.Run(ctx) }()
	waitFor(r.t, "scheduler start", func() bool {
		d.mu.RLock()
		defer d.mu.RUnlock()
		return d.sched != nil && len(d.sched.Jobs()) == len(d.flows)
	})
	r.d, r.live = d, a
	return d
}

// stop stops the daemon at this moment of the fake clock (no run is in
// flight then: the clock does not move while it stops).
func (r *spoolRig) stop() error {
	r.t.Helper()
	r.live.cancel()
	select {
	case err := <-r.live.done:
		return err
	case <-time.After(20 * time.Second):
		r.t.Fatal("Run did not return")
		return nil
	}
}

// until moves the fake clock to t0+at.
func (r *spoolRig) until(t0 time.Time, at time.Duration) { r.advance(t0.Add(at).Sub(r.fc.Now())) }

// TestStopDuringStoreOutageLosesNoRun: a daemon stopped (SIGTERM) while its
// database refuses writes, in the middle of an outage of its target, keeps
// the runs and window events the database has not taken in its spool; the
// next start, with the database back, stores them before anything else.
// Every run is then stored once, and the windows, the report's windows
// and the run counts are those of the same daemon whose database never
// failed. Before, those runs and the window's open event were lost at the
// stop: the stretch read as unknown, and the outage began at the restart.
func TestStopDuringStoreOutageLosesNoRun(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Base runs at :08.3 every 10 s; down_after 2, up_after 2.
	sc := phases(t0, map[string][]phase{"seoul-a": {{60 * time.Second, refused}, {150 * time.Second, pass}}})
	for _, db := range spoolDBs {
		t.Run(db.name, func(t *testing.T) {
			type result struct {
				runs    []string
				windows []string
				report  string
				totals  string
			}
			life := func(outage bool) result {
				st, refuse := db.open(t)
				r := &spoolRig{agreeRig: newAgreeRig(t, "0s", sc), st: st, spool: filepath.Join(t.TempDir(), "results.db.slaprobe-spool.jsonl")}
				r.start()
				r.until(t0, 40*time.Second)
				waitFor(t, "the first runs stored", func() bool { return r.d.writer.Stats().Queued == 0 && r.d.writer.Stats().Committed == 4 })
				if outage {
					refuse(true)
				}
				r.until(t0, 100*time.Second) // the target down since 60 s: a window opened at 78.3 s
				d1 := r.d
				err := r.stop()
				if err != nil {
					t.Errorf("stop: %v", err)
				}
				spooled, _ := sample(t, d1.Gatherer(), "slaprobe_results_spooled_total")
				_, statErr := os.Stat(r.spool)
				if outage {
					if spooled != 6 || statErr != nil {
						t.Errorf("spooled %v runs (the spool: %v), want the 6 the database refused", spooled, statErr)
					}
					refuse(false)
				} else if spooled != 0 || statErr == nil {
					t.Errorf("spooled %v runs with the database taking writes (the spool: %v)", spooled, statErr)
				}
				r.until(t0, 105*time.Second)
				d2 := r.start()
				stored, _ := sample(t, d2.Gatherer(), "slaprobe_spooled_results_stored_total")
				if _, err := os.Stat(r.spool); err == nil {
					t.Error("the spool is still there after the start stored it")
				}
				if want := map[bool]float64{true: 6, false: 0}[outage]; stored != want {
					t.Errorf("slaprobe_spooled_results_stored_total %v, want %v", stored, want)
				}
				r.until(t0, 240*time.Second)
				if err := r.stop(); err != nil {
					t.Errorf("stop: %v", err)
				}
				ctx := context.Background()
				q := store.Query{From: t0, To: t0.Add(240 * time.Second)}
				var res result
				runs, err := st.Runs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				// Whole seconds: a run starts within a step of the fake
				// clock (100 ms) of its due time, in either life.
				for _, run := range runs {
					res.runs = append(res.runs, run.Start.UTC().Format(time.TimeOnly)+" "+string(run.Outcome()))
				}
				ws, err := st.Windows(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				rec, err := report.Recompute(ctx, r.cfg, st, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range ws {
					res.windows = append(res.windows, wholeSeconds(windowString(w)))
				}
				var recs []string
				for _, w := range rec {
					recs = append(recs, wholeSeconds(windowString(w)))
				}
				slices.Sort(res.windows)
				slices.Sort(recs)
				if !slices.Equal(res.windows, recs) {
					t.Errorf("stored windows differ from those recomputed from the runs:\n  %s\nrecomputed:\n  %s",
						strings.Join(res.windows, "\n  "), strings.Join(recs, "\n  "))
				}
				rw, err := report.Windows(ctx, report.Input{Config: r.cfg, Store: st, From: q.From, To: q.To, Now: q.To})
				if err != nil {
					t.Fatal(err)
				}
				res.report = wholeSecondsJSON(t, rw)
				tot, err := st.Totals(ctx, store.Query{From: q.From, To: q.To, RunsOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				for i := range tot {
					tot[i].SumSeconds = 0 // durations in ms of the fake clock
				}
				res.totals = fmt.Sprintf("%+v", tot)
				return res
			}
			want := life(false)
			got := life(true)
			if len(want.runs) != 24 {
				t.Errorf("%d runs stored without an outage, want 24 (every 10 s from 8.3 s to 238.3 s)", len(want.runs))
			}
			if len(slices.Compact(slices.Clone(got.runs))) != len(got.runs) {
				t.Errorf("a run stored twice: %v", got.runs)
			}
			if !slices.Equal(got.runs, want.runs) {
				t.Errorf("runs stored:\n  %s\nwithout the database outage:\n  %s", strings.Join(got.runs, "\n  "), strings.Join(want.runs, "\n  "))
			}
			if !slices.Equal(got.windows, want.windows) {
				t.Errorf("windows:\n  %s\nwithout the database outage:\n  %s", strings.Join(got.windows, "\n  "), strings.Join(want.windows, "\n  "))
			}
			if len(want.windows) == 0 {
				t.Error("no window stored: the target's outage was not seen")
			}
			if got.report != want.report {
				t.Errorf("report windows:\n%s\nwithout the database outage:\n%s", got.report, want.report)
			}
			if got.totals != want.totals {
				t.Errorf("run counts:\n%s\nwithout the database outage:\n%s", got.totals, want.totals)
			}
		})
	}
}

// wholeSeconds drops the milliseconds of windowString's times.
func wholeSeconds(s string) string { return fracSeconds.ReplaceAllString(s, "") }

var fracSeconds = regexp.MustCompile(`\.\d{3}\b`)

// wholeSecondsJSON is v as JSON with every time to the second and every
// number rounded to a whole one.
func wholeSecondsJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case float64:
			return math.Round(x)
		case string:
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm.Truncate(time.Second).Format(time.RFC3339)
			}
		}
		return v
	}
	out, _ := json.MarshalIndent(walk(tree), "", " ")
	return string(out)
}

// TestStartWithSpool: what a start does with the spool the last stop left.
// A database that does not take it starts the daemon without its store
// (it probes, its runs held) with the spool kept as it was, stored once
// the database takes writes again (before it, Run failed: exit 1, nothing
// probed until then); a damaged spool has what can be read of it stored (its complete runs
// before the damage) and is moved aside; one a newer slaprobe wrote is moved
// aside untouched. The daemon runs in the last two cases.
func TestStartWithSpool(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	items := func() []store.SpoolItem {
		var out []store.SpoolItem
		for i := range 5 {
			r := mkRun("f", t0.Add(time.Duration(i)*10*time.Second), "")
			r.Service = "svc"
			out = append(out, store.SpoolItem{Run: &r})
		}
		return out
	}
	cut := func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// Cut in the middle of the fourth run's line.
		lines := strings.SplitAfter(string(b), "\n")
		if err := os.WriteFile(path, []byte(strings.Join(lines[:4], "")+lines[4][:30]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	newer := func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), `{"slaprobe_spool":2,`, `{"slaprobe_spool":3,`, 1))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// killed is a stop SIGKILLed while it wrote the spool (systemd's kill
	// after TimeoutStopSec, a power loss): WriteSpool's temporary file, cut
	// in the middle of the fourth run's line, never renamed to the spool.
	killed := func(t *testing.T, path string) {
		cut(t, path)
		if err := os.Rename(path, filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp2934801")); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		spoil    func(t *testing.T, path string)
		refuse   bool
		wantErr  string // in the warning of a start without its store
		wantRuns int    // stored
		aside    bool   // the spool moved aside
		wantLog  string
	}{
		{"stored, then removed", nil, false, "", 5, false, "stored the results the store had not taken at the last stop"},
		{"the database refuses writes", nil, true, "the store does not take the 5 runs and 0 events the last stop left in the spool", 5, false, "store back: the daemon started without it now stores its results"},
		{"cut short", cut, false, "", 3, true, "line 5: cut short in the middle of a line"},
		{"written by a newer slaprobe", newer, false, "", 0, true, "is format 3, this slaprobe reads format 2"},
		{"cut short by a kill while it was written", killed, false, "", 3, false, "the spool's writing was cut short (the process killed): stored what it held"},
		{"cut short by a kill, the database refuses writes", killed, true, "the store does not take the 3 runs and 0 events the last stop left in the spool", 3, false, "the spool's writing was cut short (the process killed): stored what it held"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, refuse := spoolDBs[0].open(t)
			path := filepath.Join(t.TempDir(), "results.db.slaprobe-spool.jsonl")
			if _, err := store.WriteSpool(path, "seoul-a", t0, items(), 0); err != nil {
				t.Fatal(err)
			}
			if tc.spoil != nil {
				tc.spoil(t, path)
			}
			temps := func() []string {
				m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp*"))
				return m
			}
			before, _ := os.ReadFile(path)
			if tmp := temps(); len(tmp) == 1 {
				before, _ = os.ReadFile(tmp[0])
			}
			if tc.refuse {
				refuse(true)
			}
			var logs syncBuffer
			fc := clockwork.NewFakeClockAt(t0.Add(time.Minute))
			d, err := New(testConfig(10*time.Second, "f"), Deps{Store: st, Clock: ClockworkClock(fc), Grace: time.Second, SpoolFile: path,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			d.spoolWait, d.closeWait = 500*time.Millisecond, 300*time.Millisecond
			setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run { return mkRun(f.Name, fc.Now(), "") }))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			if tc.wantErr != "" {
				waitFor(t, "the start without its store", func() bool {
					return strings.Contains(logs.String(), "daemon started without its store") && strings.Contains(logs.String(), tc.wantErr)
				})
				if ok, why := d.Health(); ok || !strings.Contains(why, tc.wantErr) {
					t.Errorf("health %v %q, want unhealthy with %q", ok, why, tc.wantErr)
				}
				after, _ := os.ReadFile(path)
				if tmp := temps(); len(tmp) == 1 {
					after, _ = os.ReadFile(tmp[0])
				}
				if string(after) != string(before) {
					t.Error("the spool changed: want it kept as it was until the store takes it")
				}
				refuse(false)
				waitFor(t, "the store attached", func() bool {
					fc.Advance(time.Second)
					time.Sleep(5 * time.Millisecond)
					return !d.detached.Load()
				})
			}
			waitScheduler(t, d)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			runs, err := st.Runs(context.Background(), store.Query{From: t0, To: t0.Add(time.Minute)})
			if err != nil || len(runs) != tc.wantRuns {
				t.Errorf("%d runs stored (%v), want %d", len(runs), err, tc.wantRuns)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("the spool is still there")
			}
			if tmp := temps(); len(tmp) != 0 {
				t.Errorf("a spool cut short is still there: %v", tmp)
			}
			aside, _ := filepath.Glob(path + ".unreadable-*")
			if tc.aside {
				if len(aside) != 1 {
					t.Fatalf("moved aside: %v, want one file", aside)
				}
				if b, _ := os.ReadFile(aside[0]); string(b) != string(before) {
					t.Error("the spool moved aside is not the file as it was")
				}
			} else if len(aside) != 0 {
				t.Errorf("moved aside: %v", aside)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log:\n%s\nwant %q", logs.String(), tc.wantLog)
			}
		})
	}
}

// spoolWriter is a writer that could commit nothing by shutdown.
type spoolWriter struct {
	fakeWriter
	left []store.SpoolItem
}

func (w *spoolWriter) Uncommitted() []store.SpoolItem { return w.left }

// TestSpoolFullLosesTheLatestAndSaysSo: a spool too small for what the
// store did not take keeps the oldest runs, whole, and the shutdown says,
// in an error line and in what Run returns, how many runs and events it
// lost.
func TestSpoolFullLosesTheLatestAndSaysSo(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var logs syncBuffer
	path := filepath.Join(t.TempDir(), "results.db.slaprobe-spool.jsonl")
	d, err := New(testConfig(10*time.Second, "f"), Deps{Store: &fakeStore{}, SpoolFile: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := &spoolWriter{}
	for i := range 100 {
		r := mkRun("f", t0.Add(time.Duration(i)*10*time.Second), "send")
		w.left = append(w.left, store.SpoolItem{Run: &r})
	}
	d.spoolMax = 20 << 10
	err = d.spool(w, fmt.Errorf("store: writer closed with 100 runs and 0 events not committed: database is locked"))
	sp, rerr := store.ReadSpool(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	kept := len(sp.Items)
	if kept == 0 || kept == 100 || sp.Counts.CutRuns != 100-kept || sp.Items[0].Run.ID != w.left[0].Run.ID {
		t.Fatalf("spool kept %d runs from %s, counts %+v; want the oldest, the rest counted", kept, sp.Items[0].Run.ID, sp.Counts)
	}
	if want := fmt.Sprintf("%d runs and 0 events not stored are lost", 100-kept); err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrResultsLost) {
		t.Errorf("spool: %v, want %q (ErrResultsLost: slaprobe run exits 1)", err, want)
	}
	if want := fmt.Sprintf("level=ERROR msg=\"spool full: the latest results are left out and lost\" file=%s max_bytes=20480 lost_runs=%d", path, 100-kept); !strings.Contains(logs.String(), want) {
		t.Errorf("log:\n%s\nwant %s", logs.String(), want)
	}
	if v, _ := sample(t, d.Gatherer(), "slaprobe_results_spooled_total"); int(v) != kept {
		t.Errorf("slaprobe_results_spooled_total %v, want %d", v, kept)
	}
}

// TestStopSaysWhereTheResultsWent: the last line of a stop says the results
// were flushed only when the store took them; when the database refused
// them (here SQLite locked by another process) and they went to the spool,
// it says "results spooled". Before, it said "results flushed ...
// committed=0" after the spool's own warning, for results not stored.
func TestStopSaysWhereTheResultsWent(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		refuse   bool
		want, no string
	}{
		{"the store takes them", false, "daemon stopped: runs drained, results flushed", "results spooled"},
		{"the store refuses them", true, "daemon stopped: runs drained, results spooled", "results flushed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, refuse := spoolDBs[0].open(t)
			var logs syncBuffer
			r := &spoolRig{agreeRig: newAgreeRig(t, "0s", phases(t0, nil)), st: st, logs: &logs,
				spool: filepath.Join(t.TempDir(), "results.db.slaprobe-spool.jsonl")}
			r.start()
			r.until(t0, 20*time.Second)
			waitFor(t, "the first runs stored", func() bool { return r.d.writer.Stats().Queued == 0 && r.d.writer.Stats().Committed >= 1 })
			if tc.refuse {
				refuse(true)
				defer refuse(false)
			}
			r.until(t0, 50*time.Second)
			if err := r.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
			if out := logs.String(); !strings.Contains(out, tc.want) || strings.Contains(out, tc.no) {
				t.Errorf("log:\n%s\nwant %q, not %q", out, tc.want, tc.no)
			}
		})
	}
}

// TestSpoolUnwritableSaysWhatIsLost: a spool that cannot be written (a
// read-only or missing state directory, a full disk) loses every run the
// store had not taken, and the shutdown says so in an error line with the
// counts, as it does for a spool too small for them. Before, only the
// caller's warn line ("shutdown") carried the writer's error, so a stop
// that lost 100 runs logged no error at all.
func TestSpoolUnwritableSaysWhatIsLost(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var logs syncBuffer
	notDir := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(notDir, "results.db.slaprobe-spool.jsonl") // its directory is a file: nothing can be created there
	d, err := New(testConfig(10*time.Second, "f"), Deps{Store: &fakeStore{}, SpoolFile: path, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w := &spoolWriter{}
	for i := range 100 {
		r := mkRun("f", t0.Add(time.Duration(i)*10*time.Second), "send")
		w.left = append(w.left, store.SpoolItem{Run: &r})
	}
	ev := state.Event{Op: state.OpOpen, Window: state.Window{Kind: state.KindDown, Start: t0}}
	w.left = append(w.left, store.SpoolItem{Event: &ev})
	err = d.spool(w, fmt.Errorf("store: writer closed with 100 runs and 1 events not committed: database is locked"))
	if !errors.Is(err, ErrResultsLost) {
		t.Fatalf("spool: %v, want the results lost (ErrResultsLost: slaprobe run exits 1)", err)
	}
	if want := `level=ERROR msg="spool not written: the results the store had not taken are lost" file=` + path + ` lost_runs=100 lost_events=1`; !strings.Contains(logs.String(), want) {
		t.Errorf("log:\n%s\nwant %s", logs.String(), want)
	}
	if v, _ := sample(t, d.Gatherer(), "slaprobe_results_spooled_total"); v != 0 {
		t.Errorf("slaprobe_results_spooled_total %v, want 0", v)
	}
}

// TestForeignSpoolWarned: a start warns of a spool of another location in
// its spool's directory. With PostgreSQL the spool is named after the
// location (slaprobe-spool-LOCATION.jsonl): a location renamed between a stop
// during a database failover and the next start left the old name's spool
// unread, its runs lost without a word. Its own spool is stored as before;
// the quarantine file and a spool of its own location are not named.
func TestForeignSpoolWarned(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	r := mkRun("f", t0, "")
	r.Service = "svc"
	old := filepath.Join(dir, "slaprobe-spool-seoul-old.jsonl")
	if _, err := store.WriteSpool(old, "seoul-old", t0, []store.SpoolItem{{Run: &r}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "slaprobe-quarantine.jsonl"), []byte(`{"run":{}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := spoolDBs[0].open(t)
	logs := startAndStop(t, st, filepath.Join(dir, "slaprobe-spool-seoul-a.jsonl"), t0.Add(time.Minute))
	want := `level=WARN msg="a spool of another location is beside this prober's`
	if n := strings.Count(logs.String(), want); n != 1 || !strings.Contains(logs.String(), "file="+old+" location=seoul-old") {
		t.Errorf("log:\n%s\nwant one %s ... file=%s location=seoul-old", logs.String(), want, old)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("the other location's spool: %v, want it left as it was", err)
	}
}

// TestSpoolDirectoryCheckedAtStart: a start warns when the spool's
// directory cannot be written, so that the stop that would need it (during
// a database outage) is not the first to find out; a writable one says
// nothing, and the check leaves no file behind.
func TestSpoolDirectoryCheckedAtStart(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	writable := t.TempDir()
	for _, tc := range []struct {
		name  string
		spool string
		warn  bool
	}{
		// (A directory that is a file fails the start: the spool cannot
		// be read. A read-only one cannot be made for root, who runs
		// the tests here.)
		{"no such directory", filepath.Join(writable, "gone", "results.db.slaprobe-spool.jsonl"), true},
		{"writable", filepath.Join(writable, "results.db.slaprobe-spool.jsonl"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := startAndStop(t, &fakeStore{}, tc.spool, t0)
			const want = `level=WARN msg="the spool's directory cannot be written`
			if got := strings.Contains(logs.String(), want); got != tc.warn {
				t.Errorf("warned %v, want %v; log:\n%s", got, tc.warn, logs.String())
			}
			if !tc.warn {
				if left, _ := filepath.Glob(filepath.Join(writable, ".slaprobe-spool-check-*")); len(left) > 0 {
					t.Errorf("the check left %v", left)
				}
			}
		})
	}
}

// startAndStop starts a daemon of one passing flow on st with its spool at
// spool, on a fake clock at t0, stops it once its scheduler runs, and
// returns its log.
func startAndStop(t *testing.T, st store.Store, spool string, t0 time.Time) *syncBuffer {
	t.Helper()
	logs := &syncBuffer{}
	fc := clockwork.NewFakeClockAt(t0)
	d, err := New(testConfig(10*time.Second, "f"), Deps{Store: st, Clock: ClockworkClock(fc), Grace: time.Second,
		SpoolFile: spool, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	setRunner(d, funcRunner(func(ctx context.Context, f *config.Flow) probe.Run { return mkRun(f.Name, fc.Now(), "") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitScheduler(t, d)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return logs
}
