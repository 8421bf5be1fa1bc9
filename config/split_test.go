package config

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/examples"
)

// splitOptions resolves every secret and file without the disk, the same
// for both parses of one input.
func splitOptions(data []byte) Options {
	return Options{
		LookupEnv: func(k string) (string, bool) { return fuzzSecret, k != "UNSET" },
		ReadFile: func(p string) ([]byte, error) {
			switch {
			case strings.Contains(p, "missing"):
				return nil, os.ErrNotExist
			case strings.HasSuffix(p, ".yaml"):
				return data, nil
			}
			return []byte(fuzzSecret + "\n"), nil
		},
	}
}

// splitMatchesWhole parses data both ways and fails unless the split parse
// either declines or gives the whole document's config or errors; it
// reports whether the split parse was taken.
func splitMatchesWhole(t *testing.T, data []byte) bool {
	t.Helper()
	opts := splitOptions(data)
	whole := newParser("split.yaml", data, opts)
	whole.load(false)
	want, wantErr := whole.result()
	// Cut every list, however small, into the usual chunks, and into
	// single elements.
	for _, chunk := range []int{chunkBytes, 1} {
		syntaxMatchesWhole(t, data, 0, chunk)
		split := newParser("split.yaml", data, opts)
		split.chunk, split.minCut = chunk, 0
		if !split.load(true) {
			return false
		}
		if split.visits != whole.visits || split.bytes != whole.bytes || split.maxVisits != whole.maxVisits {
			t.Fatalf("split walk: %d values, %d bytes (limit %d); whole: %d, %d (limit %d)",
				split.visits, split.bytes, split.maxVisits, whole.visits, whole.bytes, whole.maxVisits)
		}
		got, gotErr := split.result()
		if !reflect.DeepEqual(gotErr, wantErr) {
			t.Fatalf("split parse (chunks of %d bytes) errors:\n%v\nwhole document's:\n%v", chunk, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split parse (chunks of %d bytes) config differs:\n%+v\nwhole document's:\n%+v", chunk, got, want)
		}
	}
	return true
}

// exampleSeeds are the shipped configs and the test configs.
func exampleSeeds(t testing.TB) [][]byte {
	out := [][]byte{examples.DemoConfig(), []byte(minimal), scaleConfig(25)}
	for _, g := range []string{"testdata/errors/*.yaml", "testdata/design/*.yaml", "../examples/*.yaml"} {
		files, _ := filepath.Glob(g)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
	}
	return out
}

// FuzzSplitMatchesWhole: for any input, the flow-at-a-time parse of a
// large config gives the whole document's result, config or errors, or
// declines (Parse then parses the whole document).
func FuzzSplitMatchesWhole(f *testing.F) {
	for _, s := range exampleSeeds(f) {
		f.Add(s)
	}
	for _, c := range append(fallbackCases(), edgeCases()...) {
		f.Add([]byte(c.src))
	}
	for _, c := range append(reviewLayouts(), tabCases()...) {
		f.Add([]byte(c.head + "services:\n" + c.services + c.tail))
	}
	for _, in := range []string{"", "bogus: 1", "interval: 1ms", "vars:\n        v: |\n          x ${nope}\n"} {
		f.Add([]byte(fmt.Sprintf(splitBase, in)))
	}
	// YAML syntax errors in a flows list's first, middle and last element
	// and outside the lists (syntaxError), tabs among them.
	small := scaleConfig(30)
	for _, k := range brokenKinds {
		for _, at := range []string{"flow-00000", "flow-00004", "flow-00029"} {
			data, _ := breakAt(small, lineOf(small, at), k)
			f.Add(data)
		}
	}
	for _, e := range syntaxPool {
		data, _ := breakAt(small, lineOf(small, "svc-5"), brokenEdit{"", "  - name: svc-5", e})
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		splitMatchesWhole(t, data)
	})
}

