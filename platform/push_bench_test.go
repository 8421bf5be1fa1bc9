package platform

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/clock"
)

// BenchmarkInProcessStream is one messaging run's push path in a replay:
// open the WebSocket through Transport, send a message, read its push,
// close.
func BenchmarkInProcessStream(b *testing.B) {
	p := New(Options{})
	c := newClient(b, p, "transport")
	c.clk = clock.NewManual(t0)
	tok := c.login("messaging", "probe")
	h := http.Header{"Authorization": {"Bearer " + tok}}
	ctx := clock.NewContext(context.Background(), c.clk)
	b.ReportAllocs()
	b.ResetTimer()
	mc := c.clk.(*clock.Manual)
	for i := 0; i < b.N; i++ {
		mc.Advance(time.Minute) // a run a minute, as in the demo
		conn, _, err := websocket.Dial(ctx, "http://platform.test/messaging/ws", &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h})
		if err != nil {
			b.Fatal(err)
		}
		got := make(chan []byte, 1)
		go func() {
			_, m, _ := conn.Read(ctx)
			got <- m
			conn.Read(ctx)
		}()
		c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "probe", "text": "x"}), 201)
		if m := <-got; len(m) == 0 {
			b.Fatal("no push")
		}
		conn.CloseNow() // as the prober closes its streams
	}
}
