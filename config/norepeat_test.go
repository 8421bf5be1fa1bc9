package config

import (
	"slices"
	"strings"
	"testing"
)

// TestRepeatKey: a flow step's repeat: false (a step that must not be sent
// twice in a run: a payment) is read into NoRepeat; repeat: true is the
// default and may be written anywhere; false where no step is tried again
// after a new login (a session or teardown step), on an await (it sends
// nothing) and on a poll (it sends again by design) is an error at its line.
func TestRepeatKey(t *testing.T) {
	parse := func(session, steps, teardown string) (*Config, error) {
		src := `
services:
  - name: pay
    flows:
      - name: f
        session:
          steps:
            - {name: login, function: login, request: {url: "http://127.0.0.1/login"}` + session + `}
        steps:
          - {name: sub, function: receive, sse: {url: "http://127.0.0.1/sse"}}
          - {name: send, function: send, request: {method: POST, url: "http://127.0.0.1/transfers"}` + steps + `}
          - {name: receive, function: receive, await: sub}
        teardown:
          - {name: refund, function: send, request: {method: POST, url: "http://127.0.0.1/refunds"}` + teardown + `}
`
		return Parse("r.yaml", []byte(src), Options{})
	}
	for _, tc := range []struct {
		name                   string
		session, steps, teardn string
		noRepeat               bool
	}{
		{"default", "", "", "", false},
		{"repeat: false", "", ", repeat: false", "", true},
		{"repeat: true anywhere", ", repeat: true", ", repeat: true", ", repeat: true", false},
	} {
		c, err := parse(tc.session, tc.steps, tc.teardn)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.Services[0].Flows[0].Steps[1].NoRepeat; got != tc.noRepeat {
			t.Errorf("%s: NoRepeat %v, want %v", tc.name, got, tc.noRepeat)
		}
	}
	for _, tc := range []struct{ session, steps, teardown, want string }{
		{", repeat: false", "", "", `r.yaml:8: services[0].flows[0].session.steps[0].repeat: only a flow's steps are tried again after a new login`},
		{"", "", ", repeat: false", `r.yaml:14: services[0].flows[0].teardown[0].repeat: only a flow's steps are tried again after a new login`},
		{"", ", poll: {every: 1s, within: 5s}, repeat: false", "", `r.yaml:11: services[0].flows[0].steps[1].repeat: a poll sends its request again by design`},
		{"", ", repeat: no", "", `r.yaml:11: services[0].flows[0].steps[1].repeat:`},
	} {
		if _, err := parse(tc.session, tc.steps, tc.teardown); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q %q:\nerror %v\nwant %q", tc.session, tc.steps, tc.teardown, err, tc.want)
		}
	}
	src := `
services:
  - name: pay
    flows:
      - name: f
        steps:
          - {name: sub, function: receive, sse: {url: "http://127.0.0.1/sse"}}
          - {name: receive, function: receive, await: sub, repeat: false}
`
	if _, err := Parse("r.yaml", []byte(src), Options{}); err == nil || !strings.Contains(err.Error(), `r.yaml:8: services[0].flows[0].steps[1].repeat: an await sends nothing`) {
		t.Errorf("repeat: false on an await: error %v", err)
	}
}

