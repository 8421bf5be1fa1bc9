package platform

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, c *client)
	}{
		{"account login", func(t *testing.T, c *client) {
			if tok := c.login("account", "alice"); len(tok) < 16 {
				t.Errorf("short token %q", tok)
			}
		}},
		{"messaging send receive", func(t *testing.T, c *client) {
			a, b := c.login("messaging", "alice"), c.login("messaging", "bob")
			id1 := c.must(c.do("POST", "/messaging/messages", a, map[string]string{"to": "bob", "text": "hi"}), 201).str(t, "id")
			id2 := c.must(c.do("POST", "/messaging/messages", a, map[string]string{"to": "bob", "text": "again"}), 201).str(t, "id")
			r := c.must(c.do("GET", "/messaging/inbox", b, nil), 200)
			if got := ids(t, r); !slices.Equal(got, []string{id1, id2}) {
				t.Errorf("inbox = %v, want [%s %s]", got, id1, id2)
			}
			if got := ids(t, c.must(c.do("GET", "/messaging/inbox?after="+id2, b, nil), 200)); !slices.Equal(got, []string{id2}) {
				t.Errorf("inbox?after=%s = %v, want just it", id2, got)
			}
			if got := ids(t, c.must(c.do("GET", "/messaging/inbox?after=m-unknown", b, nil), 200)); len(got) != 0 {
				t.Errorf("inbox after an unknown id = %v, want empty", got)
			}
			if got := ids(t, c.must(c.do("GET", "/messaging/inbox", a, nil), 200)); len(got) != 0 {
				t.Errorf("sender's inbox = %v, want empty", got)
			}
			m := c.must(c.do("GET", "/messaging/inbox?after="+id1, b, nil), 200).json(t)["messages"].([]any)[0].(map[string]any)
			if m["from"] != "alice" || m["text"] != "hi" || m["at"] == "" {
				t.Errorf("message = %v", m)
			}
		}},
		{"logout revokes the token", func(t *testing.T, c *client) {
			a := c.login("messaging", "alice")
			other := c.login("messaging", "alice")
			c.must(c.do("POST", "/messaging/logout", a, nil), 204)
			c.must(c.do("GET", "/messaging/inbox", a, nil), 401)
			c.must(c.do("POST", "/messaging/logout", a, nil), 401)
			c.must(c.do("GET", "/messaging/inbox", other, nil), 200) // the other session lives on
		}},
		{"messaging delete", func(t *testing.T, c *client) {
			a, b, eve := c.login("messaging", "alice"), c.login("messaging", "bob"), c.login("messaging", "eve")
			id1 := c.must(c.do("POST", "/messaging/messages", a, map[string]string{"to": "bob", "text": "1"}), 201).str(t, "id")
			id2 := c.must(c.do("POST", "/messaging/messages", a, map[string]string{"to": "bob", "text": "2"}), 201).str(t, "id")
			id3 := c.must(c.do("POST", "/messaging/messages", a, map[string]string{"to": "bob", "text": "3"}), 201).str(t, "id")
			c.must(c.do("DELETE", "/messaging/messages/"+id2, eve, nil), 404) // neither sender nor recipient
			c.must(c.do("DELETE", "/messaging/messages/"+id2, a, nil), 204)   // the sender
			c.must(c.do("DELETE", "/messaging/messages/"+id3, b, nil), 204)   // the recipient
			c.must(c.do("DELETE", "/messaging/messages/m-nope", b, nil), 404)
			if got := ids(t, c.must(c.do("GET", "/messaging/inbox", b, nil), 200)); !slices.Equal(got, []string{id1}) {
				t.Errorf("inbox after deleting %s and %s = %v, want [%s]", id2, id3, got, id1)
			}
			c.must(c.do("DELETE", "/messaging/messages/"+id2, a, nil), 204) // deleting twice is fine
		}},
		{"messaging media", func(t *testing.T, c *client) {
			a := c.login("messaging", "alice")
			r := c.must(c.do("POST", "/messaging/media", a, []byte("\x89PNG fake photo")), 201)
			if r.str(t, "id") == "" || r.json(t)["bytes"] != float64(15) {
				t.Errorf("media answer %s", r.body)
			}
			c.must(c.do("POST", "/messaging/media", a, []byte{}), 400)
		}},
		{"payments transfer receipt", func(t *testing.T, c *client) {
			a := c.login("payments", "alice")
			id := c.must(c.do("POST", "/payments/transfers", a, map[string]any{"to": "bob", "amount": 1000}), 201).str(t, "id")
			if st := c.must(c.do("GET", "/payments/transfers/"+id, a, nil), 200).str(t, "status"); st != "settled" {
				t.Errorf("status = %q, want settled", st)
			}
			r := c.must(c.do("GET", "/payments/receipts/"+id, a, nil), 200)
			if r.str(t, "transfer_id") != id || r.json(t)["amount"] != float64(1000) {
				t.Errorf("receipt %s", r.body)
			}
			c.must(c.do("GET", "/payments/transfers/t-nope", a, nil), 404)
			other := c.login("payments", "mallory")
			c.must(c.do("GET", "/payments/transfers/"+id, other, nil), 404)
			c.must(c.do("GET", "/payments/receipts/"+id, other, nil), 404)
			c.must(c.do("POST", "/payments/transfers", a, map[string]any{"to": "bob", "amount": -1}), 400)
			c.must(c.do("POST", "/payments/transfers", a, map[string]any{"amount": 5}), 400)
		}},
		{"maps search route", func(t *testing.T, c *client) {
			r := c.must(c.do("GET", "/maps/search?q=Pangyo", "", nil), 200)
			if r.str(t, "query") != "Pangyo" || len(r.json(t)["results"].([]any)) == 0 {
				t.Errorf("search %s", r.body)
			}
			r = c.must(c.do("GET", "/maps/route?from=Pangyo&to=Gangnam", "", nil), 200)
			if d, _ := r.json(t)["distance_m"].(float64); d <= 0 {
				t.Errorf("route %s", r.body)
			}
			c.must(c.do("GET", "/maps/search", "", nil), 400)
			c.must(c.do("GET", "/maps/route?from=x", "", nil), 400)
			c.login("maps", "alice")
		}},
		{"maps tile", func(t *testing.T, c *client) {
			r := c.must(c.do("GET", "/maps/tiles/3/4/5.png", "", nil), 200)
			if ct := r.header.Get("Content-Type"); ct != "image/png" {
				t.Errorf("content type %q", ct)
			}
			img, err := png.Decode(bytes.NewReader(r.body))
			if err != nil {
				t.Fatalf("tile is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
				t.Errorf("tile is %v", b)
			}
			c.must(c.do("GET", "/maps/tiles/3/8/5.png", "", nil), 400)
			c.must(c.do("GET", "/maps/tiles/x/0/0.png", "", nil), 400)
			c.must(c.do("GET", "/maps/tiles/1/0/0.jpg", "", nil), 404)
		}},
		{"mobility ride", func(t *testing.T, c *client) {
			a := c.login("mobility", "alice")
			id := c.must(c.do("POST", "/mobility/rides", a, map[string]string{"from": "Pangyo", "to": "Seoul Station"}), 201).str(t, "id")
			if st := c.must(c.do("GET", "/mobility/rides/"+id, a, nil), 200).str(t, "status"); st != "matched" {
				t.Errorf("status = %q, want matched", st)
			}
			id2 := c.must(c.do("POST", "/mobility/rides", a, nil), 201).str(t, "id")
			c.must(c.do("GET", "/mobility/rides/"+id2, a, nil), 200)
			c.must(c.do("GET", "/mobility/rides/"+id, c.login("mobility", "bob"), nil), 404)
		}},
		{"mail send receive attachments", func(t *testing.T, c *client) {
			a, b := c.login("mail", "alice"), c.login("mail", "bob")
			id := c.must(c.do("POST", "/mail/messages", a, map[string]string{"to": "bob", "subject": "s", "text": "body"}), 201).str(t, "id")
			if got := ids(t, c.must(c.do("GET", "/mail/inbox?after="+id, b, nil), 200)); !slices.Equal(got, []string{id}) {
				t.Errorf("mail inbox = %v", got)
			}
			c.must(c.do("POST", "/mail/attachments", a, []byte("%PDF-1.4")), 201)
			// A messaging token is no mail token.
			c.must(c.do("GET", "/mail/inbox", c.login("messaging", "bob"), nil), 401)
		}},
		{"catalogue", func(t *testing.T, c *client) {
			r := c.must(c.do("GET", "/", "", nil), 200)
			for _, s := range serviceNames() {
				if !strings.Contains(string(r.body), `"name":"`+s+`"`) {
					t.Errorf("catalogue lacks %s: %s", s, r.body)
				}
			}
			for _, ep := range New(Options{}).endpoints() {
				if !strings.Contains(string(r.body), `"path":"`+ep.Path+`"`) {
					t.Errorf("catalogue lacks %s", ep.Path)
				}
			}
			c.must(c.do("GET", "/nowhere", "", nil), 404)
			c.must(c.do("GET", "/messaging/messages", "", nil), 405)
		}},
	}
	for _, how := range transports {
		for _, tc := range tests {
			t.Run(how+"/"+tc.name, func(t *testing.T) {
				tc.run(t, newClient(t, New(Options{}), how))
			})
		}
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"ok", map[string]string{"user": "u", "password": "p"}, 200},
		{"empty user", map[string]string{"user": "", "password": "p"}, 401},
		{"empty password", map[string]string{"user": "u"}, 401},
		{"no fields", "{}", 401},
		{"bad json", `{"user":`, 400},
		{"not an object", `["u","p"]`, 400},
		{"empty body", "", 400},
		{"user too long", map[string]string{"user": strings.Repeat("u", 300), "password": "p"}, 400},
	}
	for _, how := range transports {
		c := newClient(t, New(Options{}), how)
		for _, tc := range tests {
			t.Run(how+"/"+tc.name, func(t *testing.T) {
				c.t = t
				r := c.do("POST", "/payments/login", "", tc.body)
				if r.err != nil || r.status != tc.status {
					t.Fatalf("got %v %d %s, want %d", r.err, r.status, r.body, tc.status)
				}
				if tc.status == 200 && r.str(t, "token") == "" {
					t.Error("no token")
				}
				if tc.status != 200 && !strings.Contains(string(r.body), `"error"`) {
					t.Errorf("error answer without an error: %s", r.body)
				}
			})
		}
	}
}

