package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// coreOf returns the shared implementation behind a store of this package.
func coreOf(t *testing.T, s Store) *core {
	t.Helper()
	switch v := s.(type) {
	case *SQLite:
		return v.core
	case *Postgres:
		return v.core
	}
	t.Fatalf("no core in %T", s)
	return nil
}

// explainBad returns what is wrong with the plan of query (with args): a
// table of the store read without an index bounding it (SQLite: SCAN of a
// table; PostgreSQL, with sequential scans discouraged: a Seq Scan, or an
// index scan with no Index Cond, that is a whole index read and filtered).
//
// With maxRead > 0 it also checks how much is read: in SQLite every index
// search must be bounded on both sides (or an equality), in PostgreSQL the
// query is run (EXPLAIN ANALYZE) and its scans of the store's tables must
// read at most maxRead rows in all.
func explainBad(t *testing.T, c *core, maxRead int64, query string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	tables := map[string]bool{"runs": true, "events": true, "rollup_minute": true, "rollup_hour": true}
	var bad []string
	if c.d.name == "sqlite" {
		rows, err := c.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatalf("explain %s: %v", query, err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
			f := strings.Fields(detail)
			if len(f) < 2 || !tables[f[1]] {
				continue
			}
			if f[0] == "SCAN" {
				bad = append(bad, detail)
			}
			if i := strings.Index(detail, "("); f[0] == "SEARCH" && maxRead > 0 && i >= 0 {
				cond := detail[i:]
				eq := strings.Contains(strings.NewReplacer("<=", "", ">=", "").Replace(cond), "=")
				if !eq && !(strings.Contains(cond, ">") && strings.Contains(cond, "<")) {
					bad = append(bad, "unbounded: "+detail)
				}
			}
		}
		if len(bad) > 0 {
			bad = append(bad, "plan: "+strings.Join(plan, " | "))
		}
		return bad
	}
	tx, err := c.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	var out []byte
	explain := "EXPLAIN (FORMAT JSON) "
	if maxRead > 0 {
		explain = "EXPLAIN (ANALYZE, FORMAT JSON) "
	}
	if err := tx.QueryRowxContext(ctx, explain+tx.Rebind(query), args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	var plans []struct{ Plan map[string]any }
	if err := json.Unmarshal(out, &plans); err != nil {
		t.Fatal(err)
	}
	var read float64
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		rel, _ := n["Relation Name"].(string)
		typ, _ := n["Node Type"].(string)
		if tables[rel] {
			num := func(k string) float64 { v, _ := n[k].(float64); return v }
			read += (num("Actual Rows") + num("Rows Removed by Filter") + num("Rows Removed by Index Recheck")) * max(num("Actual Loops"), 1)
			_, cond := n["Index Cond"]
			switch {
			case typ == "Seq Scan":
				bad = append(bad, typ+" on "+rel)
			case strings.HasPrefix(typ, "Index") && !cond:
				bad = append(bad, fmt.Sprintf("%s on %s without Index Cond (filter %v)", typ, rel, n["Filter"]))
			}
		}
		if kids, ok := n["Plans"].([]any); ok {
			for _, k := range kids {
				if m, ok := k.(map[string]any); ok {
					walk(m)
				}
			}
		}
	}
	for _, p := range plans {
		walk(p.Plan)
	}
	if maxRead > 0 && read > float64(maxRead) {
		bad = append(bad, fmt.Sprintf("read %.0f rows, want at most %d", read, maxRead))
	}
	if len(bad) > 0 {
		bad = append(bad, "plan: "+string(out))
	}
	return bad
}

