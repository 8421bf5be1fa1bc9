package platform

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/clock"
)

// pushed is one message a stream delivered.
type pushed struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
	At   string `json:"at"`
	// event and eventID are the SSE fields (empty over WebSocket).
	event, eventID string
}

// stream is a client's open push stream with a reader goroutine that drains
// it into got, as a prober's stream step does.
type stream struct {
	t      testing.TB
	mu     sync.Mutex
	got    []pushed
	err    error // why the reader stopped
	more   chan struct{}
	closed chan struct{}
	close  func()
}

func (s *stream) add(m pushed) {
	s.mu.Lock()
	s.got = append(s.got, m)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

func (s *stream) stop(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.closed)
}

// messages returns what arrived so far, without waiting.
func (s *stream) messages() []pushed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pushed(nil), s.got...)
}

// next waits (in real time, for tests over sockets) for the n-th message.
func (s *stream) next(n int, within time.Duration) (pushed, bool) {
	deadline := time.After(within)
	for {
		if got := s.messages(); len(got) > n {
			return got[n], true
		}
		select {
		case <-s.more:
		case <-s.closed:
			if got := s.messages(); len(got) > n {
				return got[n], true
			}
			return pushed{}, false
		case <-deadline:
			return pushed{}, false
		}
	}
}

func (s *stream) waitClosed(within time.Duration) error {
	select {
	case <-s.closed:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.err
	case <-time.After(within):
		s.t.Fatalf("stream still open after %s", within)
		return nil
	}
}

func (c *client) ctx() context.Context {
	if c.clk != nil {
		return clock.NewContext(context.Background(), c.clk)
	}
	return context.Background()
}

// openWS dials GET path as a WebSocket.
func (c *client) openWS(path, token string) (*stream, error) {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	conn, resp, err := websocket.Dial(c.ctx(), c.base+path, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h})
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			return nil, &httpError{resp.StatusCode, string(b), err}
		}
		return nil, err
	}
	s := &stream{t: c.t, more: make(chan struct{}, 1), closed: make(chan struct{})}
	s.close = func() { conn.Close(websocket.StatusNormalClosure, "") }
	go func() {
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				s.stop(err)
				return
			}
			var m pushed
			if err := json.Unmarshal(b, &m); err != nil {
				s.stop(err)
				return
			}
			s.add(m)
		}
	}()
	c.t.Cleanup(func() { conn.CloseNow() })
	return s, nil
}

// openSSE GETs path as an event stream.
func (c *client) openSSE(path, token string) (*stream, error) {
	req, err := http.NewRequestWithContext(c.ctx(), "GET", c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := *c.hc
	hc.Timeout = 0 // a stream outlives any whole-request timeout
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, &httpError{resp.StatusCode, string(b), nil}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		c.t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	s := &stream{t: c.t, more: make(chan struct{}, 1), closed: make(chan struct{})}
	s.close = func() { resp.Body.Close() }
	go func() {
		br := bufio.NewReader(resp.Body)
		var m pushed
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				s.stop(err)
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				s.add(m)
				m = pushed{}
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				m.eventID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
					s.stop(err)
					return
				}
			}
		}
	}()
	c.t.Cleanup(func() { resp.Body.Close() })
	return s, nil
}

type httpError struct {
	status int
	body   string
	err    error
}

func (e *httpError) Error() string { return e.body }

func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	return 0
}

// streamKinds are the two push streams of messaging.
var streamKinds = []struct {
	name string
	open func(c *client, token string) (*stream, error)
}{
	{"websocket", func(c *client, tok string) (*stream, error) { return c.openWS("/messaging/ws", tok) }},
	{"sse", func(c *client, tok string) (*stream, error) { return c.openSSE("/messaging/events", tok) }},
}

