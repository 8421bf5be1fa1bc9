package config

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// syntaxMatchesWhole: when data is one the split parse takes apart, the
// YAML error syntaxError finds with its emptied elements is the whole
// document's, as Errors (message and line), or none when the whole
// document has none.
func syntaxMatchesWhole(t *testing.T, data []byte, minCut, chunk int) {
	t.Helper()
	got, ok := syntaxError(data, minCut, chunk)
	if !ok {
		return
	}
	var wantErrs Errors
	whole := newDecoder("split.yaml", &wantErrs, len(data))
	_, parsed := whole.parse(data)
	if got == nil {
		if !parsed {
			t.Fatalf("syntaxError (cut at %d, chunks of %d bytes): none; whole document's: %v\nof:\n%.3000s", minCut, chunk, wantErrs, data)
		}
		return
	}
	var gotErrs Errors
	d := newDecoder("split.yaml", &gotErrs, len(data))
	d.yamlErr(got, data)
	if parsed || !reflect.DeepEqual(gotErrs, wantErrs) {
		t.Fatalf("syntaxError (cut at %d, chunks of %d bytes): %v\nwhole document's: %v (parsed: %v)\nof:\n%.3000s", minCut, chunk, gotErrs, wantErrs, parsed, data)
	}
}

// brokenEdit makes a YAML syntax error in a config: the first line from
// line at (1-based) holding old gets it replaced by new.
type brokenEdit struct{ name, old, new string }

// brokenKinds are the operator's typos of #11's broken reload.
var brokenKinds = []brokenEdit{
	{"unclosed [", "status: [200]", "status: [200"},
	{"unclosed {", "expect: {", "expect: {{"},
	{"stray ]", "latency: 2s", "latency: 2s]"},
	{"bad indent", "        steps:", "         steps:"},
	{"dedent", "          - name: get", "         - name: get"},
	{"element dedented", "      - name: flow", "     - name: flow"},
	{"element indented", "      - name: flow", "       - name: flow"},
	{"tab", "        steps:", "\tsteps:"},
	{"unterminated quote", `f0`, `"f0`},
	{"unterminated quote at the end", `{exists: true}}`, `{exists: "true}}`},
	{"no colon", "        steps:", "        steps"},
	{"dash in a mapping", "        steps:", "        - steps:"},
	{"single quote", "name: get", "name: 'get"},
}

// breakAt applies e to the first line holding e.old at or after line at,
// and returns that line's number too.
func breakAt(data []byte, at int, e brokenEdit) ([]byte, int) {
	lines := strings.Split(string(data), "\n")
	for i := at - 1; i < len(lines); i++ {
		if strings.Contains(lines[i], e.old) {
			lines[i] = strings.Replace(lines[i], e.old, e.new, 1)
			return []byte(strings.Join(lines, "\n")), i + 1
		}
	}
	panic(fmt.Sprintf("%q not at or after line %d", e.old, at))
}

// lineOf is the 1-based line of the first line holding s.
func lineOf(data []byte, s string) int {
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		panic(fmt.Sprintf("%q not in data", s))
	}
	return 1 + bytes.Count(data[:i], []byte{'\n'})
}