func TestAuthRequired(t *testing.T) {
	p := New(Options{})
	c := newClient(t, p, "transport")
	payTok := c.login("payments", "alice")
	for _, ep := range p.endpoints() {
		if !ep.Auth {
			continue
		}
		path := strings.NewReplacer("{id}", "x").Replace(ep.Path)
		for _, tc := range []struct{ name, token string }{
			{"no token", ""},
			{"unknown token", "0123456789abcdef"},
			{"other service's token", payTok},
		} {
			if ep.Service == "payments" && tc.name == "other service's token" {
				continue
			}
			t.Run(ep.Method+" "+ep.Path+"/"+tc.name, func(t *testing.T) {
				c.t = t
				r := c.do(ep.Method, path, tc.token, map[string]string{"to": "bob"})
				if r.status != 401 {
					t.Fatalf("got %v %d %s, want 401", r.err, r.status, r.body)
				}
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
			})
		}
	}
}

func TestTransportContext(t *testing.T) {
	p := New(Options{}) // real clock
	if _, err := p.AddFault(Fault{Service: "maps", Functions: []string{"search"}, Mode: "slow", Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: p.Transport()}
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled before", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline during a slow fault", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://x/maps/search?q=a", nil)
			start := time.Now()
			_, err := hc.Do(req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

func TestDownOverListenerResets(t *testing.T) {
	p := New(Options{})
	c := newClient(t, p, "httptest")
	if _, err := p.AddFault(Fault{Service: "messaging", Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	r := c.do("POST", "/messaging/login", "", map[string]string{"user": "u", "password": "p"})
	if r.err == nil {
		t.Fatalf("got HTTP %d %s, want a connection error", r.status, r.body)
	}
	// Other services still answer.
	c.must(c.do("POST", "/payments/login", "", map[string]string{"user": "u", "password": "p"}), 200)

	// Without a hijackable connection (a ResponseRecorder) it says so in HTTP.
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("POST", "/messaging/login", strings.NewReader(`{"user":"u","password":"p"}`)))
	if rec.Code != 503 {
		t.Errorf("recorder got %d, want 503", rec.Code)
	}
}

func TestDownThroughTransportRefuses(t *testing.T) {
	p := New(Options{})
	if _, err := p.AddFault(Fault{Service: "mail", Functions: []string{"login"}, Mode: "down"}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://127.0.0.1:18080/mail/login", strings.NewReader(`{"user":"u","password":"p"}`))
	_, err := p.Transport().RoundTrip(req)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want ECONNREFUSED", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "127.0.0.1:18080") {
		t.Errorf("err = %q", err)
	}
}

func TestRequestBodyLimit(t *testing.T) {
	p := New(Options{Limits: Limits{BodyBytes: 100}})
	c := newClient(t, p, "transport")
	tok := c.login("messaging", "a")
	c.must(c.do("POST", "/messaging/media", tok, bytes.Repeat([]byte("x"), 100)), 201)
	c.must(c.do("POST", "/messaging/media", tok, bytes.Repeat([]byte("x"), 101)), 413)
	c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "b", "text": strings.Repeat("x", 5000)}), 413)
	big := New(Options{})
	cb := newClient(t, big, "transport")
	tok = cb.login("messaging", "a")
	cb.must(cb.do("POST", "/messaging/messages", tok, map[string]string{"to": "b", "text": strings.Repeat("x", 5000)}), 400)
}

func TestVirtualTimestamps(t *testing.T) {
	m := clock.NewManual(t0)
	p := New(Options{Clock: clock.NewManual(t0.Add(-time.Hour))})
	c := newClient(t, p, "transport")
	c.clk = m
	tok := c.login("messaging", "a")
	c.must(c.do("POST", "/messaging/messages", tok, map[string]string{"to": "a", "text": "x"}), 201)
	msg := c.must(c.do("GET", "/messaging/inbox", tok, nil), 200).json(t)["messages"].([]any)[0].(map[string]any)
	at, err := time.Parse(time.RFC3339Nano, msg["at"].(string))
	if err != nil || !at.Equal(t0) {
		t.Errorf("at = %v (%v), want the request clock's %v", msg["at"], err, t0)
	}
}
