package probe

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"
	"github.com/slaprobe/slaprobe/clock"
)

// FuzzTemplate: parsing and rendering never panic; text without $ is itself;
// an escaped literal renders back to itself; a rendered JSON string is valid
// JSON that decodes to the rendered text.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", "${a}", "x-${b}-y", "$${a}", "$$${a}", "${", "${}", "${env:PW}",
		"${file:/run/key}", "${run.id}/${location}/${now}", "$", "$a", "${a${b}}", "\"\n\x00\u2028${a}",
		"${urlpath(a)}", `${hmac_sha256(env:PW, "x,y")}`, "${base64(urlquery(b))}", "${random.id}${now.unix_ms}${webhook.url}", "${sha256(}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sy := newSymbols(map[string]string{"env:PW": "pw", "file:/run/key": "key"})
		for _, n := range []string{"a", "b"} {
			sy.slotOf(n)
			sy.defined[n] = true
		}
		sc := &scope{vals: []string{"A", "B\"\\"}, runID: "id", location: "loc",
			clock: clock.NewManual(time.Unix(0, 0)), secrets: sy.secrets, webhookURL: "http://h/webhooks/t"}
		tp, err := sy.compile(s)
		if err == nil {
			out, err := tp.render(sc)
			if err != nil {
				t.Fatalf("render %q: %v", s, err)
			}
			if !strings.Contains(s, "$") && out != s {
				t.Fatalf("render %q = %q", s, out)
			}
			b := appendJSONString(nil, out)
			var back string
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("json %q: %v", b, err)
			}
			if utf8.ValidString(out) && back != out {
				t.Fatalf("json round trip %q -> %q", out, back)
			}
		}
		lit, err := parseTemplate(strings.ReplaceAll(s, "${", "$${"))
		if err != nil {
			t.Fatalf("escaped %q: %v", s, err)
		}
		if got, err := lit.render(sc); err != nil || got != s {
			t.Fatalf("escaped %q renders %q, %v", s, got, err)
		}
	})
}

// FuzzAssert: on any JSON document and path, extraction and every matcher
// run without panicking, and the scanner used for singular paths finds what
// a full parse with ojg finds.
func FuzzAssert(f *testing.F) {
	seeds := []struct{ doc, path, op string }{
		{`{"a":{"b":[1,2,{"c":"x"}]}}`, "$.a.b[2].c", "x"},
		{`{"messages":[{"id":"m-1"},{"id":"m-17"}]}`, "$.messages[*].id", "m-17"},
		{`{"n":12345678901234567890,"f":1.5e3}`, "$.n", "12345678901234567890"},
		{`{"a":1,"a":2}`, "$.a", "2"},
		{`{"k\"ey":true}`, `$["k\"ey"]`, "true"},
		{`[[[[]]]]`, "$[0][0]", "[[]]"},
		{`{"s":"\u00e9\n"}`, "$..s", "é"},
		{`null`, "$", "null"},
	}
	for _, s := range seeds {
		f.Add(s.doc, s.path, s.op)
	}
	f.Fuzz(func(t *testing.T, doc, path, op string) {
		if len(doc) > 1<<16 {
			return
		}
		data, err := oj.ParseString(doc)
		if err != nil {
			return
		}
		x, err := jp.ParseString(path)
		if err != nil {
			return
		}
		vals := x.Get(data)
		kind := subjMulti
		if singular(x) {
			kind = subjSingular
		}
		ms := []matcher{{op: opEquals}, {op: opContains}, {op: opExists, exists: true}, {op: opExists},
			{op: opGT, num: 1}, {op: opGE}, {op: opLT, num: -1}, {op: opLE}, {op: opMatches}}
		for i := range ms {
			_ = evalMatch(&ms[i], op, path, vals, kind, noScrub{})
			_ = evalMatch(&ms[i], op, "body", []any{doc}, subjText, noScrub{})
		}
		for _, v := range vals {
			_ = valueText(v)
		}
		segs, ok := scanPath(x)
		if !ok || !validJSON([]byte(doc)) {
			return
		}
		raw, found := lookupRaw([]byte(doc), segs)
		if found != (len(vals) > 0) {
			t.Fatalf("doc %q path %q: scanner found=%v, ojg selected %d", doc, path, found, len(vals))
		}
		if !found {
			return
		}
		var p oj.Parser
		got, err := decodeRaw(raw, &p)
		if err != nil {
			t.Fatalf("decode %q: %v", raw, err)
		}
		if !sameJSON(got, vals[0]) {
			t.Fatalf("doc %q path %q: scanner %#v, ojg %#v", doc, path, got, vals[0])
		}
	})
}

// sameJSON is jsonEqual with numbers compared to a relative 1e-12 (the two
// decoders may round long decimals differently).
func sameJSON(a, b any) bool {
	if fa, ok := toJSONNumber(a); ok {
		fb, ok := toJSONNumber(b)
		return ok && (fa == fb || math.Abs(fa-fb) <= 1e-12*math.Max(math.Abs(fa), math.Abs(fb)))
	}
	return jsonEqual(a, b, 0) || valueText(a) == valueText(b)
}
