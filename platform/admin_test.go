package platform

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

func TestAdminAPI(t *testing.T) {
	for _, how := range transports {
		t.Run(how, func(t *testing.T) {
			m := clock.NewManual(t0)
			p := New(Options{Clock: m})
			c := newClient(t, p, how)
			c.clk = m
			fx := prepare(c)

			// Add: receive is dropped for 10 minutes; sends made then never arrive.
			r := c.must(c.do("POST", "/_admin/faults", "", `{"service":"messaging","functions":["receive"],"mode":"drop","rate":1.0,"latency":"0s","duration":"10m"}`), 201)
			drop := r.str(t, "id")
			r = c.must(c.do("POST", "/_admin/faults", "", map[string]any{"service": "maps", "functions": []string{"tile"}, "mode": "slow", "latency": "20s"}), 201)
			slow := r.str(t, "id")

			var list []map[string]any
			if err := json.Unmarshal(c.must(c.do("GET", "/_admin/faults", "", nil), 200).body, &list); err != nil {
				t.Fatal(err)
			}
			if len(list) != 2 || list[0]["id"] != drop || list[0]["source"] != "admin" || list[1]["latency"] != "20s" {
				t.Fatalf("list = %v", list)
			}
			if list[0]["end"] == nil || list[1]["end"] != nil || list[0]["rate"] != 1.0 {
				t.Errorf("ends/rate = %v / %v", list[0], list[1])
			}
			sent := callFunction(c, fx, "messaging", "send").str(t, "id")
			if arrived(c, fx, "messaging", sent) {
				t.Error("message sent during a drop fault arrived")
			}

			// The drop fault expires after its duration (virtual time).
			m.Advance(10 * time.Minute)
			if err := json.Unmarshal(c.must(c.do("GET", "/_admin/faults", "", nil), 200).body, &list); err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0]["id"] != slow {
				t.Errorf("after 10m list = %v, want only %s", list, slow)
			}
			if sent := callFunction(c, fx, "messaging", "send").str(t, "id"); !arrived(c, fx, "messaging", sent) {
				t.Error("message sent after the drop fault expired did not arrive")
			}

			c.must(c.do("DELETE", "/_admin/faults/"+slow, "", nil), 204)
			c.must(c.do("DELETE", "/_admin/faults/"+slow, "", nil), 404)
			c.must(c.do("DELETE", "/_admin/faults/nope", "", nil), 404)
			before := m.Now()
			c.must(callFunction(c, fx, "maps", "tile"), 200)
			if m.Now() != before {
				t.Error("removed slow fault still slows")
			}

			c.must(c.do("POST", "/_admin/faults", "", `{"service":"mail","mode":"error"}`), 201)
			c.must(c.do("POST", "/_admin/faults", "", `{"service":"payments","mode":"down"}`), 201)
			if got := outcome(callFunction(c, fx, "mail", "send")); got != "error" {
				t.Errorf("mail send: %s, want error", got)
			}
			c.must(c.do("DELETE", "/_admin/faults", "", nil), 204)
			if len(p.Faults()) != 0 {
				t.Errorf("after DELETE all: %v", p.Faults())
			}
			if got := outcome(callFunction(c, fx, "payments", "send")); got != "ok" {
				t.Errorf("payments send after clear: %s", got)
			}
		})
	}
}

func TestAdminValidation(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"bad json", `{"service":`, "invalid JSON"},
		{"unknown field", `{"service":"mail","mode":"down","colour":"red"}`, "unknown field"},
		{"two values", `{"service":"mail","mode":"down"} {}`, "more than one"},
		{"unknown service", `{"service":"bank","mode":"down"}`, "unknown service"},
		{"no service", `{"mode":"down"}`, "unknown service"},
		{"unknown function", `{"service":"maps","functions":["send"],"mode":"down"}`, `no function "send"`},
		{"unknown mode", `{"service":"maps","mode":"melt"}`, "unknown mode"},
		{"rate zero", `{"service":"maps","mode":"error","rate":0}`, "rate"},
		{"rate above one", `{"service":"maps","mode":"error","rate":1.5}`, "rate"},
		{"bad latency", `{"service":"maps","mode":"slow","latency":"soon"}`, "latency"},
		{"slow without latency", `{"service":"maps","mode":"slow"}`, "latency"},
		{"bad duration", `{"service":"maps","mode":"down","duration":"10"}`, "duration"},
		{"negative duration", `{"service":"maps","mode":"down","duration":"-1m"}`, "duration"},
	}
	c := newClient(t, New(Options{}), "transport")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			r := c.must(c.do("POST", "/_admin/faults", "", tc.body), 400)
			if msg := r.str(t, "error"); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q lacks %q", msg, tc.want)
			}
		})
	}
}

func TestAdminLoopbackOnly(t *testing.T) {
	tests := []struct {
		remote string
		allow  bool
		want   int
	}{
		{"127.0.0.1:5000", false, 200},
		{"[::1]:5000", false, 200},
		{"[::ffff:127.0.0.1]:5000", false, 200},
		{"203.0.113.7:5000", false, 403},
		{"[2001:db8::1]:5000", false, 403},
		{"garbage", false, 403},
		{"203.0.113.7:5000", true, 200},
	}
	for _, tc := range tests {
		t.Run(tc.remote, func(t *testing.T) {
			p := New(Options{AllowRemoteAdmin: tc.allow})
			for _, method := range []string{"GET", "POST", "DELETE"} {
				req := httptest.NewRequest(method, "/_admin/faults", strings.NewReader(`{"service":"mail","mode":"down"}`))
				req.RemoteAddr = tc.remote
				req.Host = "127.0.0.1:18080"
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, req)
				want := tc.want
				if want == 200 && method == "POST" {
					want = 201
				} else if want == 200 && method == "DELETE" {
					want = 204
				}
				if rec.Code != want {
					t.Errorf("%s: %d %s, want %d", method, rec.Code, rec.Body, want)
				}
			}
		})
	}
}

func TestLiveFaultLimit(t *testing.T) {
	m := clock.NewManual(t0)
	p := New(Options{Clock: m, Limits: Limits{Faults: 2}})
	add := func(d time.Duration) error {
		f := Fault{Service: "maps", Mode: "down", Start: m.Now()}
		if d > 0 {
			f.End = m.Now().Add(d)
		}
		_, err := p.AddFault(f)
		return err
	}
	if err := add(time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := add(0); err != nil {
		t.Fatal(err)
	}
	if err := add(0); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("third fault: %v, want too many", err)
	}
	m.Advance(time.Minute) // the first expires and makes room
	if err := add(0); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}
