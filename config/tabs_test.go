package config

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// tabFlow is a service whose flows list (at column 6) has two flows; %s is
// put in after the first flow's steps (lines of its own, or nothing).
const tabFlow = "  - name: t\n    flows:\n      - name: t1\n        " + reviewStep + "\n%s      - name: t2\n        " + reviewStep + "\n"

// tabCases are large configs with tabs in every place a hand-edited file
// has them: those after a line's first token are taken apart (split), as
// are tabs the whole document refuses; a tab in a line's indentation, left
// of or at the list's "-", within a quoted scalar or a flow collection
// over lines, cuts the list short and the split parse declines.
func tabCases() []reviewCase {
	in := func(s string) string { return fmt.Sprintf(tabFlow, s) }
	return []reviewCase{
		// Valid files, taken apart.
		{name: "a comment of its own", services: in("        # a\tcomment\n"), split: true},
		{name: "a comment at column 0", services: in("#\tc\n"), split: true},
		{name: "a comment after a value", services: in("        timeout: 5s\t# c\n"), split: true},
		{name: "after a colon", services: in("        timeout:\t5s\n"), split: true},
		{name: "trailing", services: in("        timeout: 5s\t\n"), split: true},
		{name: "in a double-quoted scalar", services: in("        vars: {v: \"a\tb\"}\n"), split: true},
		{name: "in a single-quoted scalar", services: in("        vars: {v: 'a\tb'}\n"), split: true},
		{name: "an escaped tab", services: in("        vars: {v: \"a\\tb\t\"}\n"), split: true},
		{name: "in a block scalar's content", services: in("        vars:\n          v: |\n            a\tb\n            \tc\n"), split: true},
		{name: "in a folded scalar's content", services: in("        vars:\n          v: >-\n            a\tb\n\n            \tc\n"), split: true},
		{name: "in a flow mapping", services: in("        vars: {v:\t1,\tw: 2}\n"), split: true},
		{name: "in a flow mapping over lines, deeper than the list", services: in("        vars: {v: 1,\n          \tw: 2}\n"), split: true},
		{name: "in a flow sequence", services: in("        expect: {status: [200,\t201]}\n"), split: true},
		{name: "a plain scalar's next line, deeper", services: in("        vars:\n          v: a\n           \tb\n"), split: true},
		{name: "a quoted scalar's next line, deeper", services: in("        vars:\n          v: \"a\n           \tb\"\n"), split: true},
		{name: "after the flows key", services: strings.Replace(in(""), "    flows:\n", "    flows:\t# c\n", 1), split: true},
		{name: "after the flows key alone", services: strings.Replace(in(""), "    flows:\n", "    flows:\t\n", 1), split: true},
		{name: "outside the lists", head: "location:\there # c\t\ndefaults: {interval:\t60s}\n", split: true},
		{name: "in the last flow of the large list", tail: "        timeout:\t5s # \t\n", split: true},
		{name: "a key holding a tab", services: in("        vars: {\"a\tb\": 1}\n"), split: true},
		// A tab the whole document refuses: its error, taken apart.
		{name: "indenting a key", services: in("\ttimeout: 5s\n"), split: false},
		{name: "after spaces, indenting a key", services: in("        \ttimeout: 5s\n"), split: false},
		{name: "after a dash", services: in("      - \tname: t3\n"), split: false},
		{name: "after a dash, no space", services: in("      -\tname: t3\n"), split: false},
		{name: "a line of a tab", services: in("\t\n"), split: false},
		{name: "a line of spaces and a tab", services: in("      \t\n"), split: false},
		{name: "before a comment", services: in("\t# c\n"), split: false},
		{name: "before a comment, after spaces", services: in("    \t# c\n"), split: false},
		{name: "before the next flow", services: in("\t- name: t3\n"), split: false},
		{name: "before the next flow, after spaces", services: in("      \t- name: t3\n"), split: false},
		{name: "before the flows key", services: strings.Replace(in(""), "    flows:\n", "\tflows:\n", 1), split: false},
		{name: "in a block scalar's indentation", services: in("        vars:\n          v: |\n            a\n\t\n            b\n"), split: false},
		{name: "a plain scalar's next line, at the list's column", services: in("        vars:\n          v: a\n      \tb\n"), split: false},
		// Valid files whose tab in a line's indentation, at or left of the
		// list's "-", is white space to the YAML library: the split parse
		// declines (the piece before ends inside the value).
		{name: "a quoted scalar's next line, indented by a tab", services: in("        vars:\n          v: \"a\n\tb\"\n"), split: false},
		{name: "a quoted scalar's next line, a tab then a dash", services: in("        vars:\n          v: \"a\n\t- name: t3\"\n"), split: false},
		{name: "a flow mapping's next line, indented by a tab", services: in("        vars: {v: 1,\n\tw: 2}\n"), split: false},
		{name: "a flow mapping's next line, spaces then a tab", services: in("        vars: {v: 1,\n      \tw: 2}\n"), split: false},
	}
}

