package config

import (
	"strings"
	"testing"
)

// TestExpectStatusEmpty: "status: []" (a list left empty while editing) was
// accepted and read as no status expectation, so every status from 200 to
// 399 passed; it is an error naming its line and key.
func TestExpectStatusEmpty(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n" +
		"          - name: a\n            function: b\n            request: {url: \"http://127.0.0.1/\"}\n" +
		"            expect:\n              status: []\n"
	_, err := Parse("test.yaml", []byte(src), Options{})
	want := "test.yaml:10: services[0].flows[0].steps[0].expect.status: lists no status"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
