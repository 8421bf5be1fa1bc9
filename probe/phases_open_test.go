package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http/httptrace"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// A phase still open when an attempt ends (a timeout while resolving,
// connecting, in the TLS handshake or waiting for the answer) counts up to
// the attempt's end. Before, finish added only the phases that had ended,
// so a request to a frozen server (SIGSTOP: the kernel still accepts the
// connection, nothing answers) that hung 9 s read connect 0.3 ms and
// processing 0 in `once`, the stored run and probe_http_duration_seconds:
// the 9 s were in no phase, and a hang waiting for the answer could not be
// told from one waiting for the connection (a firewall dropping the SYN).
func TestOpenPhaseCountsToTheEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 2, 37, 52, 0, time.UTC)
	const hung = 9 * time.Second
	tests := []struct {
		name   string
		events func(ct *httptrace.ClientTrace, c *clock.Manual)
		want   Phases
	}{
		{"no answer to the request", func(ct *httptrace.ClientTrace, c *clock.Manual) {
			ct.GetConn("127.0.0.1:18008")
			ct.ConnectStart("tcp", "127.0.0.1:18008")
			c.Advance(time.Millisecond)
			ct.ConnectDone("tcp", "127.0.0.1:18008", nil)
			ct.WroteRequest(httptrace.WroteRequestInfo{})
			c.Advance(hung)
		}, Phases{Connect: time.Millisecond, Processing: hung}},
		{"connect never ends", func(ct *httptrace.ClientTrace, c *clock.Manual) {
			ct.GetConn("10.0.0.1:443")
			ct.ConnectStart("tcp", "10.0.0.1:443")
			c.Advance(hung)
		}, Phases{Connect: hung}},
		{"TLS handshake never ends", func(ct *httptrace.ClientTrace, c *clock.Manual) {
			ct.GetConn("10.0.0.1:443")
			ct.ConnectStart("tcp", "10.0.0.1:443")
			c.Advance(2 * time.Millisecond)
			ct.ConnectDone("tcp", "10.0.0.1:443", nil)
			ct.TLSHandshakeStart()
			c.Advance(hung)
		}, Phases{Connect: 2 * time.Millisecond, TLS: hung}},
		{"resolve never ends", func(ct *httptrace.ClientTrace, c *clock.Manual) {
			ct.GetConn("matrix.example.org:443")
			ct.DNSStart(httptrace.DNSStartInfo{Host: "matrix.example.org"})
			c.Advance(hung)
		}, Phases{Resolve: hung}},
		{"answered: nothing open", func(ct *httptrace.ClientTrace, c *clock.Manual) {
			ct.GetConn("127.0.0.1:18008")
			ct.ConnectStart("tcp", "127.0.0.1:18008")
			c.Advance(time.Millisecond)
			ct.ConnectDone("tcp", "127.0.0.1:18008", nil)
			ct.TLSHandshakeStart()
			c.Advance(time.Millisecond)
			ct.TLSHandshakeDone(tls.ConnectionState{}, nil)
			ct.WroteRequest(httptrace.WroteRequestInfo{})
			c.Advance(5 * time.Millisecond)
			ct.GotFirstResponseByte()
			c.Advance(2 * time.Millisecond)
		}, Phases{Connect: time.Millisecond, TLS: time.Millisecond, Processing: 5 * time.Millisecond, Transfer: 2 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := clock.NewManual(t0)
			tr := &tracer{}
			tr.reset(c)
			tc.events(tr.trace(), c)
			got := tr.finish(false)
			if got != tc.want {
				t.Errorf("phases %+v, want %+v", got, tc.want)
			}
			// Events after the end (a dial that outlives the attempt) add nothing.
			c.Advance(time.Second)
			tr.trace().ConnectDone("tcp", "10.0.0.1:443", nil)
			tr.trace().GotFirstResponseByte()
			if again := tr.finish(false); again != tc.want {
				t.Errorf("after the end: phases %+v, want %+v", again, tc.want)
			}
		})
	}
}

