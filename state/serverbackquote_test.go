package state

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// Backquotes in what a target sent are not the config's text
// (probe.ConfigText): a server's words that stand unquoted in an error (a
// WebSocket close reason) and hold a backquoted span with a request ID in
// it ("request `a1f09c3e77` failed") are one fault, one cause, the ID
// masked as it was before backquotes were kept whole (on e00b2ec both
// close-reason rows were a cause per run); so are they when quoted (a
// status excerpt, a message an await saw, a header line net/http refuses).
// Each run's ID is another, as a server's is. The errors are a real
// runner's.
func TestServerBackquotesOneCause(t *testing.T) {
	const runs = 4
	id := func(n int64) string { return fmt.Sprintf("%010x", 0xa1f09c3e77+n*7919) }
	wsFlow := func(url string) string {
		return fmt.Sprintf(`
          - {name: subscribe, function: receive, websocket: {url: "ws%s/ws"}}
          - {name: wait, function: receive, timeout: 2s, await: {stream: subscribe}, expect: {jsonpath: {"$.id": m-1}}}`,
			strings.TrimPrefix(url, "http"))
	}
	httpFlow := func(url string) string {
		return fmt.Sprintf(`
          - {name: check, function: receive, request: {url: "%s/check"}}`, url)
	}
	tests := []struct {
		name  string
		serve func(t *testing.T, n int64, w http.ResponseWriter, r *http.Request)
		flow  func(url string) string
	}{
		{"websocket close reason", func(t *testing.T, n int64, w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			c.Close(websocket.StatusInternalError, "request `"+id(n)+"` failed")
		}, wsFlow},
		{"websocket close reason, digits only", func(t *testing.T, n int64, w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			c.Close(3500, fmt.Sprintf("session `%d` gone", 90210+n))
		}, wsFlow},
		{"message an await saw", func(t *testing.T, n int64, w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			_ = c.Write(r.Context(), websocket.MessageText, []byte("request `"+id(n)+"` failed"))
			c.Close(websocket.StatusNormalClosure, "")
		}, wsFlow},
		{"status excerpt", func(t *testing.T, n int64, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "request `%s` failed\n", id(n))
		}, httpFlow},
		{"header line net/http refuses (Go quotes it)", func(t *testing.T, n int64, w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nX-Request `%s`\r\nContent-Length: 0\r\n\r\n", id(n))
			_ = buf.Flush()
		}, httpFlow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.serve(t, n.Add(1), w, r)
			}))
			defer srv.Close()
			got, errs := roomsCauses(t, tc.flow(srv.URL)+"\n", runs)
			if want := fmt.Sprintf("receive@m1-m%d", runs+1); got != want {
				t.Errorf("causes %s, want %s (%q)", got, want, errs)
			}
		})
	}
}
