package statuspage

// Tests of the page as an attack surface (review-surface): what the public
// page and its endpoints show, how every value is escaped, the headers, and
// the report archive served on the internal page.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// Hostile values: each carries a marker the public page must never show
// and markup the internal page must escape.
const (
	hostSvc   = `svc"'<b>x`
	hostFlow  = `flow-SECRETFLOW<script>alert(1)</script>`
	hostStep  = `step-SECRETSTEP"><img src=x onerror=alert(2)>`
	hostFn    = `recv'"<i>fn`
	hostError = `GET https://SECRETHOST.internal/x?token=SECRETTOKEN: <script>alert(3)</script> "quoted" 'single'`
	hostLoc   = `loc-SECRETLOC<svg onload=alert(4)>`
	hostTitle = `declared <script>alert(5)</script> SECRETDECL`
)

// publicMustNotShow are the markers of everything the public page hides.
var publicMustNotShow = []string{"SECRETFLOW", "SECRETSTEP", "SECRETHOST", "SECRETTOKEN", "SECRETLOC", "https://", "/reports/", "/metrics", "/api/"}

// hostilePage is a page over a month in which hostStep failed with
// hostError for an hour (a closed window), and is failing now (an open
// one), with a declared incident titled hostTitle.
func hostilePage(t *testing.T, now time.Time) (*Page, string) {
	t.Helper()
	ctx := context.Background()
	cfg := &config.Config{
		Location: hostLoc, Timezone: "UTC", Loc: time.UTC,
		Policy: config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Status: config.Status{Refresh: 30 * time.Second},
		Services: []config.Service{{Name: hostSvc, Objective: 0.999, Flows: []config.Flow{{
			Name: hostFlow, Service: hostSvc, Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1,
			Steps: []config.Step{{Name: "send", Function: "send"}, {Name: hostStep, Function: hostFn}},
		}}}},
	}
	from := now.Add(-5 * 24 * time.Hour)
	cfg.Timelines = []*config.Timeline{{Name: "declared", Incidents: []config.Incident{{
		ID: "inc-1", Title: hostTitle, Service: hostSvc, Functions: []string{hostFn}, Mode: "down",
		Start: from.Add(24 * time.Hour), End: from.Add(25 * time.Hour),
	}}}}
	s := tempStore(t)
	m := state.New(hostSvc, hostFlow, hostLoc, []string{"send", hostFn}, state.Policy{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for at := from; at.Before(now); at = at.Add(10 * time.Minute) {
		r := probe.Run{ID: at.Format(time.RFC3339), Flow: hostFlow, Service: hostSvc, Location: hostLoc, Start: at, Duration: time.Second,
			Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: hostStep, Function: hostFn, Status: probe.StatusOK}}}
		if (!at.Before(from.Add(24*time.Hour)) && at.Before(from.Add(25*time.Hour))) || !at.Before(now.Add(-time.Hour)) {
			r.Steps[1].Status, r.Steps[1].Error = probe.StatusFailed, hostError
		}
		runs = append(runs, r)
		evs = append(evs, m.Observe(&runs[len(runs)-1])...)
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	fn := hostFn
	live := daemon.Status{Location: hostLoc, Time: now, Flows: []daemon.FlowStatus{{
		Flow: hostFlow, Service: hostSvc, Location: hostLoc, State: "down",
		Functions: []daemon.FunctionStatus{{Function: "send", State: "up"}, {Function: hostFn, State: "down"}},
		LastRun:   &daemon.RunStatus{Start: now, Outcome: "failed", CauseStep: hostStep, Error: hostError},
		OpenWindows: []daemon.WindowStatus{
			{Function: &fn, Kind: "down", Start: now.Add(-time.Hour), CauseStep: hostStep, Error: hostError},
			{Function: nil, Kind: "down", Start: now.Add(-time.Hour), CauseStep: hostStep, Error: hostError},
		},
	}}}
	archive := t.TempDir()
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(now), Live: func() daemon.Status { return live },
		ArchiveDir: archive, Archive: func() ([]ArchiveMonth, error) {
			return []ArchiveMonth{{Month: "2026-03", Version: 1, Files: []ArchiveFile{{Name: `report"<x>.pdf`, Path: `2026-03/report"<x>.pdf`}}}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return p, archive
}

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var (
	scriptTag = regexp.MustCompile(`(?i)<script\b`)
	// the hostile values' markup, unescaped: an element or an attribute
	// breakout
	activeMarkup = regexp.MustCompile(`<script>alert|<img src=x|<svg onload|<b>x|<i>fn|svc"'|fn'"|"><img`)
)

// TestPageEscapesEveryValue: a service, function, step, flow, location,
// error, declared incident and archive file name full of markup come out
// as text on both pages (full and partial): the page's own script is the
// only script, and no value opens an element or an attribute.
func TestPageEscapesEveryValue(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	for _, public := range []bool{false, true} {
		h := p.Handler(public)
		for _, path := range []string{"/", "/?partial=1"} {
			body := get(t, h, "GET", path).Body.String()
			wantScripts := 1
			if path != "/" {
				wantScripts = 0
			}
			if n := len(scriptTag.FindAllString(body, -1)); n != wantScripts {
				t.Errorf("public=%v %s: %d <script> elements, want %d (the page's own)", public, path, n, wantScripts)
			}
			if m := activeMarkup.FindString(body); m != "" {
				t.Errorf("public=%v %s: a value became markup: %q", public, path, m)
			}
			if !public && path == "/" {
				// The values are there, as text.
				for _, want := range []string{"svc&#34;&#39;&lt;b&gt;x", "SECRETSTEP", "SECRETHOST", "SECRETLOC", "SECRETFLOW", "SECRETDECL"} {
					if !strings.Contains(body, want) {
						t.Errorf("internal page lacks %q (escaped)", want)
					}
				}
			}
		}
	}
}

// TestPublicPageShowsNothingInternal: the public page (full, partial, any
// query), its 404 and 405 answers and its headers name no flow, step,
// location, error, URL or archive, also while the figures cannot be built
// (the store's error names a host) and for a whole-flow window.
func TestPublicPageShowsNothingInternal(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	h := p.Handler(true)
	check := func(what string, rec *httptest.ResponseRecorder) {
		t.Helper()
		var b strings.Builder
		b.WriteString(rec.Body.String())
		for k, vs := range rec.Header() {
			b.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		text := strings.ReplaceAll(b.String(), `xmlns="http://www.w3.org/2000/svg"`, "")
		for _, bad := range publicMustNotShow {
			if strings.Contains(text, bad) {
				t.Errorf("%s shows %q", what, bad)
			}
		}
	}
	for _, path := range []string{"/", "/?partial=1", "/?partial=1&debug=1", "/?x=%3Cscript%3E"} {
		rec := get(t, h, "GET", path)
		if rec.Code != 200 {
			t.Errorf("public GET %s = %d", path, rec.Code)
		}
		check("public GET "+path, rec)
	}
	// Everything else is a bare 404 (or 405), never another route.
	for _, path := range []string{"/metrics", "/healthz", "/api/v1/status", "/webhooks/abc", "/_admin/faults", "/debug/pprof/",
		"/debug/pprof/cmdline", "/reports/2026-03/report.pdf", "//metrics", "/./metrics", "/%2e/metrics", "/index.html", "/?partial=1/../metrics"} {
		rec := get(t, h, "GET", path)
		if loc := rec.Header().Get("Location"); rec.Code/100 == 3 {
			// ServeMux cleans the client's own path (//metrics ->
			// /metrics): follow it, it must lead nowhere either.
			rec = get(t, h, "GET", loc)
		}
		if rec.Code == 200 && path != "/?partial=1/../metrics" {
			t.Errorf("public GET %s = 200, want nothing there", path)
		}
		check("public GET "+path, rec)
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS", "TRACE"} {
		rec := get(t, h, m, "/")
		if rec.Code == 200 {
			t.Errorf("public %s / = 200", m)
		}
		check("public "+m+" /", rec)
	}
	// Figures that cannot be refreshed: the internal page says why, the
	// public one only that they are stale.
	p.mu.Lock()
	p.snap.err = errors.New("store: postgres: connect to SECRETHOST.internal with token SECRETTOKEN")
	p.mu.Unlock()
	// The snapshot changed in place, not rebuilt: the public page serves
	// what it rendered for a second (publicCacheFor).
	p.opts.Clock.(*clock.Manual).Advance(publicCacheFor)
	rec := get(t, h, "GET", "/")
	if !strings.Contains(rec.Body.String(), "could not be refreshed") {
		t.Errorf("public page does not say the figures are stale")
	}
	check("public page with stale figures", rec)
	if !strings.Contains(get(t, p.Handler(false), "GET", "/").Body.String(), "SECRETTOKEN") {
		t.Errorf("internal page hides the refresh error (it should show it: it is the operator's page)")
	}
}

// TestPageSecurityHeaders: both pages send a CSP that allows no inline
// script except the page's own, by hash (and no script from anywhere,
// no framing), nosniff, no-referrer and no-store.
func TestPageSecurityHeaders(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, _ := hostilePage(t, now)
	for _, public := range []bool{false, true} {
		for _, enc := range []string{"", "gzip"} {
			rec := get(t, p.Handler(public), "GET", "/", "Accept-Encoding", enc)
			h := rec.Header()
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
				"Content-Type": "text/html; charset=utf-8"} {
				if got := h.Get(k); got != want {
					t.Errorf("public=%v: %s: %q, want %q", public, k, got, want)
				}
			}
			csp := parseCSP(h.Get("Content-Security-Policy"))
			if got := csp["frame-ancestors"]; len(got) != 1 || got[0] != "'none'" {
				t.Errorf("public=%v: frame-ancestors %q, want 'none'", public, got)
			}
			if got := csp["default-src"]; len(got) != 1 || got[0] != "'none'" {
				t.Errorf("public=%v: default-src %q, want 'none'", public, got)
			}
			for _, dir := range []string{"script-src", "default-src", "connect-src", "img-src", "style-src"} {
				for _, src := range csp[dir] {
					if src == "'unsafe-eval'" || src == "*" || strings.HasPrefix(src, "http") || (dir == "script-src" && src == "'unsafe-inline'") {
						t.Errorf("public=%v: %s allows %s", public, dir, src)
					}
				}
			}
			if enc != "" {
				continue
			}
			// Every inline script is allowed by its hash.
			body := rec.Body.String()
			for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1) {
				sum := sha256.Sum256([]byte(m[1]))
				want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
				found := false
				for _, src := range csp["script-src"] {
					found = found || src == want
				}
				if !found {
					t.Errorf("public=%v: the page's script is not allowed by script-src %q (want %s)", public, csp["script-src"], want)
				}
			}
		}
	}
}

func parseCSP(s string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(s, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

// TestArchiveServedSafely: the internal page serves the archive's files,
// but nothing a symbolic link in the archive points to outside it (a
// database, a secret), no listing, no dot files (a version being
// written), and an archived HTML report runs sandboxed: it cannot script
// the page's origin (the status API, the webhook route).
func TestArchiveServedSafely(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	p, archive := hostilePage(t, now)
	outside := t.TempDir()
	secret := filepath.Join(outside, "slaprobe.db")
	must(t, os.WriteFile(secret, []byte("SQLite format 3 SECRETDB"), 0o600))
	must(t, os.MkdirAll(filepath.Join(archive, "2026-03", "v1"), 0o755))
	must(t, os.WriteFile(filepath.Join(archive, "2026-03", "report.pdf"), []byte("%PDF-1.4"), 0o644))
	must(t, os.WriteFile(filepath.Join(archive, "2026-03", "report.html"), []byte("<!doctype html><p>report</p><script>fetch('/api/v1/status')</script>"), 0o644))
	must(t, os.WriteFile(filepath.Join(archive, "2026-03", ".report.pdf.123"), []byte("partial"), 0o644))
	must(t, os.Symlink(secret, filepath.Join(archive, "2026-03", "report.json")))
	must(t, os.Symlink(outside, filepath.Join(archive, "2026-02")))
	must(t, os.Symlink("../../"+filepath.Base(outside), filepath.Join(archive, "2026-03", "v1", "up")))
	h := p.Handler(false)

	if rec := get(t, h, "GET", "/reports/2026-03/report.pdf"); rec.Code != 200 || rec.Body.String() != "%PDF-1.4" {
		t.Fatalf("archived PDF: %d %q", rec.Code, rec.Body.String())
	}
	for _, path := range []string{"/reports/2026-03/report.json", "/reports/2026-02/slaprobe.db", "/reports/2026-03/v1/up/slaprobe.db",
		"/reports/2026-03/", "/reports/", "/reports/2026-03/.report.pdf.123", "/reports/../r.db", "/reports/%2e%2e/r.db"} {
		rec := get(t, h, "GET", path)
		if rec.Code == 200 || strings.Contains(rec.Body.String(), "SECRETDB") {
			t.Errorf("GET %s = %d %.60q: want nothing served", path, rec.Code, rec.Body.String())
		}
	}
	rec := get(t, h, "GET", "/reports/2026-03/report.html")
	if rec.Code != 200 {
		t.Fatalf("archived HTML: %d", rec.Code)
	}
	csp := parseCSP(rec.Header().Get("Content-Security-Policy"))
	if _, ok := csp["sandbox"]; !ok {
		t.Errorf("archived HTML report served without a sandbox CSP (%q): its scripts would run as the status page's origin", rec.Header().Get("Content-Security-Policy"))
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("archive files: X-Content-Type-Options %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = bytes.MinRead
