package probe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
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
	benchRuns(b, cfg, StatusOK)
}

// benchRuns runs cfg's first flow once a loop, each run's first step ending
// in want.
func benchRuns(b *testing.B, cfg *config.Config, want Status) {
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
		if run.Steps[0].Status != want {
			b.Fatalf("step: %+v", run.Steps[0])
		}
	}
}

// BenchmarkFailedStep is BenchmarkStep's flow failing its assertion while it
// sends a credential (a bearer token) beside three configured secrets: the
// path of every run in a total outage, whose error is redacted of the
// config's secrets and the run's credentials (make bench runs it with
// -bench Step). Building a redactor of both for each message made a failed
// run 319 -> 685 µs; built once a run, 308 µs.
func BenchmarkFailedStep(b *testing.B) {
	srv := benchServer(b)
	cfg := testConfig(config.Flow{
		Name: "bench",
		Vars: []config.Var{{Name: "tok", Value: "tok-abcdefghijklmnop-0123456789"}},
		Steps: []config.Step{{
			Name: "get", Function: "receive",
			Request: config.Request{URL: srv.URL + "/items/x", Headers: map[string]string{"Authorization": "Bearer ${tok}"}},
			Expect: config.Expect{
				Status:   []int{200},
				JSONPath: []config.PathMatch{{Path: "$.status", Matcher: eq("pending")}},
			},
		}},
	})
	for _, s := range []string{"env:A", "env:B", "env:C"} {
		cfg.Secrets[s] = "secret-value-" + s + "-0123456789"
	}
	benchRuns(b, cfg, StatusFailed)
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

// wsBenchServer pushes one small JSON message to every WebSocket client as
// soon as it connects, then waits for the client to go.
func wsBenchServer(b *testing.B) string {
	b.Helper()
	msg := []byte(`{"type":"message","id":"m-17","from":"probe","text":"hello"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if err := c.Write(r.Context(), websocket.MessageText, msg); err != nil {
			return
		}
		c.Read(r.Context()) //nolint:errcheck // until the client closes
	}))
	b.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// BenchmarkWebSocketReceive is one run of a flow that opens a WebSocket and
// awaits the message the server pushes (a JSONPath equals on it): the
// receive step's whole cost through Runner.Run. Compare with
// BenchmarkRawWebSocketReceive.
func BenchmarkWebSocketReceive(b *testing.B) {
	url := wsBenchServer(b)
	cfg := testConfig(config.Flow{
		Name: "bench", Timeout: 5 * time.Second,
		Vars: []config.Var{{Name: "id", Value: "m-17"}},
		Steps: []config.Step{
			{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: url}},
			{Name: "receive", Function: "receive", Await: &config.Await{Stream: "subscribe"},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("${id}")}}}},
		},
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
		if run.Steps[1].Status != StatusOK {
			b.Fatalf("step: %+v", run.Steps[1])
		}
	}
}

// BenchmarkRawWebSocketReceive dials the same server with coder/websocket
// (through the same tuned transport), reads the message and checks its id:
// the floor BenchmarkWebSocketReceive is measured against.
func BenchmarkRawWebSocketReceive(b *testing.B) {
	url := wsBenchServer(b)
	tr, err := NewTransport(config.TLS{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			b.Fatal(err)
		}
		_, data, err := c.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var m struct{ ID string }
		if err := json.Unmarshal(data, &m); err != nil || m.ID != "m-17" {
			b.Fatalf("message %s: %v", data, err)
		}
		c.CloseNow()
	}
}

// BenchmarkFailedStatusStep is BenchmarkFailedStep's flow refused on its
// status, a Matrix homeserver's 403 with its errcode and error: the path of
// every run while logins are refused, whose error quotes what the server
// said (see statusExcerpt).
func BenchmarkFailedStatusStep(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"errcode":"M_FORBIDDEN","error":"Invalid username or password"}`)
	}))
	b.Cleanup(srv.Close)
	cfg := testConfig(config.Flow{
		Name: "bench",
		Vars: []config.Var{{Name: "tok", Value: "tok-abcdefghijklmnop-0123456789"}},
		Steps: []config.Step{{
			Name: "get", Function: "receive",
			Request: config.Request{URL: srv.URL + "/items/x", Headers: map[string]string{"Authorization": "Bearer ${tok}"}},
			Expect:  config.Expect{Status: []int{200}},
		}},
	})
	for _, s := range []string{"env:A", "env:B", "env:C"} {
		cfg.Secrets[s] = "secret-value-" + s + "-0123456789"
	}
	benchRuns(b, cfg, StatusFailed)
}
