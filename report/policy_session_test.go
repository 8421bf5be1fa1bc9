package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestPolicySaysTheSessionRule: a report of a config with a flow that has
// a session says in its printed policy that a run reusing the session is
// no evidence about the login, naming the flows and their ttl; one without
// a session says nothing of it. Before, the policy printed in every report
// was silent on it (README and docs/config.md said it), so a customer
// reading a login window whose start bound reached back an hour, or a
// login measured 24 times in a day by a flow run 1,440 times, had no rule
// to read it by.
func TestPolicySaysTheSessionRule(t *testing.T) {
	flow := func(name string, s *config.Session) config.Flow { return config.Flow{Name: name, Session: s} }
	many := make([]config.Flow, 12)
	for i := range many {
		many[i] = flow(fmt.Sprintf("f%02d", i), &config.Session{TTL: 30 * time.Minute})
	}
	for _, tc := range []struct {
		name  string
		flows []config.Flow
		want  string // "" none
	}{
		{"no session", []config.Flow{flow("home", nil)}, ""},
		{"one, ttl by default", []config.Flow{flow("home", nil), flow("msg", &config.Session{})},
			"A flow with a session logs in only when its session is missing, expired or refused (msg (ttl 1h)): a run that reuses the session runs no login step and is no evidence about a function only its login steps serve"},
		{"ttl of hours and minutes", []config.Flow{flow("pay", &config.Session{TTL: 90 * time.Minute})}, "(pay (ttl 1h30m))"},
		{"twelve, ten named", many, "f08 (ttl 30m), f09 (ttl 30m) and 2 more):"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{Loc: time.UTC, Services: []config.Service{{Name: "s", Flows: tc.flows}}}
			text := strings.Join(PolicyOf(cfg).Text, "\n")
			if tc.want == "" {
				if strings.Contains(text, "session") {
					t.Errorf("policy of a config without a session speaks of one:\n%s", text)
				}
				return
			}
			if !strings.Contains(text, tc.want) {
				t.Errorf("policy:\n%s\nwant %q", text, tc.want)
			}
		})
	}
}
