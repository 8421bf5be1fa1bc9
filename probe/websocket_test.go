package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// chatFlow: subscribe (a stream step), send, then await the sent message on
// the stream.
func chatFlow(base string, stream config.Step, await config.Await) config.Flow {
	send := config.Step{Name: "send", Function: "send", Request: config.Request{
		Method: "POST", URL: base + "/send", JSON: map[string]any{"text": "hi ${run.id}"}},
		Extract: []config.Extract{{Var: "message_id", JSONPath: "$.id"}}}
	recv := config.Step{Name: "receive", Function: "receive", Timeout: 2 * time.Second, Await: &await,
		Expect:  config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("${message_id}")}}},
		Extract: []config.Extract{{Var: "text", JSONPath: "$.text"}}}
	return config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{stream, send, recv}}
}

func wsStream(url string) config.Step {
	return config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: url}}
}

func TestWebSocketAwait(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*pushTarget)
		stream  config.Stream
		await   config.Await
		status  [3]Status
		errText string // the receive step's
	}{
		{name: "delivered", stream: config.Stream{Subprotocols: []string{"chat"}},
			await: config.Await{Stream: "subscribe"}, status: [3]Status{StatusOK, StatusOK, StatusOK}},
		{name: "noise before the message", setup: func(p *pushTarget) { p.hello = `{"type":"hello"}` },
			await: config.Await{Stream: "subscribe"}, status: [3]Status{StatusOK, StatusOK, StatusOK}},
		{name: "dropped", setup: func(p *pushTarget) { p.drop.Store(true); p.hello = `{"type":"hello"}` },
			await: config.Await{Stream: "subscribe"}, status: [3]Status{StatusOK, StatusOK, StatusFailed},
			errText: `receive: timeout after 2s: the only message on stream subscribe did not match: $.id selected nothing, want "m-1" (got "{\"type\":\"hello\"}")`},
		{name: "flood over max_messages", setup: func(p *pushTarget) { p.drop.Store(true); p.extra = strings.Split("a b c d", " ") },
			stream: config.Stream{MaxMessages: 2},
			await:  config.Await{Stream: "subscribe"}, status: [3]Status{StatusOK, StatusOK, StatusFailed},
			errText: `receive: stream subscribe: more than 2 messages (max_messages): none of 2-9 messages on stream subscribe matched; closest: $.id: body is not JSON (got "b")`},
		{name: "message over max_message_bytes", setup: func(p *pushTarget) { p.drop.Store(true); p.extra = []string{strings.Repeat("x", 100)} },
			stream: config.Stream{MaxMessageBytes: 64, MaxBufferedBytes: 64},
			await:  config.Await{Stream: "subscribe"}, status: [3]Status{StatusOK, StatusOK, StatusFailed},
			errText: `receive: stream subscribe: a message larger than 64 bytes (max_message_bytes): no message on stream subscribe`},
		{name: "over max_buffered_bytes", setup: func(p *pushTarget) {
			p.drop.Store(true)
			p.extra = []string{strings.Repeat("x", 40), strings.Repeat("y", 40)}
			// Both in the inbox before the await begins (an await already
			// waiting takes each message as it comes: nothing piles up).
			p.settle = true
		},
			stream: config.Stream{MaxMessageBytes: 64, MaxBufferedBytes: 64},
			await:  config.Await{Stream: "subscribe"}, status: [3]Status{StatusOK, StatusOK, StatusFailed},
			errText: `receive: stream subscribe: more than 64 bytes waiting for an await (max_buffered_bytes): the only message on stream subscribe did not match: $.id: body is not JSON (got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, srv := newPushTarget(t, tc.setup)
			st := tc.stream
			st.URL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
			run := runOne(t, context.Background(), chatFlow(srv.URL, config.Step{Name: "subscribe", Function: "receive", WebSocket: &st}, tc.await), Options{})
			for i, want := range tc.status {
				if got := run.Steps[i]; got.Status != want {
					t.Errorf("step %s: %s %q, want %s", got.Step, got.Status, got.Error, want)
				}
			}
			if got := run.Steps[0].HTTPStatus; got != 101 {
				t.Errorf("subscribe http_status %d, want 101", got)
			}
			if tc.errText != "" && run.Steps[2].Error != tc.errText {
				t.Errorf("receive error:\n got %q\nwant %q", run.Steps[2].Error, tc.errText)
			}
			if tc.status[2] == StatusOK && (run.Steps[2].Duration <= 0 || run.Steps[2].Duration > 2*time.Second) {
				t.Errorf("receive latency %v, want the send-to-receive time", run.Steps[2].Duration)
			}
			// The stream is closed when Run returns, whatever happened.
			waitFor(t, "server sees the stream closed", func() bool { return pt.open.Load() == 0 && pt.closed.Load() == 1 })
		})
	}
}

func TestWebSocketStreamOutlivesItsStep(t *testing.T) {
	// The stream step's timeout bounds the handshake only: the stream stays
	// open after the step's context ends, until the run ends.
	pt, srv := newPushTarget(t, nil)
	ws := wsStream("ws" + strings.TrimPrefix(srv.URL, "http") + "/ws")
	ws.Timeout = 50 * time.Millisecond
	f := chatFlow(srv.URL, ws, config.Await{Stream: "subscribe"})
	_, slow := newTarget(t)
	pause := get("pause", slow.URL+"/slow?d=150ms")
	f.Steps = []config.Step{f.Steps[0], pause, f.Steps[1], f.Steps[2]}
	run := runOne(t, context.Background(), f, Options{})
	for _, s := range run.Steps {
		wantStep(t, s, StatusOK, "")
	}
	waitFor(t, "stream closed at the end", func() bool { return pt.open.Load() == 0 })
}

func TestWebSocketHandshakeAndFrames(t *testing.T) {
	pt, srv := newPushTarget(t, func(p *pushTarget) { p.echo = true })
	base := "ws" + strings.TrimPrefix(srv.URL, "http")

	t.Run("forbidden", func(t *testing.T) {
		f := chatFlow(srv.URL, wsStream(base+"/ws-forbidden"), config.Await{Stream: "subscribe"})
		run := runOne(t, context.Background(), f, Options{})
		wantStep(t, run.Steps[0], StatusFailed, "subscribe: websocket handshake: status 403, want 101")
		wantStep(t, run.Steps[2], StatusNotRun, "not run: step subscribe failed")
		if run.Steps[0].HTTPStatus != 403 {
			t.Errorf("http_status %d, want 403", run.Steps[0].HTTPStatus)
		}
	})
	t.Run("refused", func(t *testing.T) {
		f := chatFlow(srv.URL, wsStream("ws://127.0.0.1:1/ws"), config.Await{Stream: "subscribe"})
		run := runOne(t, context.Background(), f, Options{})
		wantStep(t, run.Steps[0], StatusFailed, "subscribe: websocket: connection refused (127.0.0.1:1)")
	})
	t.Run("frames sent after connecting", func(t *testing.T) {
		ws := wsStream(base + "/ws")
		ws.WebSocket.Send = []string{`{"connect":"${run.id}"}`}
		ws.WebSocket.Subprotocols = []string{"chat"}
		ws.Extract = []config.Extract{{Var: "proto", Header: "Sec-WebSocket-Protocol"}}
		recv := config.Step{Name: "connected", Function: "receive", Await: &config.Await{Stream: "subscribe"},
			Expect: config.Expect{Body: &config.Matcher{Equals: sp(`echo:{"connect":"run-1"}`)}}}
		check := get("check", srv.URL+"/nope?proto=${proto}")
		check.Expect.Status = []int{404}
		run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{ws, recv, check}},
			Options{NewID: func() string { return "run-1" }})
		for _, s := range run.Steps {
			wantStep(t, s, StatusOK, "")
		}
		_ = pt
	})
}

func TestAwaitInVirtualTime(t *testing.T) {
	// A replay's run clock is a clock.Manual: an await that nothing ends
	// ends at its deadline at once, with the live error text, and the run
	// clock has moved to that deadline.
	_, srv := newPushTarget(t, func(p *pushTarget) { p.drop.Store(true) })
	f := chatFlow(srv.URL, wsStream("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws"), config.Await{Stream: "subscribe"})
	f.Steps[2].Timeout = time.Hour
	f.Timeout = 2 * time.Hour
	t0 := time.Date(2022, 10, 15, 15, 19, 0, 0, time.UTC)
	mc := clock.NewManual(t0)
	realStart := time.Now()
	run := runOne(t, clock.NewContext(context.Background(), mc), f, Options{})
	if took := time.Since(realStart); took > 30*time.Second {
		t.Fatalf("a 1h virtual await took %v of real time", took)
	}
	wantStep(t, run.Steps[2], StatusFailed, "receive: timeout after 1h0m0s: no message on stream subscribe")
	if got := run.Steps[2].Duration; got != time.Hour {
		t.Errorf("receive duration %v, want exactly the 1h timeout in virtual time", got)
	}
	if got := mc.Now().Sub(t0); got < time.Hour {
		t.Errorf("virtual clock moved %v, want at least 1h", got)
	}
}

// TestWebSocketClosedByServer: the await that finds the stream closed says
// the close code, its name when the protocol has one, and the reason. A
// hub's own codes (Centrifugo's 3503 "force disconnect", 3500 "invalid
// token") have no name: they read "3503: force disconnect", not
// "3503 StatusCode(3503): force disconnect".
func TestWebSocketClosedByServer(t *testing.T) {
	tests := []struct {
		name    string
		code    websocket.StatusCode
		reason  string
		errText string
	}{
		{"hub's code with a reason", 3503, "force disconnect", "receive: stream subscribe: closed by the server (3503: force disconnect): no message on stream subscribe"},
		{"hub's code alone", 4000, "", "receive: stream subscribe: closed by the server (4000): no message on stream subscribe"},
		{"protocol's code with a reason", websocket.StatusInternalError, "boom", "receive: stream subscribe: closed by the server (1011 StatusInternalError: boom): no message on stream subscribe"},
		{"protocol's code alone", websocket.StatusGoingAway, "", "receive: stream subscribe: closed by the server (1001 StatusGoingAway): no message on stream subscribe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				c.Close(tc.code, tc.reason)
			}))
			t.Cleanup(srv.Close)
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 2 * time.Second, Await: &config.Await{Stream: "subscribe"}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second,
				Steps: []config.Step{wsStream("ws" + strings.TrimPrefix(srv.URL, "http")), recv}}, Options{})
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusFailed, tc.errText)
		})
	}
}

// TestWebSocketFrameOfJSONLines: a frame that holds several JSON documents,
// one per line (Centrifugo's JSON protocol batches what is queued for a
// client into one frame: two publications, a ping and a push), is that
// many messages, so the await finds the one it waits for. A pretty-printed
// document and text that is not JSON stay one message each.
func TestWebSocketFrameOfJSONLines(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		expect  config.Expect
		errText string
	}{
		{"two pushes in one frame", "{\"push\":{\"pub\":{\"data\":{\"run\":\"other\"}}}}\n{\"push\":{\"pub\":{\"data\":{\"run\":\"mine\"}}}}",
			config.Expect{JSONPath: []config.PathMatch{{Path: "$.push.pub.data.run", Matcher: eq("mine")}}}, ""},
		{"a ping, a push and a trailing newline", "{}\n{\"push\":{\"pub\":{\"data\":{\"run\":\"mine\"}}}}\n",
			config.Expect{JSONPath: []config.PathMatch{{Path: "$.push.pub.data.run", Matcher: eq("mine")}}}, ""},
		{"pretty-printed document", "{\n  \"push\": {\"pub\": {\"data\": {\"run\": \"mine\"}}}\n}\n",
			config.Expect{JSONPath: []config.PathMatch{{Path: "$.push.pub.data.run", Matcher: eq("mine")}}}, ""},
		{"text lines stay one message", "hello\nworld",
			config.Expect{Body: &config.Matcher{Equals: sp("hello\nworld")}}, ""},
		{"a JSON line and a text line stay one message", "{\"run\":\"mine\"}\nnot json",
			config.Expect{JSONPath: []config.PathMatch{{Path: "$.run", Matcher: eq("mine")}}},
			`receive: timeout after 300ms: the only message on stream subscribe did not match: $.run: body is not JSON (got "{\"run\":\"mine\"}\nnot json")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				defer c.CloseNow()
				if c.Write(r.Context(), websocket.MessageText, []byte(tc.frame)) != nil {
					return
				}
				c.Read(r.Context()) // until the client closes
			}))
			t.Cleanup(srv.Close)
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 300 * time.Millisecond, Await: &config.Await{Stream: "subscribe"}, Expect: tc.expect}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second,
				Steps: []config.Step{wsStream("ws" + strings.TrimPrefix(srv.URL, "http")), recv}}, Options{})
			wantStep(t, run.Steps[0], StatusOK, "")
			if tc.errText == "" {
				wantStep(t, run.Steps[1], StatusOK, "")
			} else {
				wantStep(t, run.Steps[1], StatusFailed, tc.errText)
			}
		})
	}
}

