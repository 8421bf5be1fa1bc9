package store

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// freezer is a TCP proxy to a PostgreSQL server that can stop passing bytes
// on, as a server frozen with SIGSTOP (or a primary that vanished) does:
// its connections stay open and nothing comes back.
type freezer struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, target: target, thaw: make(chan struct{})}
	go f.accept()
	t.Cleanup(func() {
		f.unfreeze()
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *freezer) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", f.target)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, s)
		f.mu.Unlock()
		go f.pipe(s, c)
		go f.pipe(c, s)
	}
}

// pipe copies src to dst, holding every chunk while frozen.
func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		f.mu.Lock()
		frozen, thaw := f.frozen, f.thaw
		f.mu.Unlock()
		if frozen {
			<-thaw
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

func (f *freezer) unfreeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		f.frozen = false
		close(f.thaw)
		f.thaw = make(chan struct{})
	}
}

// TestPostgresCloseFrozen: closing a store whose PostgreSQL has stopped
// answering gives up on it (ErrCloseAbandoned) rather than waiting on each
// connection: database/sql deallocates every prepared statement of every
// connection, and pgx waits up to 5 s for each connection's first answer,
// one connection after another. At a daemon's exit with the server frozen
// (SIGSTOP) that took 11.6 s for three connections, after the shutdown had
// already spent its budget (runs 30 s, the store writer 30 s), pushing the
// stop towards systemd's TimeoutStopSec=90 and its SIGKILL.
func TestPostgresCloseFrozen(t *testing.T) {
	dsn := postgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		freeze bool
		want   error
	}{
		{"answering", false, nil},
		{"frozen", true, ErrCloseAbandoned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFreezer(t, u.Host)
			pu := *u
			pu.Host = f.ln.Addr().String()
			p, err := OpenPostgres(context.Background(), pu.String(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Every read connection in use at once, so that each holds
			// prepared statements.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if _, err := p.Coverage(context.Background(), Query{}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if tc.freeze {
				f.freeze()
			}
			if err := p.Close(); !errors.Is(err, tc.want) {
				t.Errorf("Close() = %v, want %v", err, tc.want)
			}
		})
	}
}
