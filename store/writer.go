package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// WriterOptions tune a Writer. Zero values take the defaults in the comments.
type WriterOptions struct {
	BatchSize  int           // runs per transaction (1000)
	FlushEvery time.Duration // longest a submitted run waits before a commit (250ms)
	Buffer     int           // runs held in memory, committed or not yet (100000)
	RetryEvery time.Duration // wait between attempts while commits fail (1s)
	// CommitTimeout bounds one commit attempt (StuckAfter): a database that
	// stops answering (PostgreSQL frozen, a connection to a primary that
	// failed over and vanished, which TCP may keep for 15 minutes) fails the
	// attempt, which is logged and retried on a new connection.
	CommitTimeout time.Duration
	Logger        *slog.Logger // default: discard
	Clock         clock.Clock  // for LastCommit and Stuck (default: clock.Real)
	// OnCommit, if set, is called after each committed batch of runs with
	// its size and how long the commit took (for metrics).
	OnCommit func(runs int, d time.Duration)
	// QuarantineFile, if set, is a file to which every quarantined item is
	// appended as one JSON line (Quarantined); the last QuarantineKeep
	// stay in memory too (Writer.Quarantined) either way.
	QuarantineFile string
}

// QuarantineKeep is how many quarantined items a Writer keeps in memory.
const QuarantineKeep = 100

// Quarantined is a run or an event the store refused for good (an error
// wrapping ErrRejected: retrying cannot commit it), set aside so that it
// does not hold up what comes after it.
type Quarantined struct {
	At    time.Time    `json:"at"`
	Error string       `json:"error"`
	Run   *probe.Run   `json:"run,omitempty"`
	Event *state.Event `json:"event,omitempty"`
}

// StuckAfter is how long a Writer may hold data without a successful commit
// before Stats reports it stuck.
const StuckAfter = 30 * time.Second

// WriterStats is a Writer's health.
type WriterStats struct {
	Queued    int64 // runs waiting (including a batch being retried)
	Committed int64 // runs committed since start
	Dropped   int64 // runs refused because the buffer was full
	// Quarantined counts runs and events the store refused for good (see
	// Quarantined); they were set aside, not retried.
	Quarantined int64
	Failures    int64 // failed commit attempts
	LastCommit  time.Time
	LastError   string // of the last failed attempt, "" after a success
	Stuck       bool   // data waiting and no successful commit for StuckAfter
}

