package probe

import (
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A stream step (websocket, sse) that times out says what it was waiting
// for and from where, as a request step does: a frozen hub (SIGSTOP: the
// kernel accepts, nothing answers) read "subscribe: flow timeout after 8s"
// alone (Centrifugo v6.9.1 frozen under examples/centrifugo.yaml), which
// does not tell a hung handshake from a slow connect or a TLS stall. A
// stream whose handshake passed but whose first message never came is the
// await's to say (unchanged: "timeout after ...: no message on stream").
func TestStreamTimeoutSaysWhereItHung(t *testing.T) {
	silent := silentListener(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	quiet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select { // no event ever comes
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(quiet.Close)

	ws := func(url string) config.Step {
		return config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: url}}
	}
	sse := func(url string) config.Step {
		return config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: url}}
	}
	lines := func(url string) config.Step {
		return config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: url, Method: "POST", Body: `{"token":"t"}`, Format: config.FormatLines}}
	}
	for _, tc := range []struct {
		name  string
		steps []config.Step
		step  time.Duration // the stream step's timeout; 0: the flow's
		flow  time.Duration // 0: 2s
		want  string
		which int  // the step whose error is checked
		proxy bool // through a proxy (HTTP_PROXY) at the silent listener
	}{
		{name: "websocket handshake unanswered", steps: []config.Step{ws("ws://" + silent + "/connection/websocket")}, step: 500 * time.Millisecond,
			want: "subscribe: timeout after 500ms waiting for response headers from " + silent},
		{name: "websocket handshake unanswered, flow timeout", steps: []config.Step{ws("http://" + silent + "/connection/websocket")}, flow: 500 * time.Millisecond,
			want: "subscribe: flow timeout after 500ms waiting for response headers from " + silent},
		{name: "wss: TLS handshake never completes", steps: []config.Step{ws("wss://" + silent + "/connection/websocket")}, step: 500 * time.Millisecond,
			want: "subscribe: timeout after 500ms in the TLS handshake with " + silent},
		{name: "sse unanswered", steps: []config.Step{sse("http://" + silent + "/connection/uni_sse")}, step: 500 * time.Millisecond,
			want: "subscribe: timeout after 500ms waiting for response headers from " + silent},
		{name: "http stream unanswered, flow timeout", steps: []config.Step{lines("http://" + silent + "/connection/uni_http_stream")}, flow: 500 * time.Millisecond,
			want: "subscribe: flow timeout after 500ms waiting for response headers from " + silent},
		{name: "websocket behind a proxy", steps: []config.Step{ws("ws://probe-target.example:8000/connection/websocket")}, step: 500 * time.Millisecond, proxy: true,
			want: "subscribe: timeout after 500ms waiting for response headers from probe-target.example:8000 via proxy " + silent},
		{name: "sse behind a proxy", steps: []config.Step{sse("http://probe-target.example:8000/connection/uni_sse")}, step: 500 * time.Millisecond, proxy: true,
			want: "subscribe: timeout after 500ms waiting for response headers from probe-target.example:8000 via proxy " + silent},
		{name: "sse open, no first message: the await says so", steps: []config.Step{
			sse(quiet.URL + "/connection/uni_sse"),
			{Name: "connected", Function: "receive", Await: &config.Await{Stream: "subscribe"}},
		}, flow: 500 * time.Millisecond, which: 1,
			want: "connected: flow timeout after 500ms: no message on stream subscribe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.steps[0].Timeout = tc.step
			var opts Options
			if tc.proxy {
				proxied := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: silent})}
				t.Cleanup(proxied.CloseIdleConnections)
				opts.Transport = proxied
			}
			run := runOne(t, context.Background(), config.Flow{Timeout: cmp.Or(tc.flow, 2*time.Second), Steps: tc.steps}, opts)
			wantStep(t, run.Steps[tc.which], StatusFailed, tc.want)
			if strings.Count(run.Steps[tc.which].Error, "timeout") != 1 {
				t.Errorf("error says timeout more than once: %q", run.Steps[tc.which].Error)
			}
		})
	}
}
