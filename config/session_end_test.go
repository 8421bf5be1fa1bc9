package config

import (
	"strings"
	"testing"
)

// TestSessionEndSeesSessionVars: a session_end teardown step runs when the
// session ends, with the vars and the session's extracts. One that used a
// flow step's extract passed check and then was never run ("not run: ${pid}
// has no value in this session"); check refuses it, naming the variable.
func TestSessionEndSeesSessionVars(t *testing.T) {
	src := func(url string) string {
		return "services:\n  - name: s\n    flows:\n      - name: f\n        vars: {base: \"http://h\"}\n" +
			"        session:\n          steps:\n            - {name: login, function: login, request: {url: \"${base}/login\"}, extract: {token: {jsonpath: \"$.t\"}}}\n" +
			"        steps:\n          - {name: pay, function: pay, request: {url: \"${base}/pay\"}, extract: {pid: {jsonpath: \"$.id\"}}}\n" +
			"        teardown:\n          - {name: refund, function: refund, request: {url: \"${base}/refund/${pid}\"}}\n" +
			"          - {name: logout, function: logout, when: session_end, request: {url: \"" + url + "\"}}\n"
	}
	for _, tc := range []struct{ url, want string }{
		{"${base}/logout?t=${token}", ""},
		{"${base}/logout/${pid}", "test.yaml:13: services[0].flows[0].teardown[1].request.url: ${pid} is extracted by a flow step, which a session_end step does not see"},
		{"${base}/logout/${nope}", "test.yaml:13: services[0].flows[0].teardown[1].request.url: ${nope} is not defined by an earlier var or an earlier step's extract"},
	} {
		_, err := Parse("test.yaml", []byte(src(tc.url)), Options{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.url, err, tc.want)
		}
	}
}
