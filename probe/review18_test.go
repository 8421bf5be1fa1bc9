package probe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// TestQuotedMessageKeepsSecretsWhole: a failed await's quote of the last
// message never shows part of a secret: a message holding the secret
// several times shrinks when scrubbed, so the copy cut at the end of what
// was scrubbed (showLimit + the longest secret) moved into the shown 64
// bytes ("*** *** s3cr3t-kkkk"). A failed assertion's value (show) never
// cuts inside a string, and is checked alongside.
func TestQuotedMessageKeepsSecretsWhole(t *testing.T) {
	pw := "s3cr3t-" + strings.Repeat("k", 33) // 40 bytes
	for _, sep := range []string{" ", strings.Repeat(" ", 9), strings.Repeat(" ", 25)} {
		doc := fmt.Sprintf(`{"v":%q}`, strings.Repeat(pw+sep, 8))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stream" {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, doc+"\n")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, doc)
		}))
		t.Cleanup(srv.Close)
		for _, steps := range []string{
			`- {name: sub, function: f, sse: {url: "URL/stream", format: lines, headers: {X-Key: "${env:PW}"}}}
          - {name: recv, function: f, timeout: 2s, await: {stream: sub}, expect: {jsonpath: {"$.id": m-1}}}`,
			`- {name: get, function: f, request: {url: "URL/doc", headers: {X-Key: "${env:PW}"}}, expect: {jsonpath: {"$.v": nope}}}`,
		} {
			src := fmt.Sprintf("services:\n  - name: s\n    flows:\n      - name: fl\n        steps:\n          %s\n",
				strings.ReplaceAll(steps, "URL", srv.URL))
			run := runSecretConfig(t, src, pw)
			e := run.Steps[len(run.Steps)-1].Error
			if !strings.Contains(e, "(got ") {
				t.Errorf("separator %d: %s quotes nothing: %q", len(sep), steps[:10], e)
			}
			if strings.Contains(e, pw[:5]) {
				t.Errorf("separator %d: %s shows part of the secret: %q", len(sep), steps[:10], e)
			}
		}
	}
}

// TestLineStreamGzip: an sse step that asks for gzip itself (an
// Accept-Encoding header copied from a browser) reads the stream decoded,
// as a request step reads its body; it read the gzip bytes as lines or
// event-stream text, so no message ever matched.
func TestLineStreamGzip(t *testing.T) {
	for _, format := range []string{config.FormatLines, config.FormatSSE} {
		t.Run(format, func(t *testing.T) {
			noLeaks(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				msg := `{"id":"m-1"}` + "\n"
				if format == config.FormatSSE {
					msg = "data: " + msg + "\n"
				}
				io.WriteString(zw, msg)
				zw.Flush()
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			t.Cleanup(srv.Close)
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				SSE: &config.Stream{URL: srv.URL, Format: format, Headers: map[string]string{"Accept-Encoding": "gzip"}}})
			run := runBounded(t, f)
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusOK, "")
		})
	}
}

// chunked reads s in pieces whose sizes cycle through sizes (all >= 1), so
// a line crosses the reader's buffer and the server's writes anywhere.
type chunked struct {
	s     []byte
	sizes []byte
	i     int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.s) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%5000 + 1
		c.i++
	}
	n = min(n, len(p), len(c.s))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}

// wantLines is what readLines should queue of s: every line ended by LF
// or CRLF (without that end), blank ones aside, until one over maxBytes
// (too large; a blank one too, when over maxBytes and two bytes of end, as
// it is read before it is known blank); the last line, without an end,
// counts as it is when the stream ended cleanly (chunked's io.EOF).
func wantLines(s []byte, maxBytes int64) (msgs []string, tooLarge bool) {
	for {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			switch {
			case int64(len(s)) > maxBytes+2:
				return msgs, true
			case len(bytes.TrimSpace(s)) == 0:
				return msgs, false
			case int64(len(s)) > maxBytes:
				return msgs, true
			}
			return append(msgs, string(s)), false
		}
		if int64(i+1) > maxBytes+2 { // a blank line too: it is read before it is known blank
			return msgs, true
		}
		data := bytes.TrimSuffix(s[:i], []byte("\r"))
		s = s[i+1:]
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		if int64(len(data)) > maxBytes {
			return msgs, true
		}
		msgs = append(msgs, string(data))
	}
}