// TestSplitTakesTabs: a large config with tabs (in comments, quoted and
// block scalars, after ":", in flow collections) is taken apart, with the
// whole document's config, errors and lines (splitMatchesWhole with every
// list cut; parseMatchesWhole with Parse's own cuts; syntaxMatchesWhole in
// both); a tab in a line's indentation is the whole document's error, or,
// inside a quoted scalar or flow collection over lines, a declined split.
func TestSplitTakesTabs(t *testing.T) {
	cases := tabCases()
	for _, c := range cases {
		if !strings.Contains(c.head+c.services+c.tail, "\t") {
			t.Fatalf("%s: no tab", c.name)
		}
	}
	runReviewCases(t, cases)
}

// TestParseSplitsTheScaleConfigWithATab: the 50,000-flow shape (one list
// here of 2,000 flows) with a tab in one flow's comment, a quoted value, or
// after a key, anywhere in the list, is split by Parse (it was parsed
// whole: 495 MB for `slaprobe check` at 50,000) with the whole document's
// result; a tab indenting a line there is the whole document's YAML error.
func TestParseSplitsTheScaleConfigWithATab(t *testing.T) {
	base := scaleConfig(2000)
	for i := 1; i < 10; i++ {
		base = bytes.Replace(base, []byte(fmt.Sprintf("  - name: svc-%d\n    flows:\n", i)), nil, 1)
	}
	edits := []struct {
		e         brokenEdit
		split     bool
		wantError string // in Parse's error, or none
	}{
		{brokenEdit{"a comment", "function: search", "function: search #\tc"}, true, ""},
		{brokenEdit{"a quoted value", `?q=f`, "?q=\tf"}, true, `invalid URL "http://127.0.0.1:18080/maps/search?q=\tf`},
		{brokenEdit{"after a colon", "latency: 2s", "latency:\t2s"}, true, ""},
		{brokenEdit{"in a flow mapping", "{status: [200],", "{status:\t[200],\t"}, true, ""},
		{brokenEdit{"indenting a key", "        steps:", "\tsteps:"}, false, "invalid YAML: found a tab character that violates indentation"},
		{brokenEdit{"after a dash", "          - name: get", "          -\tname: get"}, false, "invalid YAML: found character that cannot start any token"},
	}
	for _, e := range edits {
		for _, at := range []string{"flow-00000", "flow-01000", "flow-01999"} {
			t.Run(e.e.name+" in "+at, func(t *testing.T) {
				data, _ := breakAt(base, lineOf(base, at), e.e)
				if got := parseMatchesWhole(t, data); got != e.split {
					t.Errorf("split: %v, want %v", got, e.split)
				}
				_, err := Parse("split.yaml", data, splitOptions(data))
				if (err == nil) != (e.wantError == "") || err != nil && !strings.Contains(err.Error(), e.wantError) {
					t.Errorf("error: %v, want %q", err, e.wantError)
				}
			})
		}
	}
}

// TestFlowsKeyWithATab: a tab after "flows:" (white space to the YAML
// library) leaves the key one whose list is cut; a tab before it does not.
func TestFlowsKeyWithATab(t *testing.T) {
	list := "      - name: t1\n        " + reviewStep + "\n"
	for _, tt := range []struct {
		key  string
		want int
	}{
		{"    flows:\t\n", 1},
		{"    flows:\t# c\n", 1},
		{"    flows: \t # c\n", 1},
		{"    flows:\tx\n", 0},
		{"\tflows:\n", 0},
		{"  - \tflows:\n", 0},
	} {
		data := []byte("services:\n  - name: t\n" + tt.key + list)
		_, regions, ok := splitFlows(data, 0)
		if !ok || len(regions) != tt.want {
			t.Errorf("%q: ok %v, %d lists cut, want %d", tt.key, ok, len(regions), tt.want)
		}
		splitMatchesWhole(t, data)
	}
}
