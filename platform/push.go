package platform

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Push delivery: besides its inbox, messaging delivers every message to the
// recipient's open streams as it arrives, over a WebSocket (GET
// /messaging/ws, one JSON text frame per message) and over server-sent events
// (GET /messaging/events, one "message" event per message). Both are the
// messaging receive function: faults on receive refuse or fail the stream
// like any request, and a drop fault loses the push with the inbox delivery.

const (
	// pushQueue is how many pushes a stream may have waiting to be written;
	// a stream that falls further behind is closed (a slow consumer).
	pushQueue = 64
	// pushWait bounds, in real time, how long an in-process send waits for
	// its pushes to be read (see publish). A reader that drains its stream
	// is back far sooner; the bound only keeps a stuck one from hanging the
	// sender.
	pushWait = 5 * time.Second
	// pushWriteTimeout bounds, in real time, one write to a stream.
	pushWriteTimeout = 10 * time.Second
	// wsReadLimit bounds a frame a client sends on the WebSocket; the
	// platform reads and ignores them.
	wsReadLimit = 4096
)

// pushMsg is one push: the event name and id (SSE) and the JSON payload.
type pushMsg struct {
	event string
	id    string
	data  []byte
	done  chan struct{} // closed once written, or when the stream ended
}

// subKey is whose pushes a stream receives.
type subKey struct{ service, user string }

// subscriber is one open stream.
type subscriber struct {
	key    subKey
	out    chan pushMsg
	cancel context.CancelCauseFunc // ends the stream with a cause
	ctx    context.Context         // done when the stream ends
}

// errSlow, errDown and errUnavailable are why the platform ends a stream.
var (
	errSlow        = streamEnd("slow consumer: too many pushes waiting")
	errDown        = streamEnd("service down")
	errUnavailable = streamEnd("receive unavailable")
	errShutdown    = streamEnd("platform shutting down")
)

type streamEnd string

func (e streamEnd) Error() string { return string(e) }

// hub holds the open streams, bounded to max.
type hub struct {
	mu   sync.Mutex
	subs map[subKey]map[*subscriber]struct{}
	n    int
	max  int
	wait time.Duration // pushWait (tests set another)
}

func newHub(max int) *hub {
	return &hub{subs: map[subKey]map[*subscriber]struct{}{}, max: max, wait: pushWait}
}

// subscribe registers a stream; it fails when max streams are open.
func (h *hub) subscribe(ctx context.Context, k subKey) (*subscriber, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n >= h.max {
		return nil, false
	}
	s := &subscriber{key: k, out: make(chan pushMsg, pushQueue)}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	m := h.subs[k]
	if m == nil {
		m = map[*subscriber]struct{}{}
		h.subs[k] = m
	}
	m[s] = struct{}{}
	h.n++
	return s, true
}

// unsubscribe removes a stream and releases what still waits on it.
func (h *hub) unsubscribe(s *subscriber) {
	s.cancel(context.Canceled)
	h.mu.Lock()
	if m := h.subs[s.key]; m != nil {
		if _, ok := m[s]; ok {
			delete(m, s)
			h.n--
		}
		if len(m) == 0 {
			delete(h.subs, s.key)
		}
	}
	h.mu.Unlock()
	for {
		select {
		case m := <-s.out:
			close(m.done)
		default:
			return
		}
	}
}

// streams returns the open streams of k.
func (h *hub) streams(k subKey) []*subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*subscriber, 0, len(h.subs[k]))
	for s := range h.subs[k] {
		out = append(out, s)
	}
	return out
}

// count returns the number of open streams.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// publish pushes m to every open stream of k. With wait (an in-process
// request) it returns once each stream has written its push, which over the
// in-process pipes means its reader has it; see Transport.
func (h *hub) publish(ctx context.Context, k subKey, m pushMsg, wait bool) {
	subs := h.streams(k)
	type sent struct {
		s  *subscriber
		pm pushMsg
	}
	dones := make([]sent, 0, len(subs))
	for _, s := range subs {
		pm := m
		pm.done = make(chan struct{})
		select {
		case s.out <- pm:
			dones = append(dones, sent{s, pm})
		default:
			s.cancel(errSlow)
		}
	}
	if !wait || len(dones) == 0 {
		return
	}
	bound := time.NewTimer(h.wait)
	defer bound.Stop()
	for _, d := range dones {
		// A stream that ended meanwhile (its run closed it just after
		// streams above listed it) never writes the push: the send went on
		// without it, rather than wait the bound in real time.
		select {
		case <-d.pm.done:
		case <-d.s.ctx.Done():
		case <-ctx.Done():
			return
		case <-bound.C:
			return
		}
	}
}

// endAll closes every open stream with cause.
func (h *hub) endAll(cause error) {
	h.mu.Lock()
	var all []*subscriber
	for _, m := range h.subs {
		for s := range m {
			all = append(all, s)
		}
	}
	h.mu.Unlock()
	for _, s := range all {
		s.cancel(cause)
	}
}

