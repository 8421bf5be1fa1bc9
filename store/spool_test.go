package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// spoolItems is a writer's worth of items: runs with events between them.
func spoolItems(n int) []SpoolItem {
	var out []SpoolItem
	for i := range n {
		r := mkRun("f", "seoul-a", t0.Add(time.Duration(i)*time.Minute), i%3-1, 40*time.Millisecond)
		out = append(out, SpoolItem{Run: &r})
		if i%4 == 3 {
			w := state.Window{Key: state.Key{Service: "messaging", Flow: "f", Location: "seoul-a"}, Kind: state.KindDown,
				Start: r.Start.Add(-time.Minute), Confirmed: r.Start, Known: r.Start.Add(r.Duration), CauseStep: "send", Error: "status 503, want 200",
				Causes: []state.Cause{{Step: "send", Error: "status 503, want 200", From: r.Start.Add(-time.Minute)}}}
			out = append(out, SpoolItem{Event: &state.Event{Op: state.OpOpen, Window: w}})
		}
	}
	return out
}

func writeTestSpool(t *testing.T, items []SpoolItem) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "results.db.slaprobe-spool.jsonl")
	if _, err := WriteSpool(path, "seoul-a", t0, items, 0); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSpoolRoundTrip: what WriteSpool writes, ReadSpool reads back, item
// for item and in order; the file is 0600; a run keeps what the store
// keeps of it and no more (no teardown steps, no certificate expiry).
func TestSpoolRoundTrip(t *testing.T) {
	items := spoolItems(9)
	items[0].Run.Teardown = []probe.StepResult{{Step: "logout", Status: probe.StatusFailed, Error: "status 500"}}
	items[0].Run.Steps[0].CertExpiry = t0.Add(90 * 24 * time.Hour)
	path := writeTestSpool(t, items)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("spool mode %v, want 0600", fi.Mode().Perm())
	}
	if items[0].Run.Teardown == nil || items[0].Run.Steps[0].CertExpiry.IsZero() {
		t.Error("WriteSpool changed the caller's runs")
	}
	sp, err := ReadSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Location != "seoul-a" || !sp.Written.Equal(t0) || sp.Counts != (SpoolCounts{Runs: 9, Events: 2}) {
		t.Errorf("spool %q written %v, counts %+v", sp.Location, sp.Written, sp.Counts)
	}
	want := spoolItems(9)
	if len(sp.Items) != len(want) {
		t.Fatalf("%d items read, want %d", len(sp.Items), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(normItem(sp.Items[i]), normItem(want[i])) {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, sp.Items[i], want[i])
		}
	}
}

// normItem makes times comparable with DeepEqual (a time read back from
// JSON has no monotonic reading and may have another *Location).
func normItem(it SpoolItem) string { return fmt.Sprintf("%+v %+v", it.Run, it.Event) }