// The same end to end, live: a server that accepts the connection and
// never answers (what a SIGSTOPped Dendrite or Centrifugo is to a client)
// fails the step at the flow's timeout with the time it waited in
// processing, for an http step and for a websocket step's handshake.
func TestFrozenServerWaitIsProcessing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	held := make(chan net.Conn, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held <- conn // accepted, never read from nor answered
		}
	}()
	t.Cleanup(func() {
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	})
	url := "http://" + ln.Addr().String() + "/_matrix/client/v3/sync"
	for _, kind := range []string{"request", "websocket"} {
		t.Run(kind, func(t *testing.T) {
			step := get("frozen", url)
			if kind == "websocket" {
				step = config.Step{Name: "frozen", Function: "receive", WebSocket: &config.Stream{URL: url}}
			}
			run := runOne(t, context.Background(), config.Flow{Timeout: 300 * time.Millisecond, Steps: []config.Step{step}}, Options{})
			s := run.Steps[0]
			// A stream step's handshake says where it hung too.
			want := "frozen: flow timeout after 300ms waiting for response headers from " + ln.Addr().String()
			wantStep(t, s, StatusFailed, want)
			p := s.Phases
			if p.Processing <= 0 || p.Processing < s.Duration/2 {
				t.Errorf("a request hung waiting for its answer reads processing %s of a %s step (phases %+v): the wait must be in processing", p.Processing, s.Duration, p)
			}
			if sum := p.Resolve + p.Connect + p.TLS + p.Processing + p.Transfer; sum > s.Duration {
				t.Errorf("phases %+v add up to %s, more than the step's %s", p, sum, s.Duration)
			}
		})
	}
}

// HTTP/2 may report the request written after the first byte of its
// answer: its transport writes the headers, the server answers, and the
// read loop's GotFirstResponseByte can run before the writer's
// WroteRequest. The answer that came still ends the wait for it: a body
// that then stalls is a stalled body, its time transfer. Before, the late
// WroteRequest opened processing again, so such a body cut by the timeout
// read "waiting for response headers from HOST:PORT after 300 kB", its
// whole transfer counted as processing, and one run of an outage said
// that and the next "reading the body" (seen with an httptest HTTP/2
// server, one attempt in two).
func TestAnswerBeforeWroteRequest(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 2, 37, 52, 0, time.UTC)
	c := clock.NewManual(t0)
	tr := &tracer{}
	tr.reset(c)
	ct := tr.trace()
	ct.GetConn("127.0.0.1:8443")
	c.Advance(time.Millisecond)
	ct.GotFirstResponseByte()
	ct.WroteRequest(httptrace.WroteRequestInfo{})
	c.Advance(9 * time.Second)
	got := tr.finish(true)
	if want := (Phases{Transfer: 9 * time.Second}); got != want {
		t.Errorf("phases %+v, want %+v", got, want)
	}
	if got, want := tr.waitingFor(), "reading the body from 127.0.0.1:8443"; got != want {
		t.Errorf("waiting %q, want %q", got, want)
	}
	if tr.unanswered() {
		t.Error("an answered request reads as unanswered")
	}
}

// With several addresses dialled at once (a dual-stack host: Go starts the
// fallback address 300 ms after the first), the first to fail does not end
// the connecting while another is still dialling: a step cut short then
// was still connecting. Before, the first failure closed the phase, so an
// IPv6 address refused after the IPv4 one had started, and the IPv4 one
// never answering, read "sending the request to HOST:PORT".
func TestParallelDialStillConnecting(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 2, 37, 52, 0, time.UTC)
	c := clock.NewManual(t0)
	tr := &tracer{}
	tr.reset(c)
	ct := tr.trace()
	ct.GetConn("api.example.org:443")
	ct.ConnectStart("tcp", "[2001:db8::5]:443")
	c.Advance(300 * time.Millisecond)
	ct.ConnectStart("tcp", "192.0.2.5:443")
	c.Advance(100 * time.Millisecond)
	ct.ConnectDone("tcp", "[2001:db8::5]:443", errors.New("connect: network is unreachable"))
	c.Advance(9 * time.Second)
	got := tr.finish(false)
	if want := (Phases{Connect: 9400 * time.Millisecond}); got != want {
		t.Errorf("phases %+v, want %+v", got, want)
	}
	if got, want := tr.waitingFor(), "connecting to api.example.org:443"; got != want {
		t.Errorf("waiting %q, want %q", got, want)
	}

	// The one that connects ends it, whatever the others do after.
	tr = &tracer{}
	tr.reset(c)
	ct = tr.trace()
	ct.GetConn("api.example.org:443")
	ct.ConnectStart("tcp", "[2001:db8::5]:443")
	c.Advance(300 * time.Millisecond)
	ct.ConnectStart("tcp", "192.0.2.5:443")
	c.Advance(10 * time.Millisecond)
	ct.ConnectDone("tcp", "192.0.2.5:443", nil)
	ct.ConnectDone("tcp", "[2001:db8::5]:443", context.Canceled)
	ct.WroteRequest(httptrace.WroteRequestInfo{})
	c.Advance(time.Second)
	if got, want := tr.finish(false), (Phases{Connect: 310 * time.Millisecond, Processing: time.Second}); got != want {
		t.Errorf("phases %+v, want %+v", got, want)
	}
}
