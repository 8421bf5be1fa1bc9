package probe

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// message is what an await step matches: one stream message or one webhook
// callback, stamped with its arrival time on the run's clock.
type message struct {
	data   []byte
	at     time.Time
	method string      // webhook callbacks only
	header http.Header // webhook callbacks only
}

// inbox holds what arrived for a run's awaits, in arrival order, within
// limits: a source (a stream's reader goroutine, the webhook handler)
// delivers, the run's awaits take. Delivering never blocks: past a limit the
// inbox fails and keeps what it has, and the awaits report the failure once
// they have looked at what arrived before it.
type inbox struct {
	what     string // "stream subscribe", "webhook callbacks": for messages
	c        clock.Clock
	maxCount int   // messages over the inbox's life
	maxBytes int64 // bytes waiting for an await
	notify   chan struct{}

	mu       sync.Mutex
	queue    []message // queue[head:] are waiting
	head     int
	bytes    int64 // waiting
	received int
	dropped  int   // deliveries refused after a failure
	err      error // why the source stopped; nil while it runs
}

func newInbox(what string, c clock.Clock, maxCount int, maxBytes int64) *inbox {
	return &inbox{what: what, c: c, maxCount: maxCount, maxBytes: maxBytes, notify: make(chan struct{}, 1)}
}

// deliver stamps m with the run clock's time and queues it. It returns an
// error when a limit refuses it; the inbox has then failed with that error.
func (b *inbox) deliver(m message) error { return b.deliverThen(m, nil) }

// deliverThen is deliver that calls queued (when not nil) once m is queued,
// before any await can see it: a count kept there is never behind what an
// await has taken.
func (b *inbox) deliverThen(m message, queued func()) error {
	m.at = b.c.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		b.dropped++
		return b.err
	}
	b.received++
	switch {
	case b.maxCount > 0 && b.received > b.maxCount:
		b.err = fmt.Errorf("%s: more than %d messages (max_messages)", b.what, b.maxCount)
	case b.maxBytes > 0 && b.bytes+int64(len(m.data)) > b.maxBytes:
		b.err = fmt.Errorf("%s: more than %d bytes waiting for an await (max_buffered_bytes)", b.what, b.maxBytes)
	}
	if b.err != nil {
		b.dropped++
		b.signal()
		return b.err
	}
	b.queue = append(b.queue, m)
	b.bytes += int64(len(m.data))
	if queued != nil {
		queued()
	}
	b.signal()
	return nil
}

// tally counts a message the source handled itself (a ping the stream
// answered) against maxCount, without queueing it: a source that floods
// such messages is bounded like any other. It returns the inbox's error
// once it has failed.
func (b *inbox) tally() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		b.dropped++
		return b.err
	}
	b.received++
	if b.maxCount > 0 && b.received > b.maxCount {
		b.err = fmt.Errorf("%s: more than %d messages (max_messages)", b.what, b.maxCount)
		b.dropped++
		b.signal()
		return b.err
	}
	return nil
}

// end records why the source stopped (nil: it was closed by the run).
func (b *inbox) end(err error) {
	b.mu.Lock()
	if b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	b.signal()
}

func (b *inbox) signal() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// take returns the oldest message not yet taken; when there is none, ok is
// false and err says whether the source has stopped.
func (b *inbox) take() (m message, ok bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head == len(b.queue) {
		return message{}, false, b.err
	}
	m = b.queue[b.head]
	b.queue[b.head] = message{}
	b.head++
	switch {
	case b.head == len(b.queue):
		b.queue, b.head = b.queue[:0], 0
	case b.head > 64 && 2*b.head > len(b.queue):
		n := copy(b.queue, b.queue[b.head:])
		clear(b.queue[n:])
		b.queue, b.head = b.queue[:n], 0
	}
	b.bytes -= int64(len(m.data))
	return m, true, nil
}

// pending is the number of messages not yet taken.
func (b *inbox) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue) - b.head
}
