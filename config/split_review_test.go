package config

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// This file is an adversarial review of split.go: layouts of a large
// config that a line scanner could cut wrong, each compared with the whole
// document's parse on a file of at least splitMinBytes (the size Parse
// splits from).

// reviewMutants is how many mutants TestReviewMutants makes of each layout.
var reviewMutants = 100

// reviewParseMutants is how many TestReviewParseMutants makes of each.
var reviewParseMutants = 10

// reviewEdits is the most edits of one mutant.
var reviewEdits = 2

const reviewStep = `steps: [{name: s, function: f, request: {url: "http://x/"}}]`

// reviewDoc is head, "services:", services, a service of plain flows (of
// about 1 KiB each: a long var) that makes the file at least
// splitMinBytes, then tail.
func reviewDoc(head, services, tail string) []byte {
	long := strings.Repeat("x", 900)
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("services:\n")
	b.WriteString(services)
	b.WriteString("  - name: pad\n    flows:\n")
	for i := 0; b.Len()+len(tail) < splitMinBytes; i++ {
		fmt.Fprintf(&b, "      - name: pad-%05d\n        %s\n        vars: {pad: %s}\n", i, reviewStep, long)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

type reviewCase struct {
	name                 string
	head, services, tail string
	split                bool // the split parse is taken (else it must decline)
}

func runReviewCases(t *testing.T, cases []reviewCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			data := reviewDoc(tt.head, tt.services, tt.tail)
			if len(data) < splitMinBytes {
				t.Fatalf("%d bytes", len(data))
			}
			if got := splitMatchesWhole(t, data); got != tt.split {
				t.Errorf("split parse taken: %v, want %v", got, tt.split)
			}
			parseMatchesWhole(t, data)
		})
	}
}

// parseMatchesWhole: Parse's split parse (which cuts only the large lists,
// where splitMatchesWhole cuts every list) gives the whole document's
// result, or declines; it reports whether the split parse was taken.
func parseMatchesWhole(t *testing.T, data []byte) bool {
	t.Helper()
	opts := splitOptions(data)
	want, _, wantErr := parse("split.yaml", data, opts, false)
	syntaxMatchesWhole(t, data, minCutBytes, chunkBytes)
	if got, gotErr := Parse("split.yaml", data, opts); !reflect.DeepEqual(gotErr, wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse:\n%v\n%.2000v\nwhole document's:\n%v\n%.2000v\nof:\n%.3000s", gotErr, got, wantErr, want, data)
	}
	p := newParser("split.yaml", data, opts)
	if !p.load(true) {
		return false
	}
	got, gotErr := p.result()
	if !reflect.DeepEqual(gotErr, wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse:\n%v\n%.2000v\nwhole document's:\n%v\n%.2000v\nof:\n%.3000s", gotErr, got, wantErr, want, data)
	}
	return true
}

// TestReviewFlowContext: a service written as a flow mapping over lines,
// whose "flows:" stands alone on a line with "- " lines under it, is a YAML
// error in the whole document ("-" in flow context); the skeleton parses
// (the key's value is an empty null there) and the pieces parse alone.
func TestReviewFlowContext(t *testing.T) {
	runReviewCases(t, []reviewCase{
		{name: "a service as a flow mapping", services: "  - {name: a,\n    flows:\n      - name: a1\n        " + reviewStep + "\n    }\n"},
		{name: "a flow mapping, the list at the key's column", services: "  - {name: a,\n    flows:\n    - name: a1\n      " + reviewStep + "\n    }\n"},
		{name: "a flow mapping, flows first", services: "  - {\n    flows:\n      - name: a1\n        " + reviewStep + ",\n    name: a}\n"},
	})
	// The services list as a flow sequence over lines, made large by a
	// comment.
	data := []byte("services: [\n  {name: a,\n  flows:\n    - name: a1\n      " + reviewStep + "\n  }]\n" +
		strings.Repeat("# "+strings.Repeat("c", 1000)+"\n", splitMinBytes/1000+1))
	if len(data) < splitMinBytes || splitMatchesWhole(t, data) {
		t.Errorf("%d bytes: services as a flow sequence split", len(data))
	}
}