// TestSplitTakesTheExamples: the scale config and most of the seeds take
// the split parse (so that the fuzz seeds exercise it) and match the whole
// document; the demo config's aliases (vars: *demo) make it decline.
func TestSplitTakesTheExamples(t *testing.T) {
	taken := 0
	seeds := exampleSeeds(t)
	for _, s := range seeds {
		if splitMatchesWhole(t, s) {
			taken++
		}
	}
	if !splitMatchesWhole(t, scaleConfig(25)) {
		t.Error("the scale config does not take the split parse")
	}
	if taken < len(seeds)*2/3 {
		t.Errorf("only %d of %d seeds take the split parse", taken, len(seeds))
	}
	t.Logf("%d of %d seeds split", taken, len(seeds))
}

// TestParseSplitsLargeConfigs: Parse takes the split path from
// splitMinBytes on, and the 50,000-flow config is split into every flow.
func TestParseSplitsLargeConfigs(t *testing.T) {
	data := scaleConfig(10_000)
	if len(data) < splitMinBytes {
		t.Fatalf("%d bytes: below splitMinBytes", len(data))
	}
	_, regions, ok := splitFlows(data, minCutBytes)
	n := 0
	for _, r := range regions {
		n += len(r.items)
	}
	if !ok || len(regions) != 10 || n != 10_000 {
		t.Fatalf("ok %v, %d regions, %d items", ok, len(regions), n)
	}
	if !splitMatchesWhole(t, data) {
		t.Fatal("declined")
	}
}

// splitBase is a config of three services whose flows lists are split;
// %s is put in at the end of the first flow of the second service.
const splitBase = `location: here
defaults: {interval: 30s}
services:
  - name: a
    flows:
      - name: a1
        steps: [{name: s, function: f, request: {url: "http://x/a1"}}]
      - name: a2
        steps: [{name: s, function: f, request: {url: "http://x/a2"}}]
  - name: b
    flows:
    - name: b1
      steps: [{name: s, function: f, request: {url: "http://x/b1"}}]
      %s
    - name: b2
      steps: [{name: s, function: f, request: {url: "http://x/b2"}}]
  - flows:
      - name: c1
        steps: [{name: s, function: f, request: {url: "http://x/c1"}}]
    name: c
`

// fallbackCases are inputs the split parse must decline, each for one
// reason.
func fallbackCases() []splitCase {
	base := fmt.Sprintf(splitBase, "")
	return []splitCase{
		{"an anchor in a flow", strings.Replace(base, "name: a2", "name: &n a2", 1)},
		{"an alias in a flow to a flow", strings.Replace(strings.Replace(base, "name: a1", "name: &n a1", 1), "name: b2", "name: *n", 1)},
		{"an anchor outside the flows", strings.Replace(base, "location: here", "location: &l here", 1)},
		{"an explicit tag in a flow", strings.Replace(base, "name: a2", "name: !!str a2", 1)},
		{"a local tag outside the flows", strings.Replace(base, "location: here", "location: !x here", 1)},
		{"a directive", "%YAML 1.1\n---\n" + base},
		{"a document start", "---\n" + base},
		{"a document end", base + "...\n"},
		{"CRLF line ends", strings.ReplaceAll(base, "\n", "\r\n")},
		{"a NEL", strings.Replace(base, "x/a1", "x/a\u00851", 1)},
		{"a BOM", "\uFEFF" + base},
		{"invalid UTF-8", strings.Replace(base, "x/a1", "x/a\xff1", 1)},
		{"a quoted scalar over lines", strings.Replace(base, `"http://x/a1"`, "\"http://x/\n  - a1\"", 1)},
		{"a flow mapping over lines", strings.Replace(base, "steps: [{name: s, function: f, request: {url: \"http://x/a2\"}}]", "steps: [{name: s, function: f,\n      - request: {url: \"http://x/a2\"}}]", 1)},
		{"a syntax error in a later flow", fmt.Sprintf(splitBase, "bad: [")},
		{"a flows key the walk does not reach", strings.Replace(base, "location: here", "x:\n  flows:\n    - 1\nlocation: here", 1)},
		{"a service written as a flow mapping over lines", base + "  - {name: d,\n    flows:\n      - name: d1\n        steps: [{name: s, function: f, request: {url: \"http://x/d1\"}}]\n    }\n"},
		{"a duplicate flows key", strings.Replace(base, "    name: c\n", "    name: c\n    flows:\n      - name: c2\n", 1)},
		{"a duplicate services key", base + "services:\n  - name: d\n    flows:\n      - name: d1\n"},
		{"a merge key outside the flows", strings.Replace(base, "  - name: b\n", "  - name: b\n    <<: {objective: 0.9}\n", 1)},
		{"a line too long to be sure of its depth", strings.Replace(base, "x/a1", "x/"+strings.Repeat("a", maxSplitLine), 1)},
		{"a line between a flows key and its list's column", strings.Replace(base, "  - name: b\n", "     z: 1\n  - name: b\n", 1)},
		{"block nesting near the depth limit", strings.Replace(base, "      - name: a2\n", "      - "+strings.Repeat("- ", 9994)+"1\n      - name: a2\n", 1)},
	}
}

