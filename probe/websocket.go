package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/config"
)

// The websocket kind: a WebSocket handshake (github.com/coder/websocket,
// through the run's HTTP client: its transport, TLS settings and cookie
// jar), optional text frames sent after connecting, then one reader
// goroutine that queues every message for the await steps.

type wsStep struct {
	url          tmpl
	headers      []compiledHeader
	host         *tmpl
	subprotocols []string
	send         []tmpl
	replies      map[string][]byte // a message's text (trimmed) -> the frame that answers it
	status       []int
	limits       streamLimits
	expiry       *sessionExpiry
}

func compileWebSocket(s *config.Stream, e *config.Expect, sy *symbols) (*wsStep, error) {
	w := &wsStep{subprotocols: s.Subprotocols, limits: newStreamLimits(s), status: []int{101}}
	var err error
	if s.URL == "" {
		return nil, errors.New("websocket: no url")
	}
	if w.url, err = sy.compile(s.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if w.headers, w.host, err = compileHeaders(s.Headers, sy); err != nil {
		return nil, err
	}
	for i, f := range s.Send {
		t, err := sy.compile(f)
		if err != nil {
			return nil, fmt.Errorf("send[%d]: %w", i, err)
		}
		w.send = append(w.send, t)
	}
	for _, r := range s.Reply {
		if w.replies == nil {
			w.replies = make(map[string][]byte, len(s.Reply))
		}
		w.replies[strings.TrimSpace(r.To)] = []byte(r.Send)
	}
	if len(e.Status) > 0 {
		if w.status, err = compileStatus(e.Status); err != nil {
			return nil, err
		}
	}
	if w.expiry, err = compileExpiry(s.SessionExpired, sy); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *wsStep) attempt(ctx context.Context, rs *runState, cs *compiledStep) attempt {
	var a attempt
	u, h, host, fail := rs.streamTarget(&w.url, w.headers, w.host)
	if fail != "" {
		a.fail, a.fatal = fail, true
		return a
	}
	tr := &tracer{} // an attempt's own (see httpStep.attempt)
	tr.reset(rs.c)
	tr.proxy = proxyOf(rs.client.Transport)
	tr.to(handshakeRequest(u))
	// The library reads a refused handshake's body itself (its first 1 KiB)
	// and drops the read's error: cutBody notes it, so that a body cut short
	// says so, as a request's does, and gives no excerpt.
	hc, note := rs.client, new(bodyNote)
	hc.Transport = cutNoting{rt: rs.client.Transport, note: note}
	conn, resp, err := websocket.Dial(httptrace.WithClientTrace(ctx, tr.trace()), u, &websocket.DialOptions{
		HTTPClient:   &hc,
		HTTPHeader:   h,
		Host:         host,
		Subprotocols: w.subprotocols,
	})
	a.phases = tr.finish(resp != nil)
	var body []byte // a refused handshake's 429 or 503 (refusedBody)
	if resp != nil {
		a.status = resp.StatusCode
		if err != nil && resp.StatusCode != 101 {
			body, _, _ = refusedBody(resp) // what the library kept of a refused handshake's body (its first 1 KiB; never an error)
		}
		a.retryAfter = retryAfter(resp, body, rs.c.Now()) // a refused handshake's, as a request's
		rs.noteTLS(resp.TLS)
	}
	if err != nil {
		if resp != nil && resp.StatusCode != 101 {
			m := checkStatus(w.status, resp.StatusCode)
			if m == "" { // an expected status, but no WebSocket
				m = "status " + strconv.Itoa(resp.StatusCode) + ", no WebSocket"
			}
			// A 429's or 503's body was read for its retry_after_ms
			// (what the library kept of it): it says why too.
			if note.err != nil && checkStatus(w.status, resp.StatusCode) != "" {
				// As a request step's: the status first and what cut the
				// body after it, no excerpt of what came; a deadline's cut
				// reads "websocket handshake: status 503, want 101 (timeout
				// after 2s)" (see statusFirst), where the status was lost.
				a.statusFirst = "websocket handshake: " + m
				why := "read body: " + transportError(note.err)
				if note.err == errHandshakeBodyStalled {
					why = note.err.Error()
				}
				a.fail = a.statusFirst + " (" + why + ")"
			} else {
				// The library stops at 1 KiB: a body it did not read to
				// its end is not whole (no JSON document's excerpt).
				whole := note.ended || len(body) < maxRefusedBody
				a.fail = "websocket handshake: " + m + rs.excerptOf(body, whole, resp.Header, resp.StatusCode)
			}
			// A handshake behind a web session is sent to the login
			// form when the session has ended (302 to /accounts/login/),
			// as a page is: a refusal of the session, followed (the
			// form's 200) or not. Nothing was sent on it, but the
			// handshake is a GET that may act (/ws/subscribe?topic=):
			// a repeat: false one is tried again after the new login
			// only when the refusal answered it, as a request's (see
			// takenBy), not when a redirect answered it first.
			a.sentTo(rs.sessionPage(firstURL(resp), resp))
			if cs.noRepeat && (a.atLogin || refuses(resp.StatusCode)) {
				rs.markTaken(&a, resp)
			}
			return a
		}
		a.fail = "websocket: " + transportError(err)
		if ctx.Err() != nil {
			// Cut short by the step's or flow's deadline: say where the
			// handshake hung, as a request step does (a frozen hub:
			// "waiting for response headers from HOST:PORT").
			a.waiting = tr.waitingFor()
		}
		return a
	}
	if m := checkStatus(w.status, resp.StatusCode); m != "" {
		conn.CloseNow()
		a.fail = "websocket handshake: " + m
		return a
	}
	// The stream lives until the run ends, not just this step.
	sctx, cancel := context.WithCancel(rs.ctx)
	conn.SetReadLimit(w.limits.maxMessageBytes)
	st := &stream{
		inbox:  newInbox("stream "+cs.name, rs.c, w.limits.maxMessages, w.limits.maxBufferedBytes),
		cancel: cancel,
		conn:   func() { conn.CloseNow() },
		done:   make(chan struct{}),
		expiry: w.expiry,
	}
	rs.openStream(st)
	go readWebSocket(sctx, conn, st, w.limits.maxMessageBytes, w.replies)
	for i := range w.send {
		f, err := w.send[i].render(&rs.sc)
		if err != nil {
			a.fail, a.fatal = fmt.Sprintf("send[%d]: %v", i, err), true
			return a
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			a.fail = fmt.Sprintf("websocket send[%d]: %s", i, transportError(err))
			return a
		}
	}
	a.fail = rs.checkPayload(&cs.pay, nil, resp.Header, nil)
	return a
}

// readWebSocket queues every message of conn into st until the run closes
// the stream, the server closes it, or a limit is hit. A message that
// replies holds (a hub's application-level ping) is answered at once and
// not queued.
func readWebSocket(ctx context.Context, conn *websocket.Conn, st *stream, maxBytes int64, replies map[string][]byte) {
	defer close(st.done)
	var answer func([]byte) bool
	if len(replies) > 0 {
		answer = func(m []byte) bool {
			r, ok := replies[string(bytes.TrimSpace(m))]
			if ok {
				// A failed write shows as the read's error (the
				// connection is gone), which ends the stream.
				_ = conn.Write(ctx, websocket.MessageText, r)
			}
			return ok
		}
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code > 0 && ctx.Err() == nil {
				st.closeCode.Store(int32(code))
			}
			st.end(wsReadError(ctx, err, st.what, maxBytes))
			return
		}
		if err := deliverFrame(st, data, answer); err != nil {
			conn.CloseNow()
			return
		}
	}
}

