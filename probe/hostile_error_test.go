package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// Review of error messages a target writes: Go quotes a redirect's Location
// and a malformed status line whole in its errors, so a target could make
// every run's error megabytes long. An error is at most 1 KiB (stored with each run, served by
// /api/v1/status and the status page, sent in alerts).

func TestHostileErrorTextIsBounded(t *testing.T) {
	const n = 900 << 10 // within the 1 MiB of response headers
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

// TestResponseHeadersBounded: a target's response headers count against a
// limit of 1 MiB, as the body does against max_body_bytes; Go's default
// (10 MB) let one step hold ten times the body limit in headers.
func TestResponseHeadersBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("kb"))
		c, bw, _ := w.(http.Hijacker).Hijack()
		defer c.Close()
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
		for i := range n {
			bw.WriteString("X-Pad-" + strconv.Itoa(i) + ": " + strings.Repeat("p", 1000) + "\r\n")
		}
		bw.WriteString("\r\n{}")
		bw.Flush()
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		kb  int
		err string
	}{
		{900, ""},
		{2000, "s: net/http: HTTP/1.x transport connection broken: net/http: server response headers exceeded 1048576 bytes; aborted"},
	} {
		t.Run(strconv.Itoa(tc.kb)+" kB", func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{get("s", srv.URL+"/?kb="+strconv.Itoa(tc.kb))}}, Options{})
			if got := run.Steps[0].Error; got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
		})
	}
}