// TestReviewBudgetRunsOutAnywhere: whichever value the walk's budget of
// values (or of bytes) runs out on, the split parse reports what the whole
// document's does: the same problem on the same line, the flows list
// itself included (the skeleton's empty value stands for it).
func TestReviewBudgetRunsOutAnywhere(t *testing.T) {
	docs := []string{
		fmt.Sprintf(splitBase, "bogus: 1"),
		"services:\n  - name: a\n    flows:\n\n    # c\n      - name: a1\n        " + reviewStep + "\n\n    objective: 0.9\n",
		"services:\n- flows:\n  - name: a1\n    " + reviewStep + "\n  name: a\n",
	}
	for d, src := range docs {
		data := []byte(src)
		whole := newParser("b.yaml", data, Options{})
		whole.load(false)
		for _, which := range []string{"values", "bytes"} {
			limit := whole.visits
			if which == "bytes" {
				limit = whole.bytes
			}
			for n := 0; n <= limit; n++ {
				visits, bytes := n, 1<<30
				if which == "bytes" {
					visits, bytes = 1<<30, n
				}
				w, s := newParser("b.yaml", data, Options{}), newParser("b.yaml", data, Options{})
				s.minCut = 0 // cut these small lists too
				w.maxVisits, w.maxBytes = visits, bytes
				s.maxVisits, s.maxBytes = visits, bytes
				if !w.load(false) || !s.load(true) {
					t.Fatalf("doc %d: declined", d)
				}
				_, wantErr := w.result()
				_, gotErr := s.result()
				if !reflect.DeepEqual(gotErr, wantErr) {
					t.Fatalf("doc %d, budget of %d %s: split parse:\n%v\nwhole document:\n%v", d, n, which, gotErr, wantErr)
				}
			}
		}
	}
}

// flowAt is a flow named name whose list's "-" is at column col, with
// extra lines (each put under the flow's keys, at col+2) after its steps.
func flowAt(col int, name string, extra ...string) string {
	pad := strings.Repeat(" ", col)
	s := pad + "- name: " + name + "\n" + pad + "  " + reviewStep + "\n"
	for _, e := range extra {
		s += pad + "  " + e + "\n"
	}
	return s
}

// TestReviewLayouts: layouts of flows lists that a line scanner could cut
// wrong, in a file of at least splitMinBytes: the split parse, when it is
// taken, gives the whole document's result, config or errors.
func TestReviewLayouts(t *testing.T) {
	runReviewCases(t, reviewLayouts())
}

