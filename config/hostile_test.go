package config

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// flowOf is one flow whose step is the alias *st, n times.
func aliasedSteps(value string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "x: &s %q\nservices:\n  - name: svc\n    flows:\n      - name: f\n        steps:\n", value)
	b.WriteString("          - &st {name: a, function: *s, request: {url: \"http://127.0.0.1/\"}}\n")
	for i := 1; i < n; i++ {
		b.WriteString("          - *st\n")
	}
	return b.String()
}

// TestHostileDocumentsCostLittle covers #15 finding 1 and the echo of
// finding 10: documents whose errors used to repeat a huge value (through
// aliases, or once) are refused with output and memory bounded by the
// input, not by what the aliases expand to.
func TestHostileDocumentsCostLittle(t *testing.T) {
	mega := strings.Repeat("A", 1<<20)
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for c := 'b'; c <= 'j'; c++ {
		laughs += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", c, c, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1)
	}
	longKey := fmt.Sprintf("m: &m\n  ? %q\n  : {equals: x}\nservices:\n", strings.Repeat("K", 1<<20))
	for i := 0; i < 100; i++ {
		longKey += "  - {name: s, flows: [{name: f, steps: [{name: a, function: b, request: {url: \"http://x/\"}, expect: {jsonpath: *m}}]}]}\n"
	}
	bytesBomb := fmt.Sprintf("v: &v %q\nservices:\n  - name: s\n    flows:\n", mega)
	for i := 0; i < 100; i++ {
		bytesBomb += fmt.Sprintf("      - {name: f%d, vars: {a: *v}, steps: [{name: a, function: b, request: {url: \"http://x/\"}}]}\n", i)
	}
	tests := []struct {
		name string
		src  string
		want string // in the error text
	}{
		{"a 1 MB value aliased by 200 invalid names", aliasedSteps(mega, 200), `invalid name "AAAA`},
		{"a 7 MB value echoed once", "location: \"" + strings.Repeat("B", 7<<20) + "\"\n", `invalid name "BBBB`},
		{"a 1 MB key aliased into 100 key paths", longKey, "KKKK"},
		{"a billion laughs", laughs + "services: [{name: s, flows: [{name: f, steps: [{name: a, function: b, request: {url: \"http://x/\", json: *j}}]}]}]\n", "document too large"},
		{"1 MB of value aliased 100 times", bytesBomb, "bytes of values after expanding aliases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Parse("hostile.yaml", []byte(tt.src), Options{LookupEnv: func(string) (string, bool) { return "", false }})
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("accepted")
			}
			text := err.Error()
			if !strings.Contains(text, tt.want) {
				t.Errorf("error lacks %q:\n%.2000s", tt.want, text)
			}
			if limit := 128<<10 + 4*len(tt.src); len(text) > limit {
				t.Errorf("error text is %d bytes for %d bytes of input (limit %d)", len(text), len(tt.src), limit)
			}
			for _, line := range strings.Split(text, "\n") {
				if len(line) > 2<<10 {
					t.Errorf("an error line of %d bytes: %.200s...", len(line), line)
					break
				}
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(64<<20+16*len(tt.src)) {
				t.Errorf("allocated %d MB for %d bytes of input", alloc>>20, len(tt.src))
			}
		})
	}
}

// TestErrorsHaveLines covers finding 10's errors without a line number:
// problems on the first line and in the bytes themselves.
func TestErrorsHaveLines(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"depth on the first line", "x: " + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + "\n", "hostile.yaml:1: invalid YAML: exceeded max depth"},
		{"depth on line 3", "location: a\nservices: []\nx: " + strings.Repeat("{a: ", 10001) + "\n", "hostile.yaml:3: invalid YAML: exceeded max depth"},
		{"invalid UTF-8 on line 3", "location: ok\nservices:\n  - name: a\xff\xfe\n", "hostile.yaml:3: invalid YAML: invalid UTF-8 (byte 0xff)"},
		{"a control character on line 2", "location: ok\nservices: [\x01]\n", "hostile.yaml:2: invalid YAML: control character U+0001"},
		{"a syntax error on the first line", "a: b: c\n", "hostile.yaml:1: invalid YAML: mapping values are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("hostile.yaml", []byte(tt.src), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestTooManyProblems: a file with thousands of problems reports the first
// maxErrors and says it stopped.
func TestTooManyProblems(t *testing.T) {
	src := "services:\n"
	for i := 0; i < 5000; i++ {
		src += fmt.Sprintf("  - {name: s%d, bogus: 1}\n", i)
	}
	_, err := Parse("many.yaml", []byte(src), Options{})
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("got %v", err)
	}
	if len(es) > maxErrors+1 || !strings.Contains(es[len(es)-1].Error(), "too many problems") {
		t.Errorf("%d problems, last %v", len(es), es[len(es)-1])
	}
}
