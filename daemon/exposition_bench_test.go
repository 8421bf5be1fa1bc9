package daemon

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// discardResponse is an http.ResponseWriter that keeps only the byte count.
type discardResponse struct {
	h http.Header
	n int64
}

func (w *discardResponse) Header() http.Header { return w.h }
func (w *discardResponse) WriteHeader(int)     {}
func (w *discardResponse) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkScrape: one /metrics scrape (text, no gzip) of a daemon with
// 10,000 flows of three steps that have each run once (some 280,000 series),
// plain and gzipped as Prometheus asks for it; issue #11 sets a goal of 2 s at 50,000 flows.
func BenchmarkScrape(b *testing.B) {
	const n = 10000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("flow-%05d", i)
	}
	d, err := New(testConfig(time.Minute, names...), Deps{Store: &fakeStore{}, Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	startPipeline(d, &fakeWriter{})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, name := range names {
		fail := ""
		if i%10 == 0 {
			fail = "receive"
		}
		run := mkRun(name, t0, fail)
		d.process(&run)
	}
	h := d.Handler()
	for _, enc := range []string{"text", "gzip"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			if enc == "gzip" {
				req.Header.Set("Accept-Encoding", "gzip") // as Prometheus asks
			}
			var bytes int64
			for b.Loop() {
				w := &discardResponse{h: http.Header{}}
				h.ServeHTTP(w, req)
				bytes = w.n
			}
			b.ReportMetric(float64(bytes)/1e6, "MB/scrape")
		})
	}
}

// TestWriteFloatAndEscape: the allocation-free writers write what
// formatFloat and the text format's escaping do.
func TestWriteFloatAndEscape(t *testing.T) {
	for _, v := range []float64{0, 1, -1, 0.1, 2.5e-7, 1e21, 123456789, math.Inf(1), math.Inf(-1), math.NaN()} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		writeFloat(w, v)
		w.Flush()
		if got, want := b.String(), formatFloat(v); got != want {
			t.Errorf("writeFloat(%v) = %q, want %q", v, got, want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"plain-flow_1", "plain-flow_1"},
		{`a"b`, `a\"b`},
		{`back\slash`, `back\\slash`},
		{"new\nline", `new\nline`},
		{"ünïcode \"", `ünïcode \"`},
		{"", ""},
	} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		writeEscaped(w, tc.in)
		w.Flush()
		if b.String() != tc.want {
			t.Errorf("writeEscaped(%q) = %q, want %q", tc.in, b.String(), tc.want)
		}
	}
}
