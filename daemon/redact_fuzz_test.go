package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// secretMark starts every fuzzed secret: it never occurs in slaprobe's own
// text, and no escaping changes it, so finding it anywhere means some form
// of the secret (or a prefix of one cut short) leaked.
const secretMark = "Zq7K"

// leakTarget echoes back whatever it is sent, in JSON, and hands out a
// token that holds the secret.
func leakTarget(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"body": string(b), "query": r.URL.RawQuery, "headers": r.Header})
	})
	mux.HandleFunc("/raw", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	// A 404 page that names the path it was asked for, as it came.
	mux.HandleFunc("/p/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such page: "+r.RequestURI, http.StatusNotFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"token": "t-" + r.URL.Query().Get("s")})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// leakModes are the ways a flow hands the secret to the target, each with a
// step that then fails on what came back.
var leakModes = []string{
	`- {name: a, function: f, request: {method: POST, url: "URL/raw", json: {password: "${env:PW}"}}, expect: {body: nope}}`,
	`- {name: a, function: f, request: {method: POST, url: "URL/echo", form: {pw: "${env:PW}"}}, expect: {jsonpath: {"$.body": nope}}}`,
	`- {name: a, function: f, request: {url: "URL/echo", headers: {X-Pw: "${env:PW}"}}, expect: {jsonpath: {"$.headers": {exists: false}}}}`,
	`- {name: a, function: f, request: {url: "URL/echo?pw=${urlquery(env:PW)}"}, expect: {jsonpath: {"$.query": nope}}}`,
	`- {name: a, function: f, request: {url: "URL/echo?pw=${env:PW}"}, expect: {jsonpath: {"$.query": nope}}}`,
	`- {name: a, function: f, request: {url: "http://probe:${urlquery(env:PW)}@HOST/echo"}, expect: {jsonpath: {"$.headers.Authorization[0]": nope}}}`,
	`- {name: a, function: f, request: {url: "http://probe:${env:PW}@HOST/echo"}, expect: {jsonpath: {"$.headers.Authorization[0]": nope}}}`,
	`- {name: login, function: f, request: {url: "URL/token?s=${urlquery(env:PW)}"}, extract: {token: {jsonpath: "$.token"}}, expect: {jsonpath: {"$.token": {matches: "^nope"}}}}`,
	`- {name: login, function: f, request: {url: "URL/token?s=${urlquery(env:PW)}"}, extract: {token: {jsonpath: "$.token"}}}
          - {name: use, function: g, request: {url: "URL/echo", headers: {Authorization: "Bearer ${token}"}}, expect: {jsonpath: {"$.headers": nope}}}`,
	`- {name: a, function: f, request: {url: "URL/p/${env:PW}/x?a=1"}, expect: {status: 404, body: nope}}`,
	`- {name: a, function: f, request: {url: "URL/p/x?pw=${env:PW}"}, expect: {status: 404, body: nope}}`,
	`- {name: a, function: f, request: {method: POST, url: "URL/raw", body: "pw=${env:PW}", headers: {Content-Type: application/x-www-form-urlencoded}}, expect: {body: nope}}`,
}

