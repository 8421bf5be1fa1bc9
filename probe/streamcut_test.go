package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
		want string
	}{
		{"cut, closed", func(t *testing.T) string {
			return "http://" + droppingServer(t, head+"hub dr", func(int) bool { return false }) + "/events"
		}, "subscribe: sse: status 503, want 200 (read body: connection closed by server)"},
		{"cut, reset", func(t *testing.T) string {
			return "http://" + droppingServer(t, head+"hub dr", func(int) bool { return true }) + "/events"
		}, "subscribe: sse: status 503, want 200 (read body: connection closed by server)"},
		{"stalled to the step's timeout", func(*testing.T) string { return stalled.URL + "/events" },
			"subscribe: sse: status 503, want 200 (timeout after 500ms)"},
		{"whole", func(t *testing.T) string {
			return "http://" + droppingServer(t, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhub draining",
				func(int) bool { return false }) + "/events"
		}, `subscribe: sse: status 503, want 200: "hub draining"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := config.Step{Name: "subscribe", Function: "receive", Timeout: 500 * time.Millisecond,
				SSE: &config.Stream{URL: tc.url(t)}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{st}}, Options{})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}
