package probe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"syscall"

	"github.com/slaprobe/slaprobe/config"
)

// The sse kind: a GET (or another method) whose response is a
// text/event-stream, read by one goroutine that queues the data of every
// event (of the configured type, when one is set) for the await steps.
//
// The event-stream parser is this file's own, about 80 lines after the
// WHATWG HTML "server-sent events" parsing rules, rather than a library:
// the maintained Go SSE clients (tmaxmax/go-sse, r3labs/sse) reconnect by
// themselves, which would hide exactly the drop a probe must see, and they
// do not bound one event's size, which a probe facing a hostile target
// must. FuzzSSE checks it never panics and never returns more than the
// limit.

type sseStep struct {
	method  string
	url     tmpl
	headers []compiledHeader
	host    *tmpl
	event   string
	body    *tmpl // nil: none
	lines   bool  // format lines: any body, one message a line
	status  []int
	limits  streamLimits
	expiry  *sessionExpiry
}

func compileSSE(s *config.Stream, e *config.Expect, sy *symbols) (*sseStep, error) {
	st := &sseStep{method: s.Method, event: s.Event, limits: newStreamLimits(s), status: []int{200}}
	if st.method == "" {
		st.method = http.MethodGet
	}
	var err error
	if s.URL == "" {
		return nil, errors.New("sse: no url")
	}
	if st.url, err = sy.compile(s.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if st.headers, st.host, err = compileHeaders(s.Headers, sy); err != nil {
		return nil, err
	}
	if s.Body != "" {
		b, err := sy.compile(s.Body)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		st.body = &b
	}
	st.lines = s.Format == config.FormatLines
	if len(e.Status) > 0 {
		if st.status, err = compileStatus(e.Status); err != nil {
			return nil, err
		}
	}
	if st.expiry, err = compileExpiry(s.SessionExpired, sy); err != nil {
		return nil, err
	}
	return st, nil
}

func (s *sseStep) attempt(ctx context.Context, rs *runState, cs *compiledStep) attempt {
	var a attempt
	u, h, host, why := rs.streamTarget(&s.url, s.headers, s.host)
	if why != "" {
		a.fail, a.fatal = why, true
		return a
	}
	// The stream lives until the run ends; the step's deadline bounds only
	// the wait for the response headers.
	sctx, cancel := context.WithCancel(rs.ctx)
	stop := context.AfterFunc(ctx, cancel)
	var body io.Reader
	if s.body != nil {
		b, err := s.body.render(&rs.sc)
		if err != nil {
			stop()
			cancel()
			a.fail, a.fatal = "body: "+err.Error(), true
			return a
		}
		body = strings.NewReader(b)
	}
	tr := &tracer{} // an attempt's own (see httpStep.attempt)
	req, err := http.NewRequestWithContext(tr.with(sctx), s.method, u, body)
	if err != nil {
		stop()
		cancel()
		a.fail, a.fatal = fmt.Sprintf("bad url %q", u), true
		return a
	}
	req.Header = h
	if host != "" {
		req.Host = host
	}
	if req.Header["Accept"] == nil && !s.lines {
		req.Header["Accept"] = []string{"text/event-stream"}
	}
	req.Header["Cache-Control"] = []string{"no-cache"}
	if cs.noRepeat {
		unreplayable(req.Header) // a POST that acts: not sent again by Go's Transport
	}
	tr.reset(rs.c)
	tr.proxy = proxyOf(rs.client.Transport)
	tr.to(req)
	resp, err := rs.client.Do(req)
	a.phases = tr.finish(resp != nil)
	connected := stop() // false: the step's deadline already ended the stream
	if err != nil {
		cancel()
		a.fail = "sse: " + transportError(err)
		if ctx.Err() != nil {
			// Cut short by the step's or flow's deadline: say where it
			// hung, as a request step does.
			a.waiting = tr.waitingFor()
		}
		if cs.noRepeat && resp == nil && tr.unanswered() {
			a.fail += unansweredNote
		}
		return a
	}
	a.status = resp.StatusCode
	var refused []byte
	whole := true // refused is all of the body (not cut at its first 1 KiB)
	var cut error // what cut the refusal's body short, if anything did
	if connected && checkStatus(s.status, resp.StatusCode) != "" {
		// Refused: its retry_after_ms, read within the step's deadline
		// as a request's answer is (the stream is given up anyway).
		stopRead := context.AfterFunc(ctx, cancel)
		refused, whole, cut = refusedBody(resp)
		stopRead()
	}
	a.retryAfter = retryAfter(resp, refused, rs.c.Now()) // a refused handshake's, as a request's
	rs.noteTLS(resp.TLS)
	// A stream behind a web session is sent to the login form when the
	// session has ended (302 to /accounts/login/), as a page is: a
	// refusal of the session, followed (the form's 200 text/html) or not.
	page := rs.sessionPage(req.URL, resp)
	fail := func(m string) attempt {
		resp.Body.Close()
		cancel()
		a.fail = m
		a.sentTo(page)
		if cs.noRepeat && (a.atLogin || refuses(resp.StatusCode)) {
			rs.markTaken(&a, resp) // a POST's 303 to its stream: the 401 is the stream's, not the POST's
		}
		return a
	}
	if !connected {
		a.fail = "sse: timeout" // no answer: nothing refused
		resp.Body.Close()
		cancel()
		return a
	}
	if m := checkStatus(s.status, resp.StatusCode); m != "" {
		if cut != nil {
			// As a request step's: the status first and what cut the body
			// after it, no excerpt of a cut body (what came of it varies
			// with where the cut fell); a deadline's cut reads "sse: status
			// 503, want 200 (timeout after 2s)" (see statusFirst), where
			// the status was lost.
			a.statusFirst = "sse: " + m
			return fail(a.statusFirst + " (read body: " + transportError(cut) + ")")
		}
		// A 429's or 503's body was read for its retry_after_ms: it
		// says why too (no other refusal's is read).
		return fail("sse: " + m + rs.excerptOf(refused, whole, resp.Header, resp.StatusCode))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" && !s.lines {
		return fail(fmt.Sprintf("sse: content type %q, want text/event-stream", resp.Header.Get("Content-Type")))
	}
	if s.lines && page != "" && !rs.backFromSessionPage(resp) {
		// A lines stream checks no content type: the login form it was
		// sent to (200 text/html), or the identity provider's form that
		// one sent it on to, would pass for the stream.
		return fail("sse: answered by a page, not a stream")
	}
	st := &stream{
		inbox:  newInbox("stream "+cs.name, rs.c, s.limits.maxMessages, s.limits.maxBufferedBytes),
		cancel: cancel,
		conn:   func() { resp.Body.Close() },
		done:   make(chan struct{}),
		expiry: s.expiry,
	}
	rs.openStream(st)
	if resp.ProtoMajor == 1 && resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 {
		resp.Body = resetEnds{resp.Body}
	}
	src := &decodedBody{resp: resp}
	if s.lines {
		go readLines(sctx, src, st, s.limits.maxMessageBytes)
	} else {
		go readSSE(sctx, src, st, s.event, s.limits.maxMessageBytes)
	}
	a.fail = rs.checkPayload(&cs.pay, nil, resp.Header, nil)
	return a
}

// resetEnds is a close-delimited body (HTTP/1.x, no Content-Length, not
// chunked), which ends where its connection does: a reset (RST) there is its
// end as a close (FIN, io.EOF) is. The close read "the server ended the
// stream" and the reset "connection closed by server", two causes for one
// fault (behind a proxy that drops connections which one a run gets is
// chance), and a lines stream's last line without its end counted on the
// close and was dropped on the reset.
type resetEnds struct{ io.ReadCloser }

func (r resetEnds) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && errors.Is(err, syscall.ECONNRESET) {
		err = io.EOF
	}
	return n, err
}

