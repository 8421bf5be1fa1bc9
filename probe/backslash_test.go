package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestQuotedTargetTextKeepsBackslashesApart pins why textesc leaves a
// backslash as it is: what a target sent reaches a step's error quoted by
// Go's %q, where a backslash is written \\ already, so a value holding the
// four characters \x1b reads "\\x1b" and one holding an ESC "\u001b":
// no forgery, and no doubling of the quoting ("a\nb" stays "a\nb").
func TestQuotedTargetTextKeepsBackslashesApart(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"four characters", `{"v":"\\x1b[2J"}`, `(got "\\x1b[2J")`},
		{"an ESC", `{"v":"\u001b[2J"}`, `(got "\u001b[2J")`},
		{"a newline", `{"v":"a\nb"}`, `(got "a\nb")`},
		{"quotes", `{"v":"say \"hi\""}`, `(got "say \"hi\"")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tc.body)) //nolint:errcheck
			}))
			defer srv.Close()
			st := get("s", srv.URL+"/")
			st.Expect = config.Expect{JSONPath: []config.PathMatch{{Path: "$.v", Matcher: eq("other")}}}
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{st}}, Options{})
			if e := run.Steps[0].Error; !strings.HasSuffix(e, tc.want) {
				t.Errorf("error %q, want it to end %q", e, tc.want)
			}
		})
	}
}
