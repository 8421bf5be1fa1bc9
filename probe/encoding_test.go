package probe

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestEncodedBody: a step that sends its own Accept-Encoding (a header
// copied from a browser or curl, or one that checks the target compresses)
// gets the compressed bytes from Go's client, which decodes only what it
// asked for itself. The checks read the body the target meant: gzip and
// deflate are decoded, within max_body_bytes of decoded bytes, and the
// Content-Encoding header stays for the header checks.
func TestEncodedBody(t *testing.T) {
	doc := []byte(`{"id":"p-1","name":"서울역"}`)
	var gz, zl bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(doc)
	w.Close()
	z := zlib.NewWriter(&zl)
	z.Write(doc)
	z.Close()
	var bomb bytes.Buffer
	w = gzip.NewWriter(&bomb)
	w.Write(bytes.Repeat([]byte(" "), 1<<20))
	w.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/gzip":
			rw.Header().Set("Content-Encoding", "gzip")
			rw.Write(gz.Bytes())
		case "/deflate":
			rw.Header().Set("Content-Encoding", "deflate")
			rw.Write(zl.Bytes())
		case "/bomb":
			rw.Header().Set("Content-Encoding", "gzip")
			rw.Write(bomb.Bytes())
		case "/bad":
			rw.Header().Set("Content-Encoding", "gzip")
			rw.Write(doc)
		}
	}))
	t.Cleanup(srv.Close)
	ok := config.Expect{
		JSONPath: []config.PathMatch{{Path: "$.name", Matcher: eq("서울역")}},
		Headers:  []config.HeaderMatch{{Name: "Content-Encoding", Matcher: config.Matcher{Exists: bp(true)}}},
	}
	tests := []struct {
		name, path, accept string
		expect             config.Expect
		status             Status
		errText            string
	}{
		{"gzip asked for", "/gzip", "gzip, deflate, br", ok, StatusOK, ""},
		{"deflate asked for", "/deflate", "deflate", ok, StatusOK, ""},
		{"gzip sent unasked", "/gzip", "identity", ok, StatusOK, ""},
		{"decoded bytes count against max_body_bytes", "/bomb", "gzip", config.Expect{}, StatusFailed, "s: body larger than 4096 bytes"},
		{"not gzip after all", "/bad", "gzip", ok, StatusFailed, "s: read body: gzip: invalid header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := get("s", srv.URL+tc.path)
			st.Request.Headers = map[string]string{"Accept-Encoding": tc.accept}
			st.Expect = tc.expect
			run := runOne(t, context.Background(), config.Flow{MaxBodyBytes: 4096, Steps: []config.Step{st}}, Options{})
			wantStep(t, run.Steps[0], tc.status, tc.errText)
		})
	}
	// Without a header of its own the client asks for gzip and decodes it.
	st := get("s", srv.URL+"/gzip")
	st.Expect.JSONPath = ok.JSONPath
	run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{st}}, Options{})
	wantStep(t, run.Steps[0], StatusOK, "")
}
