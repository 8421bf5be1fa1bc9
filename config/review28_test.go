package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestReviewSyntaxErrorReadAhead (review of de79dcd): the YAML library
// reads its input 512 bytes at a time and refuses a control character in
// a chunk as it decodes it, before the parser reaches the bytes before it;
// emptied elements move the chunks' bounds, so a syntax error with a
// control character a few hundred bytes after it must still be the whole
// document's (it was not for d=126: Parse gave the tab's error, line 2112,
// the whole document the U+0001's, line 2114).
func TestReviewSyntaxErrorReadAhead(t *testing.T) {
	base := string(scaleConfig(1000))
	at := strings.Index(base, "      - name: flow-00350\n")
	step := strings.Index(base[at:], "        steps:") + at
	bad := 0
	for d := 0; d < 600; d += 7 {
		// The tab is an error where it is; \x01 d bytes further on, in a
		// comment.
		data := []byte(base[:step] + "\tsteps:\n" + "        # " + strings.Repeat("c", d) + "\x01\n" + base[step+len("        steps:\n"):])
		syntaxMatchesWhole(t, data, minCutBytes, chunkBytes)
		_, err := Parse("split.yaml", data, Options{})
		_, _, want := parse("split.yaml", data, Options{}, false)
		if !reflect.DeepEqual(err, want) {
			bad++
			if bad <= 3 {
				t.Errorf("d=%d: Parse %v, whole document's %v", d, err, want)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d differ", bad, 600/7+1)
	}
}

// TestReviewSyntaxErrorNeighbours (review of de79dcd): a YAML syntax error
// after (or in) a large list whose elements syntaxError empties, where the
// emptied text could matter: merge keys and aliases to an anchor defined
// before the list, duplicate flows keys around it, a list in a flow
// mapping, a BOM, an error in the skeleton after the lists, a file just
// above the split threshold; each the whole document's error
// (runReviewCases: syntaxMatchesWhole with every list cut and with Parse's
// cuts, and Parse itself).
func TestReviewSyntaxErrorNeighbours(t *testing.T) {
	svc := "  - name: t\n    flows:\n      - name: t1\n        <<: *d\n        " + reviewStep + "\n      - name: t2\n        " + reviewStep + "\n"
	const anchor = "x-d: &d {interval: 60s}\n"
	broken := "        bogus: [\n" // in the large list's last flow
	runReviewCases(t, []reviewCase{
		{name: "merge keys to an anchor before the list", head: anchor, services: svc, tail: broken},
		{name: "aliases in the large list's last flow", head: anchor, tail: "        vars: *d\n" + broken},
		{name: "an anchor in a flow, its alias after the list", services: strings.Replace(svc, "<<: *d", "vars: &v {a: 1}", 1), tail: "        tags: *v\n" + broken},
		{name: "a duplicate flows key after the list", services: "  - name: t\n    flows:\n      - name: t1\n        " + reviewStep + "\n", tail: "    flows:\n      - name: u\n" + broken},
		{name: "a duplicate services key after the lists", tail: "services:\n  - name: u\n" + broken},
		{name: "a list in a flow mapping", services: "  - {name: a,\n    flows:\n      - name: a1\n        " + reviewStep + "\n    }\n", tail: broken},
		{name: "a BOM", head: "\uFEFF", tail: broken},
		{name: "an error in the skeleton after the lists", tail: "bogus: [\n"},
		{name: "an error in the skeleton after the lists, no line break", tail: "  - {"},
		{name: "an unknown alias after the lists", tail: "x: *nope\n"},
	})
	// Just above the split threshold, an error in the last flow.
	data := reviewDoc("", "", broken)
	if len(data) < splitMinBytes || len(data) > splitMinBytes+1200 {
		t.Fatalf("%d bytes", len(data))
	}
	parseMatchesWhole(t, data)
	syntaxMatchesWhole(t, data, 0, 1)
}