// TestSpoolCut: a spool bounded below its items' size keeps a prefix of
// whole items, never a part of one, and says how many it left out.
func TestSpoolCut(t *testing.T) {
	items := spoolItems(40)
	path := filepath.Join(t.TempDir(), "spool.jsonl")
	full, err := WriteSpool(path, "seoul-a", t0, items, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	n, err := WriteSpool(path, "seoul-a", t0, items, fi.Size()/2)
	if err != nil {
		t.Fatal(err)
	}
	if n.Runs+n.CutRuns != full.Runs || n.Events+n.CutEvents != full.Events || n.CutRuns == 0 || n.Runs == 0 {
		t.Fatalf("cut spool %+v, full %+v", n, full)
	}
	sp, err := ReadSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Counts != n || len(sp.Items) != n.Runs+n.Events {
		t.Errorf("read %d items, counts %+v; written %+v", len(sp.Items), sp.Counts, n)
	}
	for i := range sp.Items {
		if normItem(sp.Items[i]) != normItem(items[i]) {
			t.Fatalf("item %d is not the %dth item written", i, i)
		}
	}
}

// TestSpoolDamaged: a spool cut short, with garbage in it, or written by a
// newer slaprobe is a clear error naming the file, and what can be read
// (the complete items before the damage, in order) is returned; a newer
// format returns nothing, as its items may mean something else.
func TestSpoolDamaged(t *testing.T) {
	items := spoolItems(8) // 8 runs, 2 events: lines 2..11, the end line 12
	good, err := os.ReadFile(writeTestSpool(t, items))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(good, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty string after the last newline
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	tests := []struct {
		name      string
		data      []byte
		wantItems int    // complete items read
		wantErr   error  // ErrSpoolDamaged or ErrSpoolNewer
		wantMsg   string // in the error
	}{
		{"cut at a line's end: no end line", join(lines[:6]...), 5, ErrSpoolDamaged, "line 7: cut short: no end line"},
		{"cut in the middle of a run", join(append(lines[:6:6], lines[6][:40])...), 5, ErrSpoolDamaged, "line 7: cut short in the middle of a line"},
		{"cut in the end line", join(append(lines[:11:11], lines[11][:5])...), 10, ErrSpoolDamaged, "line 12: cut short"},
		{"empty", nil, 0, ErrSpoolDamaged, "line 1: empty file"},
		{"garbage for a header", []byte("\x00\x01 not json\n"), 0, ErrSpoolDamaged, "line 1: not a slaprobe spool header"},
		{"garbage in the middle", join(append(append(lines[:4:4], []byte("{\"run\": {\"ID\": \n")), lines[4:]...)...), 3, ErrSpoolDamaged, "line 5"},
		{"a line that is neither", join(append(append(lines[:4:4], []byte("{}\n")), lines[4:]...)...), 3, ErrSpoolDamaged, "line 5: neither a run nor an event"},
		{"an unknown key", join(append(append(lines[:4:4], []byte(`{"result": {}}`+"\n")), lines[4:]...)...), 3, ErrSpoolDamaged, `line 5: json: unknown field "result"`},
		{"a line dropped", join(append(lines[:3:3], lines[4:]...)...), 9, ErrSpoolDamaged, "the end line counts 8 runs and 2 events, the file holds 7 and 2"},
		{"lines after the end", join(append(lines, lines[1])...), 10, ErrSpoolDamaged, "line 13: lines after the end line"},
		{"a newer version", join(append([][]byte{[]byte(`{"slaprobe_spool":3,"location":"seoul-a"}` + "\n")}, lines[1:]...)...), 0, ErrSpoolNewer,
			"is format 3, this slaprobe reads format 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spool.jsonl")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			sp, err := ReadSpool(path)
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err %v, want %v with %q and the path", err, tc.wantErr, tc.wantMsg)
			}
			got := 0
			if sp != nil {
				got = len(sp.Items)
				want := items
				if tc.name == "a line dropped" { // what the file holds
					want = append(items[:2:2], items[3:]...)
				}
				for i := range sp.Items {
					if normItem(sp.Items[i]) != normItem(want[i]) {
						t.Errorf("item %d read is not the %dth written", i, i)
					}
				}
			}
			if got != tc.wantItems {
				t.Errorf("%d items read, want the %d before the damage", got, tc.wantItems)
			}
		})
	}
	if _, err := ReadSpool(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing spool: %v, want os.ErrNotExist", err)
	}
}

// TestWriterUncommitted: a writer closed while its store refuses every
// commit leaves its runs and events in the order it would have committed
// them, each event after the runs submitted before it.
func TestWriterUncommitted(t *testing.T) {
	s := &fakeStore{fail: 1 << 30}
	w := NewWriter(s, WriterOptions{RetryEvery: time.Millisecond, FlushEvery: time.Millisecond})
	ev := func(i int) state.Event {
		return state.Event{Op: state.OpOpen, Window: state.Window{Key: state.Key{Flow: fmt.Sprint("e", i), Location: "l"}, Kind: state.KindDown, Start: t0}}
	}
	runs := runsN(4)
	w.SubmitEvents(ev(0))
	w.Submit(runs[0], runs[1])
	w.SubmitEvents(ev(1), ev(2))
	w.Submit(runs[2])
	w.Submit(runs[3])
	w.SubmitEvents(ev(3))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Fatal("Close succeeded on a store refusing every commit")
	}
	var got []string
	for _, it := range w.Uncommitted() {
		if it.Run != nil {
			got = append(got, "run"+it.Run.ID)
		} else {
			got = append(got, it.Event.Window.Flow)
		}
	}
	if want := "e0 run0 run1 e1 e2 run2 run3 e3"; strings.Join(got, " ") != want {
		t.Errorf("uncommitted %v, want %s", got, want)
	}
}

