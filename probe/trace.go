package probe

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// tracer measures the phases of one attempt with httptrace, on the run's
// clock, summing over redirects:
//
//   - resolve: DNS lookup
//   - connect: TCP connect
//   - tls: TLS handshake
//   - processing: request written -> first response byte
//   - transfer: first response byte -> body read (for a redirect hop, until
//     the next hop starts)
//
// Callbacks may come from the transport's dial goroutine, even after the
// attempt is over (a dial outlives a canceled request), hence the mutex and
// the active flag: after finish, callbacks do nothing. A tracer serves one
// attempt only (attempt makes a new one each time), so such late events can
// never land in a later attempt or run.
type tracer struct {
	c  clock.Clock
	ct *httptrace.ClientTrace

	mu                                  sync.Mutex
	p                                   Phases
	dns, conn, tlsStart, wrote, firstAt time.Time
	begin                               time.Time     // the attempt's start
	host                                string        // the hop's host:port (GetConn: the proxy's, when one carries it), for waiting
	req                                 *http.Request // the hop's request (see to), for waiting
	// proxy is the transport's Proxy (nil: none), which says of the hop's
	// request whether a proxy carries it: then waiting names the target,
	// and the proxy (host) after it.
	proxy        func(*http.Request) (*url.URL, error)
	resolving    string // the name being resolved (DNSStart)
	writing      bool   // the hop has a connection (or is getting one) and has not sent its request whole
	open         phase  // the phase still open when the attempt finished (see finish, waitingFor)
	dialing      int    // dials started and not done (connectStart)
	sawFirstByte bool
	sent         bool      // the last request went out whole and no byte of an answer to it has come
	taken        bool      // a redirect other than a 307 or 308 answered the attempt's request (see redirected)
	active       bool      // between reset and finish
	node         tracerCtx // the attempt's context with the tracer in it (with)
}

// trace returns the ClientTrace, built once per tracer.
func (t *tracer) trace() *httptrace.ClientTrace {
	if t.ct == nil {
		t.ct = &httptrace.ClientTrace{
			GetConn:              t.getConn,
			DNSStart:             t.dnsStart,
			DNSDone:              t.dnsDone,
			ConnectStart:         t.connectStart,
			ConnectDone:          t.connectDone,
			TLSHandshakeStart:    t.tlsHandshakeStart,
			TLSHandshakeDone:     t.tlsHandshakeDone,
			WroteRequest:         t.wroteRequest,
			GotFirstResponseByte: t.gotFirstResponseByte,
		}
	}
	return t.ct
}

// reset starts an attempt.
func (t *tracer) reset(c clock.Clock) {
	t.mu.Lock()
	t.c, t.active = c, true
	t.begin, t.sawFirstByte, t.sent, t.taken = c.Now(), false, false, false
	t.host, t.resolving, t.writing, t.open, t.req, t.dialing = "", "", false, noPhase, nil, 0
	t.p = Phases{}
	t.dns, t.conn, t.tlsStart, t.wrote, t.firstAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	t.mu.Unlock()
}

// lockActive locks t and reports whether the attempt is under way (between
// reset and finish); if not, it unlocks t again: a callback that comes late
// does nothing.
func (t *tracer) lockActive() bool {
	t.mu.Lock()
	if !t.active {
		t.mu.Unlock()
		return false
	}
	return true
}

// getConn starts a hop; the previous hop's transfer ends here.
func (t *tracer) getConn(hostPort string) {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	t.host, t.writing = hostPort, true
	closePhase(&t.p.Transfer, &t.firstAt, now)
	t.mu.Unlock()
}

func (t *tracer) dnsStart(info httptrace.DNSStartInfo) {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	t.dns, t.resolving = now, info.Host
	t.mu.Unlock()
}

func (t *tracer) dnsDone(httptrace.DNSDoneInfo) {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	closePhase(&t.p.Resolve, &t.dns, now)
	t.mu.Unlock()
}

