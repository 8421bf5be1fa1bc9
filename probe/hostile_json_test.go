package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// Review of JSON bodies that cost far more to parse than their size: a body
// within max_body_bytes must not make a run (or the runs after it) hold
// hundreds of megabytes.

// jsonBodies serves /deep?n=N (N nested arrays), /deepobj?n=N (N nested
// objects) and /items?n=N (an object with N small items).
func jsonBodies(t *testing.T) *httptest.Server {
	t.Helper()
	n := func(r *http.Request) int { v, _ := strconv.Atoi(r.URL.Query().Get("n")); return v }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /deep", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("[", n(r))+strings.Repeat("]", n(r)))
	})
	mux.HandleFunc("GET /deepobj", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat(`{"a":`, n(r))+"1"+strings.Repeat("}", n(r)))
	})
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`{"items":[`)
		for i := range n(r) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":"m-` + strconv.Itoa(i) + `","x":[1,2,3]}`)
		}
		b.WriteString(`]}`)
		io.WriteString(w, b.String())
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDeeplyNestedJSONRefused(t *testing.T) {
	srv := jsonBodies(t)
	exists := func(path string) config.Expect {
		return config.Expect{JSONPath: []config.PathMatch{{Path: path, Matcher: config.Matcher{Exists: bp(true)}}}}
	}
	const tooDeep = "s: body is not JSON: nested deeper than 10000 levels"
	for _, tc := range []struct {
		name, path string
		expect     config.Expect
		err        string
	}{
		// 400,000 levels are 800 kB, under the default max_body_bytes; ojg
		// parsed them into ~120 MB, and a path with .. walked all of it.
		{"arrays, a path that parses the document", "/deep?n=400000", exists("$..id"), tooDeep},
		{"arrays, a singular path (the scanner)", "/deep?n=400000", exists("$[0][0]"), tooDeep},
		{"objects, a path that parses the document", "/deepobj?n=150000", exists("$..b"), tooDeep},
		{"objects, a singular path", "/deepobj?n=150000", exists("$.a.a"), tooDeep},
		// encoding/json's own limit: 10,000 levels are still JSON.
		{"10000 levels, a path that parses the document", "/deep?n=10000", exists("$..id"), "s: $..id does not exist"},
		{"10000 levels, a singular path", "/deep?n=10000", exists("$[0][0]"), ""},
		{"10001 levels", "/deep?n=10001", exists("$..id"), tooDeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step := get("s", srv.URL+tc.path)
			step.Expect = tc.expect
			var run Run
			n := allocated(func() { run = runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{}) })
			got := run.Steps[0]
			if got.Error != tc.err {
				t.Errorf("error %q, want %q", got.Error, tc.err)
			}
			// The body is at most 800 kB (read twice over by a growing buffer
			// and by the test server): refusing it costs a few of its sizes,
			// not a hundred.
			if n > 16<<20 {
				t.Errorf("the run allocated %d MB", n>>20)
			}
		})
	}
}

func TestPooledRunStateDropsLargeDocument(t *testing.T) {
	srv := jsonBodies(t)
	step := get("s", srv.URL+"/items?n=30000") // 870 kB, ~25 MB parsed
	step.Expect = config.Expect{JSONPath: []config.PathMatch{{Path: "$.items[*].id", Matcher: config.Matcher{Contains: sp("m-29999")}}}}
	cfg := testConfig(config.Flow{Steps: []config.Step{step}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC() // once: the runner's pool keeps its states (as the victim cache)
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	if run := r.Run(context.Background(), &cfg.Services[0].Flows[0]); !run.OK() {
		t.Fatalf("run failed: %+v", run.Steps)
	}
	after := heap()
	// The pooled state may keep its 256 kB body buffer, never the document
	// parsed from a large body (ojg's Reuse keeps it for the next parse).
	if after > before && after-before > 4<<20 {
		t.Errorf("the runner holds %d MB more after one run", (after-before)>>20)
	}
	runtime.KeepAlive(r)
}
