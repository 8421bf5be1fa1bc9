package probe

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
)

// A kept-alive connection closed by the server (or a proxy in front) as
// the request went out reads as a closed connection, as its EOF does, not
// in net/http's own words: a WebSocket handshake to Centrifugo v6.9.1
// through a proxy that dropped connections read "websocket: http: server
// closed idle connection" one run and "... connection closed by server"
// the next, a window's cause changing with each.
func TestServerClosedIdleReadsAsClosed(t *testing.T) {
	// net/http's error is unexported: the same text, as the transport
	// returns it through the client (a *url.Error) and wrapped once more.
	idle := errors.New("http: server closed idle connection")
	for _, err := range []error{
		idle,
		&url.Error{Op: "Get", URL: "http://127.0.0.1:8000/connection/websocket", Err: idle},
		fmt.Errorf("failed to WebSocket dial: %w", &url.Error{Op: "Get", URL: "http://127.0.0.1:8000/connection/websocket", Err: idle}),
	} {
		if got := transportError(err); got != "connection closed by server" {
			t.Errorf("transportError(%q) = %q, want %q", err, got, "connection closed by server")
		}
	}
}
