package state

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// A login refused run after run says what the homeserver said (probe's
// status excerpt: an errcode unquoted, its message quoted). Messages that
// differ only in an id or a number are one cause; a new errcode is a new
// cause. The errors are the probe's own, from a real runner against a
// server answering each run's body in turn.
func TestStatusExcerptCauses(t *testing.T) {
	tests := []struct {
		name   string
		bodies []string // one a failed run, from minute 1; minute 0 and the minute after them pass
		want   string   // the flow window's causes
	}{
		{"ids and numbers in the message: one cause", []string{
			`{"errcode":"M_FORBIDDEN","error":"User @probe-1:example.org may not log in (attempt 17)"}`,
			`{"errcode":"M_FORBIDDEN","error":"User @probe-2:example.org may not log in (attempt 18)"}`,
			`{"errcode":"M_FORBIDDEN","error":"User @probe-3:example.org may not log in (attempt 1900)"}`,
		}, "login@m1-m4"},
		{"another errcode: a new cause", []string{
			`{"errcode":"M_FORBIDDEN","error":"Invalid username or password"}`,
			`{"errcode":"M_FORBIDDEN","error":"Invalid username or password"}`,
			`{"errcode":"M_LIMIT_EXCEEDED","error":"Invalid username or password"}`,
			`{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests"}`,
		}, "login@m1-m3,login@m3-m5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, tc.bodies[int(n.Add(1)-1)%len(tc.bodies)])
			}))
			defer srv.Close()
			cfg := &config.Config{Location: "seoul-a", Services: []config.Service{{Name: "messaging", Flows: []config.Flow{{
				Name: "chat", Service: "messaging",
				Steps: []config.Step{{Name: "login", Function: "login",
					Request: config.Request{Method: "POST", URL: srv.URL + "/_matrix/client/v3/login"},
					Expect:  config.Expect{Status: []int{200}}}},
			}}}}}
			got, errs := runnerCauses(t, cfg, len(tc.bodies), "login")
			if got != tc.want {
				t.Errorf("causes %s, want %s (%q)", got, tc.want, errs)
			}
		})
	}
}
