package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/httpserve"
)

// TestPprofOutlivesTheWriteTimeout: a profile over ?seconds=N (the way
// pprof.go's comment and test/scale ask for one) is written after N
// seconds, beyond the server's write timeout (60 s; 0.5 s here): Go's
// net/http/pprof (1.23+) lifts the deadline for its own request, and only
// it: another slow handler on the same server is still cut.
func TestPprofOutlivesTheWriteTimeout(t *testing.T) {
	mux := http.NewServeMux()
	mountPprof(mux)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		w.Write(bytes.Repeat([]byte("x"), 1<<20)) //nolint:errcheck // the client judges
	})
	srv := httpserve.New(mux, httpserve.Options{WriteTimeout: 500 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	base := "http://" + ln.Addr().String()
	for _, path := range []string{"/debug/pprof/profile?seconds=1", "/debug/pprof/allocs?seconds=1", "/debug/pprof/trace?seconds=1"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(body) < 10 {
			t.Errorf("GET %s: %d, %d bytes, %v: %.200s", path, resp.StatusCode, len(body), err, body)
		}
	}
	resp, err := http.Get(base + "/slow")
	if err == nil {
		n, rerr := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if rerr == nil && n == 1<<20 {
			t.Errorf("a slow handler that is not a profile outlived the write timeout")
		}
	}
}
