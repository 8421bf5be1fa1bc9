package main

// The daemon's HTTP surfaces as `run` wires them (review-surface): the
// public status listener serves the page and nothing else, and names
// nothing internal; a PostgreSQL password never reaches the output.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/store"
)

// syncBuffer is a bytes.Buffer safe to read while the daemon writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPublicListenerServesOnlyThePage runs the daemon with status.listen
// against a target that fails with a telling error, and asks the public
// listener for every route the daemon has, the profiler (--pprof) among
// them, and a few it might get: only
// / answers, and nothing it sends (body, headers, 404s) names the flow,
// step, location, target or error, which the internal page does show.
func TestPublicListenerServesOnlyThePage(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "SECRETBODY from the backend")
	}))
	defer target.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`location: loc-SECRETLOC
timezone: UTC
listen: 127.0.0.1:0
status: {listen: "127.0.0.1:0", refresh: 1s}
storage: {dsn: %s}
webhooks: {listen: "127.0.0.1:0"}
reports: {archive: %s}
services:
  - name: web
    objective: 0.99
    flows:
      - name: flow-SECRETFLOW
        interval: 1s
        timeout: 1s
        down_after: 1
        steps:
          - {name: step-SECRETSTEP, function: view, request: {url: "%s/SECRETPATH"}}
`, filepath.Join(dir, "r.db"), filepath.Join(dir, "reports"), target.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"run", "--config", cfgPath, "--log-level", "warn", "--pprof"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		<-done
	}()
	addrRE := regexp.MustCompile(`serving http://([^/]+)/[\s\S]*public status page on http://([^/]+)/`)
	var internal, public string
	deadline := time.Now().Add(20 * time.Second)
	for internal == "" {
		if m := addrRE.FindStringSubmatch(stdout.String()); m != nil {
			internal, public = m[1], m[2]
			break
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("run exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listen addresses in run's output: %q", stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(base, path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + base + path)
		if err != nil {
			t.Fatalf("GET %s%s: %v", base, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n", resp.Status)
		for k, vs := range resp.Header {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ","))
		}
		b.Write(body)
		return resp.StatusCode, b.String()
	}
	// Wait until the internal page shows the failure (and with it, the
	// things the public page must hide).
	for {
		_, page := fetch(internal, "/")
		if strings.Contains(page, "status 503") && strings.Contains(page, "step-SECRETSTEP") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the internal page never showed the failing step; stderr:\n%s\npage:\n%s", stderr.String(), page)
		}
		time.Sleep(200 * time.Millisecond)
	}
	host := strings.TrimPrefix(target.URL, "http://")
	secrets := []string{"SECRETLOC", "SECRETFLOW", "SECRETSTEP", "SECRETPATH", "SECRETBODY", host, "status 503", internal}
	check := func(what, text string) {
		t.Helper()
		text = strings.ReplaceAll(text, `xmlns="http://www.w3.org/2000/svg"`, "")
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q", what, s)
			}
		}
	}
	code, page := fetch(public, "/")
	if code != 200 || !strings.Contains(page, "✕ down") || !strings.Contains(page, "view") {
		t.Fatalf("public page: %d, want 200 with the function view down:\n%.2000s", code, page)
	}
	check("public /", page)
	code, page = fetch(public, "/?partial=1")
	if code != 200 {
		t.Errorf("public partial: %d", code)
	}
	check("public /?partial=1", page)
	for _, path := range []string{"/metrics", "/healthz", "/api/v1/status", "/webhooks/x", "/reports/", "/_admin/faults",
		"/debug/pprof/", "/debug/pprof/goroutine?debug=2", "/debug/vars", "/%2e%2e/metrics", "/index.html", "/favicon.ico"} {
		code, page := fetch(public, path)
		if code == 200 {
			t.Errorf("public %s = 200: only / is served there", path)
		}
		check("public "+path, page)
	}
	// The same routes exist on the internal listener (so the 404s above
	// are the public listener's doing, not missing routes).
	for _, path := range []string{"/metrics", "/healthz", "/api/v1/status", "/debug/pprof/"} {
		if code, _ := fetch(internal, path); code != 200 {
			t.Errorf("internal %s = %d", path, code)
		}
	}
	// A raw request in absolute form, or naming another host, reaches no
	// internal route either.
	for _, req := range []string{
		"GET http://" + internal + "/metrics HTTP/1.1\r\nHost: " + internal + "\r\nConnection: close\r\n\r\n",
		"GET /api/v1/status HTTP/1.1\r\nHost: " + internal + "\r\nConnection: close\r\n\r\n",
		"GET /metrics HTTP/1.0\r\n\r\n",
	} {
		c, err := net.DialTimeout("tcp", public, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("raw %q: %v", req, err)
		}
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		if resp.StatusCode == 200 {
			t.Errorf("raw %q = 200: %.200s", strings.SplitN(req, "\r\n", 2)[0], body)
		}
		check("raw "+strings.SplitN(req, "\r\n", 2)[0], string(body))
	}
}