// FuzzLines: the lines reader of format lines never panics, queues exactly
// the lines of what it read (in any chunking), each within
// max_message_bytes, and ends with the limit's error or the server's end.
func FuzzLines(f *testing.F) {
	for _, s := range []string{"{\"a\":1}\n", "a\r\n\r\nb\n", "x", "\n\n\n", "a\rb\n", strings.Repeat("y", 70) + "\n", strings.Repeat("z", 5000) + "\nq\n", "\r\r\r\n", " \t\n", "é\n"} {
		f.Add([]byte(s), []byte{3, 200}, uint16(64))
		f.Add([]byte(s), []byte{}, uint16(4096))
	}
	f.Fuzz(func(t *testing.T, s, sizes []byte, max uint16) {
		maxBytes := int64(max%6000) + 1
		st := &stream{inbox: newInbox("stream s", clock.Real{}, 1<<20, 1<<30), done: make(chan struct{})}
		readLines(context.Background(), &chunked{s: s, sizes: sizes}, st, maxBytes)
		var got []string
		for {
			m, ok, _ := st.take()
			if !ok {
				break
			}
			got = append(got, string(m.data))
		}
		_, _, err := st.take()
		want, tooLarge := wantLines(s, maxBytes)
		if !slices.Equal(got, want) {
			t.Fatalf("queued %q, want %q", got, want)
		}
		switch {
		case err == nil:
			t.Fatal("no error at the end")
		case tooLarge != strings.Contains(err.Error(), "max_message_bytes"):
			t.Fatalf("ended with %q, too large: %v", err, tooLarge)
		case !tooLarge && !strings.Contains(err.Error(), "the server ended the stream"):
			t.Fatalf("ended with %q", err)
		}
	})
}

// TestHostileLineStreams: a stream of format lines ends within its run,
// with bounded memory, whatever the server sends: one endless line, a
// flood of tiny or blank lines, a drip, a line that is not JSON, nothing.
func TestHostileLineStreams(t *testing.T) {
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
	drip := func(s string, every time.Duration) func(w io.Writer, fl func()) error {
		return func(w io.Writer, fl func()) error {
			for i := range len(s) {
				if _, err := io.WriteString(w, s[i:i+1]); err != nil {
					return err
				}
				fl()
				time.Sleep(every)
			}
			return nil
		}
	}
	tests := []struct {
		name string
		end  bool
		body func(w io.Writer, fl func()) error
		err  string
	}{
		{name: "one endless line", body: endless(strings.Repeat("x", 4096)),
			err: "receive: stream subscribe: a line larger than 65536 bytes (max_message_bytes): no message on stream subscribe"},
		{name: "10 MB of tiny lines", body: endless("{}\n"),
			err: "receive: stream subscribe: more than 10000 messages (max_messages): none of 1000 or more messages on stream subscribe matched; closest: $.id selected nothing, want \"m-1\" (got \"{}\")"},
		{name: "endless blank lines", body: endless("\r\n"),
			err: "receive: timeout after 1s: no message on stream subscribe"},
		{name: "a drip that never ends a line", body: drip(strings.Repeat("x", 100), 50*time.Millisecond),
			err: "receive: timeout after 1s: no message on stream subscribe"},
		{name: "a drip of the message", body: drip("{\"id\":\"m-1\"}\r\n", 10*time.Millisecond)},
		{name: "not JSON, then the message",
			body: func(w io.Writer, fl func()) error { io.WriteString(w, "<html>\n{\"id\":\"m-1\"}\n"); fl(); return nil }},
		{name: "not JSON only",
			body: func(w io.Writer, fl func()) error { io.WriteString(w, "<html>\x01\n"); fl(); return nil },
			err:  "receive: timeout after 1s: the only message on stream subscribe did not match: $.id: body is not JSON (got \"<html>\\u0001\")"},
		{name: "a multi-byte character across the quote's cut", // {"a":" is 6 bytes, so é is bytes 63 and 64
			body: func(w io.Writer, fl func()) error {
				io.WriteString(w, `{"a":"`+strings.Repeat("x", 57)+"éé\"}\n")
				fl()
				return nil
			},
			err: "receive: timeout after 1s: the only message on stream subscribe did not match: $.id selected nothing, want \"m-1\" (got \"{\\\"a\\\":\\\"" + strings.Repeat("x", 57) + "...\")"},
		{name: "200 and closed at once", end: true,
			body: func(w io.Writer, fl func()) error { return nil },
			err:  "receive: stream subscribe: the server ended the stream: no message on stream subscribe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			srv := sseServer(t, tc.end, tc.body)
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				SSE: &config.Stream{URL: srv.URL, Format: config.FormatLines, MaxMessageBytes: limit, MaxBufferedBytes: 4 * limit}})
			run := runBounded(t, f)
			wantStep(t, run.Steps[0], StatusOK, "")
			status := StatusOK
			if tc.err != "" {
				status = StatusFailed
			}
			wantStep(t, run.Steps[1], status, tc.err)
		})
	}
}