func TestPushDelivers(t *testing.T) {
	for _, how := range transports {
		for _, kind := range streamKinds {
			t.Run(how+"/"+kind.name, func(t *testing.T) {
				p := New(Options{})
				c := newClient(t, p, how)
				a, b := c.login("messaging", "alice"), c.login("messaging", "bob")
				s, err := kind.open(c, b)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				other, err := kind.open(c, a) // alice's stream gets nothing of bob's
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				var sent []string
				for _, text := range []string{"one", "two", "three"} {
					sent = append(sent, c.must(c.do("POST", "/messaging/messages", a, map[string]string{"to": "bob", "text": text}), 201).str(t, "id"))
				}
				for i, id := range sent {
					m, ok := s.next(i, 5*time.Second)
					if !ok {
						t.Fatalf("push %d of %s never came (got %v)", i, id, s.messages())
					}
					if m.Type != "message" || m.ID != id || m.From != "alice" || m.At == "" {
						t.Errorf("push %d = %+v, want message %s from alice", i, m, id)
					}
					if kind.name == "sse" && (m.event != "message" || m.eventID != id) {
						t.Errorf("SSE event %q id %q, want message %s", m.event, m.eventID, id)
					}
				}
				// The inbox still has them: push is beside it, not instead.
				if got := ids(t, c.must(c.do("GET", "/messaging/inbox", b, nil), 200)); len(got) != 3 {
					t.Errorf("inbox = %v, want the three messages", got)
				}
				if got := other.messages(); len(got) != 0 {
					t.Errorf("alice's stream got %v", got)
				}
				s.close()
				other.close()
				waitStreams(t, p, 0)
			})
		}
	}
}

// waitStreams waits for the platform to hold n open streams.
func waitStreams(t *testing.T, p *Platform, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for p.hub.count() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open, want %d", p.hub.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPushBeforeReply is what keeps a replay deterministic: through
// Transport, a message pushed while a send is served is in the reader's
// hands when the send's response returns, with no waiting at all.
func TestPushBeforeReply(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name, func(t *testing.T) {
			p := New(Options{})
			c := newClient(t, p, "transport")
			c.clk = clock.NewManual(t0)
			tok := c.login("messaging", "alice")
			s, err := kind.open(c, tok)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 300 {
				id := c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "alice", "text": "n"}), 201).str(t, "id")
				got := s.messages()
				if len(got) != i+1 || got[i].ID != id {
					t.Fatalf("send %d: the stream holds %d messages when the send returned, want %d ending with %s", i, len(got), i+1, id)
				}
			}
		})
	}
}

func TestPushFaults(t *testing.T) {
	for _, how := range transports {
		for _, kind := range streamKinds {
			t.Run(how+"/"+kind.name, func(t *testing.T) {
				t.Run("drop loses the push", func(t *testing.T) {
					p := New(Options{})
					c := newClient(t, p, how)
					tok := c.login("messaging", "alice")
					s, err := kind.open(c, tok)
					if err != nil {
						t.Fatal(err)
					}
					id, err := p.AddFault(Fault{Service: "messaging", Functions: []string{"receive"}, Mode: "drop"})
					if err != nil {
						t.Fatal(err)
					}
					lost := c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "alice", "text": "lost"}), 201).str(t, "id")
					p.RemoveFault(id)
					kept := c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "alice", "text": "kept"}), 201).str(t, "id")
					m, ok := s.next(0, 5*time.Second)
					if !ok || m.ID != kept {
						t.Fatalf("first push = %+v (ok %v), want %s; %s was dropped and must never arrive", m, ok, kept, lost)
					}
				})
				t.Run("down refuses the stream", func(t *testing.T) {
					p := New(Options{})
					c := newClient(t, p, how)
					tok := c.login("messaging", "alice")
					if _, err := p.AddFault(Fault{Service: "messaging", Functions: []string{"receive"}, Mode: "down"}); err != nil {
						t.Fatal(err)
					}
					_, err := kind.open(c, tok)
					if err == nil {
						t.Fatal("stream opened while messaging receive is down")
					}
					if how == "transport" && !errors.Is(err, syscall.ECONNREFUSED) {
						t.Errorf("in process: %v, want connection refused", err)
					}
					waitStreams(t, p, 0)
				})
				t.Run("error answers 503", func(t *testing.T) {
					p := New(Options{})
					c := newClient(t, p, how)
					tok := c.login("messaging", "alice")
					if _, err := p.AddFault(Fault{Service: "messaging", Functions: []string{"receive"}, Mode: "error"}); err != nil {
						t.Fatal(err)
					}
					_, err := kind.open(c, tok)
					if st := statusOf(err); st != 503 {
						t.Errorf("open: %v (status %d), want 503", err, st)
					}
				})
				t.Run("down while open closes it", func(t *testing.T) {
					p := New(Options{})
					c := newClient(t, p, how)
					tok := c.login("messaging", "alice")
					s, err := kind.open(c, tok)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := p.AddFault(Fault{Service: "messaging", Functions: []string{"receive"}, Mode: "down"}); err != nil {
						t.Fatal(err)
					}
					c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "alice", "text": "x"}), 201)
					if err := s.waitClosed(5 * time.Second); err == nil {
						t.Error("stream ended without an error")
					}
					if got := s.messages(); len(got) != 0 {
						t.Errorf("got %v while receive was down", got)
					}
					waitStreams(t, p, 0)
				})
				t.Run("no token", func(t *testing.T) {
					p := New(Options{})
					c := newClient(t, p, how)
					if _, err := kind.open(c, ""); statusOf(err) != 401 {
						t.Errorf("open without a token: %v, want 401", err)
					}
					wrong := c.login("payments", "alice") // another service's token
					if _, err := kind.open(c, wrong); statusOf(err) != 401 {
						t.Errorf("open with a payments token: %v, want 401", err)
					}
				})
			})
		}
	}
}

