package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// An sse handshake refused 503 whose body is then cut says the status first
// and what cut the body after it, as a request step does (b866d76), with no
// excerpt of what came: it read `sse: status 503, want 200: "hub dr"` (the
// excerpt of whatever came before the cut, a new cause wherever the cut
// fell) on a close or a reset, and `timeout after 500ms` when the body
// stalled to the step's deadline, the 503 lost. A body that came whole keeps
// its excerpt.
func TestSSERefusalCutBodySaysTheStatusFirst(t *testing.T) {
	refusalCutBody(t, func(u string) *config.Stream { return &config.Stream{URL: u} }, nil, "subscribe: sse: status 503, want 200")
}

// A websocket handshake refused 503 whose body is then cut says the same:
// the library reads a refused handshake's body (its first 1 KiB) and drops
// the read's error, so a cut body read as the excerpt of whatever came
// (`websocket handshake: status 503, want 101: "hub dr"`), and one stalled
// to the step's timeout as `timeout after 500ms`, the 503 lost.
func TestWebSocketRefusalCutBodySaysTheStatusFirst(t *testing.T) {
	refusalCutBody(t, nil, func(u string) *config.Stream { return &config.Stream{URL: "ws" + strings.TrimPrefix(u, "http")} },
		"subscribe: websocket handshake: status 503, want 101")
}

// refusalCutBody runs a stream step (sse or websocket, whichever is not
// nil) against a 503 whose body is cut by a close, a reset or the step's
// deadline, and one whose body comes whole; refused is the step's failure
// up to what follows the status.
func refusalCutBody(t *testing.T, sse, ws func(u string) *config.Stream, refused string) {
	const head = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "hub dr")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(stalled.Close)
	type row struct {
		name    string
		url     func(t *testing.T) string
		want    string
		timeout time.Duration // the step's; 0: 500ms
	}
	rows := []row{
		{"cut, closed", func(t *testing.T) string {
			return "http://" + droppingServer(t, head+"hub dr", func(int) bool { return false }) + "/events"
		}, refused + " (read body: connection closed by server)", 0},
		{"cut, reset", func(t *testing.T) string {
			return "http://" + droppingServer(t, head+"hub dr", func(int) bool { return true }) + "/events"
		}, refused + " (read body: connection closed by server)", 0},
		{"stalled to the step's timeout", func(*testing.T) string { return stalled.URL + "/events" },
			refused + " (timeout after 500ms)", 0},
		{"whole", func(t *testing.T) string {
			return "http://" + droppingServer(t, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhub draining",
				func(int) bool { return false }) + "/events"
		}, refused + `: "hub draining"`, 0},
	}
	if ws != nil {
		// The library stops reading a refused handshake's body after 3 s
		// of its own, within a longer step timeout (an sse step reads its
		// refusal's body to the step's timeout, as above).
		rows = append(rows, row{"stalled past the websocket library's 3 s", func(*testing.T) string { return stalled.URL + "/events" },
			refused + " (timeout after 3s reading the body)", 5 * time.Second})
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			st := config.Step{Name: "subscribe", Function: "receive", Timeout: 500 * time.Millisecond}
			if tc.timeout > 0 {
				st.Timeout = tc.timeout
			}
			if sse != nil {
				st.SSE = sse(tc.url(t))
			} else {
				st.WebSocket = ws(tc.url(t))
			}
			run := runOne(t, context.Background(), config.Flow{Timeout: 6 * time.Second, Steps: []config.Step{st}}, Options{})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}

// A close-delimited stream (HTTP/1.x, no Content-Length, not chunked) ends
// where its connection does: a close (FIN) read "the server ended the
// stream" and a reset (RST) "connection closed by server", two causes for
// one fault as 7dc66fe's were (behind a proxy that drops connections which
// one a run gets is chance), and a lines stream's last line without its end
// counted on a close and was dropped on a reset. Both now read as the end
// the close is. A chunked stream's drop is "connection closed by server"
// either way, as before.
func TestCloseDelimitedStreamEndsTheSameClosedOrReset(t *testing.T) {
	const sseHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
	const linesHead = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
	const chunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	const notMatched = `the only message on stream subscribe did not match: $.id does not equal "x" (got "y")`
	for _, tc := range []struct {
		name   string
		answer string
		lines  bool
		want   string
	}{
		{"sse", sseHead + "data: {\"id\":\"y\"}\n\n", false, "receive: stream subscribe: the server ended the stream: " + notMatched},
		{"lines, the last line without its end", linesHead + `{"id":"y"}`, true, "receive: stream subscribe: the server ended the stream: " + notMatched},
		{"sse, chunked", chunkedHead + "12\r\ndata: {\"id\":\"y\"}\n\n\r\n", false, "receive: stream subscribe: connection closed by server: " + notMatched},
	} {
		for _, reset := range []bool{false, true} {
			name := tc.name + ", closed"
			if reset {
				name = tc.name + ", reset"
			}
			t.Run(name, func(t *testing.T) {
				addr := droppingServer(t, tc.answer, func(int) bool { return reset })
				st := &config.Stream{URL: "http://" + addr + "/events"}
				if tc.lines {
					st.Format = "lines"
				}
				run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{
					{Name: "subscribe", Function: "receive", SSE: st},
					{Name: "receive", Function: "receive", Await: &config.Await{Stream: "subscribe"},
						Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("x")}}}},
				}}, Options{})
				wantStep(t, run.Steps[1], StatusFailed, tc.want)
			})
		}
	}
}

// A stream handshake's refusal is read to its first 1 KiB only (for its
// retry_after_ms); a JSON body longer than that was quoted as text from its
// first byte, its fields' values with it ("{\"session\":\"tok-...\",\"pad\":...":
// a JSON document's other fields may be data, or a token not yet known as a
// secret, which an excerpt never quotes), where a request step's with the
// same body says nothing of it. A JSON document is read whole or not at
// all; a text body's first line is still said.
func TestStreamRefusalLongJSONBodyQuotesNothing(t *testing.T) {
	pad := strings.Repeat("x", 3000)
	for _, tc := range []struct {
		name, ctype, body, want string
	}{
		{"json over 1 KiB", "application/json", `{"session":"tok-ABCDEF0123456789","pad":"` + pad + `","error":"hub draining"}`, ""},
		{"untyped json over 1 KiB", "", `{"session":"tok-ABCDEF0123456789","pad":"` + pad + `"}`, ""},
		{"json within 1 KiB", "application/json", `{"error":{"code":109,"message":"hub draining"}}`, `: "hub draining"`},
		{"text over 1 KiB", "text/plain", "hub draining\n" + pad, `: "hub draining"`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.ctype != "" {
				w.Header().Set("Content-Type", tc.ctype)
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, tc.body)
		}))
		t.Cleanup(srv.Close)
		for _, kind := range []string{"sse", "websocket"} {
			t.Run(tc.name+", "+kind, func(t *testing.T) {
				st := config.Step{Name: "subscribe", Function: "receive"}
				want := "subscribe: sse: status 503, want 200" + tc.want
				if kind == "sse" {
					st.SSE = &config.Stream{URL: srv.URL + "/events"}
				} else {
					st.WebSocket = &config.Stream{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
					want = "subscribe: websocket handshake: status 503, want 101" + tc.want
				}
				run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{st}}, Options{})
				wantStep(t, run.Steps[0], StatusFailed, want)
			})
		}
	}
}
