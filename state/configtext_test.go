package state

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// jwtOf is an unsigned JWT whose payload is claims (jwtclaim reads it
// without checking the signature).
func jwtOf(claims string) string {
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
}

// A value an error quotes from the config (a jwtclaim's claim name written
// in it) is the config's words: one step reading two claims, the login's
// token lacking one and then the other by turns, is two faults, two causes
// (they were one: the names were masked as a target's value is). A claim
// named by a variable, a value another step read, stays masked: one fault
// whatever the name (as TestVariableOperandOneCause's operands). The errors
// are a real runner's against an httptest server.
func TestConfigTextCauses(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string // the login's tokens, run by run
		send   string   // the send step's request
		want   string   // the flow window's causes
	}{
		{"two claims by turns", []string{jwtOf(`{"room":"r"}`), jwtOf(`{"sub":"u"}`), jwtOf(`{"room":"r"}`)},
			`{url: "%[1]s/send/${jwtclaim(token, \"sub\")}/${jwtclaim(token, \"room\")}"}`,
			"receive@m1-m2,receive@m2-m3,receive@m3-m4"},
		{"one claim missing each run", []string{jwtOf(`{"room":"r"}`), jwtOf(`{"room":"s"}`), jwtOf(`{"room":"t"}`)},
			`{url: "%[1]s/send/${jwtclaim(token, \"sub\")}/${jwtclaim(token, \"room\")}"}`,
			"receive@m1-m4"},
		{"a claim named by a variable", []string{jwtOf(`{"c":"amber"}`), jwtOf(`{"c":"birch"}`), jwtOf(`{"c":"cedar"}`)},
			`{url: "%[1]s/send/${jwtclaim(token, jwtclaim(token, \"c\"))}"}`,
			"receive@m1-m4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/login" {
					t.Errorf("the send was sent: %s", r.URL)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"token": %q}`, tc.tokens[int(n.Add(1)-1)%len(tc.tokens)])
			}))
			defer srv.Close()
			got, errs := roomsCauses(t, fmt.Sprintf(`
          - name: login
            function: login
            request: {url: %[1]s/login}
            extract: {token: {jsonpath: $.token}}
          - name: send
            function: receive
            request: `+tc.send+`
`, srv.URL), len(tc.tokens))
			if got != tc.want {
				t.Errorf("causes %s, want %s (%q)", got, tc.want, errs)
			}
		})
	}
}

// An extraction's regex is the config's: a flow whose regex is changed
// (a reload) and whose target still fails it is a new cause, however
// little changed (a date in it, which the rules for a target's values
// would mask). The errors are a real runner's.
func TestExtractRegexCause(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "no order here")
	}))
	defer srv.Close()
	tests := []struct {
		a, b string // two regexes, neither matching
		same bool
	}{
		{`order-20261105-(\w+)`, `order-20261106-(\w+)`, false},
		{`tok-([0-9a-f]+)`, `token=([0-9a-f]+)`, false},
		{`tok-([0-9a-f]+)`, `tok-([0-9a-f]+)`, true},
	}
	errOf := func(re string) string {
		src := fmt.Sprintf(`
location: seoul-a
services:
  - name: orders
    flows:
      - name: place
        steps:
          - name: place
            function: send
            request: {url: %s/place}
            extract: {order: {regex: '%s'}}
`, srv.URL, re)
		cfg, err := config.Parse("t.yaml", []byte(src), config.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := probe.NewRunner(cfg, probe.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.CloseIdle()
		run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
		if run.Steps[0].Error == "" {
			t.Fatalf("regex %s: the step passed", re)
		}
		return run.Steps[0].Error
	}
	for _, tc := range tests {
		ea, eb := errOf(tc.a), errOf(tc.b)
		if got := sameCause(Cause{Step: "place", Error: ea}, "place", eb); got != tc.same {
			t.Errorf("sameCause(%q, %q) = %v, want %v", ea, eb, got, tc.same)
		}
	}
}