// TestWarningsSessionExpiredWithoutSession: a stream's session_expired that
// says something, in a flow without a session, is warned of at its line:
// no new login follows what it matches (the await goes on waiting, as for
// any message that does not match), so its only effect is the label
// "session expired:" on the await's error, where whoever wrote it expected
// a new login. session_expired: {} is not warned of: it takes the default
// words (Centrifugo's) away, and with them a label that would be wrong for
// a protocol whose error 109 means something else; nor is one in a flow
// with a session.
func TestWarningsSessionExpiredWithoutSession(t *testing.T) {
	src := `
services:
  - name: hub
    flows:
      - name: plain
        steps:
          - name: ws
            function: receive
            websocket:
              url: "ws://127.0.0.1/ws"
              session_expired:
                close_codes: [4001]
          - {name: feed, function: receive, sse: {url: "http://127.0.0.1/sse", session_expired: {jsonpath: {"$.error.code": 401}}}}
          - {name: quiet, function: receive, sse: {url: "http://127.0.0.1/q", session_expired: {}}}
          - {name: receive, function: receive, await: ws}
      - name: held
        session:
          steps:
            - {name: login, function: login, request: {url: "http://127.0.0.1/login"}}
        steps:
          - {name: s, function: receive, sse: {url: "http://127.0.0.1/sse", session_expired: {jsonpath: {"$.error.code": 401}}}}
          - {name: r, function: receive, await: s}
`
	got := warningLines(t, src)
	const msg = `the flow has no session, so no new login follows what this says: its only effect is to label the await's error "session expired:" (at the await's timeout or the stream's end); add a session: that logs in, or remove it`
	want := []string{
		"11: services[0].flows[0].steps[0].websocket.session_expired: " + msg,
		"13: services[0].flows[0].steps[1].sse.session_expired: " + msg,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWarningsNoRepeatOnAReplayedMethod: repeat: false promises a step is
// not sent twice in a run, but Go's HTTP client sends a GET, HEAD, OPTIONS
// or TRACE again by itself when a reused connection closes before the
// answer, whatever its headers: check says so at the key, for a request,
// an sse stream (default GET), and not for a POST, PUT, PATCH or DELETE,
// an sse stream opened by a POST, or a WebSocket step
// (TestNoRepeatWebSocketNotWarned). Before, a repeat: false GET was
// accepted without a word.
func TestWarningsNoRepeatOnAReplayedMethod(t *testing.T) {
	src := `
services:
  - name: pay
    flows:
      - name: f
        steps:
          - {name: get, function: pay, repeat: false, request: {url: "http://127.0.0.1/pay?amount=1"}}
          - {name: head, function: pay, repeat: false, request: {method: head, url: "http://127.0.0.1/x"}}
          - {name: post, function: pay, repeat: false, request: {method: POST, url: "http://127.0.0.1/pay"}}
          - {name: put, function: pay, repeat: false, request: {method: PUT, url: "http://127.0.0.1/pay/1"}}
          - {name: stream, function: pay, repeat: false, sse: {url: "http://127.0.0.1/sse"}}
          - {name: order, function: pay, repeat: false, sse: {method: POST, url: "http://127.0.0.1/order"}}
          - {name: ws, function: pay, repeat: false, websocket: {url: "ws://127.0.0.1/ws"}}
          - {name: plain, function: pay, request: {url: "http://127.0.0.1/plain"}}
`
	got := warningLines(t, src)
	msg := func(m string) string {
		return "a " + m + " is sent again by Go's HTTP client itself when a reused connection closes before the answer, whatever its headers, so this step can still reach the target twice: a request that acts should use another method (POST, PUT, PATCH, DELETE)"
	}
	want := []string{
		"7: services[0].flows[0].steps[0].repeat: " + msg("GET"),
		"8: services[0].flows[0].steps[1].repeat: " + msg("HEAD"),
		"11: services[0].flows[0].steps[4].repeat: " + msg("GET"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNoRepeatWebSocketNotWarned: a repeat: false WebSocket step is not
// warned of as a GET. Go's Transport may send its handshake again, but only
// when no answer to it came, so no WebSocket opened and none of the step's
// messages (what acts: a chat message that orders, a payment) went out;
// they go once, on the connection that opened, and a handshake is a GET by
// RFC 6455, so the warning's advice (another method) could not be taken.
// Before, every such step was warned "a GET is sent again ... should use
// another method".
func TestNoRepeatWebSocketNotWarned(t *testing.T) {
	src := `
services:
  - name: chat
    flows:
      - name: f
        steps:
          - name: order
            function: send
            repeat: false
            websocket:
              url: "ws://127.0.0.1/ws"
              send: ['{"order": 1}']
          - {name: ws, function: send, repeat: false, websocket: {url: "wss://127.0.0.1/ws", subprotocols: [v1]}}
`
	cfg, err := Parse("c.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Warnings("sqlite") {
		t.Errorf("warning %d: %s: %s", w.Line, w.Key, w.Msg)
	}
}
