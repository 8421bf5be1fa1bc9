package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

const testSecret = "s3cret-pw"

func sp(s string) *string        { return &s }
func bp(b bool) *bool            { return &b }
func fp(f float64) *float64      { return &f }
func eq(s string) config.Matcher { return config.Matcher{Equals: &s} }

// bound is a gt, ge, lt or le matcher whose threshold is written s.
func bound(op, s string) config.Matcher {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	m := config.Matcher{Bound: s}
	switch op {
	case "gt":
		m.GT = &f
	case "ge":
		m.GE = &f
	case "lt":
		m.LT = &f
	default:
		m.LE = &f
	}
	return m
}

// target is the test platform: a handful of endpoints a flow can exercise.
type target struct {
	inboxCalls atomic.Int64
	deliverAt  int64 // the inbox shows the message from this call on (0: never)
}

func (tg *target) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /doc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-42")
		io.WriteString(w, `{"status":"settled","count":3,"ratio":0.5,"ok":true,"none":null,`+
			`"name":"probe seoul-a","tags":["a","b"],"obj":{"k":"v"},"big":12345678901234567890,`+
			`"messages":[{"id":"m-1"},{"id":"m-170"}],"token":"tok-1"}`)
	})
	mux.HandleFunc("GET /ids", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1234567890123456789,"big":12345678901234567890123,"ids":[9007199254740993],"sid":"9007199254740993"}`)
	})
	mux.HandleFunc("GET /text", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello world, order=ord-991 done")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ User, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Password != testSecret {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"bad password %q"}`, in.Password)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "sess-" + in.User, Path: "/"})
		fmt.Fprintf(w, `{"token":"tok-%s"}`, in.User)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			http.Error(w, "no session", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, `{"session":%q}`, c.Value)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"headers": r.Header, "host": r.Host, "body": string(body),
		})
	})
	mux.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("GET /inbox", func(w http.ResponseWriter, r *http.Request) {
		n := tg.inboxCalls.Add(1)
		if tg.deliverAt > 0 && n >= tg.deliverAt {
			io.WriteString(w, `{"messages":[{"id":"m-1"},{"id":"m-17"}]}`)
			return
		}
		io.WriteString(w, `{"messages":[{"id":"m-1"}]}`)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		io.WriteString(w, "{}")
	})
	mux.HandleFunc("GET /advance", func(w http.ResponseWriter, r *http.Request) {
		// The demo platform's "slow" fault: cost virtual time, not real time.
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		if m, ok := clock.FromContext(r.Context(), nil).(*clock.Manual); ok {
			m.Advance(d)
		}
		io.WriteString(w, "{}")
	})
	mux.HandleFunc("GET /loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("GET /hops/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n <= 0 {
			io.WriteString(w, `{"arrived":true}`)
			return
		}
		http.Redirect(w, r, "/hops/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("GET /endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	return mux
}

// newTarget starts the test platform on loopback.
func newTarget(t *testing.T) (*target, *httptest.Server) {
	t.Helper()
	tg := &target{}
	srv := httptest.NewServer(tg.handler())
	t.Cleanup(srv.Close)
	return tg, srv
}

// newTLSServer starts h over TLS with httptest's self-signed certificate
// (valid for example.com and 127.0.0.1).
func newTLSServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake errors are the point of some tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// inProcess is a RoundTripper that calls a handler directly with the
// client's request (and so its context), as the demo's in-process transport.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// testConfig wraps flows in a config with one service and one secret.
func testConfig(flows ...config.Flow) *config.Config {
	for i := range flows {
		flows[i].Service = "svc"
		if flows[i].Name == "" {
			flows[i].Name = "flow"
		}
	}
	return &config.Config{
		Location: "seoul-a",
		Secrets:  map[string]string{"env:PW": testSecret, "file:/run/key": "k3y-file-value"},
		Services: []config.Service{{Name: "svc", Flows: flows}},
	}
}

// runOne builds a runner for one flow and runs it once.
func runOne(t *testing.T, ctx context.Context, f config.Flow, opts Options) Run {
	t.Helper()
	cfg := testConfig(f)
	r, err := NewRunner(cfg, opts)
	if err != nil {
		t.Fatalf("NewRunner: %v", err)
	}
	t.Cleanup(r.CloseIdle)
	return r.Run(ctx, &cfg.Services[0].Flows[0])
}

func get(name, url string) config.Step {
	return config.Step{Name: name, Function: name, Request: config.Request{URL: url}}
}

// wantStep checks one step's status and error.
func wantStep(t *testing.T, got StepResult, status Status, errText string) {
	t.Helper()
	if got.Status != status || got.Error != errText {
		t.Errorf("step %s: got %s %q, want %s %q", got.Step, got.Status, got.Error, status, errText)
	}
}
