package probe

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// echoTarget answers what a hostile or careless target answers: the body
// it was sent, the credentials it was sent, a token.
func echoTarget(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"query": r.URL.RawQuery, "auth": r.Header.Get("Authorization"), "cookie": r.Header.Get("Cookie")})
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"token": token, "sid": "sid-" + token})
	})
	mux.HandleFunc("GET /status/500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	return mux
}

// TestRedactionOfEveryForm covers #13 finding 1 and #15 finding 8: a
// secret that reaches a step's error quoted, JSON-escaped (twice), with
// control characters, base64 in a basic-auth header, or cut at the end of
// a shown value; and a token the run extracted and sends as a credential
// (or marked secret). None of it may survive in the run's errors, and a
// one-letter secret must not mangle them.
func TestRedactionOfEveryForm(t *testing.T) {
	token := "tok-" + strings.Repeat("Zx9", 30) // longer than show's cut
	srv := httptest.NewServer(echoTarget(token))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name      string
		pw        string
		steps     string
		forbidden []string
		wantErr   string // the error must contain this (it really failed)
	}{
		{"quote and backslash echoed in a JSON body", `p"w\x-1`,
			`- {name: a, function: f, request: {method: POST, url: "URL/echo", json: {password: "${env:PW}"}}, expect: {body: nope}}`,
			nil, "body does not equal"},
		{"control characters echoed", "abc\x01def",
			`- {name: a, function: f, request: {method: POST, url: "URL/echo", body: "pw=${env:PW}"}, expect: {body: nope}}`,
			nil, "body does not equal"},
		{"an extracted token in a failed assertion on it", "unused-secret",
			`- {name: login, function: f, request: {method: POST, url: "URL/login"}, extract: {token: {jsonpath: "$.token"}}, expect: {jsonpath: {"$.token": {matches: "^zzz"}}}}
          - {name: use, function: f, request: {url: "URL/echo", headers: {Authorization: "Bearer ${token}"}}}`,
			[]string{token, token[:16]}, "does not match"},
		{"a token echoed back by the next step", "unused-secret",
			`- {name: login, function: f, request: {method: POST, url: "URL/login"}, extract: {token: {jsonpath: "$.token"}}}
          - {name: use, function: f, request: {url: "URL/echo", headers: {Authorization: "Bearer ${token}"}}, expect: {jsonpath: {"$.auth": nope}}}`,
			[]string{token, token[:16]}, "does not equal"},
		{"an extract marked secret", "unused-secret",
			`- {name: login, function: f, request: {method: POST, url: "URL/login"}, extract: {sid: {jsonpath: "$.sid", secret: true}}}
          - {name: use, function: f, request: {url: "URL/echo?s=${sid}"}, expect: {jsonpath: {"$.query": nope}}}`,
			[]string{"sid-" + token[:12], token[:16]}, "does not equal"},
		{"basic auth from a URL's user:password", "pa55:w0rd-x",
			`- {name: a, function: f, request: {url: "http://probe:${env:PW}@HOST/echo"}, expect: {jsonpath: {"$.auth": nope}}}`,
			[]string{base64.StdEncoding.EncodeToString([]byte("probe:pa55:w0rd-x"))[8:20]}, "does not equal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("services:\n  - name: s\n    flows:\n      - name: fl\n        steps:\n          %s\n",
				strings.NewReplacer("URL", srv.URL, "HOST", host).Replace(tt.steps))
			run := runSecretConfig(t, src, tt.pw)
			var errs []string
			for _, s := range run.Steps {
				errs = append(errs, s.Error)
			}
			text := strings.Join(errs, "\n")
			if !strings.Contains(text, tt.wantErr) {
				t.Fatalf("the run did not fail as expected:\n%s", text)
			}
			forbidden := append(redact.Forms(tt.pw), tt.forbidden...)
			for _, f := range forbidden {
				if strings.Contains(text, f) {
					t.Errorf("%q in the errors:\n%s", f, text)
				}
			}
		})
	}
}

// TestShortSecretNotRedacted: a one-letter secret leaves messages whole.
func TestShortSecretNotRedacted(t *testing.T) {
	srv := httptest.NewServer(echoTarget("x"))
	defer srv.Close()
	src := "services:\n  - name: s\n    flows:\n      - name: fl\n        vars: {pw: \"${env:PW}\"}\n        steps:\n" +
		"          - {name: a, function: f, request: {url: \"" + srv.URL + "/status/500\", headers: {X-Pw: \"${pw}\"}}, expect: {status: [200]}}\n"
	run := runSecretConfig(t, src, "t")
	if got := run.Steps[0].Error; got != "a: status 500, want 200" {
		t.Errorf("error %q", got)
	}
}

// TestSecretEqualToStepNameKeepsTheName: the step name that begins a
// step's error is the config's, not the target's, and is not redacted: a
// password that happens to equal it ("login") made the stored, served and
// alerted error "***: status 500, want 200", hiding which step failed. What
// the target sent is still redacted.
func TestSecretEqualToStepNameKeepsTheName(t *testing.T) {
	srv := httptest.NewServer(echoTarget("x"))
	defer srv.Close()
	tests := []struct {
		name, step, want string
	}{
		{"status", "- {name: login, function: f, request: {url: \"URL/status/500\", headers: {X-Pw: \"${env:PW}\"}}, expect: {status: [200]}}",
			"login: status 500, want 200"},
		{"echoed body", "- {name: login, function: f, request: {method: POST, url: \"URL/echo\", body: \"pw=${env:PW}\"}, expect: {body: nope}}",
			`login: body does not equal "nope" (got "pw=***")`},
		{"degraded", "- {name: login, function: f, request: {url: \"URL/echo\", headers: {X-Pw: \"${env:PW}\"}}, expect: {latency: 1ns}}",
			"login: latency "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "services:\n  - name: s\n    flows:\n      - name: fl\n        steps:\n          " + strings.ReplaceAll(tt.step, "URL", srv.URL) + "\n"
			run := runSecretConfig(t, src, "login")
			if got := run.Steps[0].Error; !strings.HasPrefix(got, tt.want) {
				t.Errorf("error %q, want it to begin %q", got, tt.want)
			}
		})
	}
}

// runSecretConfig parses src, every ${env:...} in it being secret, and runs
// its first flow once.
func runSecretConfig(t *testing.T, src, secret string) Run {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(src), config.Options{LookupEnv: func(string) (string, bool) { return secret, true }})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	return r.Run(context.Background(), &cfg.Services[0].Flows[0])
}
