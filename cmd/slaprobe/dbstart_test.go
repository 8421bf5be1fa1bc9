package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// forwarder is a PostgreSQL that is down until up is called: a TCP port
// that refuses connections, then forwards them to the real server.
type forwarder struct {
	addr, to string
	ln       net.Listener
	wg       sync.WaitGroup
}

func newForwarder(t *testing.T, to string) *forwarder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{addr: ln.Addr().String(), to: to}
	ln.Close() // refused until up
	t.Cleanup(f.down)
	return f
}

func (f *forwarder) up(t *testing.T) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", f.to)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	})
}

func (f *forwarder) down() {
	if f.ln != nil {
		f.ln.Close()
		f.wg.Wait()
	}
}

// TestRunStartsWithoutPostgres: `slaprobe run` started while its
// PostgreSQL is down (connection refused) probes anyway: /healthz answers
// 503 with the error, a warn line says it started without its store (never
// the DSN's password); once the server answers, the store is opened (and
// migrated), every run held meanwhile is stored and /healthz is 200; a
// SIGTERM then stops it with exit 0. Before, it exited 1 at once.
func TestRunStartsWithoutPostgres(t *testing.T) {
	base := pgtest.DSN(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	fw := newForwarder(t, u.Host)
	u.Host = fw.addr
	u.User = url.UserPassword(u.User.Username(), "pw-SECRETPW-4a1")
	dsn := u.String()

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer target.Close()
	dir := t.TempDir()
	t.Chdir(dir) // the spool beside PostgreSQL's probers is in the working directory
	cfgPath := oneFlowConfig(t, dir, "test-a", target.URL)
	start := time.Now().UTC()
	r := startRun(t, "--config", cfgPath, "--db", dsn, "--log-level", "info")
	r.listening(30 * time.Second)
	wait := func(what string, cond func() bool) { t.Helper(); r.wait(what, 30*time.Second, cond) }
	health, out, errb := r.health, &r.out, &r.errb
	wait("the daemon started without its store", func() bool {
		return strings.Contains(errb.String(), "daemon started without its store")
	})
	if code, body := health(); code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable since start") {
		t.Errorf("/healthz while PostgreSQL is down: %d %q", code, body)
	}
	// Some runs held before the server comes up.
	time.Sleep(3 * time.Second)
	fw.up(t)
	wait("the store back", func() bool { return strings.Contains(errb.String(), "store back") })
	wait("/healthz 200", func() bool { code, _ := health(); return code == http.StatusOK })
	pg, err := store.OpenPostgres(context.Background(), base, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var runs []probe.Run
	wait("the runs stored", func() bool {
		runs, err = pg.Runs(context.Background(), store.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)})
		return err == nil && len(runs) >= 3
	})
	if len(runs) < 3 {
		t.Errorf("%d runs stored (%v), want the ones held before the server came up", len(runs), err)
	}
	if len(runs) > 0 && runs[0].Start.Sub(start) > 4*time.Second {
		t.Errorf("first run stored at %s, %s after the start: the runs held were not stored", runs[0].Start, runs[0].Start.Sub(start))
	}
	wins, err := pg.Windows(context.Background(), store.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)})
	if err != nil || len(wins) == 0 {
		t.Errorf("windows stored: %v (%v), want the target's down window", wins, err)
	}
	r.stop()
	if strings.Contains(out.String()+errb.String(), "SECRETPW") {
		t.Errorf("the password was printed:\n%s", errb.String())
	}
}

// TestRunStartsWithFrozenPostgres: `slaprobe run` whose PostgreSQL accepts
// the connection and never answers (frozen, or a primary that vanished
// behind a proxy) gives the first connection up after storeOpenWait, as it
// gives up each later attempt, and starts without its store: /healthz
// answers 503 with the reason and a SIGTERM stops it with exit 0. Before,
// the first open waited on the connection without a bound: no probing, no
// /metrics, no listener, for as long as the TCP connection lived.
func TestRunStartsWithFrozenPostgres(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	})
	defer func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	dsn := "postgres://probe@" + ln.Addr().String() + "/slaprobe?sslmode=disable"

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	r := startRun(t, "--config", oneFlowConfig(t, dir, "test-a", target.URL), "--db", dsn, "--log-level", "info")
	r.wait("the daemon started without its store", storeOpenWait+30*time.Second, func() bool {
		return strings.Contains(r.errb.String(), "daemon started without its store")
	})
	r.listening(30 * time.Second)
	if code, body := r.health(); code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable since start") {
		t.Errorf("/healthz: %d %q, want 503 store unreachable since start", code, body)
	}
	r.stop()
}

// TestRunNewerSchemaExitsAtOnce: a database a newer slaprobe has migrated
// still fails `slaprobe run` at once, exit 1 (it refuses until an
// upgrade): only a database that cannot be reached is retried.
func TestRunNewerSchemaExitsAtOnce(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	db := filepath.Join(dir, "results.db")
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_version (version, applied_ns) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(`location: test-a
timezone: UTC
listen: 127.0.0.1:0
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1m
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := runMain(ctx, []string{"run", "--config", cfgPath, "--db", db}, &out, &errb)
	if code != exitFailure || ctx.Err() != nil || !strings.Contains(errb.String(), "newer than this slaprobe supports") {
		t.Errorf("run on a v99 database exited %d (ctx %v):\n%s", code, ctx.Err(), errb.String())
	}
}

// TestStoreRetryable: the daemon retries opening its store as
// store.Retryable says (TestRetryable has the cases), and never on bad
// input (a bad path or driver: exit 2 at once).
func TestStoreRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("store: postgres: connect: %w", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}), true},
		{"bad input", usagef("storage.driver %q: want sqlite or postgres", "mysql"), false},
		{"newer schema", fmt.Errorf("opening: %w", store.ErrSchemaNewer), false},
		{"password refused", fmt.Errorf("store: postgres: connect: %w", &pgconn.PgError{Code: "28P01"}), false},
	} {
		if got := storeRetryable(tc.err); got != tc.want {
			t.Errorf("%s: storeRetryable = %v, want %v", tc.name, got, tc.want)
		}
	}
}