// TestSpoolStoredTwiceStoresOnce: a spool stored again (a crash after its
// results were committed, before the file was removed) stores no run twice
// and counts none twice in the rollups, and its repeated events change no
// window, in SQLite and PostgreSQL.
func TestSpoolStoredTwiceStoresOnce(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"sqlite", func(t *testing.T) Store { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Store { return openTestPostgres(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			s := db.open(t)
			items := spoolItems(30)
			// A closed window too: its close settles the open.
			last := items[len(items)-1]
			for _, it := range items {
				if it.Event != nil {
					last = it
				}
			}
			closed := *last.Event
			closed.Op, closed.Window.End = state.OpClose, closed.Window.Start.Add(3*time.Minute)
			items = append(items, SpoolItem{Event: &closed})
			path := filepath.Join(t.TempDir(), "spool.jsonl")
			if _, err := WriteSpool(path, "seoul-a", t0, items, 0); err != nil {
				t.Fatal(err)
			}
			q := Query{From: t0.Add(-time.Hour), To: t0.Add(2 * time.Hour)}
			var windows [2]string
			for pass := range 2 {
				sp, err := ReadSpool(path)
				if err != nil {
					t.Fatal(err)
				}
				w := NewWriter(s, WriterOptions{})
				for _, it := range sp.Items {
					if it.Run != nil {
						w.Submit(*it.Run)
					} else {
						w.SubmitEvents(*it.Event)
					}
				}
				if err := w.Close(ctx); err != nil {
					t.Fatal(err)
				}
				runs, err := s.Runs(ctx, q)
				if err != nil || len(runs) != 30 {
					t.Errorf("pass %d: %d runs stored (%v), want 30", pass+1, len(runs), err)
				}
				tot, err := s.Totals(ctx, Query{From: q.From, To: q.To, RunsOnly: true})
				if err != nil || len(tot) != 1 || tot[0].Runs() != 30 {
					t.Errorf("pass %d: totals %+v (%v), want 30 runs counted", pass+1, tot, err)
				}
				ws, err := s.Windows(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				windows[pass] = fmt.Sprintf("%+v", ws)
				if len(ws) != 7 {
					t.Errorf("pass %d: %d windows, want 7", pass+1, len(ws))
				}
			}
			if windows[0] != windows[1] {
				t.Errorf("the windows changed when the spool was stored again:\n%s\n%s", windows[0], windows[1])
			}
		})
	}
}

// TestOldSpoolKnown: a spool written by a slaprobe before schema version 11
// (its windows have no Known) and stored by a newer one at the next start,
// after the migration has run, has each open or close event's Known taken
// from its confirming run when that run is in the spool too (its start plus
// its duration, as the migration fills in from the stored runs). Before, the
// migration had already passed when the spool's runs and events were
// stored, so such a window kept known_ns 0 for ever, its confirming run
// stored beside it: with a 9 s hang, MTTD counted 9 s short. A window whose
// confirming run is not in the spool (stored before the stop) keeps 0.
func TestOldSpoolKnown(t *testing.T) {
	hang := mkRun("f", "seoul-a", t0.Add(10*time.Second), 0, 9*time.Second)
	key := state.Key{Service: "messaging", Flow: "f", Location: "seoul-a"}
	win := func(start, confirmed time.Time) state.Window {
		return state.Window{Key: key, Kind: state.KindDown, Start: start, Confirmed: confirmed, CauseStep: "login", Error: "status 503, want 200"}
	}
	inSpool := win(t0, hang.Start)
	other := win(t0.Add(-time.Hour), t0.Add(-time.Hour+10*time.Second)) // its run stored before the stop
	other.End = hang.Start
	items := []SpoolItem{{Run: &hang}, {Event: &state.Event{Op: state.OpClose, Window: other}}, {Event: &state.Event{Op: state.OpOpen, Window: inSpool}}}
	path := writeTestSpool(t, items)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// As the older slaprobe wrote it: no Known at all.
	old := strings.ReplaceAll(string(b), `"Known":"0001-01-01T00:00:00Z",`, "")
	if old == string(b) || strings.Contains(old, `"Known"`) {
		t.Fatalf("the spool's windows do not hold Known as expected:\n%s", b)
	}
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ReadSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[time.Time]time.Time{inSpool.Start: hang.Start.Add(hang.Duration), other.Start: {}}
	for _, it := range sp.Items {
		if it.Event == nil {
			continue
		}
		w := it.Event.Window
		if k := want[w.Start.UTC()]; !w.Known.Equal(k) {
			t.Errorf("window from %s: Known %s, want %s", w.Start.UTC().Format(time.TimeOnly), w.Known.UTC(), k.UTC())
		}
	}
}

// TestOldSpoolLater: a spool written before schema version 12 (its windows
// have no FirstInEnd or FirstAfterEnd) has each open and close event's
// FirstInEnd, and each close event's FirstAfterEnd, taken from the run of
// its key that started at the window's start (end) when that run is in the
// spool too, as the migration takes them from the stored runs: stored
// after the migration, they would say "not known" for ever beside the
// runs that bound them. A window whose runs are not in the spool keeps
// them not known; a cause event keeps none.
func TestOldSpoolLater(t *testing.T) {
	first := mkRun("f", "seoul-a", t0, 0, 15*time.Second)
	back := mkRun("f", "seoul-a", t0.Add(10*time.Minute), -1, 5*time.Second)
	back.Duration = 14 * time.Second
	key := state.Key{Service: "messaging", Flow: "f", Location: "seoul-a"}
	win := state.Window{Key: key, Kind: state.KindDown, Start: first.Start, Confirmed: first.Start.Add(time.Minute), CauseStep: "login", Error: "status 503, want 200"}
	closed := win
	closed.End = back.Start
	other := state.Window{Key: key, Kind: state.KindDown, Start: t0.Add(-time.Hour), End: t0.Add(-50 * time.Minute), Confirmed: t0.Add(-59 * time.Minute)} // its runs stored before the stop
	items := []SpoolItem{{Run: &first}, {Event: &state.Event{Op: state.OpOpen, Window: win}},
		{Event: &state.Event{Op: state.OpCause, Window: win}}, {Run: &back}, {Event: &state.Event{Op: state.OpClose, Window: closed}},
		{Event: &state.Event{Op: state.OpClose, Window: other}}}
	path := writeTestSpool(t, items)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// As the older slaprobe wrote it: neither field at all.
	old := strings.ReplaceAll(string(b), `,"FirstInEnd":"0001-01-01T00:00:00Z"`, "")
	old = strings.ReplaceAll(old, `,"FirstAfterEnd":"0001-01-01T00:00:00Z"`, "")
	if old == string(b) || strings.Contains(old, `"FirstInEnd"`) || strings.Contains(old, `"FirstAfterEnd"`) {
		t.Fatalf("the spool's windows do not hold the later bounds as expected:\n%s", b)
	}
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ReadSpool(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.TimeOnly)
	}
	var got []string
	for _, it := range sp.Items {
		if e := it.Event; e != nil {
			got = append(got, fmt.Sprintf("%s %s: %s %s", e.Op, ts(e.Window.Start), ts(e.Window.FirstInEnd), ts(e.Window.FirstAfterEnd)))
		}
	}
	want := []string{"open 00:00:00: 00:00:15 -", "cause 00:00:00: - -", "close 00:00:00: 00:00:15 00:10:14", "close 23:00:00: - -"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events (start: FirstInEnd FirstAfterEnd)\n got %q\nwant %q", got, want)
	}
}

