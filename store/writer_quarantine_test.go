package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// TestWriterBadItemsDoNotBlock: 10 runs with an unknown step status, then
// 5,000 good runs and an event, through a Writer into a real store. Every
// good item must commit; the bad ones are quarantined (counted, kept in
// memory and in the quarantine file). The writer used to retry the batch
// holding the bad runs forever: nothing committed, and Close gave up.
func TestWriterBadItemsDoNotBlock(t *testing.T) {
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
			qfile := filepath.Join(t.TempDir(), "quarantine.jsonl")
			w := NewWriter(s, WriterOptions{BatchSize: 1000, RetryEvery: 10 * time.Millisecond, QuarantineFile: qfile})
			for i := 0; i < 10; i++ {
				bad := mkRun("f", "seoul", t0.Add(time.Duration(i)*time.Second), -1, time.Millisecond)
				bad.Steps[1].Status = "exploded"
				w.Submit(bad)
			}
			good := benchRuns(0, 5000)
			for i := range good {
				w.Submit(good[i])
			}
			win := state.Window{Key: state.Key{Service: "svc-0", Flow: "flow-000", Location: "seoul-a"}, Kind: state.KindDown,
				Start: t0, End: t0.Add(time.Minute), Confirmed: t0}
			w.SubmitEvents(state.Event{Op: state.OpClose, Window: win})
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			if err := w.Close(cctx); err != nil {
				t.Fatalf("Close: %v (stats %+v)", err, w.Stats())
			}
			runs, err := s.Runs(ctx, Query{})
			if err != nil || len(runs) != len(good) {
				t.Errorf("%d runs stored (%v), want %d", len(runs), err, len(good))
			}
			if ws, err := s.Windows(ctx, Query{}); err != nil || len(ws) != 1 {
				t.Errorf("windows %v, %v; want the one event's", ws, err)
			}
			st := w.Stats()
			if st.Committed != int64(len(good)) || st.Quarantined != 10 || st.Dropped != 0 || st.Queued != 0 {
				t.Errorf("stats %+v, want %d committed, 10 quarantined", st, len(good))
			}
			q := w.Quarantined()
			if len(q) != 10 || q[0].Run == nil || !strings.Contains(q[0].Error, `unknown status "exploded"`) || q[0].At.IsZero() {
				t.Errorf("quarantined %+v", q)
			}
			f, err := os.Open(qfile)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var lines int
			for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
				var item Quarantined
				if err := json.Unmarshal(sc.Bytes(), &item); err != nil || item.Run == nil || item.Run.Flow != "f" {
					t.Errorf("quarantine file line %d: %v, %+v", lines+1, err, item)
				}
			}
			if lines != 10 {
				t.Errorf("quarantine file holds %d items, want 10", lines)
			}
		})
	}
}

// refusingStore refuses for good, as a database would, every batch that
// holds a run or event of flow "poison", and fails the first `fail`
// commits transiently.
type refusingStore struct {
	fakeStore
	transient error
	fail      int
}

func (r *refusingStore) check(flows []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return r.transient
	}
	for _, f := range flows {
		if f == "poison" {
			return rejected{errors.New(`ERROR: value too long for type character varying (SQLSTATE 22001)`)}
		}
	}
	return nil
}

func (r *refusingStore) AppendRuns(ctx context.Context, runs []probe.Run) error {
	var flows []string
	for _, x := range runs {
		flows = append(flows, x.Flow)
	}
	if err := r.check(flows); err != nil {
		return err
	}
	return r.fakeStore.AppendRuns(ctx, runs)
}

func (r *refusingStore) AppendEvents(ctx context.Context, evs []state.Event) error {
	var flows []string
	for _, e := range evs {
		flows = append(flows, e.Window.Flow)
	}
	if err := r.check(flows); err != nil {
		return err
	}
	return r.fakeStore.AppendEvents(ctx, evs)
}

// TestWriterSplitsRefusedBatches: what the database itself refuses for good
// is found by splitting the batch and quarantined; everything else commits,
// in order, events after the runs submitted before them.
func TestWriterSplitsRefusedBatches(t *testing.T) {
	ctx := context.Background()
	rs := &refusingStore{}
	w := NewWriter(rs, WriterOptions{BatchSize: 100, FlushEvery: time.Hour, RetryEvery: time.Millisecond})
	runs := runsN(20)
	runs[3].Flow, runs[17].Flow = "poison", "poison"
	w.Submit(runs...)
	ev := state.Event{Op: state.OpOpen, Window: state.Window{Key: state.Key{Flow: "f", Location: "l"}, Kind: state.KindDown, Start: t0}}
	bad := ev
	bad.Window.Flow = "poison"
	w.SubmitEvents(ev, bad)
	w.Submit(runsN(5)...)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(rs.runs); n != 23 {
		t.Errorf("%d runs committed, want 23", n)
	}
	for _, r := range rs.runs {
		if r.Flow == "poison" {
			t.Errorf("a refused run was committed: %+v", r)
		}
	}
	// The runs before the events all commit before them, the 5 after after.
	log := strings.Join(rs.commits(), " ")
	if i, j := strings.Index(log, "events:"), strings.LastIndex(log, "runs:5"); i < 0 || j < i {
		t.Errorf("commit order %q: events must follow the first 20 runs and precede the last 5", log)
	}
	st := w.Stats()
	if st.Quarantined != 3 || st.Committed != 23 || st.Queued != 0 {
		t.Errorf("stats %+v, want 3 quarantined, 23 committed", st)
	}
	var got []string
	for _, q := range w.Quarantined() {
		switch {
		case q.Run != nil:
			got = append(got, "run "+q.Run.ID)
		case q.Event != nil:
			got = append(got, "event "+q.Event.Window.Flow)
		}
		if !strings.Contains(q.Error, "SQLSTATE 22001") {
			t.Errorf("quarantined with error %q", q.Error)
		}
	}
	if fmt.Sprint(got) != "[run 3 run 17 event poison]" {
		t.Errorf("quarantined %v", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWriterKeepsDataOnNewerSchema: a newer schema is not the data's fault:
// nothing is quarantined, the batch waits and commits once the prober can
// write again.
func TestWriterKeepsDataOnNewerSchema(t *testing.T) {
	ctx := context.Background()
	rs := &refusingStore{transient: fmt.Errorf("%w (database at version 9, this slaprobe writes 5)", ErrSchemaNewer), fail: 5}
	w := NewWriter(rs, WriterOptions{BatchSize: 100, FlushEvery: time.Millisecond, RetryEvery: time.Millisecond})
	w.Submit(runsN(7)...)
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Quarantined != 0 || st.Committed != 7 || st.Failures != 5 {
		t.Errorf("stats %+v, want 7 committed after 5 failures, none quarantined", st)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
