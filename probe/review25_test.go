package probe

import (
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/internal/redact"
)

// TestErrorFitsOnceRedactedWhole: a message longer than the bound plus a
// secret's length that fits the bound once its secrets are redacted is
// given whole, without a length note. The message was cut at 1 KiB and a
// secret's length before redacting, so a message of 1,000 bytes and the
// password five times (1,045 bytes; 1,015 once redacted) lost its last
// two "***" and ended "…(1045 bytes)", and one repeating the password 150
// times (1,350 bytes; 450 redacted) was cut to a third. Found by
// FuzzClipError (testdata/fuzz/FuzzClipError).
func TestErrorFitsOnceRedactedWhole(t *testing.T) {
	rs := &runState{r: &Runner{red: redact.New(testSecret)}}
	for _, tc := range []struct {
		name, msg string
	}{
		{"five secrets at the end", strings.Repeat("a", 1000) + strings.Repeat(testSecret, 5)},
		{"150 secrets", strings.Repeat(testSecret, 150)},
		{"secrets then text", strings.Repeat(testSecret, 200) + strings.Repeat("b", 400)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := "s: " + rs.redact(tc.msg)
			if len(want) > maxErrorBytes {
				t.Fatalf("the case is wrong: %d bytes once redacted", len(want))
			}
			if e := rs.clipError("s: ", tc.msg); e != want {
				t.Errorf("error of %d bytes ends ...%q, want the message redacted, %d bytes, ending ...%q",
					len(e), e[max(0, len(e)-30):], len(want), want[max(0, len(want)-30):])
			}
		})
	}
}
