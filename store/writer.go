package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Logger     *slog.Logger  // default: discard
	Clock      clock.Clock   // for LastCommit and Stuck (default: clock.Real)
	// OnCommit, if set, is called after each committed batch of runs with
	// its size and how long the commit took (for metrics).
	OnCommit func(runs int, d time.Duration)
}

// StuckAfter is how long a Writer may hold data without a successful commit
// before Stats reports it stuck.
const StuckAfter = 30 * time.Second

// WriterStats is a Writer's health.
type WriterStats struct {
	Queued     int64 // runs waiting (including a batch being retried)
	Committed  int64 // runs committed since start
	Dropped    int64 // runs refused because the buffer was full
	Failures   int64 // failed commit attempts
	LastCommit time.Time
	LastError  string // of the last failed attempt, "" after a success
	Stuck      bool   // data waiting and no successful commit for StuckAfter
}

// Writer batches runs and events into a Store from one goroutine, so that
// the probes never wait for the database. Runs are committed in batches of
// BatchSize or every FlushEvery; when commits fail (database locked, disk
// full) the batch is kept and retried every RetryEvery while new runs queue
// up to Buffer, beyond which they are dropped and counted. Events are never
// dropped, and commit in order with the runs submitted before them.
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
	failures  int64
	streak    int64 // failures since the last success
	lastOK    time.Time
	lastErr   string
	started   time.Time
	progress  chan struct{} // closed and replaced on every commit
	flushReq  bool
	closing   bool
	pendingAt time.Time // when the oldest uncommitted item arrived (zero: none)

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
// full and some of them were dropped (and counted).
func (w *Writer) Submit(runs ...probe.Run) bool {
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

// SubmitEvents queues state events. They are never dropped.
func (w *Writer) SubmitEvents(evs ...state.Event) {
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
	st := WriterStats{Queued: int64(len(w.runs)), Committed: w.runBase, Dropped: w.dropped, Failures: w.failures,
		LastCommit: w.lastOK, LastError: w.lastErr}
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
		var err error
		if len(evs) > 0 {
			err = w.s.AppendEvents(ctx, evs)
		} else {
			err = w.s.AppendRuns(ctx, runs)
		}
		end := w.o.Clock.Now()

		w.mu.Lock()
		if err != nil {
			w.failures++
			w.streak++
			w.lastErr = err.Error()
			first := w.streak == 1
			w.mu.Unlock()
			if first {
				w.log.Error("store commit failed; retrying", "err", err, "retry_every", w.o.RetryEvery)
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
		w.streak, w.lastErr, w.lastOK = 0, "", end
		if len(evs) > 0 {
			w.events = w.events[len(evs):]
			w.evBase += int64(len(evs))
		} else {
			w.runs = w.runs[len(runs):]
			w.runBase += int64(len(runs))
		}
		if len(w.runs) == 0 {
			w.runs = nil // let the backing array go
		}
		if len(w.runs)+len(w.events) > 0 {
			w.pendingAt = end
		}
		close(w.progress)
		w.progress = make(chan struct{})
		w.mu.Unlock()
		if len(runs) > 0 && w.o.OnCommit != nil {
			w.o.OnCommit(len(runs), end.Sub(start))
		}
	}
}