// edgeCases are layouts the split parse must take.
func edgeCases() []splitCase {
	step := "steps: [{name: s, function: f, request: {url: \"http://x/\"}}]"
	return []splitCase{
		{"a kept block scalar ends the last flow", "services:\n  - name: a\n    flows:\n      - name: a1\n        " + step + "\n        vars:\n          v: |+\n            x\n\n\n# c\n\n  - name: b\n    flows: []\n"},
		{"a kept block scalar before the next flow", "services:\n  - name: a\n    flows:\n      - name: a1\n        " + step + "\n        vars:\n          v: |+\n            x\n\n  # c\n\n      - name: a2\n        " + step + "\n"},
		{"flows first in its service, its list at the key's column", "services:\n- flows:\n  - name: a1\n    " + step + "\n  -\n  - name: a3\n    " + step + "\n  name: a\n"},
		{"comments at column 0 between flows", "services:\n  - name: a\n    flows:\n#c\n      - name: a1\n#c\n        " + step + "\n#c\n      - name: a2 # c\n        " + step + "\n#c\n"},
		{"a plain scalar over lines", "services:\n  - name: a\n    flows:\n      - name: a1\n        " + step + "\n        vars:\n          v: one\n            two\n\n            three\n      - name: a2\n        " + step + "\n"},
		{"a quoted scalar over lines, indented", "services:\n  - name: a\n    flows:\n      - name: a1\n        " + step + "\n        vars:\n          v: \"one\n         - two\"\n      - name: a2\n        " + step + "\n"},
		{"a flow mapping over lines, indented", "services:\n  - name: a\n    flows:\n      - {name: a1,\n         " + step + "}\n      - name: a2\n        " + step + "\n"},
		{"a flow that is not a mapping", "services:\n  - name: a\n    flows:\n      - [a1]\n      - - x\n      - name: a2\n        " + step + "\n"},
		{"problems in every flow", "services:\n  - name: a\n    flows:\n      - name: a1\n        x: 1\n      - {}\n      - name: a1\n        " + step + "\n        interval: 0s\n"},
		{"no trailing newline", "services:\n  - name: a\n    flows:\n      - name: a1\n        " + step},
		{"a flows key with a comment", "services:\n  - name: a\n    flows:   # the flows\n      - name: a1\n        " + step + "\n"},
	}
}

type splitCase struct{ name, src string }

// TestSplitFallsBack: whatever the scanner cannot be sure of makes the
// split parse decline, and Parse gives the whole document's result.
func TestSplitFallsBack(t *testing.T) {
	if !splitMatchesWhole(t, []byte(fmt.Sprintf(splitBase, ""))) {
		t.Fatal("the base config does not split")
	}
	for _, tt := range fallbackCases() {
		t.Run(tt.name, func(t *testing.T) {
			if splitMatchesWhole(t, []byte(tt.src)) {
				t.Errorf("split parse taken:\n%s", tt.src)
			}
		})
	}
}