// TestPostgresPasswordNeverPrinted: a --db or storage.dsn URL with a
// password that cannot be opened (bad port, unreachable, malformed) fails
// with a message that does not show the password, on every command that
// takes --db; and storage.dsn's ${env:NAME} password (the way docs/config.md
// says to keep it out of the file) is expanded before connecting.
func TestPostgresPasswordNeverPrinted(t *testing.T) {
	const pw = "pw-SECRETPW-9f3"
	dir := t.TempDir()
	t.Chdir(dir) // a run started without its store keeps its held runs there
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := `location: test-a
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
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	period := []string{"--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z"}
	for _, dsn := range []string{
		"postgres://probe:" + pw + "@" + closed + "/slaprobe",
		"postgresql://probe:" + pw + "@127.0.0.1:notaport/slaprobe",
		"postgres://probe:" + pw + "@[::1/slaprobe",
		"postgres://probe:" + pw + "%zz@127.0.0.1:1/slaprobe",
		"postgres://probe:" + pw + "@" + closed + "/slaprobe?sslmode=bogus",
	} {
		for _, args := range [][]string{
			append([]string{"windows", "--config", cfgPath, "--db", dsn}, period...),
			append([]string{"report", "--config", cfgPath, "--db", dsn, "--format", "json", "--out", "-"}, period...),
			{"run", "--config", cfgPath, "--db", dsn},
		} {
			var out, errb syncBuffer
			if args[0] == "run" && strings.Contains(dsn, "@"+closed+"/slaprobe") && !strings.Contains(dsn, "sslmode") {
				// A server not answering: the daemon starts without
				// it and retries (its warn lines name the error).
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				code := runMain(ctx, args, &out, &errb)
				cancel()
				if code != exitOK || !strings.Contains(errb.String(), "daemon started without its store") {
					t.Errorf("run --db %q (connection refused) exited %d, want a start without the store:\n%s", dsn, code, errb.String())
				}
				if strings.Contains(out.String()+errb.String(), "SECRETPW") {
					t.Errorf("run --db with a password printed it: %s", errb.String())
				}
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			code := runMain(ctx, args, &out, &errb)
			cancel()
			if code == exitOK {
				t.Errorf("%s --db %q exited 0", args[0], dsn)
			}
			if strings.Contains(out.String()+errb.String(), "SECRETPW") {
				t.Errorf("%s --db with a password printed it: %s", args[0], errb.String())
			}
		}
	}

	// storage.dsn with the password from the environment.
	// The test server trusts loopback and ignores the password, so the
	// schema comes from the environment too: unexpanded, it names none.
	base := pgtest.DSN(t)
	// A prober made the store (windows only reads).
	made, err := store.OpenPostgres(context.Background(), base, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	made.Close()
	schema := regexp.MustCompile(`search_path=([a-z0-9_]+)`).FindStringSubmatch(base)
	withPW := strings.Replace(base, "postgres://postgres@", "postgres://postgres:${env:SURFACE_PGPASSWORD}@", 1)
	if withPW == base || schema == nil {
		t.Fatalf("the test server's URL %q has an unexpected shape", base)
	}
	withPW = strings.Replace(withPW, schema[0], "search_path=${env:SURFACE_PGSCHEMA}", 1)
	t.Setenv("SURFACE_PGPASSWORD", pw)
	t.Setenv("SURFACE_PGSCHEMA", schema[1])
	pgCfg := filepath.Join(dir, "pg.yaml")
	if err := os.WriteFile(pgCfg, []byte(strings.Replace(cfg, "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nstorage: {driver: postgres, dsn: \""+withPW+"\"}\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), append([]string{"windows", "--config", pgCfg}, period...), &out, &errb); code != exitOK {
		t.Errorf("windows with storage.dsn %q exited %d: %s", withPW, code, errb.String())
	}
	if strings.Contains(out.String()+errb.String(), "SECRETPW") {
		t.Errorf("windows printed the password: %s", errb.String())
	}
	// Unreachable, from the config: no password in the message either.
	unreach := strings.Replace(cfg, "listen: 127.0.0.1:0\n", "listen: 127.0.0.1:0\nstorage: {driver: postgres, dsn: \"postgres://probe:${env:SURFACE_PGPASSWORD}@"+closed+"/x\"}\n", 1)
	if err := os.WriteFile(pgCfg, []byte(unreach), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := runMain(context.Background(), append([]string{"windows", "--config", pgCfg}, period...), &out, &errb); code == exitOK {
		t.Errorf("windows against a closed port exited 0")
	}
	if strings.Contains(errb.String(), "SECRETPW") {
		t.Errorf("windows printed the password: %s", errb.String())
	}
}
