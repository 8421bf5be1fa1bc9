package redact

import (
	"slices"
	"strings"
	"testing"
)

// reference redacts s by brute force: every occurrence of every form of
// every value, overlapping or not, found at every byte; occurrences that
// share a byte are masked together, as one Mask. Occurrences that only
// touch (one ends where the next starts) keep a Mask each ("******" for a
// secret twice in a row): both Redact paths do so (the replacer masks
// non-overlapping occurrences one by one), and so the output does not
// depend on whether some other secret's forms happen to overlap.
func reference(values []string, s string) string {
	var forms []string
	for _, v := range values {
		forms = append(forms, Forms(v)...)
	}
	var occ [][2]int // [start, end) of every occurrence
	for i := range len(s) {
		end := -1
		for _, f := range forms {
			if strings.HasPrefix(s[i:], f) {
				end = max(end, i+len(f))
			}
		}
		if end >= 0 {
			occ = append(occ, [2]int{i, end})
		}
	}
	var b strings.Builder
	done := 0
	for k := 0; k < len(occ); {
		start, end := occ[k][0], occ[k][1]
		for k++; k < len(occ) && occ[k][0] < end; k++ {
			end = max(end, occ[k][1])
		}
		b.WriteString(s[done:start])
		b.WriteString(Mask)
		done = end
	}
	b.WriteString(s[done:])
	return b.String()
}

// overlappingTexts are texts in which forms of values overlap: for each
// pair of forms f, g (the first few of each value) and each p where f[p:]
// is a proper prefix of g, f[:p]+g; then one text holding them all.
func overlappingTexts(values []string) []string {
	var forms []string
	for _, v := range values {
		fs := Forms(v)
		forms = append(forms, fs[:min(len(fs), 4)]...)
	}
	var out []string
	for _, f := range forms {
		for _, g := range forms {
			for p := 1; p < len(f); p++ {
				if len(g) > len(f)-p && strings.HasPrefix(g, f[p:]) {
					out = append(out, f[:p]+g)
				}
			}
			out = append(out, f+g) // adjacent
		}
	}
	if len(out) > 64 {
		out = out[:64]
	}
	return append(out, strings.Join(out, ""))
}

// FuzzRedactDifferential checks Redact against reference, on both paths:
// the Redactor New builds, and the same forced onto the scan path (which
// New uses only when some forms overlap), so that the two agree.
func FuzzRedactDifferential(f *testing.F) {
	f.Add("abab1abab", "", "", uint8(0), "x abab1abab1abab y")
	f.Add("aaaaaaaa", "", "", uint8(0), strings.Repeat("a", 13))
	f.Add("abcd1234", "4xyz9876", "", uint8(1), "abcd1234xyz9876!")
	f.Add("s3cret-pw", "pw-s3c", "abc", uint8(2), "s3cret-pws3cret-pw-s3cret")
	f.Add("token", "token-extended-value", "", uint8(1), "x token-extended-value y token z")
	f.Add("çàçà€€çà", "€€çàç", "àç", uint8(2), "çàçà€€çàçà€€çàç")
	f.Add("\x01\x02\x01\x02", "\x02\x01\x02\x01", "", uint8(1), "\x01\x02\x01\x02\x01\x02")
	f.Add("aaaa", "aaa", "", uint8(1), "aaaaaaa aaa")
	f.Add("p%2Bq%2Bp", "%2Bp%2B", "", uint8(1), "p+q+p+q+p")
	f.Add("ab\"ab\"ab", "", "", uint8(0), `ab\"ab\"ab\"ab`)
	f.Fuzz(func(t *testing.T, s1, s2, s3 string, n uint8, text string) {
		values := []string{s1, s2, s3}[:int(n%3)+1]
		for _, v := range values {
			if len(v) > 64 {
				return // keep each run short: Forms escapes twice
			}
		}
		if len(text) > 4096 {
			return
		}
		r := New(values...)
		scan := *r
		if scan.r != nil && scan.overlapping == nil {
			scan.overlapping = new([256][]string)
			var forms []string
			for _, v := range values {
				for _, f := range Forms(v) {
					if !slices.Contains(forms, f) {
						forms = append(forms, f)
					}
				}
			}
			slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
			for _, f := range forms {
				scan.overlapping[f[0]] = append(scan.overlapping[f[0]], f)
			}
		}
		texts := append([]string{text}, overlappingTexts(values)...)
		for _, s := range texts {
			want := reference(values, s)
			if got := r.Redact(s); got != want {
				t.Fatalf("values %q, text %q (overlapping path %v):\n got %q\nwant %q", values, s, r.overlapping != nil, got, want)
			}
			if got := scan.Redact(s); got != want {
				t.Fatalf("values %q, text %q, scan path:\n got %q\nwant %q", values, s, got, want)
			}
		}
	})
}
