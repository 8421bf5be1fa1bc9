package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/store"
)

// TestDBFlagTakesPostgresURL runs the daemon with --db postgres://..., then
// reads what it stored back with windows --db and report --db. Before --db
// knew URLs, each of them refused one with "want a plain file path".
func TestDBFlagTakesPostgresURL(t *testing.T) {
	dsn := pgtest.DSN(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer target.Close()
	dir := t.TempDir()
	t.Chdir(dir) // with PostgreSQL the spool and the alert state are in the working directory
	cfgPath := filepath.Join(dir, "config.yaml")
	cfg := fmt.Sprintf(`location: test-a
timezone: UTC
listen: 127.0.0.1:0
storage: {driver: sqlite, dsn: %s}
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1s
        timeout: 1s
        steps:
          - {name: get, function: view, request: {url: %q}}
`, filepath.Join(dir, "unused.db"), target.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now().UTC()
	ctx, cancel := context.WithCancel(context.Background())
	var runOut, runErr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"run", "--config", cfgPath, "--db", dsn, "--log-level", "warn"}, &runOut, &runErr)
	}()

	pg, err := store.OpenPostgres(context.Background(), dsn, store.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	defer pg.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, err := pg.Runs(context.Background(), store.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)})
		if err == nil && len(runs) >= 2 {
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("run --db %s exited %d before storing runs:\n%s", "postgres://...", code, runErr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no runs in PostgreSQL after 20s (err %v); daemon stderr:\n%s", err, runErr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("run exited %d:\n%s", code, runErr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "unused.db")); err == nil {
		t.Error("run --db URL still wrote the config's SQLite file")
	}

	from := start.Add(-time.Hour).Format(time.RFC3339)
	to := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"windows", "--config", cfgPath, "--db", dsn, "--from", from, "--to", to, "--format", "json"}, &out, &errb); code != exitOK {
		t.Fatalf("windows --db URL exited %d: %s", code, errb.String())
	}
	var ws []any
	if err := json.Unmarshal(out.Bytes(), &ws); err != nil {
		t.Fatalf("windows json: %v\n%s", err, out.String())
	}
	out.Reset()
	errb.Reset()
	if code := runMain(context.Background(), []string{"report", "--config", cfgPath, "--db", dsn, "--from", from, "--to", to, "--format", "json", "--out", "-"}, &out, &errb); code != exitOK {
		t.Fatalf("report --db URL exited %d: %s", code, errb.String())
	}
	var rep struct {
		Services []struct {
			Name string `json:"name"`
			Runs int64  `json:"runs"`
		} `json:"services"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report json: %v", err)
	}
	if len(rep.Services) != 1 || rep.Services[0].Runs < 2 {
		t.Fatalf("report from PostgreSQL: %+v, want service web with >= 2 runs", rep.Services)
	}
}

func TestDBFlag(t *testing.T) {
	for _, tc := range []struct{ in, driver string }{
		{"/var/lib/slaprobe/results.db", "sqlite"},
		{"results.db", "sqlite"},
		{"postgres://u@127.0.0.1:5432/db?sslmode=disable", "postgres"},
		{"postgresql://u@db.example/slaprobe", "postgres"},
	} {
		d, dsn := dbFlag(tc.in)
		if d != tc.driver || dsn != tc.in {
			t.Errorf("dbFlag(%q) = %q, %q; want %q, %q", tc.in, d, dsn, tc.driver, tc.in)
		}
	}
}

// TestReadCommandsDoNotCreateAPostgresStore: windows and report only read.
// Pointed at a PostgreSQL database without a slaprobe store (a mistyped
// database name, or the wrong search_path) they answer "no such store",
// exit 2, as with a SQLite path that does not exist, and create nothing
// there; they used to create the whole schema and report no data.
func TestReadCommandsDoNotCreateAPostgresStore(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(`location: office
timezone: UTC
services:
  - name: web
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"windows", "--from", "2026-03-01", "--to", "2026-04-01"},
		{"report", "--month", "2026-03", "--format", "json", "--out", filepath.Join(dir, "r.json")},
	} {
		t.Run(args[0], func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runMain(context.Background(), append(args, "--config", cfgPath, "--db", dsn), &out, &errb)
			if code != exitUsage || !bytes.Contains(errb.Bytes(), []byte("no slaprobe store")) {
				t.Errorf("%s on an empty database: exit %d, %q; want %d, no slaprobe store", args[0], code, errb.String(), exitUsage)
			}
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var tables int
			if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("%s created %d tables in the database it only reads", args[0], tables)
			}
		})
	}
}

// TestReadCommandsLeaveThePublisherLease: windows and report run by hand
// against a fleet's database, with a config that has a reports: block and
// the publisher's own location, neither take, renew nor release the
// publisher lease (they open the store read-only and run no publisher).
// Held already.
func TestReadCommandsLeaveThePublisherLease(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	pg, err := store.OpenPostgres(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	held, err := pg.ClaimPublisher(ctx, "seoul-a", time.Date(2026, 4, 1, 0, 10, 0, 0, time.UTC), store.Lease{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`location: seoul-a
timezone: UTC
services:
  - name: web
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
reports: {archive: %q}
`, filepath.Join(dir, "reports"))), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"windows", "--from", "2026-03-01", "--to", "2026-04-01"},
		{"report", "--month", "2026-03", "--format", "json", "--out", filepath.Join(dir, "r.json")},
	} {
		var out, errb bytes.Buffer
		if code := runMain(ctx, append(args, "--config", cfgPath, "--db", dsn), &out, &errb); code != exitOK {
			t.Fatalf("%s exited %d: %s", args[0], code, errb.String())
		}
		if l, err := pg.PublisherLease(ctx); err != nil || l != held {
			t.Errorf("after %s the lease is %+v (%v), want %+v untouched", args[0], l, err, held)
		}
	}
}

// TestRunWithoutReportsLeavesTheLease: a prober whose config has no
// reports: block, beside ones that have one, never takes the publisher
// lease (it runs no publisher), even a free one: it would hold the role
// and publish nothing. Held already.
func TestRunWithoutReportsLeavesTheLease(t *testing.T) {
	dsn := pgtest.DSN(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"ok":true}`) }))
	defer target.Close()
	dir := t.TempDir()
	t.Chdir(dir) // with PostgreSQL the spool and the alert state are in the working directory
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`location: seoul-c
timezone: UTC
listen: 127.0.0.1:0
services:
  - name: web
    objective: 0.99
    flows:
      - name: home
        interval: 1s
        timeout: 1s
        steps:
          - {name: get, function: view, request: {url: %q}}
`, target.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	ctx, cancel := context.WithCancel(context.Background())
	var runOut, runErr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, []string{"run", "--config", cfgPath, "--db", dsn, "--log-level", "warn"}, &runOut, &runErr)
	}()
	var pg *store.Postgres
	deadline := time.Now().Add(20 * time.Second)
	for {
		if pg == nil {
			pg, _ = store.OpenPostgres(context.Background(), dsn, store.Options{ReadOnly: true})
		}
		if pg != nil {
			if runs, err := pg.Runs(context.Background(), store.Query{From: start.Add(-time.Minute), To: time.Now().Add(time.Minute)}); err == nil && len(runs) >= 3 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no runs after 20s; daemon stderr:\n%s", runErr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer pg.Close()
	l, err := pg.PublisherLease(context.Background())
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("run exited %d:\n%s", code, runErr.String())
	}
	if err != nil || l.Holder != "" || l.Beat != 0 {
		t.Errorf("a prober without reports: left the lease %+v (%v), want it free and never claimed", l, err)
	}
}
