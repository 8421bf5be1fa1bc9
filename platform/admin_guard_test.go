package platform

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// adminRequest sends one request to /_admin/faults as a loopback TCP
// client (not through Transport) and returns the answer.
func adminRequest(p *Platform, method, host, ctype, origin, fetchSite, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/_admin/faults", strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	req.Host = host
	for k, v := range map[string]string{"Content-Type": ctype, "Origin": origin, "Sec-Fetch-Site": fetchSite} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	return rec
}

// TestAdminRefusesWebPages covers #15 finding 7: a page in the operator's
// browser (cross-origin text/plain POST, a foreign Origin, a DNS-rebound
// Host) cannot add or clear faults, and a permanent "0s" fault or a latency
// for a mode without one is an error.
func TestAdminRefusesWebPages(t *testing.T) {
	const (
		host = "127.0.0.1:18080"
		down = `{"service":"messaging","functions":["receive"],"mode":"down","duration":"10m"}`
	)
	tests := []struct {
		name                                 string
		method, host, ctype, origin, fetched string
		body                                 string
		want                                 int
		says                                 string
	}{
		{"plain JSON from curl", "POST", host, "application/json", "", "", down, 201, ""},
		{"JSON with a charset", "POST", host, "application/json; charset=utf-8", "", "", down, 201, ""},
		{"from a page on localhost", "POST", host, "application/json", "http://localhost:3000", "same-site", down, 201, ""},
		{"DESIGN's example: drop with latency 0s", "POST", host, "application/json", "", "", `{"service":"messaging","functions":["receive"],"mode":"drop","rate":1.0,"latency":"0s","duration":"10m"}`, 201, ""},
		{"text/plain from a page", "POST", host, "text/plain", "http://evil.example", "cross-site", down, 403, "other origins"},
		{"text/plain without Origin", "POST", host, "text/plain", "", "", down, 415, "Content-Type: application/json"},
		{"a form", "POST", host, "application/x-www-form-urlencoded", "", "", down, 415, "Content-Type: application/json"},
		{"no content type", "POST", host, "", "", "", down, 415, "Content-Type: application/json"},
		{"JSON from a foreign origin", "POST", host, "application/json", "http://evil.example", "", down, 403, "other origins"},
		{"Origin null (a sandboxed page)", "POST", host, "application/json", "null", "", down, 403, "other origins"},
		{"cross-site fetch without Origin", "POST", host, "application/json", "", "cross-site", down, 403, "cross-site"},
		{"DNS rebinding", "POST", "attacker.example:18080", "application/json", "", "", down, 403, "Host must be an IP address or localhost"},
		{"DNS rebinding on DELETE", "DELETE", "attacker.example", "", "", "", "", 403, "Host must be an IP address or localhost"},
		{"DELETE from a foreign origin", "DELETE", host, "", "http://evil.example", "", "", 403, "other origins"},
		{"GET with a rebound Host", "GET", "attacker.example", "", "", "", "", 403, "Host must be"},
		{"duration 0s", "POST", host, "application/json", "", "", `{"service":"messaging","mode":"down","duration":"0s"}`, 400, "must be greater than 0"},
		{"a negative duration", "POST", host, "application/json", "", "", `{"service":"messaging","mode":"down","duration":"-1m"}`, 400, "must be greater than 0"},
		{"a latency with down", "POST", host, "application/json", "", "", `{"service":"messaging","mode":"down","latency":"2s"}`, 400, "applies to mode slow only"},
		{"a latency with error", "POST", host, "application/json", "", "", `{"service":"messaging","mode":"error","latency":"2s"}`, 400, "applies to mode slow only"},
		{"a duration that overflows", "POST", host, "application/json", "", "", `{"service":"messaging","mode":"down","duration":"2562047h"}`, 400, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Options{})
			rec := adminRequest(p, tt.method, tt.host, tt.ctype, tt.origin, tt.fetched, tt.body)
			want := tt.want
			if want == 201 && tt.method != "POST" {
				want = 200
			}
			if rec.Code != want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, want)
			}
			if !strings.Contains(rec.Body.String(), tt.says) {
				t.Errorf("answer %s lacks %q", rec.Body, tt.says)
			}
			if want >= 400 && tt.method == "POST" && len(p.activeFaults(time.Now())) != 0 {
				t.Error("the refused request added a fault")
			}
		})
	}
}

// FuzzAdminRequest drives POST /_admin/faults with any body and headers:
// it never panics, answers only 201, 400, 403 or 415, and a fault it
// accepts is valid (a known service and functions, a rate in (0, 1], a
// latency only for slow, an end after its start).
func FuzzAdminRequest(f *testing.F) {
	f.Add(`{"service":"messaging","functions":["receive"],"mode":"drop","rate":1.0,"latency":"0s","duration":"10m"}`, "application/json", "", "127.0.0.1:18080")
	f.Add(`{"service":"maps","functions":["tile"],"mode":"slow","latency":"20s"}`, "application/json; charset=utf-8", "http://localhost:1", "localhost")
	f.Add(`{"service":"mail","mode":"down","duration":"0s"}`, "application/json", "", "[::1]:80")
	f.Add(`{"service":"payments","mode":"error","rate":0.5,"latency":"1s"}`, "text/plain", "http://evil.example", "attacker.example")
	f.Add(`{"service":"messaging","mode":"down"} {}`, "application/json", "null", "127.0.0.1")
	f.Fuzz(func(t *testing.T, body, ctype, origin, host string) {
		p := New(Options{})
		rec := adminRequest(p, "POST", host, ctype, origin, "", body)
		switch rec.Code {
		case 400, 403, 415:
			if len(p.activeFaults(time.Now())) != 0 {
				t.Fatalf("%d, yet a fault was added", rec.Code)
			}
			return
		case 201:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !isLocalHost(host) || origin != "" && !isLocalOrigin(origin) {
			t.Fatalf("accepted Host %q Origin %q", host, origin)
		}
		var got struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ID == "" {
			t.Fatalf("201 without an id: %s", rec.Body)
		}
		fs := p.activeFaults(time.Now())
		if len(fs) != 1 {
			t.Fatalf("%d faults active after one 201", len(fs))
		}
		flt := fs[0]
		if err := validateFault(&flt); err != nil {
			t.Fatalf("accepted an invalid fault %+v: %v", flt, err)
		}
		if flt.rate() <= 0 || flt.rate() > 1 {
			t.Fatalf("rate %v", flt.rate())
		}
		if flt.Latency != 0 && flt.Mode != config.ModeSlow {
			t.Fatalf("latency %v with mode %s", flt.Latency, flt.Mode)
		}
		if !flt.End.IsZero() && !flt.End.After(flt.Start) {
			t.Fatalf("end %v not after start %v", flt.End, flt.Start)
		}
	})
}