// wsReadError says why a WebSocket stopped, briefly.
func wsReadError(ctx context.Context, err error, what string, maxBytes int64) error {
	if ctx.Err() != nil {
		return errStreamClosed
	}
	if st := websocket.CloseStatus(err); st != -1 {
		code := strconv.Itoa(int(st))
		// A code of the protocol's has a name; an application's (3000-4999:
		// Centrifugo's 3503 "force disconnect") has only its reason.
		if name := st.String(); !strings.HasPrefix(name, "StatusCode(") {
			code += " " + name
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) && ce.Reason != "" {
			return fmt.Errorf("%s: closed by the server (%s: %s)", what, code, ce.Reason)
		}
		if st == websocket.StatusMessageTooBig {
			return fmt.Errorf("%s: a message larger than %d bytes (max_message_bytes)", what, maxBytes)
		}
		return fmt.Errorf("%s: closed by the server (%s)", what, code)
	}
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return fmt.Errorf("%s: a message larger than %d bytes (max_message_bytes)", what, maxBytes)
	}
	return fmt.Errorf("%s: %s", what, transportError(err))
}

// deliverFrame queues the messages of a WebSocket frame: the frame, or,
// when it holds two or more JSON documents one per line, each of them.
// Centrifugo's JSON protocol (and others after it) writes the replies and
// pushes queued for a client at once into one frame, newline-separated, so a
// publication can share a frame with another one, a ping or a reply; taken
// as one message it is "not JSON" and never matches. A pretty-printed
// document, or any text that is not JSON line by line, stays one message.
// A message that answer (when not nil) answers is not queued, but counts
// against max_messages.
func deliverFrame(st *stream, data []byte, answer func([]byte) bool) error {
	body := bytes.TrimRight(data, " \t\r\n")
	if bytes.IndexByte(body, '\n') < 0 || !jsonLines(body) {
		if answer != nil && answer(data) {
			return st.tally()
		}
		return st.deliver(message{data: data})
	}
	for line := range bytes.Lines(body) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if answer != nil && answer(line) {
				if err := st.tally(); err != nil {
					return err
				}
				continue
			}
			if err := st.deliver(message{data: line}); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonLines reports whether every non-blank line of body is a JSON
// document.
func jsonLines(body []byte) bool {
	for line := range bytes.Lines(body) {
		if line = bytes.TrimSpace(line); len(line) > 0 && !json.Valid(line) {
			return false
		}
	}
	return true
}

// handshakeRequest is the request a WebSocket handshake to u goes out as
// (ws and wss dialled as http and https), for the tracer to name its target
// and the proxy that carries it; nil when u does not parse (Dial says so).
func handshakeRequest(u string) *http.Request {
	pu, err := url.Parse(u)
	if err != nil {
		return nil
	}
	c := *pu
	switch c.Scheme {
	case "ws":
		c.Scheme = "http"
	case "wss":
		c.Scheme = "https"
	}
	return &http.Request{Method: http.MethodGet, URL: &c, Host: c.Host}
}

// firstURL is the URL of the first request of the redirects that led to
// resp.
func firstURL(resp *http.Response) *url.URL {
	r := resp.Request
	for r.Response != nil && r.Response.Request != nil {
		r = r.Response.Request
	}
	return r.URL
}

// cutNoting is a RoundTripper whose answers other than a 101 note how their
// body's read ended (see bodyNote): the WebSocket library reads a refused
// handshake's body and drops that. A 101's body (the connection itself) is
// left as it is.
type cutNoting struct {
	rt   http.RoundTripper
	note *bodyNote
}

// bodyNote is how the read of a refused handshake's body ended: err, the
// first error other than io.EOF (a connection dropped, the request's
// context ended, errHandshakeBodyStalled); ended, at io.EOF (all of it
// read). Written by the reading goroutine, read after websocket.Dial
// returns.
type bodyNote struct {
	err   error
	ended bool
}

func (c cutNoting) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(req)
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != nil {
		resp.Body = &cutNotingBody{ReadCloser: resp.Body, note: c.note}
	}
	return resp, err
}

type cutNotingBody struct {
	io.ReadCloser
	note   *bodyNote
	closed atomic.Bool // the library closes it from its own timer's goroutine
}

func (b *cutNotingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.note.ended = true
	} else if err != nil && b.note.err == nil {
		b.note.err = err
		if b.closed.Load() { // closed under the read: the library's bound
			b.note.err = errHandshakeBodyStalled
		}
	}
	return n, err
}

// errHandshakeBodyStalled is a refused handshake's body the WebSocket
// library stopped reading after its own 3 s (within a step's longer
// timeout): said as is, after the status.
var errHandshakeBodyStalled = errors.New("timeout after 3s reading the body")

func (b *cutNotingBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}