// TestSpoolFormat2: a spool is written in format 2, which a slaprobe that
// reads format 1 refuses as newer (its runs kept for the upgrade) rather
// than as damaged for their Interval (its held runs lost); a format-1
// spool, whose runs have no Interval, still reads, with none.
func TestSpoolFormat2(t *testing.T) {
	r := mkRun("f", "seoul-a", t0, 0, time.Second)
	r.Interval = time.Minute
	path := writeTestSpool(t, []SpoolItem{{Run: &r}})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(string(b), "\n")
	if !strings.Contains(head, `"slaprobe_spool":2`) {
		t.Fatalf("header %s, want format 2", head)
	}
	sp, err := ReadSpool(path)
	if err != nil || len(sp.Items) != 1 || sp.Items[0].Run == nil || sp.Items[0].Run.Interval != time.Minute {
		t.Fatalf("format 2 read back %+v, %v: want the run with its interval", sp, err)
	}
	// As a slaprobe of format 1 wrote it: no Interval on its runs.
	old := strings.Replace(head, `"slaprobe_spool":2`, `"slaprobe_spool":1`, 1) + "\n" + strings.ReplaceAll(rest, `"Interval":60000000000,`, "")
	if strings.Contains(old, "Interval") {
		t.Fatalf("the run's Interval is not where the test expects it:\n%s", b)
	}
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err = ReadSpool(path)
	if err != nil || len(sp.Items) != 1 || sp.Items[0].Run == nil || sp.Items[0].Run.Interval != 0 {
		t.Fatalf("format 1 read back %+v, %v: want the run without an interval", sp, err)
	}
}