// testHistory is the part of the contract about a store that has been
// running for a long time: retention, pruning, idempotent commits, schema
// upgrades by other probers, and queries that cost what their range holds.
func testHistory(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("append is idempotent", func(t *testing.T) {
		// A commit reported failed that in fact happened is retried: the
		// runs must be stored, and counted in the rollups, once.
		s := open(t)
		var runs []probe.Run
		for i := 0; i < 5; i++ {
			runs = append(runs, mkRun("f", "seoul", t0.Add(time.Duration(i)*time.Minute), -1, 10*time.Millisecond))
		}
		extra := mkRun("f", "seoul", t0.Add(10*time.Minute), 1, 10*time.Millisecond)
		for _, b := range [][]probe.Run{runs, runs, {runs[1], runs[3], extra}} {
			if err := s.AppendRuns(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Runs(ctx, Query{})
		if err != nil || len(got) != 6 {
			t.Fatalf("%d runs stored (%v), want 6", len(got), err)
		}
		q := Query{From: t0, To: t0.Add(time.Hour)}
		for _, g := range []Granularity{Minute, Hour} {
			rs, err := s.Rollups(ctx, g, q)
			if err != nil {
				t.Fatal(err)
			}
			var ok, failed int64
			for _, r := range rs {
				if r.Step == "" {
					ok, failed = ok+r.OK, failed+r.Failed
				}
			}
			if ok != 5 || failed != 1 {
				t.Errorf("%s rollups count %d ok and %d failed runs, want 5 and 1", g, ok, failed)
			}
		}
		cov, err := s.Coverage(ctx, q)
		if err != nil || len(cov) != 1 || cov[0].Runs != 6 {
			t.Errorf("coverage %+v (%v), want 6 runs", cov, err)
		}
	})

	t.Run("writes refuse a newer schema", func(t *testing.T) {
		// Another prober, newer, migrated the shared database after this
		// one opened it: every write must refuse, not only the next open.
		s := open(t)
		c := coreOf(t, s)
		if err := s.AppendRuns(ctx, []probe.Run{mkRun("f", "seoul", t0, -1, time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.w.ExecContext(ctx, c.w.Rebind(`INSERT INTO schema_version (version, applied_ns) VALUES (?, 0)`), c.latest()+1); err != nil {
			t.Fatal(err)
		}
		w := state.Window{Key: state.Key{Flow: "f", Location: "seoul"}, Kind: state.KindDown, Start: t0}
		pub := s.(Publications)
		for name, err := range map[string]error{
			"AppendRuns":       s.AppendRuns(ctx, []probe.Run{mkRun("f", "seoul", t0.Add(time.Minute), -1, time.Millisecond)}),
			"AppendEvents":     s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: w}}),
			"Prune":            func() error { _, err := s.Prune(ctx, Cutoffs{Runs: t0.Add(time.Hour)}, 10); return err }(),
			"AddReportVersion": pub.AddReportVersion(ctx, ReportVersion{Month: "2026-03", Version: 1, Generated: t0}, nil),
			"UpdateDelivery":   pub.UpdateDelivery(ctx, Delivery{ID: 1, State: DeliveryDelivered}),
			"ClaimPublisher":   func() error { _, err := pub.ClaimPublisher(ctx, "seoul", t0, Lease{}); return err }(),
			"ReleasePublisher": pub.ReleasePublisher(ctx, "seoul"),
		} {
			if !errors.Is(err, ErrSchemaNewer) {
				t.Errorf("%s on a newer schema = %v, want ErrSchemaNewer", name, err)
			}
			if errors.Is(err, ErrRejected) {
				t.Errorf("%s: a newer schema is not the data's fault, but the error says rejected", name)
			}
		}
		if got, _ := s.Runs(ctx, Query{}); len(got) != 1 {
			t.Errorf("%d runs stored, want the 1 from before the upgrade", len(got))
		}
	})

	t.Run("free text is stored, bad names are rejected", func(t *testing.T) {
		// An error message quoting a hostile answer may hold NUL bytes and
		// invalid UTF-8: PostgreSQL's TEXT refuses both, and one such
		// event blocked the writer for good.
		s := open(t)
		w := state.Window{Key: state.Key{Service: "messaging", Flow: "f", Location: "seoul"}, Kind: state.KindDown,
			Start: t0, End: t0.Add(time.Minute), Confirmed: t0, CauseStep: "send\x00", Error: "body \"\x00\xff\xfe\" is not JSON"}
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpClose, Window: w}}); err != nil {
			t.Fatalf("AppendEvents: %v", err)
		}
		got, err := s.Windows(ctx, Query{From: t0, To: t0.Add(time.Hour)})
		if err != nil || len(got) != 1 {
			t.Fatalf("windows %+v, %v", got, err)
		}
		if want := "body \"\uFFFD\" is not JSON"; got[0].Error != want || got[0].CauseStep != "send" {
			t.Errorf("stored cause %q, error %q; want %q, %q", got[0].CauseStep, got[0].Error, "send", want)
		}
		r := mkRun("f", "seoul", t0, 1, time.Millisecond)
		r.Steps[1].Error = "status 500: \x00\xff"
		if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
			t.Fatalf("a step error with NUL: %v", err)
		}
		if rs, _ := s.Runs(ctx, Query{}); len(rs) != 1 || rs[0].Steps[1].Error != r.Steps[1].Error {
			t.Errorf("step error not kept byte for byte: %+v", rs)
		}
		for _, bad := range []probe.Run{
			func() probe.Run { b := mkRun("f\x00", "seoul", t0, -1, 0); return b }(),
			func() probe.Run { b := mkRun("f", "seoul", t0, -1, 0); b.Steps[0].Step = "\xff"; return b }(),
		} {
			if err := s.AppendRuns(ctx, []probe.Run{bad}); !errors.Is(err, ErrRejected) {
				t.Errorf("run %q step %q: %v, want ErrRejected", bad.Flow, bad.Steps[0].Step, err)
			}
		}
	})

	t.Run("coverage and totals stay inside the range", func(t *testing.T) {
		// Runs every 10 s; ranges that cut minutes and hours.
		s := open(t)
		var runs []probe.Run
		for i := 0; i < 6*130; i++ {
			fail := -1
			if i%7 == 0 {
				fail = i % 3
			}
			runs = append(runs, mkRun("f", "seoul", t0.Add(time.Duration(i)*10*time.Second), fail, time.Duration(1+i%50)*time.Millisecond))
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		for _, q := range []Query{
			{From: t0.Add(15 * time.Second), To: t0.Add(2*time.Minute + 25*time.Second)},
			{From: t0.Add(59*time.Minute + 55*time.Second), To: t0.Add(2*time.Hour + 5*time.Second)},
			{From: t0.Add(30 * time.Second), To: t0.Add(40 * time.Second)},
			{From: t0, To: t0.Add(2 * time.Hour)},
			{From: t0.Add(-time.Hour), To: t0.Add(24 * time.Hour)},
		} {
			t.Run(q.From.Sub(t0).String()+"-"+q.To.Sub(t0).String(), func(t *testing.T) {
				in, err := s.Runs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				cov, err := s.Coverage(ctx, q)
				if err != nil || len(cov) != 1 {
					t.Fatalf("coverage %+v, %v", cov, err)
				}
				c := cov[0]
				if c.First.Before(q.From) || !c.Last.Before(q.To) {
					t.Errorf("coverage %v..%v reaches outside [%v, %v)", c.First, c.Last, q.From, q.To)
				}
				if c.Runs != int64(len(in)) || !c.First.Equal(in[0].Start) || !c.Last.Equal(in[len(in)-1].Start) {
					t.Errorf("coverage %d runs %v..%v, want %d runs %v..%v", c.Runs, c.First, c.Last, len(in), in[0].Start, in[len(in)-1].Start)
				}
				tot, err := s.Totals(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				ref := openTestSQLite(t)
				if err := ref.AppendRuns(ctx, in); err != nil {
					t.Fatal(err)
				}
				want, err := ref.Rollups(ctx, Hour, Query{})
				if err != nil {
					t.Fatal(err)
				}
				if g, w := sumRollups(tot), sumRollups(want); !reflect.DeepEqual(g, w) {
					t.Errorf("totals differ from the runs in the range:\n got %+v\nwant %+v", g, w)
				}
				for _, r := range tot {
					if r.Step == "" && r.Runs() != int64(len(in)) {
						t.Errorf("totals count %d runs, want %d", r.Runs(), len(in))
					}
					// Durations of 1-50 ms fill about 35 of the hundred
					// slots: a histogram stops at its last used one.
					if n := len(r.Hist); n > 0 && r.Hist[n-1] == 0 {
						t.Errorf("totals %q: histogram of %d slots ends with an empty one", r.Step, n)
					}
				}
				// RunsOnly: the run-level rows alone, as they were, less
				// their histograms.
				var wantRuns []Rollup
				for _, r := range tot {
					if r.Step == "" {
						r.Hist = nil
						wantRuns = append(wantRuns, r)
					}
				}
				qr := q
				qr.RunsOnly = true
				runsOnly, err := s.Totals(ctx, qr)
				if err != nil {
					t.Fatal(err)
				}
				if len(wantRuns) == 0 || !reflect.DeepEqual(runsOnly, wantRuns) {
					t.Errorf("RunsOnly totals:\n got %+v\nwant %+v", runsOnly, wantRuns)
				}
			})
		}
	})

	t.Run("windows read only what touches the range", func(t *testing.T) {
		s := open(t)
		c := coreOf(t, s)
		key := state.Key{Service: "messaging", Flow: "f", Location: "seoul"}
		day := 24 * time.Hour
		// A year of short windows, one every 6 hours; a long one (3 days)
		// that ends inside the day asked for; one still open since long
		// before it; one opened after its close was stored.
		var evs []state.Event
		for i := 0; i < 4*365; i++ {
			w := state.Window{Key: key, Kind: state.KindDown, Start: t0.Add(time.Duration(i) * 6 * time.Hour), Confirmed: t0.Add(time.Duration(i) * 6 * time.Hour)}
			evs = append(evs, state.Event{Op: state.OpOpen, Window: w})
			w.End = w.Start.Add(5 * time.Minute)
			evs = append(evs, state.Event{Op: state.OpClose, Window: w})
		}
		fk := key
		fk.Function = "receive"
		long := state.Window{Key: fk, Kind: state.KindDown, Start: t0.Add(197 * day), Confirmed: t0.Add(197 * day)}
		evs = append(evs, state.Event{Op: state.OpOpen, Window: long})
		long.End = t0.Add(200*day + time.Hour)
		evs = append(evs, state.Event{Op: state.OpClose, Window: long})
		dk := key
		dk.Function = "send"
		still := state.Window{Key: dk, Kind: state.KindDegraded, Start: t0.Add(100 * day), Confirmed: t0.Add(100 * day)}
		evs = append(evs, state.Event{Op: state.OpOpen, Window: still})
		late := state.Window{Key: key, Kind: state.KindUnknown, Start: t0.Add(50 * day), End: t0.Add(50*day + time.Hour)}
		lateOpen := late
		lateOpen.End = time.Time{}
		for _, b := range [][]state.Event{evs[:1000], evs[1000:], {{Op: state.OpClose, Window: late}}, {{Op: state.OpOpen, Window: lateOpen}}} {
			if err := s.AppendEvents(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		from, to := t0.Add(200*day), t0.Add(201*day)
		got, err := s.Windows(ctx, Query{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		var want []state.Window
		for i := 800; i < 804; i++ {
			w := state.Window{Key: key, Kind: state.KindDown, Start: t0.Add(time.Duration(i) * 6 * time.Hour), Confirmed: t0.Add(time.Duration(i) * 6 * time.Hour)}
			w.End = w.Start.Add(5 * time.Minute)
			want = append(want, w)
		}
		want = append([]state.Window{still, long}, want...)
		sortByStart(want)
		assertWindows(t, got, want)
		if got, err := s.Windows(ctx, Query{From: t0.Add(50 * day), To: t0.Add(51 * day)}); err != nil || len(got) != 5 {
			t.Errorf("day 50: %d windows (%v), want 4 short ones and the late-opened unknown one", len(got), err)
		} else {
			for _, w := range got {
				if w.Kind == state.KindUnknown && !w.End.Equal(late.End) {
					t.Errorf("the unknown window whose open came after its close reads as %v..%v, want it closed at %v", w.Start, w.End, late.End)
				}
			}
		}
		open, err := s.OpenWindows(ctx, "seoul")
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, open, []state.Window{still})
		// What the queries read: no scan of the events table.
		f, tt := from.UnixNano(), to.UnixNano()
		if bad := explainBad(t, c, 100, c.r.Rebind(windowsSQL("")), f-int64(3*day), tt, f, f-int64(3*day), f); len(bad) > 0 {
			t.Errorf("Windows reads events without bounds: %v", bad)
		}
		// Settling a window (every events commit) finds its events by
		// their window, not among all of the location's: with a year of
		// events that made each commit take seconds.
		w := evs[2*800].Window
		args := []any{w.Start.UnixNano(), string(w.Kind), w.Service, w.Flow, w.Function, w.Location}
		if c.d.name == "sqlite" {
			rows, err := c.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+settleSQL, append(args, args...)...)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(detail, "SEARCH events") && !strings.Contains(detail, "events_window") || strings.HasPrefix(detail, "SCAN events") {
					t.Errorf("settling reads events by %s", detail)
				}
			}
			rows.Close()
		} else if bad := explainBad(t, c, 10, c.w.Rebind(settleSQL), append(args, args...)...); len(bad) > 0 {
			t.Errorf("settling reads too much: %v", bad)
		}
	})

	t.Run("prune reads what it deletes", func(t *testing.T) {
		s := open(t)
		c := coreOf(t, s)
		var runs []probe.Run
		for i := 0; i < 300; i++ {
			runs = append(runs, mkRun("f", "seoul", t0.Add(time.Duration(i)*time.Minute), -1, time.Millisecond))
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		cut := t0.Add(-time.Hour).UnixNano() // nothing due: the old Prune read every row to find that out
		for _, pt := range pruneTargets {
			next, oldest, del := pruneSQL(pt)
			for _, q := range []struct {
				sql  string
				args []any
			}{{next, []any{cut, 100}}, {oldest, nil}, {del, []any{cut}}} {
				if bad := explainBad(t, c, 0, c.r.Rebind(q.sql), q.args...); len(bad) > 0 {
					t.Errorf("%s: %v", q.sql, bad)
				}
			}
		}
	})

	t.Run("retention bounds every table", func(t *testing.T) {
		s := open(t)
		var runs []probe.Run
		for i := 0; i < 6*60; i++ { // six hours, one run a minute
			runs = append(runs, mkRun("f", "seoul", t0.Add(time.Duration(i)*time.Minute), -1, time.Millisecond))
		}
		if err := s.AppendRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		key := state.Key{Service: "messaging", Flow: "f", Location: "seoul"}
		old := state.Window{Key: key, Kind: state.KindDown, Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Confirmed: t0.Add(11 * time.Minute)}
		openOld := old
		openOld.End = time.Time{}
		still := state.Window{Key: key, Kind: state.KindDegraded, Start: t0.Add(30 * time.Minute), Confirmed: t0.Add(31 * time.Minute)}
		if err := s.AppendEvents(ctx, []state.Event{{Op: state.OpOpen, Window: openOld}, {Op: state.OpClose, Window: old}, {Op: state.OpOpen, Window: still}}); err != nil {
			t.Fatal(err)
		}
		cut := Cutoffs{Runs: t0.Add(5 * time.Hour), Minute: t0.Add(3 * time.Hour), Hour: t0.Add(2 * time.Hour)}
		total := 0
		for i := 0; ; i++ {
			n, err := s.Prune(ctx, cut, 50)
			if err != nil {
				t.Fatal(err)
			}
			if n > 50 {
				t.Errorf("Prune(batch 50) deleted %d rows", n)
			}
			total += n
			if n < 50 {
				break
			}
			if i > 100 {
				t.Fatal("Prune does not finish")
			}
		}
		// 300 runs, 180 minute rows, 2 hour rows, the closed window's 2 events.
		if total != 300+180+2+2 {
			t.Errorf("pruned %d rows, want %d", total, 300+180+2+2)
		}
		all := Query{From: t0.Add(-time.Hour), To: t0.Add(24 * time.Hour)}
		if rs, _ := s.Runs(ctx, all); len(rs) != 60 || !rs[0].Start.Equal(cut.Runs) {
			t.Errorf("%d runs left, want the 60 from %v", len(rs), cut.Runs)
		}
		for g, from := range map[Granularity]time.Time{Minute: cut.Minute, Hour: cut.Hour} {
			rs, err := s.Rollups(ctx, g, all)
			if err != nil || len(rs) == 0 || !rs[0].Bucket.Equal(from) {
				t.Errorf("%s rollups left start at %v (%d, %v), want %v", g, rs[0].Bucket, len(rs), err, from)
			}
		}
		ws, err := s.Windows(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		assertWindows(t, ws, []state.Window{still})
		h, err := s.Horizon(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Horizon{Runs: cut.Runs, Minute: cut.Minute, Hour: cut.Hour}); !h.Runs.Equal(want.Runs) || !h.Minute.Equal(want.Minute) || !h.Hour.Equal(want.Hour) {
			t.Errorf("Horizon = %+v, want %+v", h, want)
		}
		if n, err := s.Prune(ctx, cut, 50); n != 0 || err != nil {
			t.Errorf("Prune with nothing due = %d, %v", n, err)
		}
	})
}

func sortByStart(ws []state.Window) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].Start.Before(ws[j-1].Start); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}
