package config

import (
	"strings"
	"testing"
)

// TestURLTemplates: a URL whose port, or whose path right after the port,
// comes from a variable is a URL once filled in. check used to fill every
// reference with a letter, so "http://${host}:${port}/login" and
// "http://h:8080${next}" (a Location header extracted by the step before)
// were refused as invalid URLs.
func TestURLTemplates(t *testing.T) {
	cfg := func(kind, url string) string {
		return "services:\n  - name: s\n    flows:\n      - name: f\n" +
			"        vars: {host: 127.0.0.1, port: \"8080\", path: /login}\n" +
			"        steps:\n          - {name: a, function: b, " + kind + ": {url: \"" + url + "\"}}\n"
	}
	tests := []struct {
		name, kind, url, want string // want "": accepted
	}{
		{"port from a var", "request", "http://${host}:${port}/login", ""},
		{"path right after the port", "request", "http://127.0.0.1:8080${path}", ""},
		{"port and path from vars", "request", "http://127.0.0.1:${port}${path}", ""},
		{"user and password from vars", "request", "http://${host}:${port}@127.0.0.1/", ""},
		{"websocket port from a var", "websocket", "ws://${host}:${port}/ws", ""},
		{"sse port from a var", "sse", "http://${host}:${port}/events", ""},
		{"a literal port that is no number", "request", "http://127.0.0.1:http/", `invalid URL "http://127.0.0.1:http/"`},
		{"a scheme that is no http", "request", "ftp://${host}:${port}/", `invalid URL "ftp://${host}:${port}/": want http:// or https:// and a host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(cfg(tt.kind, tt.url)), Options{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), "test.yaml:7: services[0].flows[0].steps[0]."+tt.kind+".url: "+tt.want):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