// Writer batches runs and events into a Store from one goroutine, so that
// the probes never wait for the database. Runs are committed in batches of
// BatchSize or every FlushEvery; when commits fail (database locked, disk
// full) the batch is kept and retried every RetryEvery while new runs queue
// up to Buffer, beyond which they are dropped and counted. Events are never
// dropped, and commit in order with the runs submitted before them.
//
// One bad item never holds up the rest: Submit and SubmitEvents check each
// item (ValidateRun, ValidateEvent) and quarantine what the store would
// refuse; a batch the store still refuses for good (ErrRejected: the
// database itself refused a value) is split in halves until the refused
// items are alone, and those are quarantined. Quarantined items are counted,
// logged, kept (the last QuarantineKeep in memory, all in QuarantineFile)
// and never retried. Other errors (the database is locked or down, a newer
// schema: ErrSchemaNewer) keep the batch and retry it.
//
// Its waits (FlushEvery, RetryEvery) are on the wall clock even when Clock is
// virtual: they pace I/O, and a virtual clock that does not wait would make
// the loop spin.
type Writer struct {
	s   Store
	o   WriterOptions
	log *slog.Logger

	mu        sync.Mutex
	runs      []probe.Run // pending, in submit order
	runBase   int64       // sequence number of runs[0] (= runs committed)
	events    []pendingEvent
	evBase    int64 // events committed
	evTotal   int64 // events submitted
	dropped   int64
	dropping  bool
	committed int64 // runs committed (runBase also counts quarantined ones)
	// quarantine: the last QuarantineKeep quarantined items, their count,
	// and the file (its own lock: it is written outside mu).
	quarantine  []Quarantined
	quarantined int64
	qfile       sync.Mutex
	failures    int64
	streak      int64 // failures since the last success
	lastOK      time.Time
	lastErr     string
	started     time.Time
	progress    chan struct{} // closed and replaced on every commit
	flushReq    bool
	closing     bool
	pendingAt   time.Time // when the oldest uncommitted item arrived (zero: none)

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

type pendingEvent struct {
	after int64 // runs submitted before it
	ev    state.Event
}

// NewWriter starts a writer on s.
func NewWriter(s Store, o WriterOptions) *Writer {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 250 * time.Millisecond
	}
	if o.Buffer <= 0 {
		o.Buffer = 100000
	}
	if o.Buffer < o.BatchSize {
		o.BatchSize = o.Buffer
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = time.Second
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = StuckAfter
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{s: s, o: o, log: o.Logger, progress: make(chan struct{}), wake: make(chan struct{}, 1),
		cancel: cancel, done: make(chan struct{}), started: o.Clock.Now()}
	go w.loop(ctx)
	return w
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Submit queues runs without blocking. It returns false when the buffer was
// full and some of them were dropped (and counted). A run the store would
// refuse is quarantined (and counted) instead of queued.
func (w *Writer) Submit(runs ...probe.Run) bool {
	for i := 0; i < len(runs); i++ {
		if err := ValidateRun(&runs[i]); err != nil {
			r := runs[i]
			w.setAside([]Quarantined{{Run: &r, Error: err.Error()}})
			runs = append(runs[:i:i], runs[i+1:]...)
			i--
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.o.Buffer - len(w.runs)
	take := min(max(room, 0), len(runs))
	wasEmpty := len(w.runs) == 0 && len(w.events) == 0
	if take > 0 {
		if wasEmpty {
			w.pendingAt = w.o.Clock.Now()
		}
		w.runs = append(w.runs, runs[:take]...)
		w.dropping = false
	}
	if take < len(runs) {
		w.dropped += int64(len(runs) - take)
		if !w.dropping {
			w.dropping = true
			w.log.Error("store buffer full: dropping results", "buffer", w.o.Buffer, "last_error", w.lastErr)
		}
	}
	// Wake the loop when a batch is full, and when the queue stops being
	// empty: that is when the FlushEvery clock starts.
	if len(w.runs) >= w.o.BatchSize || (wasEmpty && take > 0) {
		w.signal()
	}
	return take == len(runs)
}

// SubmitEvents queues state events. They are never dropped; one the store
// would refuse is quarantined.
func (w *Writer) SubmitEvents(evs ...state.Event) {
	for i := 0; i < len(evs); i++ {
		if err := ValidateEvent(&evs[i]); err != nil {
			e := evs[i]
			w.setAside([]Quarantined{{Event: &e, Error: err.Error()}})
			evs = append(evs[:i:i], evs[i+1:]...)
			i--
		}
	}
	if len(evs) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.runs) == 0 && len(w.events) == 0 {
		w.pendingAt = w.o.Clock.Now()
		defer w.signal() // the FlushEvery clock starts now
	}
	after := w.runBase + int64(len(w.runs))
	for _, e := range evs {
		w.events = append(w.events, pendingEvent{after: after, ev: e})
	}
	w.evTotal += int64(len(evs))
}

// Flush returns when everything submitted before the call is committed, or
// with ctx's error.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	runTarget, evTarget := w.runBase+int64(len(w.runs)), w.evTotal
	w.flushReq = true
	w.mu.Unlock()
	w.signal()
	for {
		w.mu.Lock()
		ok := w.runBase >= runTarget && w.evBase >= evTarget
		ch, errText := w.progress, w.lastErr
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-w.done:
			w.mu.Lock()
			ok = w.runBase >= runTarget && w.evBase >= evTarget
			w.mu.Unlock()
			if ok {
				return nil
			}
			return errors.New("store: writer stopped before the flush completed")
		case <-ctx.Done():
			if errText != "" {
				return fmt.Errorf("store: flush: %w (last error: %s)", ctx.Err(), errText)
			}
			return fmt.Errorf("store: flush: %w", ctx.Err())
		}
	}
}

// Close flushes what is queued and stops the writer. If ctx ends first (the
// database keeps failing), the rest is abandoned and the error says how much.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.signal()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		<-w.done
	}
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	if n, e := len(w.runs), len(w.events); n+e > 0 {
		return fmt.Errorf("store: writer closed with %d runs and %d events not committed: %s", n, e, w.lastErr)
	}
	return nil
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := WriterStats{Queued: int64(len(w.runs)), Committed: w.committed, Dropped: w.dropped, Quarantined: w.quarantined,
		Failures: w.failures, LastCommit: w.lastOK, LastError: w.lastErr}
	if len(w.runs)+len(w.events) > 0 {
		since := w.lastOK
		if since.IsZero() || since.Before(w.pendingAt) {
			since = w.pendingAt
		}
		st.Stuck = w.o.Clock.Now().Sub(since) > StuckAfter
	}
	return st
}

