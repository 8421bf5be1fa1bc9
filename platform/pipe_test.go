package platform

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

func TestPipeIdle(t *testing.T) {
	p := newPipe(8)
	consumed := make(chan []byte, 4)
	go func() {
		buf := make([]byte, 3)
		for {
			n, err := p.Read(buf)
			if err != nil {
				close(consumed)
				return
			}
			consumed <- append([]byte(nil), buf[:n]...)
		}
	}()
	// Larger than the bound: Write waits for room, then returns.
	if n, err := p.Write([]byte("0123456789")); n != 10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.idle(ctx); err != nil {
		t.Fatalf("idle: %v", err)
	}
	var got []byte
	for len(got) < 10 {
		select {
		case b := <-consumed:
			got = append(got, b...)
		default:
			t.Fatalf("idle returned with only %q consumed", got)
		}
	}
	if string(got) != "0123456789" {
		t.Errorf("read %q", got)
	}
	p.closeWrite()
	if _, ok := <-consumed; ok {
		t.Error("reader did not get EOF after closeWrite")
	}
	if err := p.idle(ctx); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("idle after close: %v", err)
	}
}

func TestPipeIdleEnds(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		p := newPipe(8)
		p.Write([]byte("x")) // nobody reads
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := p.idle(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("idle: %v", err)
		}
	})
	t.Run("reader closes", func(t *testing.T) {
		p := newPipe(8)
		p.Write([]byte("x"))
		go func() { time.Sleep(10 * time.Millisecond); p.closeRead() }()
		if err := p.idle(context.Background()); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("idle: %v", err)
		}
		if _, err := p.Write([]byte("y")); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Write after closeRead: %v", err)
		}
	})
	t.Run("write deadline", func(t *testing.T) {
		p := newPipe(1)
		p.setWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := p.Write([]byte("xy")); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Write into a full pipe past its deadline: %v", err)
		}
	})
	t.Run("read deadline", func(t *testing.T) {
		p := newPipe(1)
		p.setReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := p.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read of an empty pipe past its deadline: %v", err)
		}
	})
}

func TestMemConnClose(t *testing.T) {
	closed := make(chan struct{})
	c, s := memConnPair(func() { close(closed) })
	if _, err := s.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	<-closed
	b, err := io.ReadAll(c)
	if string(b) != "bye" || err != nil {
		t.Errorf("client read %q, %v after the server closed; want what was queued, then EOF", b, err)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Error("client write after the server closed succeeded")
	}
	c.Close() // a second close is a no-op
}

// TestStreamTransportContext: a streaming request whose context ends before
// the handler commits fails with the context's error; an event stream whose
// context ends after the response ends its body.
func TestStreamTransportContext(t *testing.T) {
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			close(started)
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	rt := HandlerTransport(h)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/hang", nil)
	req.Header.Set("Accept", "text/event-stream")
	go func() { <-started; cancel() }()
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip: %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, "GET", "http://x/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("RoundTrip: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("body read ended cleanly after the context was cancelled")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("body read did not end with the context")
	}
}
