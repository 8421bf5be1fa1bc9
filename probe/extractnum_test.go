package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestExtractNumberAsWritten: a number extracted by a path to one value is
// passed on as the target wrote it. It was read as a float64 and written
// back, so an amount 10.10 went on as 10.1 (a signature over it no longer
// matched) and 0.0000001 as 1e-07; and whether it did depended on the other
// checks of the step (a wildcard among them).
func TestExtractNumberAsWritten(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"amount": 10.10, "tiny": 0.0000001, "e": 1E3, "neg": -0.50, "id": 7, "list": [10.10, 2.50], "s": "10.10"}`)
	}))
	t.Cleanup(srv.Close)
	echo := newEcho(t)
	tests := []struct {
		path, want string
		wildcard   bool // the step also checks a wildcard path
	}{
		{"$.amount", "10.10", false},
		{"$.amount", "10.10", true},
		{"$.tiny", "0.0000001", false},
		{"$.tiny", "0.0000001", true},
		{"$.e", "1E3", false},
		{"$.neg", "-0.50", true},
		{"$.id", "7", true},
		{"$.list[0]", "10.10", false},
		{"$.s", "10.10", true},
		{"$.list", "[10.1,2.5]", false}, // not a number: compact JSON
	}
	for _, tc := range tests {
		name := tc.path
		if tc.wildcard {
			name += " beside a wildcard"
		}
		t.Run(name, func(t *testing.T) {
			a := get("a", srv.URL)
			a.Extract = []config.Extract{{Var: "v", JSONPath: tc.path}}
			if tc.wildcard {
				a.Expect.JSONPath = []config.PathMatch{{Path: "$.list[*]", Matcher: config.Matcher{Exists: bp(true)}}}
			}
			b := get("b", echo+"/echo")
			b.Request.Method = "POST"
			b.Request.Body = "${v}"
			b.Expect.JSONPath = []config.PathMatch{{Path: "$.body", Matcher: eq(tc.want)}}
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{a, b}}, Options{})
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusOK, "")
		})
	}
}

func newEcho(t *testing.T) string {
	t.Helper()
	_, srv := newTarget(t)
	return srv.URL
}

// TestNotJSONQuoteScrubbed: the start of a body that is not JSON, quoted in
// the failure, has the run's secrets scrubbed (a login page that echoes the
// password it refused).
func TestNotJSONQuoteScrubbed(t *testing.T) {
	const secret = "pw-Secr3t\"value"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, "<error>bad password "+string(body)+"</error>")
	}))
	t.Cleanup(srv.Close)
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n" +
		"          - {name: a, function: f, request: {method: POST, url: \"" + srv.URL + "\", body: \"${env:PW}\"}, expect: {jsonpath: {\"$.ok\": \"true\"}}}\n"
	run := runSecretConfig(t, src, secret)
	wantStep(t, run.Steps[0], StatusFailed, `a: $.ok: body is not JSON (got "<error>bad password ***</error>")`)
}