// TestLineStreamRedirect: a POST stream redirected with 307 (a load
// balancer moving the client to its node) is followed with its body;
// with 302 Go's client turns it into a GET without one, which the
// server refuses, a failed subscribe that says so.
func TestLineStreamRedirect(t *testing.T) {
	for _, tc := range []struct {
		code int
		want string
	}{{http.StatusTemporaryRedirect, ""}, {http.StatusFound, "subscribe: sse: status 405"}} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			noLeaks(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/" {
					http.Redirect(w, r, "/node", tc.code)
					return
				}
				if b, _ := io.ReadAll(r.Body); r.Method != http.MethodPost || string(b) != `{"token":"t"}` {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return
				}
				io.WriteString(w, "{\"id\":\"m-1\"}\n")
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			t.Cleanup(srv.Close)
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				SSE: &config.Stream{URL: srv.URL, Method: http.MethodPost, Body: `{"token":"t"}`, Format: config.FormatLines}})
			run := runBounded(t, f)
			if tc.want != "" {
				if s := run.Steps[0]; s.Status != StatusFailed || !strings.HasPrefix(s.Error, tc.want) {
					t.Fatalf("subscribe: %s %q, want failed %q...", s.Status, s.Error, tc.want)
				}
				return
			}
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusOK, "")
		})
	}
}

// TestWebSocketPingFloodNeverRead: a hub that pings as fast as it can and
// never reads what the probe answers stalls the replies' writes once the
// socket's buffers are full, and with them the reader; the await still
// ends at its timeout and the run within its own, with no goroutine left.
// Pings within what the buffers hold do not hide a message after them.
func TestWebSocketPingFloodNeverRead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pings int // then the message; 0: pings without end
		err   string
	}{
		{"endless, never read", 0, "receive: timeout after 1s: no message on stream subscribe"},
		{"5000, then the message", 5000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			srv := rawWS(t, func(c net.Conn, w *bufio.Writer) {
				ping := append(frameHeader(2), "{}"...)
				for i := 0; tc.pings == 0 || i < tc.pings; i++ {
					if _, err := w.Write(ping); err != nil {
						return
					}
				}
				msg := `{"id":"m-1"}`
				w.Write(append(frameHeader(uint64(len(msg))), msg...))
				w.Flush()
			})
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				WebSocket: &config.Stream{URL: wsURL(srv), MaxMessages: 1000000, Reply: []config.Reply{{To: "{}", Send: "{}"}}}})
			if tc.pings > 0 {
				// Reading and answering 5,000 pings took over the 1 s the
				// receive step has, under -race on a loaded 2-core machine
				// (a clean-clone CI failed so): the row is about the
				// message getting through, not how fast, so it has the
				// time a slow machine needs.
				f.Steps[1].Timeout = 10 * time.Second
				f.Timeout = 11 * time.Second
			}
			run := runBounded(t, f)
			wantStep(t, run.Steps[0], StatusOK, "")
			status := StatusOK
			if tc.err != "" {
				status = StatusFailed
			}
			wantStep(t, run.Steps[1], status, tc.err)
		})
	}
}

// TestRetryAfterHeaderAndBody pins which wait a 429 asks when it says it
// twice (the header wins: it is the standard, and the body is read only
// without it) and that either is bounded at 24 h.
func TestRetryAfterHeaderAndBody(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header, body string
		want         time.Duration
	}{
		{"30", `{"retry_after_ms": 500}`, 30 * time.Second},
		{"0", `{"retry_after_ms": 500}`, 0},
		{"90000", `{"retry_after_ms": 500}`, maxRetryAfter},
		{"99999999999999999999", ``, maxRetryAfter},
		{"", `{"retry_after_ms": 1e18}`, maxRetryAfter},
		{"", `{"retry_after_ms": 86400001}`, maxRetryAfter},
		{"", `{"retry_after_ms": -1e18}`, 0},
		{"", `{"retry_after_ms": 500, "retry_after_ms": 700}`, 700 * time.Millisecond},
	} {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		if got := retryAfter(resp, []byte(tc.body), now); got != tc.want {
			t.Errorf("Retry-After %q, body %s: %s, want %s", tc.header, tc.body, got, tc.want)
		}
	}
}