// loop waits for work and commits it until Close.
func (w *Writer) loop(ctx context.Context) {
	defer close(w.done)
	// The timer is armed once, when the queue goes from empty to pending,
	// and is not pushed back by later submits: a result waits at most
	// FlushEvery however steadily results keep arriving.
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	for {
		w.mu.Lock()
		pending := len(w.runs)+len(w.events) > 0
		closing := w.closing
		now := w.flushReq || closing || len(w.runs) >= w.o.BatchSize
		w.mu.Unlock()
		if closing && !pending {
			return
		}
		if !now {
			if pending && !armed {
				timer.Reset(w.o.FlushEvery)
				armed = true
			}
			select {
			case <-w.wake:
				continue // look again: the batch may be full now
			case <-timer.C:
				armed = false
			case <-ctx.Done():
				return
			}
		}
		if armed {
			timer.Stop()
			armed = false
		}
		if !w.drain(ctx) {
			return
		}
	}
}

// drain commits batches until the queue is empty; it returns false when ctx
// ended while commits were failing.
func (w *Writer) drain(ctx context.Context) bool {
	for {
		w.mu.Lock()
		w.flushReq = false
		var (
			runs []probe.Run
			evs  []state.Event
		)
		switch {
		case len(w.events) > 0 && w.events[0].after <= w.runBase:
			for _, pe := range w.events {
				if pe.after > w.runBase {
					break
				}
				evs = append(evs, pe.ev)
			}
		case len(w.runs) > 0:
			n := min(len(w.runs), w.o.BatchSize)
			if len(w.events) > 0 {
				n = min(n, int(w.events[0].after-w.runBase))
			}
			runs = w.runs[:n:n]
		default:
			w.mu.Unlock()
			return true
		}
		w.mu.Unlock()

		start := w.o.Clock.Now()
		var (
			done int
			bad  []Quarantined
			err  error
		)
		// One attempt is bounded on the wall clock, like the writer's other
		// waits.
		actx, cancel := context.WithTimeout(ctx, w.o.CommitTimeout)
		if len(evs) > 0 {
			var refused []refusal[state.Event]
			done, refused, err = commitSplit(actx, evs, w.s.AppendEvents)
			for _, r := range refused {
				bad = append(bad, Quarantined{Event: &r.item, Error: r.err.Error()})
			}
		} else {
			var refused []refusal[probe.Run]
			done, refused, err = commitSplit(actx, runs, w.s.AppendRuns)
			for _, r := range refused {
				bad = append(bad, Quarantined{Run: &r.item, Error: r.err.Error()})
			}
		}
		if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s: %w", w.o.CommitTimeout, err)
		}
		cancel()
		end := w.o.Clock.Now()
		if len(bad) > 0 {
			w.setAside(bad)
		}

		w.mu.Lock()
		if done > 0 {
			if len(evs) > 0 {
				w.events = w.events[done:]
				w.evBase += int64(done)
			} else {
				w.runs = w.runs[done:]
				w.runBase += int64(done)
				w.committed += int64(done - len(bad))
			}
			if len(w.runs) == 0 {
				w.runs = nil // let the backing array go
			}
			if len(w.runs)+len(w.events) > 0 {
				w.pendingAt = end
			}
			if done > len(bad) {
				w.lastOK = end
			}
			close(w.progress)
			w.progress = make(chan struct{})
		}
		if err != nil {
			w.failures++
			w.streak++
			w.lastErr = err.Error()
			first := w.streak == 1
			w.mu.Unlock()
			if first {
				if errors.Is(err, ErrSchemaNewer) {
					w.log.Error("store refuses to write: a newer slaprobe has migrated the database; upgrade this prober (results wait in memory)",
						"err", err, "retry_every", w.o.RetryEvery)
				} else {
					w.log.Error("store commit failed; retrying", "err", err, "retry_every", w.o.RetryEvery)
				}
			}
			t := time.NewTimer(w.o.RetryEvery)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
			continue
		}
		if w.streak > 0 {
			w.log.Info("store commits recovered", "failed_attempts", w.streak)
		}
		w.streak, w.lastErr = 0, ""
		w.mu.Unlock()
		if n := done - len(bad); len(runs) > 0 && n > 0 && w.o.OnCommit != nil {
			w.o.OnCommit(n, end.Sub(start))
		}
	}
}

