package httpserve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve starts s on a loopback port and returns its address; the server is
// closed when the test ends.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintln(w, "ok")
	})
}

// get fetches path on a fresh connection within d.
func get(addr, path string, d time.Duration) error {
	c := &http.Client{Timeout: d, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "ok" {
		return fmt.Errorf("%s: %q", resp.Status, b)
	}
	return nil
}

// TestCapEvictsIdleConnections floods a server capped at 32 connections with
// idle ones of both kinds (never sent a byte; kept alive after a request) and
// checks that it never holds more than the cap and still answers a fresh
// request after every batch.
func TestCapEvictsIdleConnections(t *testing.T) {
	const maxConns, flood = 32, 600
	s := New(okHandler(), Options{MaxConns: maxConns})
	addr := serve(t, s)
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for i := 0; i < flood; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if i%2 == 1 { // a keep-alive connection that served one request, now idle
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		if i%100 == 99 {
			if err := get(addr, "/healthz", 2*time.Second); err != nil {
				t.Fatalf("after %d idle connections: %v", i+1, err)
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // let evicted connections' goroutines end
	st := s.Stats()
	if st.Open > maxConns {
		t.Errorf("open connections %d, cap %d", st.Open, maxConns)
	}
	if st.Evicted < flood-maxConns {
		t.Errorf("evicted %d, want at least %d", st.Evicted, flood-maxConns)
	}
	if st.Rejected != 0 {
		t.Errorf("rejected %d with idle connections to evict", st.Rejected)
	}
}

// TestCapKeepsBusyConnections: when every connection is in a request, a new
// one is closed and the busy ones finish.
func TestCapKeepsBusyConnections(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		fmt.Fprintln(w, "ok")
	})
	s := New(h, Options{MaxConns: 2})
	addr := serve(t, s)
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		go func() { errs <- get(addr, "/slow", 5*time.Second) }()
		<-started
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("third connection: read %v, want it closed", err)
	}
	close(release)
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Errorf("busy request: %v", err)
		}
	}
	if st := s.Stats(); st.Rejected != 1 || st.Evicted != 0 {
		t.Errorf("stats %+v, want 1 rejected, 0 evicted", st)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "reset")
}

// TestTimeouts: each timeout closes the connection it is about.
func TestTimeouts(t *testing.T) {
	const d = 150 * time.Millisecond
	slowBody := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		fmt.Fprintln(w, "ok")
	})
	tests := []struct {
		name string
		opts Options
		// send writes to the connection; the server must close it within 10*d.
		send func(c net.Conn)
	}{
		{"header never finished", Options{ReadHeaderTimeout: d}, func(c net.Conn) {
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		}},
		{"body never finished", Options{ReadTimeout: d}, func(c net.Conn) {
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
		}},
		{"idle keep-alive", Options{IdleTimeout: d}, func(c net.Conn) {
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, New(slowBody, tt.opts))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tt.send(c)
			start := time.Now()
			c.SetReadDeadline(start.Add(20 * d))
			_, err = io.Copy(io.Discard, c)
			if err != nil && !isReset(err) {
				t.Fatalf("connection not closed by the server: %v", err)
			}
			if took := time.Since(start); took > 10*d {
				t.Errorf("closed after %v, want about %v", took, d)
			}
		})
	}
}

// TestWriteTimeout: a client that never reads a large response does not
// hold the handler past the write timeout.
func TestWriteTimeout(t *testing.T) {
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		var err error
		for i := 0; i < 256 && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		done <- err
	})
	addr := serve(t, New(h, Options{WriteTimeout: 200 * time.Millisecond}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("256 MiB written to a client that reads nothing")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler still writing after 5 s")
	}
}

// TestRunShutsDown: Run returns nil once ctx ends.
func TestRunShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := New(okHandler(), Options{})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	if err := get(ln.Addr().String(), "/", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

// TestDefaults: the zero Options set every timeout.
func TestDefaults(t *testing.T) {
	s := New(okHandler(), Options{})
	srv := &s.srv
	for name, v := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if v <= 0 {
			t.Errorf("%s = %v, want a default", name, v)
		}
	}
	if s.max != DefaultMaxConns || srv.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("max conns %d, header bytes %d", s.max, srv.MaxHeaderBytes)
	}
	if New(okHandler(), Options{WriteTimeout: -1}).srv.WriteTimeout != 0 {
		t.Error("a negative WriteTimeout does not mean none")
	}
}

// TestRunWithoutGraceClosesRequestsInFlight: with a negative ShutdownGrace,
// Run closes the connections of requests in flight when ctx ends (a callback
// listener nothing awaits any more); a request whose body trickles in is not
// left to run out its ReadTimeout.
func TestRunWithoutGraceClosesRequestsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{})
	ended := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(reading)
		_, err := io.Copy(io.Discard, r.Body)
		ended <- err
	})
	ctx, cancel := context.WithCancel(context.Background())
	s := New(h, Options{ShutdownGrace: -1})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	<-reading
	cancel()
	for name, ch := range map[string]chan error{"Run": done, "the handler's read": ended} {
		select {
		case err := <-ch:
			if name == "Run" && err != nil {
				t.Errorf("Run: %v", err)
			}
			if name != "Run" && err == nil {
				t.Errorf("the body read ended without an error")
			}
		case <-time.After(10 * time.Second): // ReadTimeout is 30 s
			t.Fatalf("%s did not return", name)
		}
	}
}
