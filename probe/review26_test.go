package probe

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRedactConfigAndRunSecretsOverlap: a config secret and a value the run
// holds as a credential (an extract marked secret) that overlap in a
// message are masked together, leaving no piece of either. The config's
// secrets were redacted first and the run's after, by two redactors, so
// neither saw the overlap: with the password "abcd1234" and a token
// "4xyz9876", a target echoing "abcd1234xyz9876" left "***xyz9876", seven
// bytes of the token.
func TestRedactConfigAndRunSecretsOverlap(t *testing.T) {
	srv := httptest.NewServer(echoTarget("4xyz9876"))
	defer srv.Close()
	src := `services:
  - name: s
    flows:
      - name: fl
        steps:
          - {name: login, function: f, request: {method: POST, url: "URL/login"}, extract: {token: {jsonpath: "$.token", secret: true}}}
          - {name: use, function: f, request: {url: "URL/echo?t=${token}&q=${env:PW}xyz9876"}, expect: {jsonpath: {"$.query": nope}}}
`
	run := runSecretConfig(t, strings.ReplaceAll(src, "URL", srv.URL), "abcd1234")
	var errs []string
	for _, s := range run.Steps {
		errs = append(errs, s.Error)
	}
	text := strings.Join(errs, "\n")
	if !strings.Contains(text, "does not equal") {
		t.Fatalf("the run did not fail as expected:\n%s", text)
	}
	for _, piece := range []string{"abcd", "xyz9876", "4xyz"} {
		if strings.Contains(text, piece) {
			t.Errorf("%q in the errors:\n%s", piece, text)
		}
	}
}