// refusal is an item the store refused for good, and why.
type refusal[T any] struct {
	item T
	err  error
}

// commitSplit commits items; when the store refuses them for good
// (ErrRejected) it splits them in halves, and those halves again, until each
// refused item is alone. It returns how many leading items it dealt with
// (committed or refused), the refused ones, and the error that stopped it
// (nil when it dealt with all of them).
func commitSplit[T any](ctx context.Context, items []T, commit func(context.Context, []T) error) (int, []refusal[T], error) {
	err := commit(ctx, items)
	switch {
	case err == nil:
		return len(items), nil, nil
	case !errors.Is(err, ErrRejected):
		return 0, nil, err
	case len(items) == 1:
		return 1, []refusal[T]{{items[0], err}}, nil
	}
	h := len(items) / 2
	done, bad, err := commitSplit(ctx, items[:h], commit)
	if err != nil {
		return done, bad, err
	}
	done2, bad2, err := commitSplit(ctx, items[h:], commit)
	return h + done2, append(bad, bad2...), err
}

// setAside quarantines items: counts, logs, keeps and (with QuarantineFile)
// appends them to the file.
func (w *Writer) setAside(items []Quarantined) {
	now := w.o.Clock.Now()
	w.mu.Lock()
	for i := range items {
		items[i].At = now
		w.quarantined++
		n := w.quarantined
		if n <= 10 || n%1000 == 0 {
			args := []any{"err", items[i].Error, "quarantined", n}
			if r := items[i].Run; r != nil {
				args = append(args, "flow", r.Flow, "run", r.ID)
			}
			if e := items[i].Event; e != nil {
				args = append(args, "flow", e.Window.Flow, "event", e.Op)
			}
			if w.o.QuarantineFile != "" {
				args = append(args, "kept_in", w.o.QuarantineFile)
			}
			w.log.Error("store refuses an item for good: quarantined, not retried", args...)
		}
	}
	w.quarantine = append(w.quarantine, items...)
	if k := len(w.quarantine) - QuarantineKeep; k > 0 {
		w.quarantine = append([]Quarantined(nil), w.quarantine[k:]...)
	}
	w.mu.Unlock()
	if w.o.QuarantineFile == "" {
		return
	}
	w.qfile.Lock()
	defer w.qfile.Unlock()
	if err := appendJSONLines(w.o.QuarantineFile, items); err != nil {
		w.log.Error("cannot keep quarantined items in their file", "file", w.o.QuarantineFile, "err", err)
	}
}

func appendJSONLines(path string, items []Quarantined) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i := range items {
		if err := enc.Encode(&items[i]); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// Quarantined returns the last QuarantineKeep items the store refused for
// good, oldest first.
func (w *Writer) Quarantined() []Quarantined {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Quarantined(nil), w.quarantine...)
}

// Uncommitted returns, once Close has returned, the runs and events the
// writer did not commit, in the order it would have committed them (each
// event after the runs submitted before it): what WriteSpool keeps across a
// stop. (A batch whose commit failed may have been committed all the same:
// AppendRuns stores such a run once, and a repeated event changes no
// window.)
func (w *Writer) Uncommitted() []SpoolItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]SpoolItem, 0, len(w.runs)+len(w.events))
	evs := w.events
	for i := range w.runs {
		for len(evs) > 0 && evs[0].after <= w.runBase+int64(i) {
			out = append(out, SpoolItem{Event: &evs[0].ev})
			evs = evs[1:]
		}
		out = append(out, SpoolItem{Run: &w.runs[i]})
	}
	for i := range evs {
		out = append(out, SpoolItem{Event: &evs[i].ev})
	}
	return out
}
