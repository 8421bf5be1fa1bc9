package platform

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// merchant records the callbacks it gets; fail makes it answer 500 to the
// first fail of them.
type merchant struct {
	mu    sync.Mutex
	calls []callbackCall
	fail  int
}

type callbackCall struct {
	path   string
	header http.Header
	body   []byte
	at     time.Time // the merchant's (request context's) clock
}

func (m *merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m.mu.Lock()
	m.calls = append(m.calls, callbackCall{r.URL.Path, r.Header.Clone(), b, clock.FromContext(r.Context(), clock.Real{}).Now()})
	fail := len(m.calls) <= m.fail
	m.mu.Unlock()
	if fail {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *merchant) got() []callbackCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]callbackCall(nil), m.calls...)
}

func (m *merchant) waitCalls(t *testing.T, n int) []callbackCall {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := m.got(); len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebhookSettled: a transfer with a callback_url makes one signed
// callback when it settles. Through Transport it has arrived when the
// transfer's 201 returns; over a socket it comes in the background.
func TestWebhookSettled(t *testing.T) {
	for _, how := range transports {
		t.Run(how, func(t *testing.T) {
			m := &merchant{}
			secret := []byte("merchant-secret")
			opts := Options{WebhookSecret: secret}
			target := "http://127.0.0.1:1/hooks/run-1"
			if how == "transport" {
				opts.Callbacks = HandlerTransport(m)
			} else {
				srv := httptest.NewServer(m)
				t.Cleanup(srv.Close)
				target = srv.URL + "/hooks/run-1"
			}
			p := New(opts)
			c := newClient(t, p, how)
			mc := clock.NewManual(t0)
			if how == "transport" {
				c.clk = mc
			}
			tok := c.login("payments", "alice")
			id := c.must(c.do("POST", "/payments/transfers", tok, map[string]any{"to": "bob", "amount": 12.5, "callback_url": target}), 201).str(t, "id")
			var calls []callbackCall
			if how == "transport" {
				calls = m.got() // no waiting: it came before the 201
			} else {
				calls = m.waitCalls(t, 1)
			}
			if len(calls) != 1 {
				t.Fatalf("%d callbacks, want 1", len(calls))
			}
			call := calls[0]
			if call.path != "/hooks/run-1" {
				t.Errorf("callback path %q", call.path)
			}
			if got, want := call.header.Get(SignatureHeader), Sign(secret, call.body); !hmac.Equal([]byte(got), []byte(want)) || !strings.HasPrefix(got, "sha256=") || len(got) != len("sha256=")+64 {
				t.Errorf("signature %q, want %q", got, want)
			}
			if got := call.header.Get("X-Webhook-Id"); got != "wh-"+id {
				t.Errorf("X-Webhook-Id %q, want wh-%s", got, id)
			}
			var body struct {
				Type, ID, From, To, Status string
				Amount                     float64
				At                         time.Time
			}
			if err := json.Unmarshal(call.body, &body); err != nil {
				t.Fatalf("callback body %s: %v", call.body, err)
			}
			if body.Type != "transfer.settled" || body.ID != id || body.From != "alice" || body.To != "bob" || body.Amount != 12.5 || body.Status != "settled" {
				t.Errorf("callback body %s", call.body)
			}
			if how == "transport" && (!body.At.Equal(t0) || !call.at.Equal(t0)) {
				t.Errorf("in process the callback is at the run's virtual time %s: body at %s, delivered at %s", t0, body.At, call.at)
			}
		})
	}
}

func TestWebhookFaultsAndRetries(t *testing.T) {
	newPlat := func(m *merchant) (*Platform, *client) {
		p := New(Options{Callbacks: HandlerTransport(m)})
		c := newClient(t, p, "transport")
		c.clk = clock.NewManual(t0)
		return p, c
	}
	transfer := func(c *client, tok string) reply {
		return c.do("POST", "/payments/transfers", tok, map[string]any{"to": "bob", "amount": 1, "callback_url": "http://localhost:9/cb"})
	}
	t.Run("drop: never settles, never calls", func(t *testing.T) {
		m := &merchant{}
		p, c := newPlat(m)
		tok := c.login("payments", "alice")
		if _, err := p.AddFault(Fault{Service: "payments", Functions: []string{"receive"}, Mode: "drop"}); err != nil {
			t.Fatal(err)
		}
		id := c.must(transfer(c, tok), 201).str(t, "id")
		if got := c.must(c.do("GET", "/payments/transfers/"+id, tok, nil), 200).str(t, "status"); got != "pending" {
			t.Errorf("status %q", got)
		}
		if n := len(m.got()); n != 0 {
			t.Errorf("%d callbacks for a dropped transfer", n)
		}
	})
	t.Run("receive down at settlement: no call", func(t *testing.T) {
		m := &merchant{}
		p, c := newPlat(m)
		tok := c.login("payments", "alice")
		if _, err := p.AddFault(Fault{Service: "payments", Functions: []string{"receive"}, Mode: "down"}); err != nil {
			t.Fatal(err)
		}
		c.must(transfer(c, tok), 201)
		if n := len(m.got()); n != 0 {
			t.Errorf("%d callbacks while payments receive is down", n)
		}
	})
	t.Run("retried on the request's clock", func(t *testing.T) {
		m := &merchant{fail: 2}
		p, c := newPlat(m)
		mc := c.clk.(*clock.Manual)
		tok := c.login("payments", "alice")
		start := time.Now()
		c.must(transfer(c, tok), 201)
		calls := m.got()
		if len(calls) != 3 {
			t.Fatalf("%d attempts, want 3 (two 500s, then 204)", len(calls))
		}
		if d := calls[2].at.Sub(calls[0].at); d != 2*CallbackRetry {
			t.Errorf("third attempt %s after the first, want %s of virtual time", d, 2*CallbackRetry)
		}
		if !mc.Now().Equal(t0.Add(2 * CallbackRetry)) {
			t.Errorf("run clock at %s", mc.Now())
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("retries cost %s of real time", took)
		}
		if ok, failed := p.CallbackStats(); ok != 1 || failed != 0 {
			t.Errorf("stats ok %d failed %d", ok, failed)
		}
	})
	t.Run("gives up after CallbackAttempts", func(t *testing.T) {
		m := &merchant{fail: 100}
		p, c := newPlat(m)
		tok := c.login("payments", "alice")
		c.must(transfer(c, tok), 201)
		if n := len(m.got()); n != CallbackAttempts {
			t.Errorf("%d attempts, want %d", n, CallbackAttempts)
		}
		if ok, failed := p.CallbackStats(); ok != 0 || failed != 1 {
			t.Errorf("stats ok %d failed %d", ok, failed)
		}
	})
	t.Run("no callback_url: no call", func(t *testing.T) {
		m := &merchant{}
		_, c := newPlat(m)
		tok := c.login("payments", "alice")
		c.must(c.do("POST", "/payments/transfers", tok, map[string]any{"to": "bob", "amount": 1}), 201)
		if n := len(m.got()); n != 0 {
			t.Errorf("%d callbacks", n)
		}
	})
}

func TestCallbackURLValidation(t *testing.T) {
	tests := []struct {
		url         string
		allowRemote bool
		want        int
	}{
		{"http://127.0.0.1:8080/cb", false, 201},
		{"http://localhost/cb", false, 201},
		{"https://[::1]:9/cb", false, 201},
		{"http://example.com/cb", false, 400},
		{"http://10.0.0.1/cb", false, 400},
		{"http://example.com/cb", true, 201},
		{"ftp://127.0.0.1/cb", false, 400},
		{"/relative", false, 400},
		{"http://user:pw@127.0.0.1/cb", false, 400},
		{"http://127.0.0.1/" + strings.Repeat("a", maxCallbackURL), false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.url[:min(len(tt.url), 40)], func(t *testing.T) {
			// Callbacks go nowhere: this checks the request, not the call.
			p := New(Options{AllowRemoteCallbacks: tt.allowRemote, Callbacks: HandlerTransport(&merchant{})})
			c := newClient(t, p, "transport")
			tok := c.login("payments", "alice")
			r := c.do("POST", "/payments/transfers", tok, map[string]any{"to": "bob", "amount": 1, "callback_url": tt.url})
			if r.status != tt.want {
				t.Errorf("status %d (%s), want %d", r.status, r.body, tt.want)
			}
		})
	}
}

// TestDefaultCallbacksRefuseRemote: the default callback transport will not
// dial an address that is not loopback, whatever name led there.
func TestDefaultCallbacksRefuseRemote(t *testing.T) {
	rt := defaultCallbacks(false)
	req, _ := http.NewRequest("POST", "http://192.0.2.1:9/cb", strings.NewReader("{}"))
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("dial to 192.0.2.1: %v, want refused", err)
	}
	m := &merchant{}
	srv := httptest.NewServer(m)
	defer srv.Close()
	req, _ = http.NewRequest("POST", srv.URL+"/cb", strings.NewReader("{}"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("loopback: %v", err)
	}
	resp.Body.Close()
}
