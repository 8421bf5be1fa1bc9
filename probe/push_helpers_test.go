package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pushTarget is a chat service that delivers by push: clients subscribe
// over a WebSocket (/ws) or an SSE stream (/events); POST /send pushes
// {"id","text"} to every subscriber before it answers {"id"}.
type pushTarget struct {
	mu     sync.Mutex
	subs   map[int]chan string // subscriber -> its pushes
	next   int
	drop   atomic.Bool  // accept sends, push nothing
	hello  string       // pushed to each subscriber on connect, when set
	closed atomic.Int64 // subscriptions that ended (the client went away)
	open   atomic.Int64
	sent   atomic.Int64
	echo   bool     // websocket: push back every text frame the client sends
	extra  []string // pushed after each send's message (noise, floods)
	// settle: /send answers only once every WebSocket subscriber has taken
	// what it pushed (a ping after each message, answered by the client's
	// reader after it took the message, or failing because the client
	// closed on it), so that a test knows the pushes reached the client's
	// inbox before its await step begins.
	settle  bool
	acked   atomic.Int64 // messages written and pinged past (settle)
	handler http.Handler
}

func newPushTarget(t *testing.T, setup func(*pushTarget)) (*pushTarget, *httptest.Server) {
	t.Helper()
	pt := &pushTarget{subs: map[int]chan string{}}
	if setup != nil {
		setup(pt)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", pt.serveWS)
	mux.HandleFunc("GET /events", pt.serveSSE)
	mux.HandleFunc("POST /send", pt.serveSend)
	mux.HandleFunc("GET /ws-forbidden", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return pt, srv
}

func (pt *pushTarget) subscribe() (int, chan string) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	pt.next++
	ch := make(chan string, 1024)
	pt.subs[pt.next] = ch
	pt.open.Add(1)
	if pt.hello != "" {
		ch <- pt.hello
	}
	return pt.next, ch
}

func (pt *pushTarget) unsubscribe(id int) {
	pt.mu.Lock()
	delete(pt.subs, id)
	pt.mu.Unlock()
	pt.open.Add(-1)
	pt.closed.Add(1)
}

func (pt *pushTarget) push(s string) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for _, ch := range pt.subs {
		select {
		case ch <- s:
		default:
		}
	}
}

func (pt *pushTarget) serveSend(w http.ResponseWriter, r *http.Request) {
	var in struct{ Text string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	id := fmt.Sprintf("m-%d", pt.sent.Add(1))
	msg, _ := json.Marshal(map[string]string{"id": id, "text": in.Text})
	if !pt.drop.Load() {
		pt.push(string(msg))
	}
	for _, x := range pt.extra {
		pt.push(x)
	}
	if pt.settle {
		pt.mu.Lock()
		want := int64(len(pt.subs)) * int64(len(pt.extra))
		if !pt.drop.Load() {
			want += int64(len(pt.subs))
		}
		pt.mu.Unlock()
		for deadline := time.Now().Add(5 * time.Second); pt.acked.Load() < want && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":%q}`, id)
}

func (pt *pushTarget) serveWS(w http.ResponseWriter, r *http.Request) {
	// Subscribed before the handshake answers: a send right after the
	// client connected reaches it.
	id, ch := pt.subscribe()
	defer pt.unsubscribe(id)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"chat"}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // reads client frames; ends the subscription when the client goes
		defer cancel()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if pt.echo {
				ch <- "echo:" + string(data)
			}
		}
	}()
	for {
		select {
		case s := <-ch:
			if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
				return
			}
			if pt.settle {
				// The pong comes once the client's reader has taken the
				// message; a client that closed on it (a limit) has too.
				err := c.Ping(ctx)
				pt.acked.Add(1)
				if err != nil {
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

func (pt *pushTarget) serveSSE(w http.ResponseWriter, r *http.Request) {
	id, ch := pt.subscribe()
	defer pt.unsubscribe(id)
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	io.WriteString(w, ": hello\n\n")
	fl.Flush()
	for {
		select {
		case s := <-ch:
			ev := "message"
			if strings.HasPrefix(s, "event:") { // "event:TYPE|data"
				ev, s, _ = strings.Cut(strings.TrimPrefix(s, "event:"), "|")
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev, s)
			fl.Flush()
		case <-r.Context().Done():
			return
		}
	}
}

// waitFor polls cond for up to 5 s (a server notices a closed connection
// asynchronously); it is not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
