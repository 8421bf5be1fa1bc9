package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// onceSessionConfig is examples/matrix.yaml in small: a session login and a
// session_end logout.
const onceSessionConfig = `
location: seoul-a
services:
  - name: matrix
    flows:
      - name: roundtrip
        vars: {hs: BASE}
        session:
          steps:
            - name: login
              function: login
              request: {method: POST, url: "${hs}/_matrix/client/v3/login", json: {user: slaprobe}}
              extract: {access_token: {jsonpath: "$.access_token"}}
        steps:
          - name: sync
            function: receive
            request: {url: "${hs}/_matrix/client/v3/sync", headers: {Authorization: "Bearer ${access_token}"}}
        teardown:
          - name: logout
            function: logout
            when: session_end
            request: {method: POST, url: "${hs}/_matrix/client/v3/logout", headers: {Authorization: "Bearer ${access_token}"}, json: {}}
`

// TestOnceEndsItsSessions: every Matrix login makes a device, which only a
// logout removes. `once` logged in (the session) and stopped without
// running the session_end teardown, so each `slaprobe once` left a device on
// the probe's account (seen against Dendrite v0.13.8: two `once` runs, two
// devices), although the example promises the device is logged out when
// slaprobe stops.
func TestOnceEndsItsSessions(t *testing.T) {
	var mu sync.Mutex
	devices := map[string]bool{}
	n := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_matrix/client/v3/login", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		tok := fmt.Sprintf("tok%d", n)
		devices[tok] = true
		mu.Unlock()
		fmt.Fprintf(w, `{"access_token":%q,"device_id":"D%d"}`, tok, n)
	})
	auth := func(r *http.Request) (string, bool) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		defer mu.Unlock()
		return tok, devices[tok]
	}
	mux.HandleFunc("GET /_matrix/client/v3/sync", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth(r); !ok {
			http.Error(w, `{"errcode":"M_UNKNOWN_TOKEN"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"next_batch":"s1"}`)
	})
	mux.HandleFunc("POST /_matrix/client/v3/logout", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := auth(r)
		if !ok {
			http.Error(w, `{"errcode":"M_UNKNOWN_TOKEN"}`, http.StatusUnauthorized)
			return
		}
		mu.Lock()
		delete(devices, tok)
		mu.Unlock()
		fmt.Fprint(w, `{}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "matrix.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(onceSessionConfig, "BASE", srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), []string{"once", "--config", path, "--format", "json"}, &stdout, &stderr)
		if code != exitOK {
			t.Fatalf("once %d: exit %d\n%s\n%s", i, code, stdout.String(), stderr.String())
		}
		var runs []struct {
			Steps, Teardown []struct{ Step, Status string }
		}
		if err := json.Unmarshal(stdout.Bytes(), &runs); err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || len(runs[0].Teardown) != 1 || runs[0].Teardown[0].Step != "logout" || runs[0].Teardown[0].Status != "ok" {
			t.Errorf("once %d: want the session's logout in the run's teardown, got %s", i, stdout.String())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(devices) != 0 || n != 2 {
		t.Errorf("after two once runs: %d logins, %d devices still logged in; want 2 logins, 0 devices", n, len(devices))
	}
}
