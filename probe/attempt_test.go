package probe

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// #13.6: a dial that outlives its cancelled request keeps the request's
// trace (net/http detaches the dial from the request's cancellation but keeps
// its context values). With one tracer pooled per run state, the late TLS
// handshake of such a dial landed in a later run's attempt: a plain-HTTP step
// reported a TLS phase. Each attempt now has its own tracer.
func TestLateDialEventsStayWithTheirAttempt(t *testing.T) {
	secure := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	_, plain := newTarget(t)
	slowAddr := secure.Listener.Addr().String()
	const dialDelay = 150 * time.Millisecond
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test server
		// Every attempt dials afresh (a finished dial is not pooled).
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == slowAddr {
				time.Sleep(dialDelay) // a slow network path: the request gives up first
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	slow := get("tls", secure.URL+"/")
	slow.Timeout = 30 * time.Millisecond
	cfg := testConfig(
		config.Flow{Name: "slow-tls", Timeout: 5 * time.Second, Steps: []config.Step{slow}},
		config.Flow{Name: "plain", Timeout: 5 * time.Second, Steps: []config.Step{get("plain", plain.URL+"/slow?d=400ms")}},
	)
	r, err := NewRunner(cfg, Options{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		a := r.Run(context.Background(), &cfg.Services[0].Flows[0])
		if a.Steps[0].Status != StatusFailed || !strings.Contains(a.Steps[0].Error, "timeout") {
			t.Fatalf("round %d: the TLS step should time out before its dial ends: %+v", i, a.Steps[0])
		}
		// The next run starts while that dial still goes on: its TLS
		// handshake happens during this plain-HTTP attempt.
		b := r.Run(context.Background(), &cfg.Services[0].Flows[1])
		s := b.Steps[0]
		if s.Status != StatusOK {
			t.Fatalf("round %d: plain step %+v", i, s)
		}
		if s.Phases.TLS != 0 {
			t.Fatalf("round %d: a plain-HTTP step reports a TLS phase of %s: another attempt's dial leaked into its trace (phases %+v)", i, s.Phases.TLS, s.Phases)
		}
	}
}

// #13.7: the run ID can come with the run (one runner for many flows, each
// numbering its runs its own way); without one, NewID is used.
func TestRunIDFromContext(t *testing.T) {
	_, srv := newTarget(t)
	b := get("b", srv.URL+"/echo?r=${run.id}")
	b.Expect.JSONPath = []config.PathMatch{{Path: "$.query", Matcher: eq("r=seoul-a.flow.42")}}
	cfg := testConfig(config.Flow{Steps: []config.Step{b}})
	n := 0
	r, err := NewRunner(cfg, Options{NewID: func() string { n++; return "generated" }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdle()
	run := r.Run(WithRunID(context.Background(), "seoul-a.flow.42"), &cfg.Services[0].Flows[0])
	if run.ID != "seoul-a.flow.42" || !run.OK() || n != 0 {
		t.Errorf("run with an ID in its context: id %q ok %v (%+v), NewID called %d times", run.ID, run.OK(), run.Steps, n)
	}
	if run := r.Run(context.Background(), &cfg.Services[0].Flows[0]); run.ID != "generated" {
		t.Errorf("run without one: id %q, want NewID's", run.ID)
	}
}

// #13.5: runners built on one Transports share a transport per TLS setting
// (so a reload keeps warm connections); a CA file whose content changed gets
// a new one; Keep lets go of those no runner uses.
func TestTransportsSharedAcrossRunners(t *testing.T) {
	secure := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCA := func(extra string) {
		b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
		if err := os.WriteFile(ca, append(b, extra...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCA("")
	mk := func() *config.Config {
		return testConfig(
			config.Flow{Name: "plain", Steps: []config.Step{get("a", "http://127.0.0.1:1/")}},
			config.Flow{Name: "secure", TLS: config.TLS{CAFile: ca}, Steps: []config.Step{get("a", secure.URL+"/")}},
		)
	}
	pool := NewTransports()
	r1, err := NewRunner(mk(), Options{Transports: pool})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewRunner(mk(), Options{Transports: pool})
	if err != nil {
		t.Fatal(err)
	}
	for _, tls := range []config.TLS{{}, {CAFile: ca}} {
		t1, _ := r1.transport(tls)
		t2, _ := r2.transport(tls)
		if t1 != t2 {
			t.Errorf("TLS %+v: two runners on one Transports got different transports", tls)
		}
	}
	if pool.Len() != 2 {
		t.Errorf("pool holds %d transports, want 2", pool.Len())
	}
	cfg := mk()
	if run := r2.Run(context.Background(), &r2.cfg.Services[0].Flows[1]); !run.OK() {
		t.Fatalf("TLS run with the CA file: %+v", run.Steps)
	}
	writeCA("\n")
	r3, err := NewRunner(cfg, Options{Transports: pool})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := r1.transport(config.TLS{CAFile: ca})
	if now, _ := r3.transport(config.TLS{CAFile: ca}); now == old {
		t.Error("a CA file with new content kept the old transport")
	}
	if a, _ := r1.transport(config.TLS{}); a != mustTransport(t, r3, config.TLS{}) {
		t.Error("an unchanged TLS setting got a new transport")
	}
	pool.Keep(r3)
	if pool.Len() != 2 {
		t.Errorf("after Keep(r3) the pool holds %d transports, want r3's 2", pool.Len())
	}
}

func mustTransport(t *testing.T, r *Runner, tls config.TLS) http.RoundTripper {
	t.Helper()
	tr, err := r.transport(tls)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
