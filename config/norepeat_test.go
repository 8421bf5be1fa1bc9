package config

import (
	"strings"
	"testing"
)

// TestRepeatKey: a flow step's repeat: false (a step that must not be sent
// twice in a run: a payment) is read into NoRepeat; repeat: true is the
// default and may be written anywhere; false where no step is tried again
// after a new login (a session or teardown step), on an await (it sends
// nothing) and on a poll (it sends again by design) is an error at its line.
func TestRepeatKey(t *testing.T) {
	parse := func(session, steps, teardown string) (*Config, error) {
		src := `
services:
  - name: pay
    flows:
      - name: f
        session:
          steps:
            - {name: login, function: login, request: {url: "http://127.0.0.1/login"}` + session + `}
        steps:
          - {name: sub, function: receive, sse: {url: "http://127.0.0.1/sse"}}
          - {name: send, function: send, request: {method: POST, url: "http://127.0.0.1/transfers"}` + steps + `}
          - {name: receive, function: receive, await: sub}
        teardown:
          - {name: refund, function: send, request: {method: POST, url: "http://127.0.0.1/refunds"}` + teardown + `}
`
		return Parse("r.yaml", []byte(src), Options{})
	}
	for _, tc := range []struct {
		name                   string
		session, steps, teardn string
		noRepeat               bool
	}{
		{"default", "", "", "", false},
		{"repeat: false", "", ", repeat: false", "", true},
		{"repeat: true anywhere", ", repeat: true", ", repeat: true", ", repeat: true", false},
	} {
		c, err := parse(tc.session, tc.steps, tc.teardn)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.Services[0].Flows[0].Steps[1].NoRepeat; got != tc.noRepeat {
			t.Errorf("%s: NoRepeat %v, want %v", tc.name, got, tc.noRepeat)
		}
	}
	for _, tc := range []struct{ session, steps, teardown, want string }{
		{", repeat: false", "", "", `r.yaml:8: services[0].flows[0].session.steps[0].repeat: only a flow's steps are tried again after a new login`},
		{"", "", ", repeat: false", `r.yaml:14: services[0].flows[0].teardown[0].repeat: only a flow's steps are tried again after a new login`},
		{"", ", poll: {every: 1s, within: 5s}, repeat: false", "", `r.yaml:11: services[0].flows[0].steps[1].repeat: a poll sends its request again by design`},
		{"", ", repeat: no", "", `r.yaml:11: services[0].flows[0].steps[1].repeat:`},
	} {
		if _, err := parse(tc.session, tc.steps, tc.teardown); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q %q:\nerror %v\nwant %q", tc.session, tc.steps, tc.teardown, err, tc.want)
		}
	}
	src := `
services:
  - name: pay
    flows:
      - name: f
        steps:
          - {name: sub, function: receive, sse: {url: "http://127.0.0.1/sse"}}
          - {name: receive, function: receive, await: sub, repeat: false}
`
	if _, err := Parse("r.yaml", []byte(src), Options{}); err == nil || !strings.Contains(err.Error(), `r.yaml:8: services[0].flows[0].steps[1].repeat: an await sends nothing`) {
		t.Errorf("repeat: false on an await: error %v", err)
	}
}