// reviewLayouts are TestReviewLayouts' cases (FuzzSplitMatchesWhole's seeds
// too, without the padding).
func reviewLayouts() []reviewCase {
	svc := func(name string, body string) string { return "  - name: " + name + "\n    flows:\n" + body }
	return []reviewCase{
		// Block scalars whose lines look like list elements or keys.
		{name: "literal with - name: lines", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: |", "    - name: fake", "    flows:", "", "      - name: fake2")+flowAt(6, "a2"))},
		{name: "literal with an indentation indicator", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: |2", "       - name: fake", "     x")+flowAt(6, "a2"))},
		{name: "strip and fold", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: |-", "    x", "", "", "  w: >", "    a", "    - b", "", "    c")+flowAt(6, "a2"))},
		{name: "kept literal then a comment at column 0 then a flow", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: |+", "    x", "")+"\n#c\n  \n"+flowAt(6, "a2"))},
		{name: "kept literal ends the list, spaces lines after", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: |+", "    x", "      ", "  ", ""))},
		{name: "a flow that is a literal", split: true, services: svc("a", "      - |\n       - name: x\n      - >-\n        y\n"+flowAt(6, "a2"))},
		{name: "a literal less indented than its first line", split: false, services: svc("a", flowAt(6, "a1", "vars:", "  v: |", "      x", "     y")+flowAt(6, "a2"))},
		{name: "a literal line at the list's column", split: false, services: svc("a", flowAt(6, "a1", "vars:", "  v: |", "    x")+"      y\n"+flowAt(6, "a2"))},
		// Plain scalars over lines.
		{name: "plain over lines", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: one", "   - two", "    three:x", "  flows:   x")+flowAt(6, "a2"))},
		{name: "plain flow over lines", split: true, services: svc("a", "      - a1\n        - b\n       c\n"+flowAt(6, "a2"))},
		{name: "plain continued at the list's column", split: false, services: svc("a", "      - a1\n      b\n"+flowAt(6, "a2"))},
		// Quoted scalars.
		{name: "double quoted with # : - and breaks", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: \"a # b: c", "- d", "#e", "      - name: z", "flows:", "  \"")+flowAt(6, "a2"))},
		{name: "single quoted over lines at column 0", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: 'a", "'")+flowAt(6, "a2"))},
		{name: "single quoted with a - line at the list's column", split: false, services: svc("a", flowAt(6, "a1", "vars:", "  v: 'a")+"      - b'\n"+flowAt(6, "a2"))},
		{name: "quoted keys", split: true, services: svc("a", "      - \"name\": a1\n        'steps': [{name: s, function: f, request: {url: \"http://x/\"}}]\n")},
		// Comments.
		{name: "comments at every column", split: true, services: svc("a", "#0\n  #2\n      #6\n"+flowAt(6, "a1")+"   #3\n            #12\n"+flowAt(6, "a2")+"#\n    # 4\n")},
		{name: "comment after the last flow, then a key", split: true, services: "  - name: a\n    flows:\n" + flowAt(6, "a1") + "      # c\n    objective: 0.5\n"},
		// flows: keys elsewhere.
		{name: "flows: in a request header", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  flows: x", "  v: |", "    flows:", "      - x"))},
		{name: "flows: list in request headers", split: true, services: svc("a", "      - name: a1\n        steps:\n          - name: s\n            function: f\n            request:\n              url: http://x/\n              headers:\n                flows:\n                  - x\n                x-flows: |\n                  flows:\n                  - y\n")},
		{name: "flows: list in webhook headers", split: false, services: svc("a", flowAt(6, "a1")), tail: "webhooks:\n  - name: w\n    url: http://x/\n    headers:\n      flows:\n        - x\n"},
		{name: "flows: list in reports", split: false, services: svc("a", flowAt(6, "a1")), tail: "reports:\n  - flows:\n      - a1\n"},
		{name: "flows: in status", split: false, services: svc("a", flowAt(6, "a1")), tail: "status:\n  flows:\n    - a1\n"},
		{name: "flows: in a flow's var literal", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: |", "    flows:", "      - name: no"))},
		// flows: values.
		{name: "flows: []", split: true, services: "  - name: a\n    flows: []\n"},
		{name: "flows: null", split: true, services: "  - name: a\n    flows:\n  - name: b\n    flows: ~\n"},
		{name: "flows: comment then items", split: true, services: "  - name: a\n    flows: # c\n    # d\n" + flowAt(6, "a1")},
		{name: "flows: then a flow sequence", split: true, services: "  - name: a\n    flows:\n      [{name: a1, " + reviewStep + "}]\n"},
		{name: "items at the key's column", split: true, services: "  - name: a\n    flows:\n" + flowAt(4, "a1") + flowAt(4, "a2") + "    objective: 0.9\n"},
		{name: "items at the key's column, service first", split: true, services: "  - flows:\n" + flowAt(4, "a1") + "    name: a\n"},
		{name: "items at the key's column under - flows:", split: true, services: "  -   flows:\n" + flowAt(6, "a1") + "      name: a\n"},
		{name: "duplicate flows keys", split: false, services: svc("a", flowAt(6, "a1")) + "    flows:\n" + flowAt(6, "a2")},
		{name: "duplicate flows keys, one empty", split: false, services: svc("a", flowAt(6, "a1")) + "    flows: []\n"},
		{name: "a key after the list", split: true, services: svc("a", flowAt(6, "a1")) + "    objective: 0.5\n    credits: [{below: 0.5, credit_percent: 10}]\n"},
		{name: "a key after the list, deeper than the key", split: false, services: svc("a", flowAt(8, "a1")) + "      objective: 0.5\n"},
		{name: "a - line after the list, deeper than the key", split: false, services: svc("a", flowAt(8, "a1")) + "      - name: a2\n        " + reviewStep + "\n"},
		// Whitespace and characters.
		{name: "trailing spaces", split: true, services: "  - name: a   \n    flows:   \n      - name: a1  \n        " + reviewStep + "   \n      -   \n"},
		{name: "no final newline", split: true, tail: "  - name: z\n    flows:\n      - name: z1\n        " + reviewStep},
		{name: "no final newline after a kept literal", split: true, tail: "  - name: z\n    flows:\n      - name: z1\n        " + reviewStep + "\n        vars:\n          v: |+\n            x\n\n  "},
		{name: "unicode", split: true, services: svc("ü", flowAt(6, "a1", "vars:", "  ü: \"é\u00a0\U0001F600\"", "  v: ✓ – ⁂"))},
		{name: "a long line", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  v: "+strings.Repeat("é", 3000)))},
		{name: "a line over the limit", split: false, services: svc("a", flowAt(6, "a1", "vars:", "  v: "+strings.Repeat("x", maxSplitLine)))},
		// Complex keys.
		{name: "? flows key", split: true, services: "  - name: a\n    ? flows\n    :\n" + flowAt(6, "a1")},
		{name: "? key in a flow", split: true, services: svc("a", flowAt(6, "a1", "vars:", "  ? v", "  : x", "  ? - flows:", "  : y"))},
		{name: "a service key that is a mapping holding flows:", split: false, services: "  - name: a\n    ?\n      flows:\n" + flowAt(8, "a1") + "    : 1\n"},
	}
}

// TestReviewErrorsAcrossChunks: problems in flows all over a large file,
// at the ends and starts of the pieces the lists are cut into, keep their
// lines and key paths (services[3].flows[1234]...), and the 200-problem
// limit stops both parses at the same problem.
func TestReviewErrorsAcrossChunks(t *testing.T) {
	// build writes 4 services of 2,000 five-line flows; flow i (counted
	// over the services) has an unknown key when bad(i).
	build := func(bad func(i int) bool) []byte {
		var b strings.Builder
		b.WriteString("services:\n")
		for s := range 4 {
			fmt.Fprintf(&b, "  - name: s%d\n    flows:\n", s)
			for f := range 2000 {
				fmt.Fprintf(&b, "      - name: f%d-%d\n        steps:\n          - name: s\n            function: f\n            request: {url: \"http://x/%s\"}\n", s, f, strings.Repeat("y", 40))
				if bad(s*2000 + f) {
					b.WriteString("            bogus: 1\n")
				}
			}
		}
		return []byte(b.String())
	}
	few := build(func(i int) bool { return i == 0 || i == 1999 || i == 2000 || i == 7234 })
	for _, data := range [][]byte{few, build(func(i int) bool { return i%37 == 0 })} {
		if len(data) < splitMinBytes {
			t.Fatalf("%d bytes", len(data))
		}
		if !splitMatchesWhole(t, data) {
			t.Fatal("declined")
		}
	}
	_, err := Parse("big.yaml", few, Options{})
	// A bad flow's bogus line follows its 5 lines; services[3].flows[1234]'s
	// is after 1 + 3 services of 2 + 10,000 lines, 3 bogus lines, 2 + 1,234
	// flows of 5 lines, and its own 5.
	want := []string{
		"big.yaml:9: services[0].flows[0].steps[0].bogus: unknown key",
		"big.yaml:10005: services[0].flows[1999].steps[0].bogus: unknown key",
		"big.yaml:10013: services[1].flows[0].steps[0].bogus: unknown key",
		fmt.Sprintf("big.yaml:%d: services[3].flows[1234].steps[0].bogus: unknown key", 1+3*10002+3+2+1234*5+5+1),
	}
	es, ok := err.(Errors)
	if !ok || len(es) != len(want) {
		t.Fatalf("got %v, want %d problems", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("problem %d: %v\nwant %s...", i, es[i], w)
		}
	}
}

// TestReviewMutants: the layouts of TestReviewLayouts and TestSplitFallsBack
// (without padding) with one line inserted from a pool of troublemakers,
// deleted, doubled or moved a column or two, parse the same split as
// whole (or the split parse declines).
func TestReviewMutants(t *testing.T) {
	var srcs []string
	for _, c := range reviewLayouts() {
		srcs = append(srcs, "services:\n"+c.services+c.tail)
	}
	for _, c := range append(fallbackCases(), edgeCases()...) {
		if len(c.src) < 4096 {
			srcs = append(srcs, c.src)
		}
	}
	n := reviewMutants
	rng := rand.New(rand.NewPCG(3, 4))
	taken, total := 0, 0
	for _, src := range srcs {
		lines := strings.Split(src, "\n")
		for range n {
			m := append([]string(nil), lines...)
			for range 1 + rng.IntN(reviewEdits) {
				m = mutate(rng, m, reviewPool)
			}
			total++
			if splitMatchesWhole(t, []byte(strings.Join(m, "\n"))) {
				taken++
			}
		}
	}
	t.Logf("%d of %d mutants split", taken, total)
}

// reviewPool are lines TestReviewMutants puts in.
var reviewPool = []string{
	"{", "}", "[", "]", "  {name: x,", "    flows:", "  - flows:", "flows:", "      - name: m", "    - name: m",
	"  ? flows", "  : x", "      ? x", "      : y", "|", "  v: |+", "  v: >2", "\"", "'", "# c", "", "   ", "      ",
	"        bogus: 1", "    objective: 0.9", "  - name: m2", "...x", "- ", "-", "      -", "    }", "  ]",
	// Tabs, which the split parse takes: in indentation, after "- " and
	// ":", in comments, quoted scalars and flow collections.
	"\t", "\t# c", "      \t- name: m", "      - \tname: m", "        x:\t1", "        # \tc", "        v: \"a\tb\"", "        v: {a:\t1,", "\tb: 2}", "    flows:\t# c",
}

// TestReviewParseMutants: Parse's own split parse (only lists of
// minCutBytes or more cut: here the padding service's) of the review
// layouts with their lines mutated as in TestReviewMutants gives the whole
// document's result or declines, and often splits.
func TestReviewParseMutants(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	taken, total := 0, 0
	for _, c := range reviewLayouts() {
		lines := strings.Split(strings.TrimSuffix(c.services, "\n"), "\n")
		for range reviewParseMutants {
			m := append([]string(nil), lines...)
			for range 1 + rng.IntN(reviewEdits) {
				m = mutate(rng, m, reviewPool)
			}
			total++
			if parseMatchesWhole(t, reviewDoc(c.head, strings.Join(m, "\n")+"\n", c.tail)) {
				taken++
			}
		}
	}
	if taken < total/4 {
		t.Errorf("only %d of %d mutants split", taken, total)
	}
	t.Logf("%d of %d mutants split", taken, total)
}

// mutate inserts a line from pool into m, deletes one, doubles one or
// moves one a column or two.
func mutate(rng *rand.Rand, m, pool []string) []string {
	if len(m) == 0 {
		return append(m, pool[rng.IntN(len(pool))])
	}
	i := rng.IntN(len(m))
	switch rng.IntN(4) {
	case 0:
		m = append(m[:i], append([]string{pool[rng.IntN(len(pool))]}, m[i:]...)...)
	case 1:
		m = append(m[:i], m[i+1:]...)
	case 2:
		m = append(m[:i], append([]string{m[i]}, m[i:]...)...)
	case 3:
		if d := rng.IntN(4) - 2; d >= 0 {
			m[i] = strings.Repeat(" ", d+1) + m[i]
		} else if strings.HasPrefix(m[i], strings.Repeat(" ", -d)) {
			m[i] = m[i][-d:]
		}
	}
	return m
}
