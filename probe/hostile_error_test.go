package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// Review of error messages a target writes: Go quotes a redirect's Location
// and a malformed status line whole in its errors, so a target could make
// every run's error megabytes long. An error is at most 1 KiB (stored with each run, served by
// /api/v1/status and the status page, sent in alerts).

func TestHostileErrorTextIsBounded(t *testing.T) {
	const n = 1 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/scheme":
			w.Header().Set("Location", strings.Repeat("a", n)+"://x/")
		case "/bad-location":
			// The secret straddles the cut: it must go whole or not at all.
			w.Header().Set("Location", "http://x/%zz"+strings.Repeat("b", 1024-50)+testSecret+strings.Repeat("b", n))
		case "/host":
			w.Header().Set("Location", "http://"+strings.Repeat("c", n)+".invalid/")
		case "/status-line":
			c, _, _ := w.(http.Hijacker).Hijack()
			defer c.Close()
			c.Write([]byte(strings.Repeat("e", n) + "\r\n\r\n"))
			return
		}
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/scheme", "/bad-location", "/host", "/status-line"} {
		t.Run(path, func(t *testing.T) {
			step := get("s", srv.URL+path+"?k=${env:PW}")
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{})
			e := run.Steps[0].Error
			if run.Steps[0].Status != StatusFailed {
				t.Fatalf("status %s", run.Steps[0].Status)
			}
			if len(e) > 1024+32 {
				t.Errorf("error of %d bytes: %.80s...", len(e), e)
			}
			if !strings.Contains(e, " bytes)") {
				t.Errorf("the cut error does not say how long it was: ...%s", e[max(0, len(e)-40):])
			}
			if strings.Contains(e, testSecret[:6]) {
				t.Errorf("the error holds the secret or a piece of it: %s", e[max(0, strings.Index(e, testSecret[:6])-20):])
			}
		})
	}
}
