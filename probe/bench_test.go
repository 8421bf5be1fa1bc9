package probe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// benchServer answers /items/{id} with a small JSON document over loopback
// with keep-alive.
func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"item-7","status":"settled","amount":1200,"tags":["a","b"]}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkStep is one flow with one templated, asserted step (a GET with a
// ${var} in the URL, a status and a JSONPath equals assertion) through
// Runner.Run. Compare with BenchmarkRawRequest: the runner's overhead.
func BenchmarkStep(b *testing.B) {
	srv := benchServer(b)
	cfg := testConfig(config.Flow{
		Name: "bench",
		Vars: []config.Var{{Name: "item", Value: "item-7"}},
		Steps: []config.Step{{
			Name: "get", Function: "receive",
			Request: config.Request{URL: srv.URL + "/items/${item}"},
			Expect: config.Expect{
				Status:   []int{200},
				JSONPath: []config.PathMatch{{Path: "$.status", Matcher: eq("settled")}},
			},
		}},
	})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.CloseIdle()
	flow := &cfg.Services[0].Flows[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		run := r.Run(ctx, flow)
		if run.Steps[0].Status != StatusOK {
			b.Fatalf("step: %+v", run.Steps[0])
		}
	}
}

// BenchmarkRawRequest is a bare net/http GET to the same server, reading the
// body, with a tuned transport: the floor BenchmarkStep is measured against.
func BenchmarkRawRequest(b *testing.B) {
	srv := benchServer(b)
	tr, err := NewTransport(config.TLS{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := srv.URL + "/items/item-7"
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
