package probe

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A step named after its kind (examples/centrifugo.yaml's "websocket" and
// "sse") says the name once: a Centrifugo v6.9.1 killed under that example
// read "websocket: websocket: connection refused" in the window's cause. A
// step with a name of its own keeps the kind's word after it.
func TestStepNamedAfterItsKindSaysItOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on

	for _, tc := range []struct {
		name string
		step config.Step
		want string
	}{
		{"websocket named websocket", config.Step{Name: "websocket", Function: "receive", WebSocket: &config.Stream{URL: "ws://" + addr + "/connection/websocket"}},
			"websocket: connection refused (" + addr + ")"},
		{"sse named sse", config.Step{Name: "sse", Function: "receive", SSE: &config.Stream{URL: "http://" + addr + "/connection/uni_sse"}},
			"sse: connection refused (" + addr + ")"},
		{"websocket named subscribe", config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: "ws://" + addr + "/connection/websocket"}},
			"subscribe: websocket: connection refused (" + addr + ")"},
		{"sse named http-stream", config.Step{Name: "http-stream", Function: "receive", SSE: &config.Stream{URL: "http://" + addr + "/connection/uni_http_stream", Method: "POST", Format: config.FormatLines}},
			"http-stream: sse: connection refused (" + addr + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{tc.step}}, Options{})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}