// decodedBody reads a stream's body decoded as its Content-Encoding says
// (see decoded): a step that sends its own Accept-Encoding gets gzip, which
// Go's client leaves encoded. The decoder is made on the first read, in the
// stream's reader, as a gzip header may be slow to come.
type decodedBody struct {
	resp *http.Response
	r    io.Reader
}

func (d *decodedBody) Read(p []byte) (int, error) {
	if d.r == nil {
		r, err := decoded(d.resp)
		if err != nil {
			return 0, err
		}
		d.r = r
	}
	return d.r.Read(p)
}

// readSSE queues the data of every event of type event ("" any) until the
// run closes the stream, the server ends it, or a limit is hit.
func readSSE(ctx context.Context, body io.Reader, st *stream, event string, maxBytes int64) {
	defer close(st.done)
	p := newSSEParser(body, maxBytes)
	for {
		typ, data, err := p.next()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				st.end(errStreamClosed)
			case errors.Is(err, io.EOF):
				st.end(fmt.Errorf("%s: the server ended the stream", st.what))
			case errors.Is(err, errEventTooLarge):
				st.end(fmt.Errorf("%s: an event larger than %d bytes (max_message_bytes)", st.what, maxBytes))
			default:
				st.end(fmt.Errorf("%s: %s", st.what, transportError(err)))
			}
			return
		}
		if event != "" && typ != event {
			continue
		}
		if st.deliver(message{data: data}) != nil {
			return
		}
	}
}

