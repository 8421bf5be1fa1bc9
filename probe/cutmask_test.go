package probe

import (
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/internal/redact"
)

// A cut error never ends in a piece of a "***": the cut that falls inside a
// mark drops the part before it (of marks that touch, the whole ones stay),
// so no lone "*" or "**" reads as the target's own text. Before, "a"x1020 then the password
// became "s: " + "a"x1020 + "*…(1129 bytes)".
func TestCutInsideMaskDropsIt(t *testing.T) {
	rs := &runState{r: &Runner{red: redact.New(testSecret)}}
	const prefix = "s: "
	limit := maxErrorBytes - len(prefix)
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"one star before the cut", strings.Repeat("a", limit-1) + testSecret + strings.Repeat("b", 100), strings.Repeat("a", limit-1)},
		{"two stars before the cut", strings.Repeat("a", limit-2) + testSecret + strings.Repeat("b", 100), strings.Repeat("a", limit-2)},
		{"a whole mark before the cut", strings.Repeat("a", limit-3) + testSecret + strings.Repeat("b", 100), strings.Repeat("a", limit-3) + "***"},
		{"touching marks", strings.Repeat("a", limit-4) + testSecret + testSecret + strings.Repeat("b", 100), strings.Repeat("a", limit-4) + "***"},
		{"escapes before", strings.Repeat("\x1b", limit/4) + testSecret + strings.Repeat("b", 100), strings.Repeat(`\x1b`, limit/4)},
		{"a long message", strings.Repeat("a", limit-1) + testSecret + strings.Repeat("b", 5000), strings.Repeat("a", limit-1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rs.clipError(prefix, tc.msg)
			body, _, ok := strings.Cut(e, "…(")
			if !ok {
				t.Fatalf("error %q not cut", e)
			}
			if body != prefix+tc.want {
				t.Errorf("cut error ends ...%q, want ...%q", body[max(0, len(body)-12):], (prefix + tc.want)[max(0, len(prefix+tc.want)-12):])
			}
		})
	}
	// Wherever the cut falls, every star of the error is in a whole "***".
	for pad := limit - 40; pad <= limit+40; pad++ {
		for _, slack := range []string{"", strings.Repeat("c", 2000)} {
			msg := strings.Repeat("a", pad) + testSecret + testSecret + "x" + testSecret + slack
			e := rs.clipError(prefix, msg)
			if body, _, _ := strings.Cut(e, "…("); strings.Contains(strings.ReplaceAll(body, redact.Mask, ""), "*") {
				t.Errorf("pad %d: error ends ...%q: a piece of a mark", pad, body[max(0, len(body)-12):])
			}
		}
	}
}
