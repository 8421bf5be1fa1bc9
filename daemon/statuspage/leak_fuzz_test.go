package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// pageLeakModes hand a secret to a target that echoes it, each with a step
// that then fails on what came back (so the echo is in the step's error).
var pageLeakModes = []string{
	`- {name: a, function: f, request: {method: POST, url: "URL/raw", json: {password: "${env:PW}"}}, expect: {body: nope}}`,
	`- {name: a, function: f, request: {url: "URL/echo", headers: {X-Pw: "${env:PW}"}}, expect: {jsonpath: {"$.headers.X-Pw[0]": nope}}}`,
	`- {name: a, function: f, request: {url: "http://probe:${urlquery(env:PW)}@HOST/echo"}, expect: {jsonpath: {"$.headers.Authorization[0]": nope}}}`,
	`- {name: login, function: f, request: {url: "URL/token?s=${urlquery(env:PW)}"}, extract: {token: {jsonpath: "$.token"}}}
          - {name: use, function: g, request: {url: "URL/echo", headers: {Authorization: "Bearer ${token}"}}, expect: {jsonpath: {"$.headers": nope}}}`,
}

// FuzzSecretsNeverReachPageOrReports carries hostile's FuzzSecretsNeverLeak
// (daemon) through the paths that came after it: a random secret goes to
// a target that echoes it, the runs fail on the echo, and then the status
// page (internal and public, full and partial, from the stored windows and
// the live state) and the month's report in every text format are searched
// for any form of it.
func FuzzSecretsNeverReachPageOrReports(f *testing.F) {
	f.Add(`p"w\x-1`, uint8(0))
	f.Add(`tök€n/+=?&"<>`, uint8(1))
	f.Add(`pa55:w0rd`, uint8(2))
	f.Add(`<script>alert(1)</script>`, uint8(3))
	f.Add(strings.Repeat("long-", 40), uint8(0))
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"body": string(b), "query": r.URL.RawQuery, "headers": r.Header}) //nolint:errcheck
	})
	mux.HandleFunc("/raw", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) }) //nolint:errcheck
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"token": "t-" + r.URL.Query().Get("s")}) //nolint:errcheck
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	f.Fuzz(func(t *testing.T, core string, mode uint8) {
		const mark = "Zq7P"
		secret := mark + core
		if !utf8.ValidString(secret) || strings.ContainsAny(secret, "\x00*") || len(secret) > 512 {
			return // an environment variable holds no NUL; '*' could rebuild from the mask
		}
		steps := strings.NewReplacer("URL", srv.URL, "HOST", strings.TrimPrefix(srv.URL, "http://")).Replace(pageLeakModes[int(mode)%len(pageLeakModes)])
		src := "location: fuzz-a\ntimezone: UTC\nservices:\n  - name: svc\n    objective: 0.999\n    flows:\n      - name: leak\n        down_after: 1\n        steps:\n          " + steps + "\n"
		cfg, err := config.Parse("fuzz.yaml", []byte(src), config.Options{LookupEnv: func(string) (string, bool) { return secret, true }})
		if err != nil {
			return
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		clk := clock.NewManual(t0)
		runner, err := probe.NewRunner(cfg, probe.Options{Clock: clk, Logger: log})
		if err != nil {
			return
		}
		flow := &cfg.Services[0].Flows[0]
		m := state.New("svc", flow.Name, cfg.Location, flow.Functions(), state.Policy{Interval: flow.Interval, DownAfter: 1, UpAfter: 1})
		var runs []probe.Run
		var evs []state.Event
		for range 3 {
			run := runner.Run(context.Background(), flow)
			runs = append(runs, run)
			evs = append(evs, m.Observe(&runs[len(runs)-1])...)
			clk.Advance(time.Minute)
		}
		dir, err := os.MkdirTemp("", "slaprobe-pageleak-")
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
		if err := st.AppendEvents(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		// The live state as the daemon serves it.
		live := daemon.Status{Location: cfg.Location, Time: clk.Now(), Flows: []daemon.FlowStatus{{Flow: flow.Name, Service: "svc", Location: cfg.Location, State: string(m.State())}}}
		last := &runs[len(runs)-1]
		ff := last.FirstFailure()
		if ff == nil {
			t.Fatalf("mode %d: the last run passed, so nothing was tested", mode)
		}
		live.Flows[0].LastRun = &daemon.RunStatus{Start: last.Start, Outcome: string(last.Outcome()), CauseStep: ff.Step, Error: ff.Error}
		for _, fn := range flow.Functions() {
			live.Flows[0].Functions = append(live.Flows[0].Functions, daemon.FunctionStatus{Function: fn, State: string(m.FunctionState(fn))})
		}
		open := 0
		for _, w := range m.OpenWindows() {
			ws := daemon.WindowStatus{Kind: string(w.Kind), Start: w.Start, CauseStep: w.CauseStep, Error: w.Error}
			if w.Function != "" {
				fn := w.Function
				ws.Function = &fn
			}
			live.Flows[0].OpenWindows = append(live.Flows[0].OpenWindows, ws)
			open++
		}
		if open == 0 {
			t.Fatalf("mode %d: no window opened, so nothing was tested", mode)
		}
		p, err := New(cfg, Options{Store: st, Clock: clk, Live: func() daemon.Status { return live }})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for _, public := range []bool{false, true} {
			for _, path := range []string{"/", "/?partial=1"} {
				rec := httptest.NewRecorder()
				p.Handler(public).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				out.WriteString(rec.Body.String())
			}
		}
		from, to, _ := report.MonthRange("2026-03", time.UTC)
		rep, err := report.Build(context.Background(), report.Input{Config: cfg, Store: st, From: from, To: to, Now: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"json", "md", "html", "csv"} {
			if err := render.Write(&out, rep, format, render.PDFOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		out.WriteString(logs.String())
		text := out.String()
		if !strings.Contains(text, redact.Mask) {
			t.Fatalf("mode %d: no redacted echo reached the page or the reports: nothing was tested", mode)
		}
		for _, l := range append([]string{mark}, redact.Forms(secret)...) {
			if i := strings.Index(text, l); i >= 0 {
				lo, hi := max(0, i-200), min(len(text), i+len(l)+200)
				t.Fatalf("mode %d: %q leaked:\n...%s...", mode, l, text[lo:hi])
			}
		}
	})
}
