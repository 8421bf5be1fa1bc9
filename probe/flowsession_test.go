package probe

import (
	"slices"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A compiled flow keeps its session's TTL and extracted slots behind one
// pointer, set only for a flow with a session: what the runs read
// (sessionTTL, sessionSlots) is what the config says.
func TestCompiledSession(t *testing.T) {
	login := config.Step{Name: "login", Function: "login", Request: config.Request{Method: "POST", URL: "http://h/login"},
		Extract: []config.Extract{{Var: "token", JSONPath: "$.token"}, {Var: "user", JSONPath: "$.user"}}}
	me := config.Step{Name: "me", Function: "read", Request: config.Request{URL: "http://h/me",
		Headers: map[string]string{"Authorization": "Bearer ${token}"}}, Extract: []config.Extract{{Var: "name", JSONPath: "$.name"}}}
	tests := []struct {
		name      string
		session   *config.Session
		wantTTL   time.Duration
		wantSlots int // how many
		wantHeld  bool
	}{
		{name: "no session", session: nil, wantTTL: 0, wantSlots: 0},
		{name: "ttl set", session: &config.Session{TTL: time.Hour, Steps: []config.Step{login}}, wantTTL: time.Hour, wantSlots: 2, wantHeld: true},
		{name: "default ttl", session: &config.Session{Steps: []config.Step{login}}, wantTTL: config.DefaultSessionTTL, wantSlots: 2, wantHeld: true},
		{name: "no session steps", session: &config.Session{TTL: time.Minute}, wantTTL: time.Minute, wantSlots: 0, wantHeld: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := []config.Step{me}
			if tt.session == nil {
				steps = []config.Step{login, me}
			}
			cf := compileFlow(&config.Flow{Name: "f", Timeout: time.Second, Session: tt.session, Steps: steps}, nil, config.Defaults{}, nil)
			if cf.err != nil && tt.session != nil && len(tt.session.Steps) > 0 {
				t.Fatal(cf.err)
			}
			if got := cf.sessionTTL(); got != tt.wantTTL {
				t.Errorf("sessionTTL %v, want %v", got, tt.wantTTL)
			}
			slots := cf.sessionSlots()
			if len(slots) != tt.wantSlots {
				t.Errorf("sessionSlots %v, want %d", slots, tt.wantSlots)
			}
			if len(slots) == 2 && (slots[0] == slots[1] || slices.Contains(slots, -1)) {
				t.Errorf("sessionSlots %v: want token's and user's", slots)
			}
			if held := cf.session != nil; held != tt.wantHeld {
				t.Errorf("session held %v, want %v", held, tt.wantHeld)
			}
		})
	}
}
