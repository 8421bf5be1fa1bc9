package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/store"
)

// stallProxy is a PostgreSQL that stops answering: it forwards connections
// to the real server until a client sends a message holding marker, and
// from then on forwards at most a few bytes more of the server's answers
// (it starts answering, then stalls) and nothing after them, the
// connection held open. With to "" it accepts and never answers at all
// (a SIGSTOPped postmaster: the kernel accepts the connection).
type stallProxy struct {
	addr    string
	ln      net.Listener
	marker  []byte
	to      string
	stalled atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newStallProxy(t *testing.T, to, marker string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{addr: ln.Addr().String(), ln: ln, marker: []byte(marker), to: to}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) hold(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *stallProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.hold(c)
		if p.to == "" {
			continue // held open, never answered
		}
		s, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.hold(s)
		go func() { // client to server: watch for the marker
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if bytes.Contains(buf[:n], p.marker) {
						p.stalled.Store(true)
					}
					if _, err := s.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() { // server to client: a few bytes once stalled, then nothing
			buf := make([]byte, 64<<10)
			budget := 3
			for {
				n, err := s.Read(buf)
				if n > 0 {
					if p.stalled.Load() {
						n = min(n, budget)
						budget -= n
					}
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

func (p *stallProxy) close() {
	p.ln.Close()
	p.wg.Wait()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// TestReadCommandsBoundedOnFrozenPostgres: `report` and `windows` against
// a PostgreSQL that accepts the connection and never answers, that stops
// answering while the store is opened (the schema version's check), and
// that starts answering a query and then stalls, each end with exit 1
// within their bounds (--connect-timeout, --read-timeout) and an error
// naming the database (never its password), what waited and the flag
// that bounds it. Before, each waited for as long as the TCP connection
// lived: a cron job mailing the month's report hung with no output.
func TestReadCommandsBoundedOnFrozenPostgres(t *testing.T) {
	base := pgtest.DSN(t)
	// A slaprobe store in the test's schema.
	st, err := store.OpenPostgres(context.Background(), base, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	bu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(`location: test-a
timezone: UTC
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "hunter2-not-logged"
	for _, stage := range []struct {
		name, marker string
		frozen       bool // accepts, never answers
		want         string
	}{
		{name: "connection", frozen: true, want: "connecting: no answer within 1s (--connect-timeout)"},
		{name: "schema check", marker: "schema_version", want: "checking the schema version: no answer within 1s (--read-timeout)"},
		{name: "query", marker: "SELECT * FROM events", want: "reading the windows: no answer within 1s (--read-timeout)"},
	} {
		for _, cmd := range [][]string{
			{"report", "--month", "2026-11", "--format", "json", "--out", "-"},
			{"windows", "--from", "2026-11-01", "--to", "2026-12-01"},
		} {
			t.Run(stage.name+"/"+cmd[0], func(t *testing.T) {
				to := bu.Host
				if stage.frozen {
					to = ""
				}
				p := newStallProxy(t, to, stage.marker)
				u := *bu
				u.Host = p.addr
				u.User = url.UserPassword(u.User.Username(), secret)
				args := append(append([]string{}, cmd...), "--config", cfgPath, "--db", u.String(), "--connect-timeout", "1s", "--read-timeout", "1s")
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var out, errb syncBuffer
				done := make(chan int, 1)
				go func() { done <- runMain(ctx, args, &out, &errb) }()
				var code int
				select {
				case code = <-done:
				case <-time.After(20 * time.Second):
					cancel()
					<-done
					t.Fatalf("slaprobe %s still waiting for a frozen PostgreSQL after 20 s:\n%s", cmd[0], errb.String())
				}
				msg := errb.String()
				t.Logf("exit %d: %s", code, msg)
				name := fmt.Sprintf("postgres://%s@%s%s", u.User.Username(), p.addr, u.Path)
				if code != exitFailure || !strings.Contains(msg, name+": "+stage.want) {
					t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and %q", code, msg, name+": "+stage.want)
				}
				if strings.Contains(msg+out.String(), secret) {
					t.Errorf("the password is in the output:\n%s", msg)
				}
			})
		}
	}
}
