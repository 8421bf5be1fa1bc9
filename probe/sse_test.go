package probe

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

func TestSSEParser(t *testing.T) {
	type ev struct{ typ, data string }
	tests := []struct {
		name string
		in   string
		want []ev
		err  error // after the events
	}{
		{"one event", "data: hello\n\n", []ev{{"message", "hello"}}, io.EOF},
		{"typed, multi-line", "event: chat\ndata: a\ndata: b\n\n", []ev{{"chat", "a\nb"}}, io.EOF},
		{"CRLF and CR line ends", "data: a\r\n\r\ndata: b\r\rdata:c\n\n", []ev{{"message", "a"}, {"message", "b"}, {"message", "c"}}, io.EOF},
		{"comments, id, retry, unknown fields", ": ping\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n", []ev{{"message", "x"}}, io.EOF},
		{"no space after the colon; only one removed", "data:x\n\ndata:  y\n\n", []ev{{"message", "x"}, {"message", " y"}}, io.EOF},
		{"a field without a colon", "data\n\n", []ev{{"message", ""}}, io.EOF},
		{"empty events are not dispatched; their type is reset", "event: a\n\ndata: z\n\n", []ev{{"message", "z"}}, io.EOF},
		{"BOM", "\xEF\xBB\xBFdata: bom\n\n", []ev{{"message", "bom"}}, io.EOF},
		{"an event cut by the end is dropped", "data: a\n\ndata: b\n", []ev{{"message", "a"}}, io.EOF},
		{"over the limit", "data: " + strings.Repeat("x", 40) + "\n\n", nil, errEventTooLarge},
		{"lines add up over the limit", "data: 0123456789\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", nil, errEventTooLarge},
		{"a long line with no data", ": " + strings.Repeat("x", 100) + "\n", nil, errEventTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newSSEParser(strings.NewReader(tc.in), 32)
			var got []ev
			var err error
			for {
				var typ string
				var data []byte
				typ, data, err = p.next()
				if err != nil {
					break
				}
				got = append(got, ev{typ, string(data)})
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// FuzzSSE: the event-stream parser never panics, and never returns an
// event larger than its limit.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "event: x\r\ndata: y\r\n\r\n", ":c\rdata\r\r", "\xEF\xBB\xBFdata: b\n\n", "data: " + strings.Repeat("z", 80) + "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := newSSEParser(strings.NewReader(s), 64)
		for range 10000 {
			_, data, err := p.next()
			if err != nil {
				return
			}
			if len(data) > 64 {
				t.Fatalf("event of %d bytes over the 64-byte limit", len(data))
			}
		}
		t.Fatal("more events than input bytes")
	})
}

func sseStream(url string) config.Step {
	return config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: url}}
}

func TestSSEAwait(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*pushTarget)
		path    string
		event   string
		status  [3]Status
		errText [3]string
	}{
		{name: "delivered", path: "/events", status: [3]Status{StatusOK, StatusOK, StatusOK}},
		{name: "other event types skipped", path: "/events", event: "message",
			setup:  func(p *pushTarget) { p.hello = `event:typing|{"id":"m-1"}` },
			status: [3]Status{StatusOK, StatusOK, StatusOK}},
		{name: "filtered out", path: "/events", event: "chat",
			status:  [3]Status{StatusOK, StatusOK, StatusFailed},
			errText: [3]string{2: "receive: timeout after 2s: no message on stream subscribe"}},
		{name: "not an event stream", path: "/send", status: [3]Status{StatusFailed, StatusNotRun, StatusNotRun},
			errText: [3]string{"subscribe: sse: status 405, want 200", "not run: step subscribe failed", "not run: step subscribe failed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, srv := newPushTarget(t, tc.setup)
			st := sseStream(srv.URL + tc.path)
			st.SSE.Event = tc.event
			run := runOne(t, context.Background(), chatFlow(srv.URL, st, config.Await{Stream: "subscribe"}), Options{})
			for i, want := range tc.status {
				if got := run.Steps[i]; got.Status != want || tc.errText[i] != "" && got.Error != tc.errText[i] {
					t.Errorf("step %s: %s %q, want %s %q", got.Step, got.Status, got.Error, want, tc.errText[i])
				}
			}
			waitFor(t, "stream closed at the end", func() bool { return pt.open.Load() == 0 })
		})
	}
}

