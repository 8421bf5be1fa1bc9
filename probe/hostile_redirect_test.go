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
