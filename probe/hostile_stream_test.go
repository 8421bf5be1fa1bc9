package probe

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/slaprobe/slaprobe/config"
)

// Hostile stream targets (review of #9's websocket and sse kinds): each must
// be a failed step within the flow's timeout, never a hang, a leaked
// goroutine or memory that grows with what the server sends.

// noLeaks checks, when the test ends (after its servers closed: register
// it first), that no goroutine the test started is still running: the
// streams' readers, coder/websocket's, the transports'.
func noLeaks(t *testing.T) {
	t.Helper()
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	t.Cleanup(func() { goleak.VerifyNone(t, opts...) })
}

// rawWS serves a WebSocket handshake by hand and then hands the raw
// connection to fn, which can send what no well-behaved library would.
// fn returns when it is done with the connection; the connection is then
// held open until the client goes away (so the server never closes it
// first unless fn does).
func rawWS(t *testing.T, fn func(c net.Conn, w *bufio.Writer)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(h[:]) + "\r\n\r\n")
		rw.Flush()
		if fn != nil {
			fn(c, rw.Writer)
		}
		io.Copy(io.Discard, c) // until the client closes
	}))
	t.Cleanup(srv.Close)
	return srv
}

// wsURL is a test server's address as a ws:// URL.
func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// frameHeader is an unmasked server frame header: FIN, opcode text, length n.
func frameHeader(n uint64) []byte {
	switch {
	case n < 126:
		return []byte{0x81, byte(n)}
	case n <= 0xFFFF:
		b := []byte{0x81, 126, 0, 0}
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return b
	}
	b := []byte{0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(b[2:], n)
	return b
}

// hostileFlow: subscribe, then await a message on it; the flow's timeout
// is 1.5 s, the await's own 1 s.
func hostileFlow(sub config.Step) config.Flow {
	recv := config.Step{Name: "receive", Function: "receive", Timeout: time.Second,
		Await:  &config.Await{Stream: "subscribe"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
	sub.Timeout = 500 * time.Millisecond
	return config.Flow{Timeout: 1500 * time.Millisecond, Steps: []config.Step{sub, recv}}
}

// heapGrowth runs fn and returns how far the live heap rose above where it
// was before, at its peak (sampled every few milliseconds).
func heapGrowth(fn func()) int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := int64(ms.HeapAlloc)
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		peak := before
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, int64(m.HeapAlloc))
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	return <-done - before
}

// runBounded runs f once and checks it was bounded: it ended within the
// flow's timeout (with slack for a loaded machine: a hang goes far past
// it), and the heap never rose more than 32 MiB above where it was. That
// a server's own doing ended a step before its deadline is the error
// text's to say, not a clock's.
func runBounded(t *testing.T, f config.Flow) Run {
	t.Helper()
	var run Run
	var took time.Duration
	grew := heapGrowth(func() {
		start := time.Now()
		run = runOne(t, context.Background(), f, Options{})
		took = time.Since(start)
	})
	if bound := f.Timeout + 5*time.Second; took > bound {
		t.Errorf("the run took %v, want under %v", took, bound)
	}
	if grew > 32<<20 {
		t.Errorf("the heap grew by %d MiB at its peak", grew>>20)
	}
	return run
}

func TestHostileWebSocketServers(t *testing.T) {
	const limit = 64 << 10
	tests := []struct {
		name   string
		server func(t *testing.T) string // the stream's URL
		step   int                       // the step that fails
		err    string                    // its error, exactly
	}{
		{name: "never answers the upgrade", step: 0, err: "subscribe: timeout after 500ms waiting for response headers from ADDR",
			server: func(t *testing.T) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() { io.Copy(io.Discard, c); c.Close() }() // reads the request, never answers
					}
				}()
				return "ws://" + ln.Addr().String() + "/ws"
			}},
		{name: "2 GB frame header, then silence", step: 1,
			err: "receive: timeout after 1s: no message on stream subscribe",
			server: func(t *testing.T) string {
				return wsURL(rawWS(t, func(c net.Conn, w *bufio.Writer) {
					w.Write(frameHeader(2 << 30))
					w.WriteString(`{"id":`)
					w.Flush()
				}))
			}},
		{name: "2 GB frame header, then a flood of payload", step: 1,
			err: "receive: stream subscribe: a message larger than 65536 bytes (max_message_bytes): no message on stream subscribe",
			server: func(t *testing.T) string {
				return wsURL(rawWS(t, func(c net.Conn, w *bufio.Writer) {
					w.Write(frameHeader(2 << 30))
					chunk := make([]byte, 32<<10)
					for range (64 << 20) / len(chunk) { // stops when the client hangs up
						if _, err := w.Write(chunk); err != nil {
							return
						}
					}
					w.Flush()
				}))
			}},
		{name: "closes in the middle of a message", step: 1,
			err: "receive: stream subscribe: connection closed by server: no message on stream subscribe",
			server: func(t *testing.T) string {
				return wsURL(rawWS(t, func(c net.Conn, w *bufio.Writer) {
					w.Write(frameHeader(100))
					w.WriteString(`{"id":"m-1", "te`)
					w.Flush()
					c.Close()
				}))
			}},
		{name: "floods small frames", step: 1,
			err: "receive: stream subscribe: more than 500 messages (max_messages): none of 100-999 messages on stream subscribe matched; closest: $.id does not equal \"m-1\" (got \"m-0\")",
			server: func(t *testing.T) string {
				return wsURL(rawWS(t, func(c net.Conn, w *bufio.Writer) {
					msg := `{"id":"m-0"}`
					for range 1 << 20 { // stops when the client hangs up
						w.Write(frameHeader(uint64(len(msg))))
						if _, err := w.WriteString(msg); err != nil {
							return
						}
					}
					w.Flush()
				}))
			}},
		{name: "never closes, the message arrives", step: -1,
			server: func(t *testing.T) string {
				return wsURL(rawWS(t, func(c net.Conn, w *bufio.Writer) {
					msg := `{"id":"m-1"}`
					w.Write(frameHeader(uint64(len(msg))))
					w.WriteString(msg)
					w.Flush()
				}))
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			u := tc.server(t)
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				WebSocket: &config.Stream{URL: u, MaxMessageBytes: limit, MaxMessages: 500, MaxBufferedBytes: 4 * limit}})
			run := runBounded(t, f)
			if tc.step < 0 {
				for _, s := range run.Steps {
					wantStep(t, s, StatusOK, "")
				}
			} else {
				// ADDR: the server's host:port, where the step hung.
				wantStep(t, run.Steps[tc.step], StatusFailed, strings.ReplaceAll(tc.err, "ADDR", hostOf(u)))
			}
		})
	}
}

