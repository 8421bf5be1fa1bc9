package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// droppingServer answers each connection's first request with answer (the
// bytes of a response's head and part of its body, or none) and then drops
// the connection: with a FIN (a close) or, when reset says so of the n-th
// connection (from 0), an RST (SO_LINGER 0), after a short pause so that
// what it wrote is read first. It returns the server's host:port.
func droppingServer(t *testing.T, answer string, reset func(n int) bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rst := reset(n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				// The whole request head (a GET, or a handshake: no
				// body), so that a close is a FIN, not the RST of data
				// left unread.
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				if answer != "" {
					io.WriteString(c, answer)
					time.Sleep(100 * time.Millisecond)
				}
				if rst {
					c.(*net.TCPConn).SetLinger(0)
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// A connection the server side drops reads the same whether it was closed
// (FIN) or reset (RST): behind a proxy that drops connections, which one a
// run got was chance, and a window's cause flipped between "connection reset
// by peer" and "connection closed by server" from run to run (13 causes in
// 44 s, the cap of 32 soon reached), where both say one thing to a reader.
func TestDroppedConnectionReadsTheSameClosedOrReset(t *testing.T) {
	const cut200 = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"messages\":["
	for _, tc := range []struct {
		name   string
		answer string
		step   func(addr string) config.Step
		want   string
	}{
		{"request, before any answer", "", func(addr string) config.Step { return get("s", "http://"+addr+"/") },
			"s: connection closed by server"},
		{"request, a 200's body cut", cut200, func(addr string) config.Step { return get("s", "http://"+addr+"/") },
			"s: read body: connection closed by server"},
		{"websocket handshake", "", func(addr string) config.Step {
			return config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: "ws://" + addr + "/ws"}}
		}, "subscribe: websocket: connection closed by server"},
		{"sse, before any answer", "", func(addr string) config.Step {
			return config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: "http://" + addr + "/events"}}
		}, "subscribe: sse: connection closed by server"},
	} {
		for _, m := range []struct {
			name  string
			reset func(int) bool
		}{
			{"closed", func(int) bool { return false }},
			{"reset", func(int) bool { return true }},
			{"closed and reset by turns", func(n int) bool { return n%2 == 1 }},
		} {
			t.Run(tc.name+", "+m.name, func(t *testing.T) {
				addr := droppingServer(t, tc.answer, m.reset)
				cfg := testConfig(config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{tc.step(addr)}})
				r, err := NewRunner(cfg, Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(r.CloseIdle)
				for range 4 { // one cause: the same text each run
					run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
					wantStep(t, run.Steps[0], StatusFailed, tc.want)
				}
			})
		}
	}
}

// A refused status whose body is then cut says the status first, and what
// cut the body after it, as a body over max_body_bytes already did: a 503
// cut by a reset after its headers read "read body: connection reset by
// peer" alone, and one whose body stalled until the deadline "timeout after
// 500ms reading the body from ...", the 503 lost. A status that passed
// keeps the body's failure alone.
func TestCutBodySaysTheStatusFirst(t *testing.T) {
	const part = `{"errcode":"M_UNKNOWN","er`
	head := func(code int) string {
		return "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + part
	}
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, part)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(stalled.Close)
	stalledAddr := strings.TrimPrefix(stalled.URL, "http://")
	for _, tc := range []struct {
		name   string
		answer string // for a dropping server; "" the stalled one
		status []int
		poll   bool
		want   string // ADDR: the stalled server's
	}{
		{name: "503 cut", answer: head(503), want: "s: status 503, want 200-399 (read body: connection closed by server)"},
		{name: "503 cut, 503 expected", answer: head(503), status: []int{503}, want: "s: read body: connection closed by server"},
		{name: "200 cut", answer: head(200), want: "s: read body: connection closed by server"},
		{name: "401 cut, 200 or 201 expected", answer: head(401), status: []int{200, 201}, want: "s: status 401, want 200 or 201 (read body: connection closed by server)"},
		{name: "503 stalled to the step's timeout",
			want: "s: status 503, want 200-399 (timeout after 500ms reading the body from " + stalledAddr + " after " + strconv.Itoa(len(part)) + " bytes)"},
		{name: "503 stalled to a poll's within", poll: true,
			want: "s: expectation not met within 500ms: status 503, want 200-399 (timeout reading the body from " + stalledAddr + " after " + strconv.Itoa(len(part)) + " bytes)"},
	} {
		for _, reset := range []bool{false, true} {
			name := tc.name
			if tc.answer == "" {
				if reset {
					continue
				}
			} else if reset {
				name += ", reset"
			} else {
				name += ", closed"
			}
			t.Run(name, func(t *testing.T) {
				u := stalled.URL + "/"
				if tc.answer != "" {
					u = "http://" + droppingServer(t, tc.answer, func(int) bool { return reset }) + "/"
				}
				st := get("s", u)
				st.Expect.Status = tc.status
				if tc.poll {
					st.Poll = &config.Poll{Every: 100 * time.Millisecond, Within: 500 * time.Millisecond}
				} else if tc.answer == "" {
					st.Timeout = 500 * time.Millisecond
				}
				run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{st}}, Options{})
				wantStep(t, run.Steps[0], StatusFailed, tc.want)
			})
		}
	}
}

// A compressed body (a step that sends its own Accept-Encoding) dropped
// before its gzip header came whole reads as any dropped body: its error was
// Go's own ("read body: unexpected EOF" on a close, "read body: read tcp
// 127.0.0.1:PORT->...: connection reset by peer" on a reset, the local port
// in it), two causes for one fault.
func TestCompressedBodyDroppedReadsAsClosed(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 100\r\n\r\n\x1f\x8b"
	for _, m := range []struct {
		name  string
		reset func(int) bool
	}{
		{"closed", func(int) bool { return false }},
		{"reset", func(int) bool { return true }},
	} {
		t.Run(m.name, func(t *testing.T) {
			st := get("s", "http://"+droppingServer(t, head, m.reset)+"/")
			st.Request.Headers = map[string]string{"Accept-Encoding": "gzip"}
			run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{st}}, Options{})
			wantStep(t, run.Steps[0], StatusFailed, "s: read body: connection closed by server")
		})
	}
}

// The errors of a dropped connection as the transport returns them, each
// one wording: a close (EOF), a reset, a request written to a connection
// already closed (EPIPE: no listener makes that one on cue, so the errors
// are built as net/http and the dialer build them).
func TestDroppedConnectionWordings(t *testing.T) {
	op := func(o string, errno syscall.Errno) error {
		return &url.Error{Op: "Post", URL: "http://127.0.0.1:8000/api/publish", Err: &net.OpError{Op: o, Net: "tcp",
			Source: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 46400}, Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8000},
			Err: os.NewSyscallError(o, errno)}}
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"eof", &url.Error{Op: "Get", URL: "http://127.0.0.1:8000/", Err: io.EOF}},
		{"unexpected eof", io.ErrUnexpectedEOF},
		{"reset on read", op("read", syscall.ECONNRESET)},
		{"reset on write", op("write", syscall.ECONNRESET)},
		{"broken pipe", op("write", syscall.EPIPE)},
		{"websocket, reset", fmt.Errorf("failed to WebSocket dial: failed to send handshake request: %w", op("read", syscall.ECONNRESET))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := transportError(tc.err); got != "connection closed by server" {
				t.Errorf("transportError(%q) = %q, want %q", tc.err, got, "connection closed by server")
			}
		})
	}
}
