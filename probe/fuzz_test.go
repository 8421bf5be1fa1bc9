package probe

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ohler55/ojg/jp"
	"github.com/ohler55/ojg/oj"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/internal/textesc"
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

// FuzzClipError: a step's error built from a secret in each of the forms
// the redactor knows, whole or cut, between control characters, bytes that
// are not UTF-8, bidi overrides, multi-byte text and other text, at any
// alignment to the 1 KiB bound, comes out of clipError
//   - at most 1 KiB before its length note, valid UTF-8, with no control or
//     bidi reordering character raw;
//   - whole (the message redacted and escaped, nothing else) when that fits,
//     and otherwise a prefix of it followed by "…(N bytes)", N the
//     message's length;
//   - holding no piece (4 bytes or more) of a form of the secret that the
//     message showed only as part of the secret: every such piece the error
//     holds is also in the message with each occurrence of every form (the
//     overlapping ones too) blanked, and escaped.
func FuzzClipError(f *testing.F) {
	f.Add("s3cret-pw", []byte{0, 6, 12, 1, 2, 3, 4, 5}, "x", uint16(1000))
	f.Add("pässwörd", []byte{0, 0, 0, 0, 1, 0, 6, 12, 18, 24}, "日本", uint16(1019))
	f.Add("a/b+c=d&e", []byte{30, 36, 42, 48, 54, 60, 66, 72, 78, 84, 90}, "%", uint16(1))
	f.Add("s3cret-pw", bytes.Repeat([]byte{0}, 150), "", uint16(7))
	f.Add("aaaaaaaa", []byte{3, 3, 3, 3}, "a", uint16(1021))
	f.Add("abab1abab", []byte{0, 0, 2, 0}, "1abab", uint16(1010))
	f.Fuzz(func(t *testing.T, secret string, ops []byte, filler string, pad uint16) {
		if len(secret) < redact.MinLen || len(secret) > 40 || !utf8.ValidString(secret) || len(filler) > 64 || len(ops) > 512 ||
			strings.ContainsAny(secret, "*…") || strings.IndexFunc(secret, func(r rune) bool {
			return unicode.IsControl(r) || textesc.IsBidi(r)
		}) >= 0 {
			return
		}
		forms := redact.Forms(secret)
		var b strings.Builder
		b.WriteString(strings.Repeat("a", int(pad)%1100))
		specials := []string{"\x1b", "\n", "\x00", "\x7f", "\u0085", "\x9b", "\xff", "\xc3", "é", "日", "😀", "\u202e", "\u2067", "\u200f"}
		for _, op := range ops {
			k := int(op) / 4
			switch op % 4 {
			case 0:
				b.WriteString(forms[k%len(forms)])
			case 1:
				b.WriteString(specials[k%len(specials)])
			case 2:
				b.WriteString(filler)
			case 3:
				f := forms[k%len(forms)]
				b.WriteString(f[:k%len(f)]) // a piece of a form, alone: not a secret
			}
		}
		msg := b.String()
		rs := &runState{r: &Runner{red: redact.New(secret)}}
		e := rs.clipError("s: ", msg)

		full := "s: " + textesc.Text(rs.redact(msg))
		if !utf8.ValidString(e) {
			t.Fatalf("error not UTF-8: %q", e)
		}
		if i := strings.IndexFunc(e, func(r rune) bool { return unicode.IsControl(r) || textesc.IsBidi(r) }); i >= 0 {
			t.Fatalf("error holds %q raw at %d: %q", e[i:], i, e)
		}
		body := e
		if len(full) <= maxErrorBytes {
			if e != full {
				t.Fatalf("message fits once redacted and escaped (%d bytes) but error is\n%q\nwant\n%q", len(full), e, full)
			}
		} else {
			note := "…(" + strconv.Itoa(len(msg)) + " bytes)"
			if !strings.HasSuffix(e, note) {
				t.Fatalf("cut error (%d bytes redacted and escaped) does not end with %q: ...%q", len(full), note, e[max(0, len(e)-40):])
			}
			body = strings.TrimSuffix(e, note)
			if !strings.HasPrefix(full, body) {
				t.Fatalf("cut error is not a prefix of the message redacted and escaped:\n%q\n%q", body, full)
			}
			// Of masks that touch, the whole ones stay (redact.Cut): a cut
			// inside a run of '*' leaves a whole number of masks of it.
			if stars := len(body) - len(strings.TrimRight(body, "*")); stars%len(redact.Mask) != 0 && len(body) < len(full) && full[len(body)] == '*' {
				t.Fatalf("cut inside a run of '*' (a piece of a mark kept): ...%q", body[max(0, len(body)-20):])
			}
		}
		if len(body) > maxErrorBytes {
			t.Fatalf("error of %d bytes before its note", len(body))
		}
		// The message with every occurrence of every form blanked.
		covered := make([]bool, len(msg))
		for _, f := range forms {
			for i := 0; i+len(f) <= len(msg); i++ {
				if msg[i:i+len(f)] == f {
					for j := i; j < i+len(f); j++ {
						covered[j] = true
					}
				}
			}
		}
		blank := []byte(msg)
		for i, c := range covered {
			if c {
				blank[i] = '*'
			}
		}
		shown := textesc.Text(string(blank))
		inForm := func(p string) bool {
			for _, f := range forms {
				if strings.Contains(f, p) {
					return true
				}
			}
			return false
		}
		body = strings.TrimPrefix(body, "s: ")
		for i := range len(body) {
			for j := i + redact.MinLen; j <= len(body) && inForm(body[i:j]); j++ {
				if !strings.Contains(shown, body[i:j]) {
					t.Fatalf("error holds %q, a piece of a form of the secret %q the message held only within one: ...%q...", body[i:j], secret, body[max(0, i-20):min(len(body), j+20)])
				}
			}
		}
	})
}