func TestWebSocketMessageAtTheLimit(t *testing.T) {
	// A message of exactly max_message_bytes is accepted.
	msg := `{"id":"m-1","pad":"` + strings.Repeat("x", 64-len(`{"id":"m-1","pad":""}`)) + `"}`
	srv := rawWS(t, func(c net.Conn, w *bufio.Writer) {
		w.Write(frameHeader(uint64(len(msg))))
		w.WriteString(msg)
		w.Flush()
	})
	f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
		WebSocket: &config.Stream{URL: wsURL(srv), MaxMessageBytes: int64(len(msg)), MaxBufferedBytes: 1024}})
	run := runOne(t, context.Background(), f, Options{})
	for _, s := range run.Steps {
		wantStep(t, s, StatusOK, "")
	}
}

// sseServer serves a text/event-stream whose body fn writes; the handler
// returns (ending the stream) when fn does and the client has gone, or at
// once when end is set.
func sseServer(t *testing.T, end bool, fn func(w io.Writer, fl func()) error) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		fl.Flush()
		if fn(w, fl.Flush) != nil || end {
			return
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHostileSSEServers(t *testing.T) {
	const limit = 64 << 10
	endless := func(piece string) func(w io.Writer, fl func()) error {
		return func(w io.Writer, fl func()) error {
			for range (64 << 20) / len(piece) { // 64 MiB, or until the client hangs up
				if _, err := io.WriteString(w, piece); err != nil {
					return err
				}
			}
			fl()
			return nil
		}
	}
	tests := []struct {
		name string
		end  bool
		body func(w io.Writer, fl func()) error
		err  string
	}{
		{name: "streams without newlines", body: endless(strings.Repeat("x", 4096)),
			err: "receive: stream subscribe: an event larger than 65536 bytes (max_message_bytes): no message on stream subscribe"},
		{name: "a 10 MB data line",
			body: func(w io.Writer, fl func()) error {
				io.WriteString(w, "data: ")
				endless(strings.Repeat("y", 4096))(w, fl)
				io.WriteString(w, "\n\n")
				return nil
			},
			err: "receive: stream subscribe: an event larger than 65536 bytes (max_message_bytes): no message on stream subscribe"},
		{name: "data lines that never end an event", body: endless("data: z\n"),
			err: "receive: stream subscribe: an event larger than 65536 bytes (max_message_bytes): no message on stream subscribe"},
		{name: "endless comments", body: endless(": keep-alive\n"),
			err: "receive: timeout after 1s: no message on stream subscribe"},
		{name: "closes in the middle of an event", end: true,
			body: func(w io.Writer, fl func()) error { io.WriteString(w, `data: {"id":"m-1"}`); fl(); return nil },
			err:  "receive: stream subscribe: the server ended the stream: no message on stream subscribe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			srv := sseServer(t, tc.end, tc.body)
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				SSE: &config.Stream{URL: srv.URL, MaxMessageBytes: limit, MaxBufferedBytes: 4 * limit}})
			run := runBounded(t, f)
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusFailed, tc.err)
		})
	}
	t.Run("never sends the headers", func(t *testing.T) {
		noLeaks(t)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		f := hostileFlow(config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL}})
		start := time.Now()
		run := runOne(t, context.Background(), f, Options{})
		wantStep(t, run.Steps[0], StatusFailed, "subscribe: timeout after 500ms waiting for response headers from "+hostOf(srv.URL))
		if took := time.Since(start); took > f.Timeout+5*time.Second {
			t.Errorf("the run took %v", took)
		}
	})
}

// hostOf is u's host:port.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Host
}
