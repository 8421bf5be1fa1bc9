package config

import (
	"strings"
	"testing"
)

// TestExtractCookie: extract: {cookie: NAME} reads a cookie on a request
// step; the other kinds of step have no cookie jar response to read it
// from, and a name that is no token can never match.
func TestExtractCookie(t *testing.T) {
	head := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n"
	tests := []struct {
		name, steps, want string
	}{
		{"request", "          - {name: a, function: b, request: {url: \"http://127.0.0.1/\"}, extract: {x: {cookie: XSRF-TOKEN}}}\n", ""},
		{"bad name", "          - {name: a, function: b, request: {url: \"http://127.0.0.1/\"}, extract: {x: {cookie: \"a b\"}}}\n",
			`test.yaml:6: services[0].flows[0].steps[0].extract.x.cookie: invalid cookie name "a b"`},
		{"two sources", "          - {name: a, function: b, request: {url: \"http://127.0.0.1/\"}, extract: {x: {cookie: c, header: h}}}\n",
			`test.yaml:6: services[0].flows[0].steps[0].extract.x: an extract takes exactly one of: jsonpath, regex, header, cookie`},
		{"websocket", "          - {name: a, function: b, websocket: {url: \"ws://127.0.0.1/\"}, extract: {x: {cookie: c}}}\n",
			`test.yaml:6: services[0].flows[0].steps[0].extract.x.cookie: a websocket step has no cookie to extract from (it can use: header)`},
		{"webhook await", "          - {name: a, function: b, await: webhook, extract: {x: {cookie: c}}}\n",
			`test.yaml:6: services[0].flows[0].steps[0].extract.x.cookie: an await step has no cookie to extract from (it can use: jsonpath, regex, header)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(head+tt.steps), Options{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := cfg.Services[0].Flows[0].Steps[0].Extract[0].Cookie; got != "XSRF-TOKEN" {
					t.Errorf("Cookie %q, want XSRF-TOKEN", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
