package platform

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// pipe is one direction of an in-process stream: an in-memory byte queue,
// bounded to max bytes (a Write waits for room), with one extra: idle waits
// until the reader has consumed every byte and is blocked in Read again,
// waiting for more.
//
// That is the trick that keeps a replay deterministic with push delivery: a
// reader goroutine that drains a stream (the prober's) is, when idle returns,
// back at rest with every message it was sent already in its hands. The
// platform waits for that after each push (see drainKey), so a push made
// while serving a request has been received before that request's response
// leaves the platform, and a later step that looks for it finds it, whatever
// the goroutine scheduling. Ordinary writes (a WebSocket close reply, say)
// do not wait, so two sides that write at once never wait for each other.
type pipe struct {
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	max     int  // bytes queued beyond which Write waits for the reader
	waiting bool // the reader is blocked in Read with nothing queued
	rclosed bool // the reading side closed: writes fail
	wclosed bool // the writing side closed: reads drain, then EOF
	rdl     deadline
	wdl     deadline
}

func newPipe(max int) *pipe {
	p := &pipe{max: max}
	p.cond = sync.NewCond(&p.mu)
	p.rdl.cond, p.wdl.cond = p.cond, p.cond
	return p
}

// deadline is a settable deadline that wakes the pipe's waiters when it
// passes.
type deadline struct {
	cond  *sync.Cond
	at    time.Time
	timer *time.Timer
}

// set must be called with the pipe locked.
func (d *deadline) set(t time.Time) {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.at = t
	if !t.IsZero() {
		if wait := time.Until(t); wait > 0 {
			d.timer = time.AfterFunc(wait, func() {
				d.cond.L.Lock()
				d.cond.Broadcast()
				d.cond.L.Unlock()
			})
		}
	}
}

// passed must be called with the pipe locked.
func (d *deadline) passed() bool { return !d.at.IsZero() && !time.Now().Before(d.at) }

func (p *pipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		switch {
		case p.rclosed:
			return 0, io.ErrClosedPipe
		case p.wclosed:
			return 0, io.EOF
		case p.rdl.passed():
			return 0, os.ErrDeadlineExceeded
		}
		if len(b) == 0 {
			return 0, nil
		}
		p.waiting = true
		p.cond.Broadcast()
		p.cond.Wait()
	}
	p.waiting = false
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	if len(p.buf) == 0 {
		p.buf = nil
	}
	p.cond.Broadcast() // room for a waiting writer
	return n, nil
}

func (p *pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	written := 0
	for written < len(b) {
		switch {
		case p.rclosed || p.wclosed:
			return written, io.ErrClosedPipe
		case p.wdl.passed():
			return written, os.ErrDeadlineExceeded
		}
		if room := p.max - len(p.buf); room > 0 {
			n := min(room, len(b)-written)
			p.buf = append(p.buf, b[written:written+n]...)
			written += n
			p.cond.Broadcast()
			continue
		}
		p.cond.Wait()
	}
	return written, nil
}

// idle waits until the reader has consumed everything written and is
// blocked in Read again, or either side closed, or ctx is done.
func (p *pipe) idle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.rclosed || p.wclosed:
			return io.ErrClosedPipe
		case len(p.buf) == 0 && p.waiting:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		p.cond.Wait()
	}
}

// closeRead is the reader going away: pending and later writes fail.
func (p *pipe) closeRead() {
	p.mu.Lock()
	p.rclosed = true
	p.buf = nil
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeWrite is the writer going away: the reader gets what is queued, then
// io.EOF.
func (p *pipe) closeWrite() {
	p.mu.Lock()
	p.wclosed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipe) setReadDeadline(t time.Time) {
	p.mu.Lock()
	p.rdl.set(t)
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *pipe) setWriteDeadline(t time.Time) {
	p.mu.Lock()
	p.wdl.set(t)
	p.cond.Broadcast()
	p.mu.Unlock()
}

// pipeBytes bounds what one direction of an in-process stream queues.
const pipeBytes = 64 << 10

// memConn is one end of an in-process full-duplex connection made of two
// pipes. Closing either end closes the connection both ways, like a TCP
// reset.
type memConn struct {
	in, out     *pipe
	local, peer net.Addr
	closeOnce   *sync.Once
	onClose     func()
}

// memConnPair returns the client's and the server's ends of a connection.
func memConnPair(onClose func()) (client, server *memConn) {
	up, down := newPipe(pipeBytes), newPipe(pipeBytes) // client->server, server->client
	once := new(sync.Once)
	caddr, saddr := tcpAddr(inProcessAddr), tcpAddr("platform.in-process:0")
	client = &memConn{in: down, out: up, local: caddr, peer: saddr, closeOnce: once, onClose: onClose}
	server = &memConn{in: up, out: down, local: saddr, peer: caddr, closeOnce: once, onClose: onClose}
	return client, server
}

func (c *memConn) Read(b []byte) (int, error)  { return c.in.Read(b) }
func (c *memConn) Write(b []byte) (int, error) { return c.out.Write(b) }

// Close closes the connection both ways.
func (c *memConn) Close() error {
	first := false
	c.closeOnce.Do(func() { first = true })
	if !first {
		return nil
	}
	c.in.closeRead()   // the peer's writes fail
	c.out.closeWrite() // the peer reads what is queued, then io.EOF
	if c.onClose != nil {
		c.onClose()
	}
	return nil
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.peer }

func (c *memConn) SetDeadline(t time.Time) error {
	c.in.setReadDeadline(t)
	c.out.setWriteDeadline(t)
	return nil
}
func (c *memConn) SetReadDeadline(t time.Time) error  { c.in.setReadDeadline(t); return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { c.out.setWriteDeadline(t); return nil }

var _ net.Conn = (*memConn)(nil)
