package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/examples"
)

// fuzzSecret is what every ${env:...} and ${file:...} resolves to while
// fuzzing; it must never show in an error unless the input holds it.
const fuzzSecret = "fuzz-S3CR3T-value"

// addSeeds adds the YAML files matching the globs to the corpus (beyond
// testdata/fuzz, which go test reads by itself).
func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		files, _ := filepath.Glob(g)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func FuzzParse(f *testing.F) {
	addSeeds(f, "testdata/errors/*.yaml")
	f.Add(examples.DemoConfig())
	f.Add([]byte(minimal))
	// The stream and receive keys: reply, an sse step's body and format,
	// session_expired, a poll's since,
	// a webhook URL handed out by the session only (refused) or through
	// a var, and the examples that use them.
	addSeeds(f, "../examples/centrifugo.yaml", "../examples/matrix.yaml")
	f.Add([]byte(streamKeys))
	// #15 finding 1 in small: a 40 KB value that 50 aliases repeat in errors.
	f.Add([]byte(aliasedSteps(strings.Repeat("A", 40<<10), 50)))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{
			LookupEnv: func(k string) (string, bool) { return fuzzSecret, k != "UNSET" },
			ReadFile: func(p string) ([]byte, error) {
				switch {
				case strings.Contains(p, "missing"):
					return nil, os.ErrNotExist
				case strings.HasSuffix(p, ".yaml"):
					return data, nil // a timeline: the same bytes, read as one
				}
				return []byte(fuzzSecret + "\n"), nil
			},
		}
		cfg, err := Parse("fuzz.yaml", data, opts)
		if err == nil {
			if cfg == nil || len(cfg.Services) == 0 {
				t.Fatalf("no error and no config: %+v", cfg)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T is not Errors", err)
		}
		for _, e := range es {
			if e.File == "" || e.Msg == "" {
				t.Fatalf("incomplete error %#v", e)
			}
		}
		text := err.Error()
		if strings.Contains(text, fuzzSecret) && !bytes.Contains(data, []byte(fuzzSecret)) {
			t.Fatalf("secret in error text:\n%s", text)
		}
		// The errors are bounded by the input, not by what its aliases
		// expand to (a 1 MB file once printed 2 GB).
		if limit := 128<<10 + 4*len(data); len(text) > limit {
			t.Fatalf("%d bytes of errors for %d bytes of input (limit %d):\n%.500s", len(text), len(data), limit, text)
		}
	})
}

func FuzzParseTimeline(f *testing.F) {
	addSeeds(f, "testdata/timeline-errors/*.yaml", "testdata/errors/timelines/*.yaml", "../examples/incidents/*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		tl, err := ParseTimeline("fuzz.yaml", data)
		if err == nil {
			if tl == nil {
				t.Fatal("no error and no timeline")
			}
			for _, inc := range tl.Incidents {
				if inc.ID == "" || inc.Rate <= 0 || inc.Rate > 1 || !inc.Ongoing() && !inc.End.After(inc.Start) {
					t.Fatalf("invalid incident accepted: %+v", inc)
				}
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T is not Errors", err)
		}
		_ = err.Error()
	})
}

// FuzzParseExpr: the template expression parser never panics, and whatever
// it accepts walks to names only.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{"token", "urlpath(room)", `hmac_sha256(env:K, "a\"b")`, "base64(sha256(x))", `urlquery(`, `"`, "a(b(c(d(e(f(g))))))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			return
		}
		e.Walk(func(name string) {
			if name == "" {
				t.Errorf("ParseExpr(%q) walks an empty name", s)
			}
		})
	})
}

// streamKeys seeds FuzzParse with the keys of the stream and receive
// steps, well and badly written.
const streamKeys = `
services:
  - name: hub
    flows:
      - name: push
        vars: {hook: "${webhook.url}?k=1", tok: "${env:TOKEN}"}
        session:
          steps:
            - {name: pusher, function: login, request: {method: POST, url: "http://h/p", json: {url: "${hook}"}}}
        steps:
          - {name: ws, function: receive, websocket: {url: "ws://h/ws", send: ['{"connect":{}}'], reply: [{to: "{}", send: "{}"}, {to: " ping ", send: pong}, {to: "", send: x}, {to: "{}", send: y}, {send: z}, {to: q}]}}
          - {name: sse, function: receive, sse: {url: "http://h/s", method: POST, body: '{"token":"${tok}"}', format: lines, event: x}}
          - {name: sse2, function: receive, sse: {url: "http://h/s", body: "${nope}", format: ndjson}}
          - {name: cb, function: receive, await: {webhook: {method: POST}}}
          - {name: w, function: receive, await: ws, expect: {jsonpath: {"$.id": m-1}}}
          - {name: l, function: receive, await: {stream: sse}}
          - {name: ws2, function: receive, websocket: {url: "ws://h/ws", session_expired: {close_codes: [3005, 99], jsonpath: {"$.error.code": 109, "$[": x}}}}
          - {name: sse3, function: receive, sse: {url: "http://h/s", session_expired: {close_codes: [4001], jsonpath: {}}}}
          - {name: p, function: receive, request: {url: "http://h/i"}, poll: {every: 1s, within: 2s, since: ws2}}
          - {name: p2, function: receive, request: {url: "http://h/i"}, poll: {every: 1s, within: 2s, since: later}}
`

// FuzzParseRFC3339: a time's error never panics (short, odd or invalid
// UTF-8 input), is valid UTF-8, and a zone's name it quotes is in the
// input as written.
func FuzzParseRFC3339(f *testing.F) {
	for _, s := range []string{"2026-05-01T10:00:00Z", "2026-05-01 10:00", " 2026-05-01T10:00:00Z", "2026-05-01", "2026-05-01T10:00:00",
		"2026-05-01T10:00:00+0900", "2026-05-01T10:00:00 +09:00", "2026-05-01T10:00Z", "2026-05-01T10:00:00.5 est", "2016-12-31T23:59:60Z",
		"2026-05-01T10:00:00,5Z", "2026-05-01T10:00:00+24:00", "12/06/2026 10:00", "2026-05-01T10:00:00\xff KST", "", "T", "2026-05-01 ", "2026-05-01T1:00", "2026-05-01T1:00Z", "2026-05-01T1:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ParseRFC3339(s)
		if err == nil {
			return
		}
		msg := err.Error()
		if !utf8.ValidString(msg) {
			t.Fatalf("%q: error not UTF-8: %q", s, msg)
		}
		if _, rest, ok := strings.Cut(msg, "a zone's name ("); ok {
			if name, _, _ := strings.Cut(rest, ") where"); !strings.Contains(s, name) {
				t.Fatalf("%q: %q names a zone %q the input does not have", s, msg, name)
			}
		}
	})
}
