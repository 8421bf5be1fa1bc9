package config

import (
	"strings"
	"testing"
)

// TestSecretCutsURL: a URL whose references are all secrets is known when
// the config loads, so check refuses one that a secret's '/', '@', '?' or
// '#' cuts: it passed check and then failed every run ("url: not a valid
// URL once its secrets are filled in"), an OAuth client secret with a '/'
// in a token URL's user:password@ read as the token endpoint being down.
func TestSecretCutsURL(t *testing.T) {
	tests := []struct {
		name, secret, url, want string
	}{
		{"plain secret in user info", "cl1ent-secret", "http://client:${env:S}@127.0.0.1/token", ""},
		{"slash and at in user info", "wr/ng@secret", "http://client:${env:S}@127.0.0.1/token", "not a valid URL once its secrets are filled in"},
		{"hash in query", "ab#cd-1234", "http://127.0.0.1/x?key=${env:S}", "`${env:S}` is a secret and would not sit whole in one part of the URL"},
		// A whole base URL kept in an environment variable (staging and
		// production apart) holds a scheme and a host: the error names the
		// reference and says what to write, where it said "not a valid URL
		// once its secrets are filled in", as if the filled-in URL were bad.
		{"a base URL in one secret", "http://127.0.0.1:8000", "${env:S}/api/publish", "`${env:S}` is a secret and would not sit whole in one part of the URL once filled in (it holds a scheme and a host, say"},
		{"the host and port alone", "127.0.0.1:8000", "http://${env:S}/api/publish", ""},
		{"escaped", "wr/ng@secret", "http://127.0.0.1/x?key=${urlquery(env:S)}", ""},
		{"with a run variable: checked per run", "wr/ng@secret", "http://client:${env:S}@127.0.0.1/${v}", ""},
		{"websocket", "wr/ng@secret", "ws://client:${env:S}@127.0.0.1/ws", "not a valid URL once its secrets are filled in"},
		// A whole base URL percent-encoded by urlpath or urlquery gives no
		// scheme and no host: every run failed "unsupported protocol
		// scheme" where check said nothing.
		{"a base URL through urlpath", "http://127.0.0.1:8000", "${urlpath(env:S)}/api/publish", "has no http:// or https:// scheme and host once"},
		{"a base URL through urlquery", "http://127.0.0.1:8000", "${urlquery(env:S)}/api/publish", "has no http:// or https:// scheme and host once"},
		{"a host alone in the secret", "127.0.0.1:8000", "${env:S}/api/publish", "has no http:// or https:// scheme and host once"},
		{"a websocket base through urlpath", "ws://127.0.0.1:8000", "${urlpath(env:S)}/ws", "has no ws://, wss://, http:// or https:// scheme and host once"},
		{"a base URL through urlpath of a run variable", "unused-secret", "${urlpath(v)}/api/publish", "it begins with ${urlpath(...)}, which encodes its '://' too"},
		{"a base URL through urldecode: left to its value", "http%3A%2F%2F127.0.0.1%3A8000", "${urldecode(v)}/api/publish", ""},
		{"an empty host: warned of, as before", "", "http://${env:S}/api/publish", ""},
		{"a websocket base URL in one secret", "ws://127.0.0.1:8000", "${env:S}/ws", "`${env:S}` is a secret and would not sit whole"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := "request: {url: \"" + tt.url + "\"}"
			if strings.HasPrefix(tt.url, "ws:") || strings.HasSuffix(tt.url, "/ws") {
				step = "websocket: {url: \"" + tt.url + "\"}"
			}
			src := "services:\n  - name: s\n    flows:\n      - name: f\n        vars: {v: x}\n        steps:\n" +
				"          - {name: a, function: b, " + step + "}\n"
			_, err := Parse("test.yaml", []byte(src), Options{LookupEnv: func(string) (string, bool) { return tt.secret, true }})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "test.yaml:7: services[0].flows[0].steps[0].") || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want test.yaml:7: ...: %s", err, tt.want)
			case err != nil && strings.Contains(err.Error(), tt.secret):
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}