// TestSplitKeepsLines: problems inside later flows (split apart) have the
// file's lines and keys, sorted by line, and match the whole document's.
func TestSplitKeepsLines(t *testing.T) {
	tests := []struct {
		name, insert string
		want         []string
	}{
		{"an unknown key in a later flow", "bogus: 1", []string{"split.yaml:14: services[1].flows[0].bogus: unknown key"}},
		{"a bad interval", "interval: 1ms", []string{"split.yaml:14: services[1].flows[0].interval: 1ms is below the minimum of 1s"}},
		{"a duplicate flow name", "timeout: 5s\n    - name: a2\n      steps: [{name: s, function: f, request: {url: \"http://x/\"}}]", []string{
			"split.yaml:15: services[1].flows[1].name: duplicate flow name \"a2\" (first used on line 8",
		}},
		{"a block scalar", "vars:\n        v: |\n          x ${nope}\n", []string{"split.yaml:15: services[1].flows[0].vars.v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(fmt.Sprintf(splitBase, tt.insert))
			if !splitMatchesWhole(t, src) {
				t.Fatal("declined")
			}
			p := newParser("split.yaml", src, Options{})
			p.minCut = 0
			if !p.load(true) {
				t.Fatal("declined")
			}
			_, err := p.result()
			var es Errors
			if !errors.As(err, &es) || len(es) != len(tt.want) {
				t.Fatalf("got %v, want %d problems", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(es[i].Error(), w) {
					t.Errorf("problem %d: %v\nwant %s...", i, es[i], w)
				}
			}
		})
	}
}

// TestSplitMatchesWholeOnEdges: layouts the split parse takes, whose
// pieces must still come out as in the whole document.
func TestSplitMatchesWholeOnEdges(t *testing.T) {
	for _, tt := range edgeCases() {
		t.Run(tt.name, func(t *testing.T) {
			if !splitMatchesWhole(t, []byte(tt.src)) {
				t.Errorf("split parse declined:\n%s", tt.src)
			}
		})
	}
}

// TestSplitSpendsTheSameBudget: the split parse counts the values and bytes
// the whole document's walk counts, against the same limits (set from the
// whole file), so the guards of TestHostileDocumentsCostLittle mean the
// same on both paths (alias bombs never split: aliases make it decline).
func TestSplitSpendsTheSameBudget(t *testing.T) {
	for _, src := range [][]byte{scaleConfig(300), []byte(fmt.Sprintf(splitBase, "bogus: 1"))} {
		whole, split := newParser("b.yaml", src, Options{}), newParser("b.yaml", src, Options{})
		split.minCut = 0
		if !whole.load(false) || !split.load(true) {
			t.Fatal("declined")
		}
		if whole.visits == 0 || split.visits != whole.visits || split.bytes != whole.bytes ||
			split.maxVisits != whole.maxVisits || split.maxBytes != whole.maxBytes {
			t.Errorf("split walk: %d/%d values, %d/%d bytes; whole: %d/%d values, %d/%d bytes",
				split.visits, split.maxVisits, split.bytes, split.maxBytes, whole.visits, whole.maxVisits, whole.bytes, whole.maxBytes)
		}
	}
	if _, ok, _ := parse("b.yaml", []byte(aliasedSteps("x", 3)), Options{}, true); ok {
		t.Error("a file with aliases split")
	}
}

// TestSplitMatchesWholeOnRandomLayouts: documents built of services and
// flows lists at several columns, whose flows hold values that make the
// scanner's cuts hard (quoted and flow values spanning lines, block scalars,
// comments at any column), now and then with a line from a pool of
// troublemakers, parse the same split as whole, and enough of them split
// for that to mean something.
func TestSplitMatchesWholeOnRandomLayouts(t *testing.T) {
	// Values of a flow's var v, each spanning lines: @ is a line deeper
	// than v, %s the column of the flow's "-".
	values := []string{
		"|+\n@x\n\n", ">-\n@x\n@y\n", "\"a\n@b\"", "'a''\n@b'", "a\n@b", "[1,\n@2]", "{a: 1,\n@b: 2}",
		"|\n@x\n# c\n@y", "\"a\n# b\"", "\"a\n%s- b\"", "[1,\n%s- 2]", "a\n%s  b", "\"a\n%s  b\"",
	}
	trouble := []string{
		"# c", "", "  # c", "    name: dup", "       z: 1", "]", "\"", "- x", "  - name: t", "      - b\"", "        bogus: 1",
		"    objective: 0.9", "  -", "- flows:", "flows:", "      x: [", "services:",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	taken := 0
	const docs = 2000
	for i := range docs {
		var b strings.Builder
		line := func(format string, args ...any) {
			fmt.Fprintf(&b, format+"\n", args...)
			if rng.IntN(40) == 0 {
				b.WriteString(trouble[rng.IntN(len(trouble))] + "\n")
			}
		}
		// Now and then the lists sit inside a scalar or a flow collection
		// that the whole document reads differently from the skeleton.
		head, tail := []string{"location: l", "services:"}, ""
		switch rng.IntN(24) {
		case 0:
			head = []string{"location: |", "  l", "x: |"}
		case 1:
			head = []string{"location: \"l", "services:"}
			tail = "  \""
		case 2:
			head = []string{"location: l", "services: ["}
			tail = "  ]"
		case 3:
			head = []string{"{location: l,", "services:"}
			tail = "}"
		}
		for _, h := range head {
			line("%s", h)
		}
		for s := range 1 + rng.IntN(3) {
			key, col, end := "  - name: s%d\n    flows:", 4, ""
			switch rng.IntN(4) {
			case 0:
				key = "  - flows: # s%d"
			case 1:
				if rng.IntN(4) == 0 { // a flow mapping: the whole document refuses its "- " lines
					key, end = "  - {name: s%d,\n    flows:", "    }"
				}
			}
			list := col + 2*rng.IntN(2) // the list at the key's column or deeper
			pad := strings.Repeat(" ", list)
			line(key, s)
			for f := range 1 + rng.IntN(4) {
				line("%s- name: f%d-%d", pad, i, s*10+f)
				line("%s  steps: [{name: s, function: f, request: {url: \"http://x/\"}}]", pad)
				if rng.IntN(2) == 0 {
					line("%s  vars:", pad)
					v := values[rng.IntN(len(values))]
					v = strings.ReplaceAll(strings.ReplaceAll(v, "%s", pad), "@", pad+"      ")
					line("%s    v: %s", pad, v)
				}
			}
			if strings.HasPrefix(key, "  - flows:") {
				line("    name: s%d", s)
			}
			if end != "" {
				line(end)
			}
		}
		if tail != "" {
			line("%s", tail)
		}
		if splitMatchesWhole(t, []byte(b.String())) {
			taken++
		}
	}
	if taken < docs/5 {
		t.Errorf("only %d of %d documents split", taken, docs)
	}
	t.Logf("%d of %d documents split", taken, docs)
}

// TestSplitPiecesBounded: each piece costs a YAML parser (~15 us, ~5 KB), so
// flows lists under minCutBytes stay in the skeleton: a file of many tiny
// lists (splitreview's hostile case, 15 bytes a list) is parsed whole, and
// one mixing them with a large list cuts only that one, at most two pieces
// per minCutBytes of file.
func TestSplitPiecesBounded(t *testing.T) {
	var tiny strings.Builder
	tiny.WriteString("services:\n")
	for tiny.Len() < 2<<20 {
		tiny.WriteString("- flows:\n  - 1\n")
	}
	if _, regions, ok := splitFlows([]byte(tiny.String()), minCutBytes); !ok || len(regions) != 0 {
		t.Errorf("tiny lists: ok %v, %d lists cut", ok, len(regions))
	}

	var b strings.Builder
	b.WriteString("services:\n")
	for s := range 3000 {
		fmt.Fprintf(&b, "  - name: s%d\n    flows:\n      - name: f%d\n        steps: [{name: s, function: f, request: {url: \"http://x/\"}}]\n", s, s)
	}
	b.WriteString("  - name: big\n    flows:\n")
	for f := range 2000 {
		fmt.Fprintf(&b, "      - name: big-%d\n        steps: [{name: s, function: f, request: {url: \"http://x/\"}}]\n", f)
	}
	data := []byte(b.String())
	whole, split := newParser("m.yaml", data, Options{}), newParser("m.yaml", data, Options{})
	if !whole.load(false) || !split.load(true) {
		t.Fatal("declined")
	}
	if len(split.regions) != 1 || split.pieces == 0 || split.pieces > 2*len(data)/minCutBytes {
		t.Errorf("%d lists cut, %d pieces for %d bytes", len(split.regions), split.pieces, len(data))
	}
	want, wantErr := whole.result()
	got, gotErr := split.result()
	if wantErr != nil || gotErr != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("split parse differs from the whole document's (errors %v, %v)", gotErr, wantErr)
	}
}