// connectStart: with several addresses dialled in parallel, connecting
// lasts from the first start to the first that connects, or to the last
// that fails: a dual-stack host's IPv6 address refused while its IPv4 one,
// started 300 ms after it, still dials is still connecting.
func (t *tracer) connectStart(string, string) {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	if t.conn.IsZero() {
		t.conn = now
	}
	t.dialing++
	t.mu.Unlock()
}

func (t *tracer) connectDone(_, _ string, err error) {
	if !t.lockActive() {
		return
	}
	if t.dialing > 0 {
		t.dialing--
	}
	if err != nil && t.dialing > 0 {
		t.mu.Unlock()
		return // another address still dials
	}
	t.dialing = 0
	now := t.c.Now()
	closePhase(&t.p.Connect, &t.conn, now)
	t.mu.Unlock()
}

func (t *tracer) tlsHandshakeStart() {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	t.tlsStart = now
	t.mu.Unlock()
}

func (t *tracer) tlsHandshakeDone(tls.ConnectionState, error) {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	closePhase(&t.p.TLS, &t.tlsStart, now)
	t.mu.Unlock()
}

func (t *tracer) wroteRequest(info httptrace.WroteRequestInfo) {
	if !t.lockActive() {
		return
	}
	t.writing = false
	if !t.firstAt.IsZero() {
		// Its answer has begun already: HTTP/2's writer reports the
		// request written after the server answered it, when the read
		// loop's GotFirstResponseByte ran first. The wait for the answer
		// is over (a body that then stalls is a stalled body).
		t.mu.Unlock()
		return
	}
	t.wrote = t.c.Now()
	t.sent = info.Err == nil
	t.mu.Unlock()
}

func (t *tracer) gotFirstResponseByte() {
	if !t.lockActive() {
		return
	}
	now := t.c.Now()
	closePhase(&t.p.Processing, &t.wrote, now)
	t.firstAt, t.sawFirstByte, t.sent = now, true, false
	t.mu.Unlock()
}

// tracerKey keys an attempt's tracer in its request's context (see
// tracer.with), where checkRedirect finds it.
type tracerKey struct{}

// with returns ctx with the tracer's ClientTrace and the tracer itself, for
// runState.checkRedirect to note the redirects it follows: the request of
// each hop (to), and for a step whose unanswered request says so (repeat:
// false: see unanswered), the redirect's status.
// The tracer holds the context node that carries it (node), so that this
// costs no allocation of its own: with context.WithValue it cost one a
// step. A tracer is an attempt's, with called once.
func (t *tracer) with(ctx context.Context) context.Context {
	t.node = tracerCtx{ctx, t}
	return httptrace.WithClientTrace(&t.node, t.trace())
}

// tracerCtx is a context that carries a tracer under tracerKey and is ctx
// for everything else (its Done, Err and Value: context's own cancel
// propagation finds ctx's through Value, so deriving from it starts no
// goroutine).
type tracerCtx struct {
	context.Context
	t *tracer
}

func (c *tracerCtx) Value(key any) any {
	if _, ok := key.(tracerKey); ok {
		return c.t
	}
	return c.Context.Value(key)
}

// redirected notes a redirect the client follows: a 307 or 308 sends the
// request on, method and body; any other answered it (Go follows it with a
// GET).
func (t *tracer) redirected(code int) {
	t.mu.Lock()
	if code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect {
		t.taken = true
	}
	t.mu.Unlock()
}

// unanswered reports whether the attempt's request (or the one a 307 or 308
// sent on) went out whole and no byte of an answer to it came before the
// attempt failed (its keep-alive connection closed: a crash, a proxy):
// whether the target acted on it is unknown.
func (t *tracer) unanswered() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sent && !t.taken
}