// TestStreamBodySecretsRedacted: a secret in an sse step's body never
// reaches the run's errors, when the server echoes the body in a refusal,
// as the stream's line an await quotes, or in the body's template error;
// nor does a token the server issued, captured as a secret or sent as the
// stream's credential, when a line echoes it.
func TestStreamBodySecretsRedacted(t *testing.T) {
	pw := "p4ss-%zz-" + strings.Repeat("w", 20) // %zz: urldecode fails on it
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/login":
			io.WriteString(w, `{"token":"issued-`+strings.Repeat("t", 20)+`"}`)
			return
		case "/auth": // echoes the credential the stream was opened with
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, `{"auth":"`+r.Header.Get("Authorization")+"\"}\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		if r.URL.Path == "/refuse" {
			http.Error(w, string(b), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Write(append(b, '\n'))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	for _, steps := range []string{
		`- {name: sub, function: f, sse: {url: "URL/refuse", method: POST, body: '{"token":"${env:PW}"}', format: lines}}`,
		`- {name: sub, function: f, sse: {url: "URL/echo", method: POST, body: '{"token":"${env:PW}"}', format: lines}}
          - {name: recv, function: f, timeout: 1s, await: {stream: sub}, expect: {jsonpath: {"$.id": m-1}}}`,
		`- {name: sub, function: f, sse: {url: "URL/echo", method: POST, body: '${urldecode(env:PW)}', format: lines}}`,
		// A token the server issued, captured as a secret, echoed back.
		`- {name: login, function: f, request: {url: "URL/login"}, extract: {tok: {jsonpath: "$.token", secret: true}}}
          - {name: sub, function: f, sse: {url: "URL/echo", method: POST, body: '{"t":"${tok}"}', format: lines}}
          - {name: recv, function: f, timeout: 1s, await: {stream: sub}, expect: {jsonpath: {"$.id": m-1}}}`,
		// One captured plainly and sent as the stream's credential.
		`- {name: login, function: f, request: {url: "URL/login"}, extract: {tok: {jsonpath: "$.token"}}}
          - {name: sub, function: f, sse: {url: "URL/auth", headers: {Authorization: "Bearer ${tok}"}, format: lines}}
          - {name: recv, function: f, timeout: 1s, await: {stream: sub}, expect: {jsonpath: {"$.id": m-1}}}`,
	} {
		src := fmt.Sprintf("services:\n  - name: s\n    flows:\n      - name: fl\n        steps:\n          %s\n",
			strings.ReplaceAll(steps, "URL", srv.URL))
		run := runSecretConfig(t, src, pw)
		e := run.Steps[len(run.Steps)-1].Error
		if e == "" {
			t.Errorf("%s: the run did not fail", steps)
		}
		if strings.Contains(e, "issued-") {
			t.Errorf("the issued token in the error %q", e)
		}
		for _, f := range redact.Forms(pw) {
			if strings.Contains(e, f) {
				t.Errorf("%q in the error %q", f, e)
			}
		}
	}
}

// TestRedirectKeepsSecretBodiesFromOtherHosts: a 307 or 308 to another
// host (which Go's client follows with the body) does not take a body that
// holds a secret there, as a header that holds one is not (max_redirects):
// an sse step's POST of {"token":"${env:PW}"} (Centrifugo's
// uni_http_stream) or a request step's login sent the token on to the
// redirect's host. The step fails saying so; a body without a secret is
// followed as before, and so is one that stays on the host.
func TestRedirectKeepsSecretBodiesFromOtherHosts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // body by host the final request reached
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusTemporaryRedirect)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.Host] = string(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "{\"id\":\"m-1\"}\n")
	}))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	other := "http://localhost" + port + "/final"
	for _, tc := range []struct {
		name, to, body, err string
	}{
		{"a secret to another host", other, `{"token":"${env:PW}"}`,
			"the body holds a secret: not sent on to another host (localhost)"},
		{"no secret to another host", other, `{"token":"public"}`, ""},
		{"a secret to the same host", "/final", `{"token":"${env:PW}"}`, ""},
	} {
		for _, kind := range []string{"request", "sse"} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				mu.Lock()
				clear(seen)
				mu.Unlock()
				u := srv.URL + "/start?to=" + tc.to
				step := config.Step{Name: "s", Function: "s", Request: config.Request{Method: http.MethodPost, URL: u, Body: tc.body}}
				if kind == "sse" {
					step = config.Step{Name: "s", Function: "s", SSE: &config.Stream{URL: u, Method: http.MethodPost, Body: tc.body, Format: config.FormatLines}}
				}
				run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{step}}, Options{})
				mu.Lock()
				for host, b := range seen {
					if strings.Contains(b, testSecret) && !strings.HasPrefix(host, "127.0.0.1") {
						t.Errorf("the secret reached %s: %s", host, b)
					}
				}
				mu.Unlock()
				if tc.err == "" {
					wantStep(t, run.Steps[0], StatusOK, "")
				} else if s := run.Steps[0]; s.Status != StatusFailed || !strings.Contains(s.Error, tc.err) {
					t.Errorf("got %s %q, want failed with %q", s.Status, s.Error, tc.err)
				} else {
					t.Log(s.Error)
				}
			})
		}
	}
}
