package httpserve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getOnly is a handler like the status page's and /metrics: it answers
// without reading a request body.
func getOnly() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
}

// TestHugeHeadersRefused: a request whose headers pass MaxHeaderBytes gets
// 431 and its connection closed, without the server reading on.
func TestHugeHeadersRefused(t *testing.T) {
	addr := serve(t, New(getOnly(), Options{MaxHeaderBytes: 4 << 10}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		for i := 0; i < 1000; i++ { // 1 MB of headers, if the server kept reading
			if _, err := fmt.Fprintf(c, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 1000)); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to huge headers: %v", err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge headers: %s, want 431", resp.Status)
	}
}

// TestSlowlorisHeaderTrickle: a client that sends a header byte every
// 50 ms (so that no read ever waits long) is still cut at
// ReadHeaderTimeout, which bounds the whole header, not each read.
func TestSlowlorisHeaderTrickle(t *testing.T) {
	const d = 300 * time.Millisecond
	addr := serve(t, New(getOnly(), Options{ReadHeaderTimeout: d}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	line := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
	var werr error
	for i := 0; i < len(line) && werr == nil && time.Since(start) < 20*d; i++ {
		_, werr = c.Write([]byte{line[i]})
		time.Sleep(50 * time.Millisecond)
	}
	if werr == nil {
		t.Fatalf("still sending a header after %s: the server never cut the trickle", time.Since(start))
	}
}

// TestSlowBodyOnAGetRoute: clients that send a GET with a large body and
// trickle it hold a connection busy after the handler answered (the server
// drains up to 256 KiB of an unread body to keep the connection); with the
// cap full of them, /healthz (or the public page) would be refused for
// ReadTimeout (30 s by default). An unread body must not keep a connection
// busy: the server closes such connections after answering.
func TestSlowBodyOnAGetRoute(t *testing.T) {
	const max = 4
	srv := New(getOnly(), Options{MaxConns: max, ReadTimeout: 30 * time.Second})
	addr := serve(t, srv)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < max; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\nabc")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("slow-body client %d got no answer: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
	}
	// Every slot is taken by a client that answered but is "sending" its
	// body; a newcomer must still be served.
	if err := get(addr, "/", 3*time.Second); err != nil {
		t.Errorf("a fresh request with %d slow-body clients holding the cap of %d: %v (stats %+v)", max, max, err, srv.Stats())
	}
}
