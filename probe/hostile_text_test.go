package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// Review of target-controlled text as a step's error: the error goes to the
// store and from there to every output (terminal tables, the status pages,
// the HTML, Markdown, CSV and PDF reports, Alertmanager annotations, log
// lines), so it must not carry characters that change how the text around
// it reads.

// TestBidiControlsInErrorsEscaped: a Unicode bidirectional control (U+202E
// RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE, ...) quoted from a
// target's body reaches the error escaped as \u202e, so an unterminated
// override cannot reverse what an output prints after the error (the
// status page's "· flow NAME · at LOCATION", the CSV's and the Markdown
// table's following cells), nor make the quoted value read as another.
func TestBidiControlsInErrorsEscaped(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"v":"`+r.URL.Query().Get("v")+`"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bidi := []rune{'\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'}
	for _, tc := range []struct {
		name   string
		path   string
		expect config.Expect
		want   string // in the error
	}{
		{"an unterminated override in a JSON value", "/json?v=" + "%E2%80%AEdetaroced", config.Expect{JSONPath: []config.PathMatch{{Path: "$.v", Matcher: eq("x")}}},
			`(got "\u202edetaroced")`},
		{"every bidi control", "/json?v=" + urlRunes(bidi), config.Expect{JSONPath: []config.PathMatch{{Path: "$.v", Matcher: eq("x")}}},
			`\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step := get("s", srv.URL+tc.path)
			step.Expect = tc.expect
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{})
			got := run.Steps[0]
			if got.Status != StatusFailed {
				t.Fatalf("status %s, want failed (error %q)", got.Status, got.Error)
			}
			if i := strings.IndexFunc(got.Error, func(r rune) bool { return strings.ContainsRune(string(bidi), r) }); i >= 0 {
				t.Errorf("error %q holds a bidi control at byte %d", got.Error, i)
			}
			if !strings.Contains(got.Error, tc.want) {
				t.Errorf("error %q, want it to hold %q", got.Error, tc.want)
			}
		})
	}
}

func urlRunes(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		for _, c := range []byte(string(r)) {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
