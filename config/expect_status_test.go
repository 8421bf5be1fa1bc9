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

// TestJSONPathNotTemplate: a reference inside a JSONPath (a filter on the
// id an earlier step extracted) was taken as the text "${mid}", and one in
// an extract regex as the end of the text, so neither could ever match;
// check refuses both and says why.
func TestJSONPathNotTemplate(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n" +
		"          - {name: a, function: b, request: {url: \"http://127.0.0.1/\"}, extract: {mid: {jsonpath: \"$.id\"}}}\n" +
		"          - name: c\n            function: b\n            request: {url: \"http://127.0.0.1/\"}\n" +
		"            expect: {jsonpath: {\"$.messages[?(@.id == '${mid}')].text\": hi}}\n" +
		"            extract: {t: {jsonpath: \"$.m.${mid}\"}, u: {regex: \"msg ${mid}: (x+)\"}}\n"
	_, err := Parse("test.yaml", []byte(src), Options{})
	for _, want := range []string{
		`test.yaml:10: services[0].flows[0].steps[1].expect.jsonpath["$.messages[?(@.id == '${mid}')].text"]: invalid JSONPath "$.messages[?(@.id == '${mid}')].text": a path is not a template, ${mid} is not filled in`,
		`test.yaml:11: services[0].flows[0].steps[1].extract.t.jsonpath: invalid JSONPath "$.m.${mid}": a path is not a template, ${mid} is not filled in`,
		`test.yaml:11: services[0].flows[0].steps[1].extract.u.regex: an extract regex is not a template: ${mid} is not filled in`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v\nwant %q", err, want)
		}
	}
}

// TestUnknownAliasLine: an alias to an anchor that is not defined (a typo,
// or an anchor in another file) is reported on the alias's line; the YAML
// library gives no line for it, and the error said line 1.
func TestUnknownAliasLine(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: a\n        vars: &demos {x: y}\n" +
		"        steps: [{name: a, function: f, request: {url: \"http://h/\"}}]\n" +
		"      - name: b\n        vars: *demos\n        steps: []\n      - name: c\n        vars: *demo\n"
	_, err := Parse("test.yaml", []byte(src), Options{})
	want := "test.yaml:11: invalid YAML: unknown anchor 'demo' referenced"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