func TestSSEContentType(t *testing.T) {
	_, srv := newTarget(t)
	run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{sseStream(srv.URL + "/doc")}}, Options{})
	wantStep(t, run.Steps[0], StatusFailed, `subscribe: sse: content type "application/json", want text/event-stream`)
}

func TestSSEServerEndsStream(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /once", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"old\"}\n\n")
	})
	srv := newTLSServer(t, mux) // over TLS: the stream's certificate is noted too
	cfg := config.TLS{InsecureSkipVerify: true}
	recv := config.Step{Name: "receive", Function: "receive", Await: &config.Await{Stream: "subscribe"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("new")}}}}
	run := runOne(t, context.Background(), config.Flow{TLS: cfg, Timeout: 5 * time.Second, Steps: []config.Step{sseStream(srv.URL + "/once"), recv}}, Options{})
	wantStep(t, run.Steps[1], StatusFailed, `receive: stream subscribe: the server ended the stream: the only message on stream subscribe did not match: $.id does not equal "new" (got "old")`)
	if run.Steps[0].CertExpiry.IsZero() {
		t.Error("no certificate expiry noted for an SSE stream over TLS")
	}
}

// TestHTTPStreamLines: an sse step of format lines reads a streamed HTTP
// response of any type as one message a line (newline-delimited JSON, as
// Centrifugo's uni_http_stream sends it, text/plain, after a POST whose
// body carries the connection token), blank lines aside; a line over
// max_message_bytes, and the server ending the stream, end it with an
// error the awaits report.
func TestHTTPStreamLines(t *testing.T) {
	tests := []struct {
		name    string
		lines   string // what the stream sends before the wait
		status  Status
		errText string
	}{
		{"delivered", "{\"connect\":{}}\r\n\n{\"id\":\"m-1\"}\n", StatusOK, ""},
		{"a line over max_message_bytes", strings.Repeat("x", 80) + "\n", StatusFailed,
			"receive: stream subscribe: a line larger than 64 bytes (max_message_bytes): no message on stream subscribe"},
		{"ended by the server", "{\"connect\":{}}\n", StatusFailed,
			"receive: stream subscribe: the server ended the stream: the only message on stream subscribe did not match: $.id selected nothing, want \"m-1\" (got \"{\\\"connect\\\":{}}\")"},
		// An HTTP streaming endpoint that writes its last line and
		// closes: the stream's clean end (the last chunk) ends that line.
		{"the last line of a stream that ended cleanly counts", "{\"connect\":{}}\n{\"id\":\"m-1\"}", StatusOK, ""},
		{"a last line over max_message_bytes", "{\"connect\":{}}\n" + strings.Repeat("x", 65), StatusFailed,
			"receive: stream subscribe: a line larger than 64 bytes (max_message_bytes): the only message on stream subscribe did not match: $.id selected nothing, want \"m-1\" (got \"{\\\"connect\\\":{}}\")"},
		// A connection cut in the middle of a line (a chunked body
		// without its last chunk) is not an end: that line is none.
		{"a line cut by a broken connection is no message", "{\"connect\":{}}\n{\"id\":\"m-1\"}", StatusFailed,
			"receive: stream subscribe: connection closed by server: the only message on stream subscribe did not match: $.id selected nothing, want \"m-1\" (got \"{\\\"connect\\\":{}}\")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.Method != "POST" || string(b) != `{"token":"t-1"}` {
					http.Error(w, "want the token", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Write([]byte(tc.lines))
				w.(http.Flusher).Flush()
				switch {
				case tc.name == "delivered":
					<-r.Context().Done()
				case strings.Contains(tc.name, "broken connection"):
					c, _, _ := w.(http.Hijacker).Hijack() // after a chunk: the body ends without its last chunk
					c.Close()
				}
			}))
			t.Cleanup(srv.Close)
			sub := config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: srv.URL, Method: "POST",
				Body: `{"token":"${tok}"}`, Format: config.FormatLines, MaxMessageBytes: 64, MaxBufferedBytes: 1024}}
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 2 * time.Second,
				Await:  &config.Await{Stream: "subscribe"},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second,
				Vars: []config.Var{{Name: "tok", Value: "t-1"}}, Steps: []config.Step{sub, recv}}, Options{})
			if s := run.Steps[0]; s.Status != StatusOK {
				t.Fatalf("subscribe: %s %q", s.Status, s.Error)
			}
			wantStep(t, run.Steps[1], tc.status, tc.errText)
		})
	}
}
