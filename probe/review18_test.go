package probe

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestQuotedMessageKeepsSecretsWhole: a failed await's quote of the last
// message never shows part of a secret: a message holding the secret
// several times shrinks when scrubbed, so the copy cut at the end of what
// was scrubbed (showLimit + the longest secret) moved into the shown 64
// bytes ("*** *** s3cr3t-kkkk"). A failed assertion's value (show) never
// cuts inside a string, and is checked alongside.
func TestQuotedMessageKeepsSecretsWhole(t *testing.T) {
	pw := "s3cr3t-" + strings.Repeat("k", 33) // 40 bytes
	for _, sep := range []string{" ", strings.Repeat(" ", 9), strings.Repeat(" ", 25)} {
		doc := fmt.Sprintf(`{"v":%q}`, strings.Repeat(pw+sep, 8))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stream" {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, doc+"\n")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, doc)
		}))
		t.Cleanup(srv.Close)
		for _, steps := range []string{
			`- {name: sub, function: f, sse: {url: "URL/stream", format: lines, headers: {X-Key: "${env:PW}"}}}
          - {name: recv, function: f, timeout: 2s, await: {stream: sub}, expect: {jsonpath: {"$.id": m-1}}}`,
			`- {name: get, function: f, request: {url: "URL/doc", headers: {X-Key: "${env:PW}"}}, expect: {jsonpath: {"$.v": nope}}}`,
		} {
			src := fmt.Sprintf("services:\n  - name: s\n    flows:\n      - name: fl\n        steps:\n          %s\n",
				strings.ReplaceAll(steps, "URL", srv.URL))
			run := runSecretConfig(t, src, pw)
			e := run.Steps[len(run.Steps)-1].Error
			if !strings.Contains(e, "(got ") {
				t.Errorf("separator %d: %s quotes nothing: %q", len(sep), steps[:10], e)
			}
			if strings.Contains(e, pw[:5]) {
				t.Errorf("separator %d: %s shows part of the secret: %q", len(sep), steps[:10], e)
			}
		}
	}
}

// TestLineStreamGzip: an sse step that asks for gzip itself (an
// Accept-Encoding header copied from a browser) reads the stream decoded,
// as a request step reads its body; it read the gzip bytes as lines or
// event-stream text, so no message ever matched.
func TestLineStreamGzip(t *testing.T) {
	for _, format := range []string{config.FormatLines, config.FormatSSE} {
		t.Run(format, func(t *testing.T) {
			noLeaks(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				msg := `{"id":"m-1"}` + "\n"
				if format == config.FormatSSE {
					msg = "data: " + msg + "\n"
				}
				io.WriteString(zw, msg)
				zw.Flush()
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			t.Cleanup(srv.Close)
			f := hostileFlow(config.Step{Name: "subscribe", Function: "receive",
				SSE: &config.Stream{URL: srv.URL, Format: format, Headers: map[string]string{"Accept-Encoding": "gzip"}}})
			run := runBounded(t, f)
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusOK, "")
		})
	}
}