// CloseStreams ends every open WebSocket and event stream (a WebSocket with
// close status 1001, going away); the platform keeps serving.
func (p *Platform) CloseStreams() { p.hub.endAll(errShutdown) }

// end closes every open stream of k with cause.
func (h *hub) end(k subKey, cause error) {
	for _, s := range h.streams(k) {
		s.cancel(cause)
	}
}

// pushMessage pushes a delivered message to its recipient's streams, unless
// a down or error fault on the service's receive function is active at the
// request's time: then the recipient's streams are closed instead.
func (p *Platform) pushMessage(c *call, to string, m message) {
	k := subKey{c.svc, to}
	if len(p.hub.streams(k)) == 0 {
		return
	}
	payload := struct {
		Type string `json:"type"`
		message
	}{"message", m}
	data, err := json.Marshal(payload)
	if err != nil {
		return // a message of strings and a time always encodes
	}
	v := p.judge(c.svc, "receive", c.now, sample(c.svc, "receive", "PUSH", to, data, c.now))
	switch {
	case v.down != nil:
		p.hub.end(k, errDown)
		return
	case v.err != nil:
		p.hub.end(k, errUnavailable)
		return
	}
	p.hub.publish(c.r.Context(), k, pushMsg{event: "message", id: m.ID, data: data}, c.r.RemoteAddr == inProcessAddr)
}

// openStream registers the caller's stream, or answers 503 when the
// platform holds Limits.Streams streams already.
func (p *Platform) openStream(c *call) (*subscriber, bool) {
	s, ok := p.hub.subscribe(c.r.Context(), subKey{c.svc, c.user})
	if !ok {
		writeError(c.w, http.StatusServiceUnavailable, "too many open streams; try again later")
		return nil, false
	}
	// Streams outlive the server's per-request write and read timeouts.
	rc := http.NewResponseController(c.w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	return s, true
}

// streamWS answers GET /{service}/ws: a WebSocket that carries one JSON text
// frame per push. Frames the client sends are read and ignored.
func (p *Platform) streamWS(c *call) {
	s, ok := p.openStream(c)
	if !ok {
		return
	}
	defer p.hub.unsubscribe(s)
	conn, err := websocket.Accept(c.w, c.r, nil)
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)
	drain := drainOf(c.r.Context())
	// The reader's context is not the stream's: a read whose context ends
	// closes the connection at once, which would cut off the close frame
	// the platform sends when it ends the stream. The deferred CloseNow
	// ends the reader.
	rctx := context.WithoutCancel(s.ctx)
	go func() {
		for {
			if _, _, err := conn.Read(rctx); err != nil {
				s.cancel(err)
				return
			}
		}
	}()
	for {
		select {
		case m := <-s.out:
			wctx, cancel := context.WithTimeout(s.ctx, pushWriteTimeout)
			err := conn.Write(wctx, websocket.MessageText, m.data)
			if err == nil && drain != nil {
				err = drain(wctx)
			}
			cancel()
			close(m.done)
			if err != nil {
				return
			}
		case <-s.ctx.Done():
			switch context.Cause(s.ctx) {
			case errSlow:
				_ = conn.Close(websocket.StatusPolicyViolation, errSlow.Error())
			case errUnavailable:
				_ = conn.Close(websocket.StatusTryAgainLater, errUnavailable.Error())
			case errShutdown:
				_ = conn.Close(websocket.StatusGoingAway, errShutdown.Error())
			}
			return // down, or the client went away: the deferred CloseNow drops the connection
		}
	}
}

// streamSSE answers GET /{service}/events: a text/event-stream with one
// "message" event per push, its id the message's.
func (p *Platform) streamSSE(c *call) {
	s, ok := p.openStream(c)
	if !ok {
		return
	}
	defer p.hub.unsubscribe(s)
	rc := http.NewResponseController(c.w)
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	drain := drainOf(c.r.Context())
	var b strings.Builder
	for {
		select {
		case m := <-s.out:
			b.Reset()
			b.WriteString("event: " + m.event + "\n")
			b.WriteString("id: " + m.id + "\n")
			b.WriteString("data: ")
			b.Write(m.data) // compact JSON: one line
			b.WriteString("\n\n")
			_ = rc.SetWriteDeadline(time.Now().Add(pushWriteTimeout)) // a socket's deadline is wall-clock time
			_, err := c.w.Write([]byte(b.String()))
			if err == nil {
				err = rc.Flush()
			}
			if err == nil && drain != nil {
				wctx, cancel := context.WithTimeout(s.ctx, pushWriteTimeout)
				err = drain(wctx)
				cancel()
			}
			close(m.done)
			if err != nil {
				return
			}
		case <-s.ctx.Done():
			return
		}
	}
}