// TestWebSocketReplyToPings: a hub that pings at the application level (as
// Centrifugo's JSON protocol does: {} every ping_interval, and the client
// is closed with 3012 "no pong" unless it answers {} within pong_timeout)
// keeps a stream whose websocket step answers it (reply) open past the
// ping, and the pings, alone in a frame or sharing one with a push, are no
// messages for the awaits. Without reply the hub closes the stream at the
// first ping, and an await still waiting fails with the hub's close: a
// probe that could not answer failed every run that held a Centrifugo
// stream past ping_interval + pong_timeout (33 s by default).
func TestWebSocketReplyToPings(t *testing.T) {
	const pingEvery = 50 * time.Millisecond
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		frames := make(chan string, 8)
		go func() {
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					close(frames)
					return
				}
				frames <- string(b)
			}
		}()
		pong := func() bool {
			select {
			case f := <-frames:
				return f == "{}"
			case <-time.After(200 * time.Millisecond):
				return false
			}
		}
		// Three pings, the last sharing its frame with the push; each must
		// be answered before the next.
		for _, frame := range []string{"{}", "{}", "{}\n{\"id\":\"m-1\"}\n{}"} {
			time.Sleep(pingEvery)
			if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				return
			}
			for range strings.Count(frame, "{}") {
				if !pong() {
					c.Close(3012, "no pong")
					return
				}
			}
		}
		<-ctx.Done()
	}))
	t.Cleanup(hub.Close)
	for _, tc := range []struct {
		name    string
		reply   []config.Reply
		status  Status
		errText string
	}{
		{"answered", []config.Reply{{To: "{}", Send: "{}"}}, StatusOK, ""},
		{"not answered", nil, StatusFailed,
			"receive: stream subscribe: closed by the server (3012: no pong): the only message on stream subscribe did not match: $.id selected nothing, want \"m-1\" (got \"{}\")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: wsURL(hub), Reply: tc.reply}}
			recv := config.Step{Name: "receive", Function: "receive", Timeout: 3 * time.Second,
				Await:  &config.Await{Stream: "subscribe"},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{sub, recv}}, Options{})
			wantStep(t, run.Steps[1], tc.status, tc.errText)
		})
	}
}

// TestWebSocketRepliesBounded: answered pings count against max_messages
// (they are not queued for the awaits, but a server flooding them is
// bounded like any other), so a flood ends the stream with the limit's
// error rather than keeping the probe answering until the run's deadline.
func TestWebSocketRepliesBounded(t *testing.T) {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		go func() { // read (and drop) the answers
			for {
				if _, _, err := c.Read(r.Context()); err != nil {
					return
				}
			}
		}()
		for range 100 {
			if c.Write(r.Context(), websocket.MessageText, []byte("{}")) != nil {
				return
			}
		}
		<-r.Context().Done()
	}))
	t.Cleanup(hub.Close)
	sub := config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: wsURL(hub), MaxMessages: 10,
		Reply: []config.Reply{{To: "{}", Send: "{}"}}}}
	recv := config.Step{Name: "receive", Function: "receive", Timeout: 3 * time.Second,
		Await:  &config.Await{Stream: "subscribe"},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("m-1")}}}}
	run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{sub, recv}}, Options{})
	wantStep(t, run.Steps[1], StatusFailed, "receive: stream subscribe: more than 10 messages (max_messages): no message on stream subscribe")
}
