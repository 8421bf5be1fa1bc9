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

// TestJSONPathPunctuationHint: a name with a dash after a dot ("$.x-req-id",
// as Jayway JsonPath takes it) is refused by the JSONPath parser with only
// "parse error at 4"; the error says how to write it.
func TestJSONPathPunctuationHint(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"$.x-req-id", `invalid JSONPath "$.x-req-id": parse error at 4 in $.x-req-id (a name with punctuation goes in brackets: ['x-req-id'])`},
		{"$.data.user@id.v", `(a name with punctuation goes in brackets: ['user@id'])`},
		{"$[", `invalid JSONPath "$[": not terminated at 3 in $[`},
	} {
		err := checkJSONPath(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.path, err, tc.want)
		}
	}
}