func TestStreamLimit(t *testing.T) {
	for _, kind := range streamKinds {
		t.Run(kind.name, func(t *testing.T) {
			p := New(Options{Limits: Limits{Streams: 2}})
			c := newClient(t, p, "httptest")
			tok := c.login("messaging", "alice")
			var open []*stream
			for range 2 {
				s, err := kind.open(c, tok)
				if err != nil {
					t.Fatal(err)
				}
				open = append(open, s)
			}
			if _, err := kind.open(c, tok); statusOf(err) != 503 {
				t.Fatalf("third stream: %v, want 503", err)
			}
			open[0].close()
			waitStreams(t, p, 1)
			if _, err := kind.open(c, tok); err != nil {
				t.Errorf("after one closed: %v", err)
			}
		})
	}
}

// TestSlowConsumer: a client that never reads is cut off once pushQueue
// pushes wait, and the sender is never blocked by it.
func TestSlowConsumer(t *testing.T) {
	p := New(Options{})
	c := newClient(t, p, "httptest")
	tok := c.login("messaging", "alice")
	h := http.Header{"Authorization": {"Bearer " + tok}}
	conn, _, err := websocket.Dial(context.Background(), c.base+"/messaging/ws", &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// Socket buffers absorb some megabytes first; past them the platform's
	// queue fills and the stream is closed.
	text := strings.Repeat("x", maxMessageText)
	sends := 0
	for p.hub.count() > 0 {
		if sends == 5000 {
			t.Fatalf("stream still open after %d sends of %d bytes to a reader that never reads", sends, len(text))
		}
		start := time.Now()
		c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "alice", "text": text}), 201)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("send %d took %s: a stuck reader blocks the sender", sends, took)
		}
		sends++
	}
	t.Logf("cut off after %d sends", sends)
}

func TestCloseStreams(t *testing.T) {
	for _, how := range transports {
		t.Run(how, func(t *testing.T) {
			p := New(Options{})
			c := newClient(t, p, how)
			tok := c.login("messaging", "alice")
			var open []*stream
			for _, kind := range streamKinds {
				s, err := kind.open(c, tok)
				if err != nil {
					t.Fatal(err)
				}
				open = append(open, s)
			}
			p.CloseStreams()
			for i, s := range open {
				s.waitClosed(5 * time.Second)
				if i == 0 { // the WebSocket says why
					if st := websocket.CloseStatus(s.err); st != websocket.StatusGoingAway {
						t.Errorf("WebSocket closed with %v, want going away", s.err)
					}
				}
			}
			waitStreams(t, p, 0)
			// The platform still serves, new streams included.
			if _, err := streamKinds[0].open(c, tok); err != nil {
				t.Errorf("open after CloseStreams: %v", err)
			}
		})
	}
}

// TestPublishSkipsEndedStream: a stream that ended after publish listed it
// (the run that opened it closed it, and its handler had not unsubscribed
// yet) never writes the push; an in-process send must not wait for it.
// It waited pushWait (5 s) in real time, which a replay, where the next run
// of the flow sends a moment after the last one closed its stream, paid
// again and again.
func TestPublishSkipsEndedStream(t *testing.T) {
	h := newHub(10)
	h.wait = time.Hour
	k := subKey{"messaging", "alice"}
	live, ok := h.subscribe(context.Background(), k)
	if !ok {
		t.Fatal("subscribe")
	}
	ended, ok := h.subscribe(context.Background(), k)
	if !ok {
		t.Fatal("subscribe")
	}
	ended.cancel(context.Canceled) // its handler returned; not yet unsubscribed
	go func() {
		m := <-live.out
		close(m.done)
	}()
	done := make(chan struct{})
	go func() {
		h.publish(context.Background(), k, pushMsg{id: "m-1"}, true)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a guard: the defect waits h.wait, an hour
		t.Fatal("publish waited for a stream that had ended")
	}
}