// readLines queues every non-blank line of body (without its end: LF or
// CRLF) as a message, for format lines (newline-delimited JSON streamed
// over HTTP: Centrifugo's uni_http_stream), until the run closes the
// stream, the server ends it, or a limit is hit. The last line of a stream
// that ended cleanly (io.EOF: a chunked body's last chunk, or its
// Content-Length read) counts without an end of its own, as an HTTP
// streaming endpoint that writes {"id":...} and closes sends it; a line cut
// by a broken connection (a chunked body without its last chunk, a short
// Content-Length, a gzip stream cut short: io.ErrUnexpectedEOF, or a reset)
// is dropped. A close-delimited body ends at its connection's close or
// reset alike (see resetEnds), so its last line counts.
func readLines(ctx context.Context, body io.Reader, st *stream, maxBytes int64) {
	defer close(st.done)
	br := bufio.NewReaderSize(body, 4096)
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if int64(len(line)+len(chunk)) > maxBytes+2 { // the line end beside the data
			st.end(fmt.Errorf("%s: a line larger than %d bytes (max_message_bytes)", st.what, maxBytes))
			return
		}
		line = append(line, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			switch {
			case ctx.Err() != nil:
				st.end(errStreamClosed)
			case err == io.EOF:
				if len(bytes.TrimSpace(line)) > 0 {
					if int64(len(line)) > maxBytes {
						st.end(fmt.Errorf("%s: a line larger than %d bytes (max_message_bytes)", st.what, maxBytes))
						return
					}
					if st.deliver(message{data: bytes.Clone(line)}) != nil {
						return
					}
				}
				st.end(fmt.Errorf("%s: the server ended the stream", st.what))
			default:
				st.end(fmt.Errorf("%s: %s", st.what, transportError(err)))
			}
			return
		}
		data := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		line = line[:0]
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if int64(len(data)) > maxBytes {
			st.end(fmt.Errorf("%s: a line larger than %d bytes (max_message_bytes)", st.what, maxBytes))
			return
		}
		if st.deliver(message{data: bytes.Clone(data)}) != nil {
			return
		}
	}
}

var errEventTooLarge = errors.New("event too large")

// sseParser reads events from a text/event-stream: lines end with CRLF, LF
// or CR; "data:" lines are joined with newlines; "event:" sets the type
// (default "message"); comments (":") and the id and retry fields are
// ignored; a blank line dispatches a non-empty event; an event cut by the
// end of the stream is dropped. One event's data and any line are limited
// to max bytes.
type sseParser struct {
	br      *bufio.Reader
	max     int64
	line    []byte
	data    []byte
	typ     string
	started bool // the BOM check is done
	skipLF  bool // the last line ended with CR: a LF right after it is part of that end
}

func newSSEParser(r io.Reader, max int64) *sseParser {
	return &sseParser{br: bufio.NewReaderSize(r, 4096), max: max}
}

// next returns the next event's type and data (a fresh slice).
func (p *sseParser) next() (string, []byte, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return "", nil, err
		}
		if len(line) == 0 {
			if len(p.data) == 0 {
				p.typ = ""
				continue
			}
			data := make([]byte, len(p.data)-1) // without the last newline
			copy(data, p.data)
			typ := p.typ
			if typ == "" {
				typ = "message"
			}
			p.data, p.typ = p.data[:0], ""
			return typ, data, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		for i, c := range line {
			if c == ':' {
				field, value = line[:i], line[i+1:]
				if len(value) > 0 && value[0] == ' ' {
					value = value[1:]
				}
				break
			}
		}
		switch string(field) {
		case "data":
			if int64(len(p.data)+len(value)) > p.max {
				return "", nil, errEventTooLarge
			}
			p.data = append(p.data, value...)
			p.data = append(p.data, '\n')
		case "event":
			p.typ = string(value)
		}
	}
}

// readLine returns the next line without its end, valid until the next
// call.
func (p *sseParser) readLine() ([]byte, error) {
	p.line = p.line[:0]
	for {
		c, err := p.br.ReadByte()
		if err != nil {
			return nil, err
		}
		skip := p.skipLF
		p.skipLF = false
		switch c {
		case '\n':
			if skip {
				continue // the LF of a CRLF
			}
			return p.stripBOM(), nil
		case '\r':
			p.skipLF = true
			return p.stripBOM(), nil
		}
		if int64(len(p.line)) >= p.max+16 { // a field name and a colon beside the data
			return nil, errEventTooLarge
		}
		p.line = append(p.line, c)
	}
}

// stripBOM removes a UTF-8 byte order mark from the stream's first line.
func (p *sseParser) stripBOM() []byte {
	if !p.started {
		p.started = true
		if len(p.line) >= 3 && p.line[0] == 0xEF && p.line[1] == 0xBB && p.line[2] == 0xBF {
			return p.line[3:]
		}
	}
	return p.line
}