// FuzzSecretsNeverLeak covers #13 finding 1 end to end: a random secret
// goes to a target that echoes it back in every way it can, the runs fail
// on what came back, and then the store (SQLite, read back), /api/v1/status,
// the Alertmanager alerts and the debug log are searched for any form of
// it.
func FuzzSecretsNeverLeak(f *testing.F) {
	f.Add(`p"w\x-1`, uint8(0))
	f.Add("abc\x01def", uint8(1))
	f.Add(`tök€n/+=?&"<>`, uint8(2))
	f.Add(`a b%20c`, uint8(3))
	f.Add(`pa55:w0rd`, uint8(4))
	f.Add(strings.Repeat("long-", 40), uint8(5))
	f.Add(`}"]\u0000`, uint8(6))
	f.Add(`!"`, uint8(4)) // a raw query value: sent with '"' encoded and '!' kept
	// A raw value in a URL's path and query, echoed by a 404 page, and in
	// a raw form body.
	for _, v := range []string{`a"b'c!`, `x%41"y`, `p%zzq!`, `a;b=c$d`, `é ü`, `a b"c`, `q'(x)*`, `a%2Fb"`} {
		for _, mode := range []uint8{9, 10, 11} {
			f.Add(v, mode)
		}
	}
	srv := leakTarget(f)
	f.Fuzz(func(t *testing.T, core string, mode uint8) {
		secret := secretMark + core
		if !utf8.ValidString(secret) || strings.ContainsAny(secret, "\x00*") || len(secret) > 512 {
			return // an environment variable holds no NUL; '*' could rebuild from the mask
		}
		steps := strings.NewReplacer("URL", srv.URL, "HOST", strings.TrimPrefix(srv.URL, "http://")).Replace(leakModes[int(mode)%len(leakModes)])
		src := "location: fuzz-a\nservices:\n  - name: svc\n    flows:\n      - name: leak\n        steps:\n          " + steps + "\n"
		cfg, err := config.Parse("fuzz.yaml", []byte(src), config.Options{LookupEnv: func(string) (string, bool) { return secret, true }})
		if err != nil {
			if strings.Contains(err.Error(), secretMark) {
				t.Fatalf("secret in a config error: %v", err)
			}
			return
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		rclk := clock.NewManual(t0)
		runner, err := probe.NewRunner(cfg, probe.Options{Clock: rclk, Logger: log})
		if err != nil {
			if strings.Contains(err.Error(), secretMark) {
				t.Fatalf("secret in a runner error: %v", err)
			}
			return
		}
		notifier, err := alert.NewNotifier(alert.Options{URLs: []string{"http://127.0.0.1:1"}, Clock: rclk, Logger: log, Location: cfg.Location})
		if err != nil {
			t.Fatal(err)
		}
		d, w := newTestDaemon(t, cfg, nil, Deps{Clock: ClockworkClock(clockwork.NewFakeClockAt(t0.Add(5 * time.Minute))), Logger: log, Alerter: notifier})
		setRunner(d, runner)
		startPipeline(d, w)
		flow := &cfg.Services[0].Flows[0]
		for range 3 { // down_after 2: a window opens, an alert fires
			run := runner.Run(context.Background(), flow)
			d.process(&run)
			rclk.Advance(time.Minute)
		}

		var out strings.Builder
		runs, events := w.snapshot()
		dir, err := os.MkdirTemp("", "slaprobe-leak-") // t.TempDir's name holds '#', which SQLite paths refuse
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "r.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.AppendRuns(context.Background(), runs); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendEvents(context.Background(), events); err != nil {
			t.Fatal(err)
		}
		q := store.Query{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}
		stored, err := st.Runs(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		wins, err := st.Windows(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		failed := false
		for _, r := range stored {
			for _, s := range r.Steps {
				failed = failed || s.Status == probe.StatusFailed
			}
		}
		if !failed {
			t.Fatalf("mode %d: no step failed, so nothing was tested: %+v", mode, stored)
		}
		b, _ := json.Marshal(map[string]any{"runs": stored, "windows": wins})
		fmt.Fprintf(&out, "store: %s\n", b)
		// The spool keeps what the store had not taken at a stop: the
		// runs as the runner made them, and the events.
		var items []store.SpoolItem
		for i := range runs {
			items = append(items, store.SpoolItem{Run: &runs[i]})
		}
		for i := range events {
			items = append(items, store.SpoolItem{Event: &events[i]})
		}
		spool := filepath.Join(dir, "r.db.slaprobe-spool.jsonl")
		if _, err := store.WriteSpool(spool, cfg.Location, t0, items, 0); err != nil {
			t.Fatal(err)
		}
		b, err = os.ReadFile(spool)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "spool: %s\n", b)
		rec := httptest.NewRecorder()
		d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/status", nil))
		fmt.Fprintf(&out, "status: %s\n", rec.Body)
		b, _ = json.Marshal(notifier.Active())
		fmt.Fprintf(&out, "alerts: %s\nlogs: %s\n", b, logs.String())

		text := out.String()
		leaks := []string{secretMark}
		leaks = append(leaks, redact.Forms(secret)...)
		for _, l := range leaks {
			if i := strings.Index(text, l); i >= 0 {
				lo, hi := max(0, i-200), min(len(text), i+len(l)+200)
				t.Fatalf("mode %d: %q leaked:\n...%s...", mode, l, text[lo:hi])
			}
		}
	})
}