// finish ends the attempt (its body is read) and returns the phases. When a
// response came through a transport that reports no trace events (an
// in-process one, as in the demo), the whole attempt counts as processing.
// A phase still open when the attempt ends (a timeout or a cancel while
// resolving, connecting, in the TLS handshake, or waiting for the answer to
// a request sent whole) counts up to now: a frozen server, which the kernel
// still connects to, hangs the attempt in processing, and a firewall that
// drops the SYN hangs it in connect, where both read 0 before and the time
// the attempt waited was in no phase.
func (t *tracer) finish(gotResponse bool) Phases {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.active {
		return t.p
	}
	t.active = false
	now := t.c.Now()
	if gotResponse && !t.sawFirstByte && t.p == (Phases{}) {
		t.p.Processing = now.Sub(t.begin)
		return t.p
	}
	t.open = t.openPhase(gotResponse)
	closePhase(&t.p.Resolve, &t.dns, now)
	closePhase(&t.p.Connect, &t.conn, now)
	closePhase(&t.p.TLS, &t.tlsStart, now)
	closePhase(&t.p.Processing, &t.wrote, now)
	closePhase(&t.p.Transfer, &t.firstAt, now)
	return t.p
}

// closePhase counts a phase still open (begun at *began, not zero) up to
// now into *d, and closes it.
func closePhase(d *time.Duration, began *time.Time, now time.Time) {
	if !began.IsZero() {
		*d += now.Sub(*began)
		*began = time.Time{}
	}
}

// to notes the request of the hop about to go out (the attempt's, then
// each redirect's), whose target waiting names when a proxy carries it.
func (t *tracer) to(req *http.Request) {
	t.mu.Lock()
	t.req = req
	t.mu.Unlock()
}

// phase is what an attempt was doing when it finished (openPhase).
type phase uint8

const (
	noPhase phase = iota
	resolving
	connecting
	handshaking
	awaitingHeaders
	readingHeaders
	readingBody
	sending
)

// openPhase is the phase still open when the attempt ends (see finish):
// noPhase when none is (the answer came, or the attempt failed by itself: a
// refused connection). t.mu held.
func (t *tracer) openPhase(gotResponse bool) phase {
	switch {
	case !t.dns.IsZero():
		return resolving
	case !t.conn.IsZero():
		return connecting
	case !t.tlsStart.IsZero():
		return handshaking
	case !t.wrote.IsZero():
		return awaitingHeaders
	case !t.firstAt.IsZero() && !gotResponse:
		return readingHeaders
	case !t.firstAt.IsZero():
		// The body's reading (finish(true) follows it, whether it
		// ended or not: the caller asks only of one cut short).
		return readingBody
	case t.writing && t.host != "":
		return sending
	}
	return noPhase
}

// waitingFor says what the finished attempt still waited for, from the
// phase still open (openPhase): "resolving NAME", "connecting to
// HOST:PORT", "in the TLS handshake with HOST:PORT", "sending the request
// to HOST:PORT", "waiting for response headers from HOST:PORT", "reading
// the response headers from HOST:PORT", "reading the body from HOST:PORT"
// (the step adds how much of it came); "" when none was open. Through a
// proxy, HOST:PORT is the target and "via proxy PROXY:PORT" follows it:
// before, a frozen target behind a healthy proxy read "waiting for response
// headers from proxy.corp:3128", as if the proxy hung (resolving names the
// name looked up, the proxy's). Said only of an attempt cut short, so the
// text and the proxy's lookup cost nothing to one that is not.
func (t *tracer) waitingFor() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open == resolving {
		return "resolving " + t.resolving
	}
	at := t.host
	if t.proxy != nil && t.req != nil && at != "" {
		if pu, err := t.proxy(t.req); err == nil && pu != nil {
			at = targetAddr(t.req.URL) + " via proxy " + at
		}
	}
	switch t.open {
	case connecting:
		return "connecting to " + at
	case handshaking:
		return "in the TLS handshake with " + at
	case awaitingHeaders:
		return "waiting for response headers from " + at
	case readingHeaders:
		return "reading the response headers from " + at
	case readingBody:
		return "reading the body from " + at
	case sending:
		return "sending the request to " + at
	}
	return ""
}

// targetAddr is u's host:port, the port the scheme's when u has none.
func targetAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
