package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// fakeStore records commits and fails the first `fail` of them.
type fakeStore struct {
	Store // unused methods panic
	mu    sync.Mutex
	fail  int
	log   []string // "runs:N" / "events:N" per successful commit
	runs  []probe.Run
	gate  chan struct{} // if set, each commit waits for a token
}

func (f *fakeStore) commit(kind string, n int) error {
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("database is locked")
	}
	f.log = append(f.log, fmt.Sprintf("%s:%d", kind, n))
	return nil
}

func (f *fakeStore) AppendRuns(_ context.Context, runs []probe.Run) error {
	if err := f.commit("runs", len(runs)); err != nil {
		return err
	}
	f.mu.Lock()
	f.runs = append(f.runs, runs...)
	f.mu.Unlock()
	return nil
}

func (f *fakeStore) AppendEvents(_ context.Context, evs []state.Event) error {
	return f.commit("events", len(evs))
}

func (f *fakeStore) commits() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func runsN(n int) []probe.Run {
	out := make([]probe.Run, n)
	for i := range out {
		out[i] = probe.Run{ID: fmt.Sprint(i), Flow: "f", Location: "l", Start: t0.Add(time.Duration(i) * time.Second)}
	}
	return out
}

func TestWriter(t *testing.T) {
	ctx := context.Background()
	ev := state.Event{Op: state.OpOpen, Window: state.Window{Key: state.Key{Flow: "f", Location: "l"}, Kind: state.KindDown, Start: t0}}
	tests := []struct {
		name        string
		opts        WriterOptions
		fail        int
		do          func(w *Writer)
		wantCommits []string
		wantStats   WriterStats
	}{
		{
			name:        "batches of BatchSize, remainder on flush",
			opts:        WriterOptions{BatchSize: 4, FlushEvery: time.Hour},
			do:          func(w *Writer) { w.Submit(runsN(10)...) },
			wantCommits: []string{"runs:4", "runs:4", "runs:2"},
			wantStats:   WriterStats{Committed: 10},
		},
		{
			name: "events commit after the runs submitted before them",
			opts: WriterOptions{BatchSize: 100, FlushEvery: time.Hour},
			do: func(w *Writer) {
				w.Submit(runsN(3)...)
				w.SubmitEvents(ev, ev)
				w.Submit(runsN(2)...)
				w.SubmitEvents(ev)
			},
			wantCommits: []string{"runs:3", "events:2", "runs:2", "events:1"},
			wantStats:   WriterStats{Committed: 5},
		},
		{
			name:        "failures are retried with the batch kept",
			opts:        WriterOptions{BatchSize: 100, FlushEvery: time.Hour, RetryEvery: time.Millisecond},
			fail:        3,
			do:          func(w *Writer) { w.Submit(runsN(7)...) },
			wantCommits: []string{"runs:7"},
			wantStats:   WriterStats{Committed: 7, Failures: 3},
		},
		{
			name:        "timer flushes without a Flush call",
			opts:        WriterOptions{BatchSize: 100, FlushEvery: time.Millisecond},
			do:          func(w *Writer) { w.Submit(runsN(2)...); time.Sleep(50 * time.Millisecond) },
			wantCommits: []string{"runs:2"},
			wantStats:   WriterStats{Committed: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeStore{fail: tc.fail}
			w := NewWriter(fs, tc.opts)
			tc.do(w)
			if !strings.Contains(tc.name, "timer") {
				if err := w.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got := fs.commits()
			if strings.Join(got, " ") != strings.Join(tc.wantCommits, " ") {
				t.Errorf("commits %v, want %v", got, tc.wantCommits)
			}
			st := w.Stats()
			if st.Committed != tc.wantStats.Committed || st.Failures != tc.wantStats.Failures || st.Dropped != 0 || st.Queued != 0 || st.LastError != "" || st.Stuck {
				t.Errorf("stats %+v, want %+v", st, tc.wantStats)
			}
			if st.LastCommit.IsZero() {
				t.Error("LastCommit not set")
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWriterDropsWhenFullAndRecovers(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	clk := clock.NewManual(t0)
	fs := &fakeStore{fail: 1 << 30}
	var committed []int
	var mu sync.Mutex
	w := NewWriter(fs, WriterOptions{BatchSize: 4, Buffer: 10, FlushEvery: time.Millisecond, RetryEvery: time.Millisecond, Clock: clk,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		OnCommit: func(n int, _ time.Duration) { mu.Lock(); committed = append(committed, n); mu.Unlock() }})
	if !w.Submit(runsN(6)...) {
		t.Fatal("first 6 runs refused")
	}
	if w.Submit(runsN(6)...) {
		t.Error("Submit beyond the buffer returned true")
	}
	w.SubmitEvents(state.Event{Op: state.OpClose, Window: state.Window{Key: state.Key{Flow: "f", Location: "l"}, Kind: state.KindUnknown, Start: t0, End: t0.Add(time.Minute)}})
	// Wait (bounded) for several failed attempts rather than sleeping a
	// fixed time: a loaded machine may need longer.
	for deadline := time.Now().Add(5 * time.Second); w.Stats().Failures < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(StuckAfter + time.Second)
	st := w.Stats()
	if st.Dropped != 2 || st.Queued != 10 || st.Failures < 2 || !st.Stuck || !strings.Contains(st.LastError, "locked") {
		t.Errorf("while failing: %+v; want 2 dropped, 10 queued, >=2 failures, stuck, last error", st)
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if err := w.Flush(fctx); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("Flush while failing = %v, want a deadline error naming the last error", err)
	}
	cancel()
	fs.mu.Lock()
	fs.fail = 0
	fs.mu.Unlock()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st = w.Stats()
	if st.Committed != 10 || st.Queued != 0 || st.Stuck || st.LastError != "" {
		t.Errorf("after recovery: %+v", st)
	}
	if got := strings.Join(fs.commits(), " "); got != "runs:4 runs:4 runs:2 events:1" {
		t.Errorf("commits %q", got)
	}
	if n := strings.Count(logs.String(), "store commit failed"); n != 1 {
		t.Errorf("logged the failure streak %d times, want once:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "dropping results"); n != 1 {
		t.Errorf("logged drops %d times, want once", n)
	}
	if !strings.Contains(logs.String(), "recovered") {
		t.Error("recovery not logged")
	}
	mu.Lock()
	if fmt.Sprint(committed) != "[4 4 2]" {
		t.Errorf("OnCommit saw %v", committed)
	}
	mu.Unlock()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWriterCloseGivesUp(t *testing.T) {
	fs := &fakeStore{fail: 1 << 30}
	w := NewWriter(fs, WriterOptions{RetryEvery: time.Millisecond})
	w.Submit(runsN(3)...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 runs") {
		t.Errorf("Close = %v, want an error counting 3 runs", err)
	}
}

func TestWriterWithSQLite(t *testing.T) {
	ctx := context.Background()
	s := openTestSQLite(t)
	w := NewWriter(s, WriterOptions{BatchSize: 50})
	var want int
	for i := 0; i < 7; i++ {
		runs := benchRuns(i*33, 33)
		want += len(runs)
		w.Submit(runs...)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Runs(ctx, Query{})
	if err != nil || len(got) != want {
		t.Fatalf("stored %d runs (%v), want %d", len(got), err, want)
	}
}

// TestWriterFlushesOnTimeUnderSteadyTraffic: results that keep arriving more
// often than FlushEvery, never filling a batch, are still committed within
// about FlushEvery of their submission (a kill -9 loses at most that much).
func TestWriterFlushesOnTimeUnderSteadyTraffic(t *testing.T) {
	fs := &fakeStore{}
	w := NewWriter(fs, WriterOptions{BatchSize: 1000, FlushEvery: 50 * time.Millisecond, Buffer: 1000, RetryEvery: time.Millisecond})
	defer w.Close(context.Background())
	// As in the daemon, the first result comes when the writer is already
	// idle, waiting: it must wake up for it.
	time.Sleep(20 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for w.Stats().Committed == 0 && time.Now().Before(deadline) {
		w.Submit(runsN(1)...)
		time.Sleep(10 * time.Millisecond) // faster than FlushEvery
	}
	if st := w.Stats(); st.Committed == 0 {
		t.Fatalf("nothing committed under steady traffic within 5s: %+v", st)
	}
}

// hangStore is a database that stops answering (PostgreSQL frozen, or a
// connection to a primary that failed over and vanished): its first `hang`
// commits wait until their context ends; later ones succeed.
type hangStore struct {
	Store
	mu   sync.Mutex
	hang int
	runs int
}

func (h *hangStore) AppendRuns(ctx context.Context, runs []probe.Run) error {
	h.mu.Lock()
	hang := h.hang > 0
	if hang {
		h.hang--
	}
	h.mu.Unlock()
	if hang {
		<-ctx.Done()
		return fmt.Errorf("store: begin: %w", ctx.Err())
	}
	h.mu.Lock()
	h.runs += len(runs)
	h.mu.Unlock()
	return nil
}

// TestWriterCommitThatHangsIsRetried: a commit the database never answers
// is given up after CommitTimeout, counted as a failure, logged and retried
// (on a new connection), instead of holding the writer, without a word,
// for as long as the database hangs.
func TestWriterCommitThatHangsIsRetried(t *testing.T) {
	for _, hangs := range []int{1, 3} {
		t.Run(fmt.Sprint(hangs), func(t *testing.T) {
			var buf bytes.Buffer
			var mu sync.Mutex
			log := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
			hs := &hangStore{hang: hangs}
			w := NewWriter(hs, WriterOptions{RetryEvery: time.Millisecond, CommitTimeout: 10 * time.Millisecond, Logger: log})
			w.Submit(runsN(3)...)
			// No deadline here: without CommitTimeout this waits forever.
			if err := w.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := w.Stats()
			if st.Failures != int64(hangs) || st.Committed != 3 {
				t.Errorf("failures %d, committed %d; want %d and 3", st.Failures, st.Committed, hangs)
			}
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			out := buf.String()
			mu.Unlock()
			if !strings.Contains(out, "store commit failed") || !strings.Contains(out, "no answer within 10ms") {
				t.Errorf("log does not say the commit hung:\n%s", out)
			}
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
