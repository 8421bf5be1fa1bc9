package platform

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Transport returns an http.RoundTripper that calls the platform in process,
// without sockets, whatever the request URL's host. It honours the request
// context (a done context fails the round trip with its error), carries the
// context's clock to the platform, and turns a down fault into a
// *net.OpError wrapping syscall.ECONNREFUSED, as a refused dial would.
//
// Streams work in process too: a WebSocket upgrade answers 101 with a body
// that is the connection (an io.ReadWriteCloser, which is what
// github.com/coder/websocket's Dial wants from a custom HTTP client), and a
// request that accepts text/event-stream gets its response as soon as the
// handler flushes the headers, with a body that streams. Both run over
// in-memory pipes whose writes return only once the client has read
// everything and is waiting for more (see pipe), so a push made while a
// request is served has been received before that request's response is
// returned. Cancelling the request context ends an event stream, as over a
// socket; an upgraded connection lives until either side closes it.
func (p *Platform) Transport() http.RoundTripper { return transport{p.mux} }

// HandlerTransport returns an http.RoundTripper that serves every request
// with h in process, with the same semantics as [Platform.Transport]. The demo
// gives the platform one for its webhook callbacks, so that a callback reaches
// the prober's webhook listener in the same virtual instant, without sockets.
func HandlerTransport(h http.Handler) http.RoundTripper { return transport{h} }

type transport struct{ h http.Handler }

// tcpAddr is the net.Addr of a refused dial: the request URL's host.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

func refused(host string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: tcpAddr(host),
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// serverRequest is req as a server would see it, with ctx.
func serverRequest(req *http.Request, ctx context.Context) *http.Request {
	sr := req.Clone(ctx)
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = inProcessAddr
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	if req.Body == nil {
		sr.Body = http.NoBody
	}
	if sr.Proto == "" {
		sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	}
	return sr
}

// streaming reports whether req asks for a response that does not end when
// the handler has written it: a WebSocket upgrade or an event stream.
func streaming(req *http.Request) bool {
	return headerHasToken(req.Header, "Upgrade", "websocket") ||
		strings.Contains(strings.ToLower(req.Header.Get("Accept")), "text/event-stream")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if streaming(req) {
		return t.stream(req)
	}
	if req.Body != nil {
		defer req.Body.Close()
	}
	var down bool
	sr := serverRequest(req, context.WithValue(ctx, downKey{}, &down))
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, sr)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if down {
		return nil, refused(req.URL.Host)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.header.Get("Content-Type") == "" && rec.body.Len() > 0 {
		rec.header.Set("Content-Type", http.DetectContentType(rec.body.Bytes()))
	}
	rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// stream serves a streaming request on its own goroutine and returns the
// response once the handler has committed to one: flushed or written (an
// event stream, or any ordinary answer), hijacked (an upgrade), or returned.
func (t transport) stream(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// The handler's context keeps the request's values (the run's clock)
	// but not its cancellation: a stream outlives the dial's context. It
	// ends when the client closes the body or the connection.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var down bool
	w := newStreamWriter(cancel)
	sctx = context.WithValue(sctx, drainKey{}, w.drain)
	sr := serverRequest(req, context.WithValue(sctx, downKey{}, &down))
	go func() {
		defer w.finish()
		t.h.ServeHTTP(w, sr)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		cancel()
		w.abort()
		return nil, ctx.Err()
	}
	if down {
		cancel()
		return nil, refused(req.URL.Host)
	}
	resp := &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		ContentLength: -1,
		Request:       req,
	}
	if w.conn != nil {
		resp.Body = w.conn // the client's end of the upgraded connection
		return resp, nil
	}
	body := &streamBody{p: w.body, cancel: cancel}
	// As over a socket, the request's context bounds reading the body.
	body.stop = context.AfterFunc(ctx, func() { body.Close() })
	resp.Body = body
	return resp, nil
}

// streamBody is the client's side of a streamed response.
type streamBody struct {
	p      *pipe
	cancel context.CancelFunc
	stop   func() bool
}

func (b *streamBody) Read(p []byte) (int, error) { return b.p.Read(p) }

func (b *streamBody) Close() error {
	b.p.closeRead()
	b.cancel()
	if b.stop != nil {
		b.stop()
	}
	return nil
}

// streamWriter is the in-process http.ResponseWriter of a streaming request.
// It is an http.Flusher and an http.Hijacker.
type streamWriter struct {
	header http.Header
	body   *pipe
	cancel context.CancelFunc

	mu      sync.Mutex
	aborted bool
	ready   chan struct{} // closed when the response is committed
	status  int           // set before ready is closed
	sent    http.Header   // the header as committed
	conn    *memConn      // the client's end, when hijacked
}

func newStreamWriter(cancel context.CancelFunc) *streamWriter {
	return &streamWriter{header: http.Header{}, body: newPipe(pipeBytes), cancel: cancel, ready: make(chan struct{})}
}

func (w *streamWriter) Header() http.Header { return w.header }

// WriteHeader records the status; informational codes other than 101 are
// not a response.
func (w *streamWriter) WriteHeader(code int) {
	if w.committed() || w.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		return
	}
	w.status = code
}

func (w *streamWriter) committed() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

// commit makes the response visible to the client, once; w.mu is held.
func (w *streamWriter) commitLocked(conn *memConn) {
	if w.committed() {
		return
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.sent = w.header.Clone()
	w.conn = conn
	close(w.ready)
}

func (w *streamWriter) commit() {
	w.mu.Lock()
	w.commitLocked(nil)
	w.mu.Unlock()
}

func (w *streamWriter) Write(b []byte) (int, error) {
	w.commit()
	if w.conn != nil {
		return 0, http.ErrHijacked
	}
	return w.body.Write(b)
}

// Flush commits the response headers.
func (w *streamWriter) Flush() { w.commit() }

// Hijack hands the handler its end of an in-memory connection; the client
// gets the other end as the response body.
func (w *streamWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed() || w.aborted {
		return nil, nil, errors.New("platform: hijack after the response was written or abandoned")
	}
	client, server := memConnPair(w.cancel)
	w.commitLocked(client)
	// Small buffers: pushes are a few hundred bytes, and a replay opens a
	// stream per run.
	return server, bufio.NewReadWriter(bufio.NewReaderSize(server, 1024), bufio.NewWriterSize(server, 1024)), nil
}

// finish is the handler returning: the response is complete.
func (w *streamWriter) finish() {
	w.commit()
	if w.conn == nil {
		w.body.closeWrite()
		w.cancel()
	}
}

// drain waits until the client has read everything the handler wrote and
// is waiting for more (pipe.idle).
func (w *streamWriter) drain(ctx context.Context) error {
	w.mu.Lock()
	conn := w.conn
	w.mu.Unlock()
	if conn != nil {
		return conn.in.idle(ctx) // the client's end reads what the handler writes
	}
	return w.body.idle(ctx)
}

// drainKey marks the context of a streaming request served in process with
// its drain function: a handler that pushes calls it after each push.
type drainKey struct{}

// drainOf returns the drain function of a request served in process, or
// nil over a socket.
func drainOf(ctx context.Context) func(context.Context) error {
	f, _ := ctx.Value(drainKey{}).(func(context.Context) error)
	return f
}

// abort is the client giving up before the response: the handler's writes
// fail from now on, and a connection it hijacked is closed.
func (w *streamWriter) abort() {
	w.mu.Lock()
	w.aborted = true
	conn := w.conn
	w.mu.Unlock()
	w.body.closeRead()
	if conn != nil {
		conn.Close()
	}
}

// recorder is the in-process http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