// TestSyntaxErrorIsTheWholeDocuments: a YAML syntax error (of 13 kinds, a
// tab among them) in a large config, in the first, a middle or the last
// element of its first, a middle or its last flows list, or outside the
// lists, and in a file below the split threshold, gives Parse the whole
// document's errors, message and line, as does syntaxError with lists cut
// in 3 or 4 pieces and with every element a piece; where the split parse
// takes the file apart, the document syntaxError parses holds at most a
// quarter of the file's text up to 20 lines after the typo, where the
// parse stops (`slaprobe check` of a 50,000-flow file with a typo in its
// last flow took ~290 MB, the whole tree up to it; the good file ~130).
func TestSyntaxErrorIsTheWholeDocuments(t *testing.T) {
	large := scaleConfig(1000) // 10 lists of 100 flows, ~25 KB each
	small := scaleConfig(40)
	// One list of 1,000 flows (the scale runs' shape: one service).
	oneList := large
	for i := 1; i < 10; i++ {
		oneList = bytes.Replace(oneList, []byte(fmt.Sprintf("  - name: svc-%d\n    flows:\n", i)), nil, 1)
	}
	type where struct {
		name string
		data []byte
		line int // where the edit starts looking
	}
	places := []where{
		{"first flow", large, lineOf(large, "flow-00000")},
		{"first list's middle", large, lineOf(large, "flow-00050")},
		{"middle list's first flow", large, lineOf(large, "flow-00500")},
		{"middle list's middle", large, lineOf(large, "flow-00550")},
		{"middle list's last flow", large, lineOf(large, "flow-00599")},
		{"last flow", large, lineOf(large, "flow-00999")},
		{"small file's middle", small, lineOf(small, "flow-00020")},
		{"one list's middle", oneList, lineOf(oneList, "flow-00500")},
	}
	type tcase struct {
		name    string
		data    []byte
		bounded bool // the split parse takes it apart
		line    int  // of the typo
	}
	var cases []tcase
	for _, p := range places {
		for _, k := range brokenKinds {
			data, line := breakAt(p.data, p.line, k)
			cases = append(cases, tcase{p.name + ", " + k.name, data, len(p.data) >= splitMinBytes, line})
		}
	}
	outside := []struct {
		name string
		e    brokenEdit
		at   string
	}{
		{"defaults unclosed", brokenEdit{"", "defaults: {interval: 60s, timeout: 10s}", "defaults: {interval: 60s, timeout: 10s"}, "defaults:"},
		{"a middle service's name indented", brokenEdit{"", "  - name: svc-5", "   - name: svc-5"}, "svc-5"},
		{"a middle service's name unquoted", brokenEdit{"", "  - name: svc-5", `  - name: "svc-5`}, "svc-5"},
		{"a middle service's flows key", brokenEdit{"", "    flows:", "    flows: ["}, "svc-5"},
		{"a middle service's dash", brokenEdit{"", "  - name: svc-5", "  -name: svc-5"}, "svc-5"},
		{"the last service's flows key", brokenEdit{"", "    flows:", "     flows:"}, "svc-9"},
		{"services key", brokenEdit{"", "services:", "services: ]"}, "services:"},
	}
	for _, o := range outside {
		data, line := breakAt(large, lineOf(large, o.at), o.e)
		cases = append(cases, tcase{"outside the lists: " + o.name, data, true, line})
	}
	end := lastLine(large)
	trimmed := bytes.TrimSuffix(large, []byte("\n")) // no line break at its end
	for _, at := range []string{"flow-00050", "flow-00999"} {
		data, line := breakAt(trimmed, lineOf(trimmed, at), brokenKinds[0])
		cases = append(cases, tcase{"no line break at the end, " + at, data, true, line})
	}
	cases = append(cases,
		tcase{"outside the lists: the end", append(bytes.Clone(large), "bogus: [\n"...), true, end},
		tcase{"outside the lists: the end, no line break", append(bytes.Clone(large), "  - {"...), true, end},
		tcase{"a second list after the end", append(bytes.Clone(large), "  - name: x\n    flows\n"...), true, end},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("split.yaml", c.data, splitOptions(c.data))
			_, _, wantErr := parse("split.yaml", c.data, splitOptions(c.data), false)
			if err == nil || !strings.Contains(err.Error(), "invalid YAML") {
				t.Fatalf("not a YAML error: %v", err)
			}
			if !reflect.DeepEqual(err, wantErr) {
				t.Fatalf("Parse: %v\nwhole document's: %v", err, wantErr)
			}
			syntaxMatchesWhole(t, c.data, minCutBytes, 8<<10) // 3 or 4 pieces a list
			syntaxMatchesWhole(t, c.data, 0, 1)
			doc, ok := emptiedDoc(c.data, minCutBytes, chunkBytes)
			if ok != c.bounded {
				t.Fatalf("taken apart: %v, want %v", ok, c.bounded)
			}
			if !ok {
				return
			}
			upTo := doc
			if i := nthLine(doc, c.line+20); i >= 0 {
				upTo = doc[:i]
			}
			if kept := len(upTo) - bytes.Count(upTo, []byte{'\n'}); kept > len(c.data)/4 {
				t.Errorf("the document parsed for the error holds %d bytes of the file's %d up to 20 lines after the typo (line %d)", kept, len(c.data), c.line)
			}
		})
	}
}

// nthLine is the offset of line n (1-based) of data, or -1.
func nthLine(data []byte, n int) int {
	off := 0
	for range n - 1 {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off
}

// syntaxPool are the lines TestSyntaxErrorMutants puts in: the review's
// and lines with tabs.
var syntaxPool = append([]string{
	"\t", "\tx: 1", "  \t- name: t", "      \t- name: t", "        \tsteps: []", "      -\tname: t", "\t# c", "    flows:\t", "  - \tflows:",
	"          x: \"a\tb\"", "        - name: t\t", "      - name: 'open", "      - [", "        ]",
}, reviewPool...)

// TestSyntaxErrorMutants: a large config (10 flows lists of ~18 KB) with lines put in, deleted, doubled or moved (tabs
// among them): Parse gives the whole document's result, and the document
// syntaxError parses has the whole document's YAML error or none, with
// Parse's cuts and with every element a piece.
func TestSyntaxErrorMutants(t *testing.T) {
	lines := strings.Split(string(scaleConfig(700)), "\n")
	rng := rand.New(rand.NewPCG(7, 8))
	broken := 0
	for range syntaxMutants {
		m := append([]string(nil), lines...)
		for range 1 + rng.IntN(reviewEdits) {
			m = mutate(rng, m, syntaxPool)
		}
		data := []byte(strings.Join(m, "\n"))
		if err, ok := syntaxError(data, minCutBytes, chunkBytes); ok && err != nil {
			broken++
		}
		opts := splitOptions(data)
		want, _, wantErr := parse("split.yaml", data, opts, false)
		got, gotErr := Parse("split.yaml", data, opts)
		if !reflect.DeepEqual(gotErr, wantErr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse:\n%v\nwhole document's:\n%v", gotErr, wantErr)
		}
		syntaxMatchesWhole(t, data, minCutBytes, chunkBytes)
		syntaxMatchesWhole(t, data, 0, 1)
	}
	if broken < syntaxMutants/4 {
		t.Errorf("only %d of %d mutants are YAML errors syntaxError finds", broken, syntaxMutants)
	}
	t.Logf("%d of %d mutants are YAML errors syntaxError finds", broken, syntaxMutants)
}

// syntaxMutants is how many mutants TestSyntaxErrorMutants makes.
var syntaxMutants = 100
