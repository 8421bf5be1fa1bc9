package probe

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// jwtOf makes a token with the given payload; its signature is junk, which
// jwtclaim does not check.
func jwtOf(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJl"
}

// TestJWTClaimFunction: jwtclaim reads a top-level claim of a token's
// payload, a string as its text and anything else as the issuer wrote it;
// what is not a JWT, or has no such claim, fails the template without
// quoting the token (a credential).
func TestJWTClaimFunction(t *testing.T) {
	payload := `{"sub":"user-42","uid":12345678901234567890,"admin":false,"roles":["a", "b"],"ctx":{"org": 7},"exp":1767225600}`
	token := jwtOf(payload)
	padded := strings.Split(token, ".")
	padded[1] = base64.URLEncoding.EncodeToString([]byte(payload)) // with "=" padding, as some issuers send
	tests := []struct {
		name, token, claim, want, err string
	}{
		{"string", token, "sub", "user-42", ""},
		{"big number as written", token, "uid", "12345678901234567890", ""},
		{"boolean", token, "admin", "false", ""},
		{"array compact", token, "roles", `["a","b"]`, ""},
		{"object compact", token, "ctx", `{"org":7}`, ""},
		{"expiry", token, "exp", "1767225600", ""},
		{"padded payload", strings.Join(padded, "."), "sub", "user-42", ""},
		{"missing claim", token, "email", "", `jwtclaim: the JWT has no claim "email"`},
		{"not a JWT", "opaque-session-token-x1", "sub", "", "jwtclaim: the value is not a JWT (1 dot-separated parts, want 3)"},
		{"payload not base64url", "aaa.b*c.ddd", "sub", "", "jwtclaim: the JWT's payload is not base64url"},
		{"payload not an object", jwtOf(`["sub"]`), "sub", "", "jwtclaim: the JWT's payload is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applyFunc("jwtclaim", []string{tc.token, tc.claim}, false)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("jwtclaim = %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("jwtclaim = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	// A claim's name written in the config is quoted as the config's
	// text (ConfigText), which a window's cause keeps; one from a variable
	// as a value.
	for _, tc := range []struct {
		name string
		lit  bool
		want string
	}{
		{"email", true, "jwtclaim: the JWT has no claim `email`"},
		{"email", false, `jwtclaim: the JWT has no claim "email"`},
		{"a`b", true, "jwtclaim: the JWT has no claim \"a`b\""},
	} {
		if _, err := applyFunc("jwtclaim", []string{token, tc.name}, tc.lit); err == nil || err.Error() != tc.want {
			t.Errorf("jwtclaim(token, %q) literal %v: error %v, want %s", tc.name, tc.lit, err, tc.want)
		}
	}
}

// TestJWTClaimInAFlow: a login that answers only a JWT, and a next step
// whose URL needs the user id inside it (its "sub"): the flow reads the
// claim with ${jwtclaim(token, "sub")}, and check accepts it.
func TestJWTClaimInAFlow(t *testing.T) {
	token := jwtOf(`{"sub":"u 7/x","exp":4102444800}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/login":
			fmt.Fprintf(w, `{"access_token": %q}`, token)
		case r.URL.EscapedPath() == "/users/u%207%2Fx/inbox" && r.Header.Get("Authorization") == "Bearer "+token:
			fmt.Fprint(w, `{"messages": []}`)
		default:
			http.Error(w, "no such user", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	src := fmt.Sprintf(`
location: seoul-a
services:
  - name: svc
    flows:
      - name: inbox
        steps:
          - name: login
            function: login
            request: {method: POST, url: %[1]s/login}
            extract: {token: {jsonpath: $.access_token}}
          - name: inbox
            function: receive
            request:
              url: '%[1]s/users/${urlpath(jwtclaim(token, "sub"))}/inbox'
              headers: {Authorization: "Bearer ${token}"}
            expect: {status: [200]}
`, srv.URL)
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
	if !run.OK() {
		t.Fatalf("run failed: %+v", run.Steps)
	}
	if _, err := config.Parse("t.yaml", []byte(strings.Replace(src, `jwtclaim(token, "sub")`, `jwtclaim(token)`, 1)), config.Options{}); err == nil || !strings.Contains(err.Error(), "t.yaml:") {
		t.Errorf("a jwtclaim with one argument: %v, want an error naming the file and line", err)
	}
}
