package state

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// A value the target returns, checked against a bound (a queue length, a
// lag) or an expected value, is another one every run: the window keeps one
// cause for it, whose error is the first run's (the first value), and a
// later, different failure (a 503) is still a new cause rather than lost
// behind MaxCauses. The errors are the probe's own, from a real runner
// against a server answering each run in turn.
func TestReturnedValueKeysOneCause(t *testing.T) {
	lt := 10.0
	ready := "ready"
	tests := []struct {
		name      string
		match     config.PathMatch
		body      func(run int) string // of the failing runs, from 0
		wantFirst string
	}{
		{"a number over its bound", config.PathMatch{Path: "$.pending", Matcher: config.Matcher{LT: &lt, Bound: "10"}},
			func(run int) string { return fmt.Sprintf(`{"pending": %d}`, 45+run) },
			"login: $.pending is 45, want < 10"},
		{"a number that is not the expected value", config.PathMatch{Path: "$.state", Matcher: config.Matcher{Equals: &ready}},
			func(run int) string { return fmt.Sprintf(`{"state": %d}`, 3+run) },
			`login: $.state does not equal "ready" (got 3)`},
	}
	const failing = 40 // more than MaxCauses
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1) - 1)
				if i >= failing {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, tc.body(i))
			}))
			defer srv.Close()
			cfg := &config.Config{Location: "seoul-a", Services: []config.Service{{Name: "messaging", Flows: []config.Flow{{
				Name: "chat", Service: "messaging",
				Steps: []config.Step{{Name: "login", Function: "login",
					Request: config.Request{Method: "GET", URL: srv.URL + "/queue"},
					Expect:  config.Expect{Status: []int{200}, JSONPath: []config.PathMatch{tc.match}}}},
			}}}}}
			r, err := probe.NewRunner(cfg, probe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.CloseIdle()
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, Policy{Interval: 60e9, DownAfter: 2, UpAfter: 1})
			runs := []*probe.Run{mkRun(at(0), "ok")}
			for i := range failing + 2 {
				got := r.Run(context.Background(), &cfg.Services[0].Flows[0])
				runs = append(runs, hung(float64(i+1), 0, "login", got.Steps[0].Error))
			}
			runs = append(runs, mkRun(at(failing+3), "ok"))
			var closed *Window
			for _, run := range runs {
				for _, e := range mc.Observe(run) {
					if e.Op == OpClose && e.Window.Function == "" {
						closed = &e.Window
					}
				}
			}
			if closed == nil {
				t.Fatal("no flow window closed")
			}
			var errs []string
			for _, c := range closed.Causes {
				errs = append(errs, c.Error)
			}
			if got, want := fmtCauses(closed.Causes), "login@m1-m41,login@m41-m43"; got != want {
				t.Fatalf("causes %s, want %s (%q)", got, want, errs)
			}
			if errs[0] != tc.wantFirst || errs[1] != "login: status 503, want 200" {
				t.Errorf("causes' errors %q, want %q then the 503", errs, tc.wantFirst)
			}
		})
	}
}
