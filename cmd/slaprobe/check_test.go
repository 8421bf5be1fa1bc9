package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckSummaryCounts: check's summary says each count in the singular
// for one ("1 timelines with 1 declared incidents" before) and in the
// plural otherwise.
func TestCheckSummaryCounts(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"vendor.yaml": `name: vendor
timezone: Asia/Seoul
incidents:
  - {id: a, title: A, service: web, functions: [view], start: "2026-05-05T21:47:00+09:00", end: "2026-05-05T22:08:00+09:00"}
`,
		"one.yaml": `location: office
services:
  - name: web
    timelines: [vendor.yaml]
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`,
		"two.yaml": `location: office
services:
  - name: web
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
          - {name: list, function: view, request: {url: "http://127.0.0.1:1/"}}
  - name: api
    flows:
      - name: ping
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`,
		"session.yaml": `location: office
services:
  - name: chat
    flows:
      - name: send
        session:
          ttl: 1h
          steps:
            - {name: login, function: login, request: {url: "http://127.0.0.1:1/"}}
        steps:
          - {name: send, function: send, request: {url: "http://127.0.0.1:1/"}}
        teardown:
          - {name: delete, function: send, request: {url: "http://127.0.0.1:1/"}}
          - {name: logout, function: login, when: session_end, request: {url: "http://127.0.0.1:1/"}}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ config, want string }{
		{"one.yaml", "ok: 1 service, 1 flow, 1 step, 1 timeline with 1 declared incident\n"},
		{"two.yaml", "ok: 2 services, 2 flows, 3 steps, 0 timelines with 0 declared incidents\n"},
		// A session's and a teardown's steps are said apart: "1 step" alone
		// read as if the login and the clean-up had not been loaded.
		{"session.yaml", "ok: 1 service, 1 flow, 1 step (and 3 in sessions or teardowns), 0 timelines with 0 declared incidents\n"},
	}
	for _, tc := range tests {
		t.Run(tc.config, func(t *testing.T) {
			path := filepath.Join(dir, tc.config)
			var out, errb bytes.Buffer
			if code := runMain(context.Background(), []string{"check", "--config", path}, &out, &errb); code != exitOK {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if want := path + ": " + tc.want; out.String() != want {
				t.Errorf("got %q, want %q (stderr %q)", out.String(), want, errb.String())
			}
		})
	}
}
