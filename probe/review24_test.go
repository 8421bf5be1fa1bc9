package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// TestCutErrorHoldsNoPieceOfASecret: an error cut at 1 KiB holds no piece
// of a secret, even when the secret comes many times before the cut. The
// message was cut a secret's length past the bound before redacting, so
// that a secret across the bound is seen whole; but each secret redacted
// before it shrinks to "***", so a Location repeating the password 150
// times was redacted to 450 bytes where it was 1,350, and the cut at 1 KiB
// of the redacted text then reached the raw cut, inside a password the
// redactor had not seen whole: the error ended "*********s3cret-…(N bytes)".
func TestCutErrorHoldsNoPieceOfASecret(t *testing.T) {
	for pad := range len(testSecret) {
		t.Run(strconv.Itoa(pad), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "http://x/%zz"+strings.Repeat("b", pad)+strings.Repeat(testSecret, 400))
				w.WriteHeader(http.StatusFound)
			}))
			t.Cleanup(srv.Close)
			step := get("s", srv.URL+"/?k=${env:PW}")
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{})
			e := run.Steps[0].Error
			if run.Steps[0].Status != StatusFailed || !strings.Contains(e, "***") {
				t.Fatalf("status %s, error %.200q", run.Steps[0].Status, e)
			}
			i := strings.Index(e, "…(")
			if i < 0 {
				t.Fatalf("the cut error does not say how long it was: ...%s", e[max(0, len(e)-40):])
			}
			body := strings.TrimRight(e[:i], "*")
			for k := 2; k <= len(testSecret); k++ {
				if strings.HasSuffix(body, testSecret[:k]) {
					t.Errorf("the error ends with %q, a piece of the secret: ...%s", testSecret[:k], e[max(0, i-40):])
				}
			}
			if len(e) > 1024+32 {
				t.Errorf("error of %d bytes", len(e))
			}
		})
	}
}

// TestErrorNotCutSaysNoLength: an error whose message is over the bound
// until its secrets are redacted, and then fits whole, is not marked cut:
// "…(1030 bytes)" after a message given whole read as if its end were
// missing.
func TestErrorNotCutSaysNoLength(t *testing.T) {
	rs := &runState{r: &Runner{red: redact.New(testSecret)}}
	for _, tc := range []struct {
		name, msg string
		cut       bool
	}{
		{"fits once redacted", strings.Repeat("a", 1018) + testSecret, false},
		{"exactly at the bound", strings.Repeat("a", 1021), false},
		{"one over", strings.Repeat("a", 1022), true},
		{"escapes past the bound", strings.Repeat("a", 1018) + "\x1b", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := rs.clipError("s: ", tc.msg)
			if got := strings.Contains(e, "…("); got != tc.cut {
				t.Errorf("error %q...%q (%d bytes) marked cut %v, want %v", e[:10], e[max(0, len(e)-30):], len(e), got, tc.cut)
			}
			if len(e) > 1024+len("…(10000 bytes)") {
				t.Errorf("error of %d bytes", len(e))
			}
			if !tc.cut && len(e) > 1024 {
				t.Errorf("error of %d bytes not cut", len(e))
			}
		})
	}
}
