package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// Review of redirects that lead a request to another host: Go drops
// Authorization and Cookie there, but copies every other header of the
// first request and adds a Referer with the URL it came from. A secret in a
// custom header (X-Api-Key: ${env:KEY}) or in the URL's query must not go
// with them.

func TestRedirectKeepsSecretsFromOtherHosts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{} // by host the final request reached
	final := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Host] = r.Header.Clone()
		mu.Unlock()
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		final(w, r)
	}))
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, tc := range []struct {
		name, to, host string
		forwarded      bool // the secret header goes on to the redirect's host
	}{
		{"another host", "http://localhost" + port + "/final", "localhost" + port, false},
		{"the same host", "/final", "127.0.0.1" + port, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear(seen)
			step := get("s", srv.URL+"/start?token=${env:PW}&to="+tc.to)
			step.Request.Headers = map[string]string{"X-Api-Key": "key-${env:PW}", "X-Plain": "hello"}
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{})
			if !run.OK() {
				t.Fatalf("run failed: %+v", run.Steps)
			}
			mu.Lock()
			h := seen[tc.host]
			mu.Unlock()
			if h == nil {
				t.Fatalf("no request reached %s (saw %v)", tc.host, seen)
			}
			if got := h.Get("X-Api-Key") != ""; got != tc.forwarded {
				t.Errorf("X-Api-Key forwarded: %v, want %v", got, tc.forwarded)
			}
			if h.Get("X-Plain") != "hello" {
				t.Errorf("X-Plain %q, want it forwarded", h.Get("X-Plain"))
			}
			if ref := h.Get("Referer"); strings.Contains(ref, testSecret) {
				t.Errorf("Referer carries the secret: %s", ref)
			}
		})
	}
}

// TestMaxRedirectsFromConfig: max_redirects as written in a config, 0
// included ("0 follows none": the redirect is the response the step checks).
func TestMaxRedirectsFromConfig(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.Redirect(w, r, "/sso?next=home", http.StatusFound)
		case "/sso":
			http.Redirect(w, r, "/home", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, defaults, flow, expect string
		status                       int
		err                          string
	}{
		{"flow says 0", "", "max_redirects: 0", `{status: [302], headers: {Location: {equals: "/sso?next=home"}}}`, 302, ""},
		{"defaults say 0", "defaults: {max_redirects: 0}\n", "", "{status: [302]}", 302, ""},
		{"0, default statuses", "", "max_redirects: 0", "{}", 302, ""},
		{"1: the second redirect is too many", "", "max_redirects: 1", "{}", 302, "s: stopped after 1 redirects"},
		{"the default follows both", "", "", "{status: [200]}", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.defaults + "services:\n  - name: s\n    flows:\n      - name: fl\n        " + tc.flow + "\n        steps:\n" +
				"          - {name: s, function: f, request: {url: \"" + srv.URL + "/login\"}, expect: " + tc.expect + "}\n"
			cfg, err := config.Parse("t.yaml", []byte(src), config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
			if got := run.Steps[0]; got.Error != tc.err || got.HTTPStatus != tc.status {
				t.Errorf("status %d, error %q; want %d, %q", got.HTTPStatus, got.Error, tc.status, tc.err)
			}
		})
	}
}
