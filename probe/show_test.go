package probe

import (
	"strings"
	"testing"
)

// TestShowClosesCutQuote: a long value quoted in a failure is cut after 64
// bytes; the cut left its quote open ("hello...), so the window's cause
// grouping (state.sameCause, which treats quoted values as what changes
// between runs) took two runs that got different long values for two
// causes, one more in the window's causes for every run. The cut value is
// closed again: "hello...".
func TestShowClosesCutQuote(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		v    any
		want string
	}{
		{long, `"` + strings.Repeat("a", 63) + `..."`},
		{map[string]any{"k": long}, `{"k":"` + strings.Repeat("a", 58) + `..."`},
		{map[string]any{"a": "b", "c": strings.Repeat("1", 100)}, `{"a":"b","c":"` + strings.Repeat("1", 50) + `..."`},
		{[]any{int64(1), int64(2)}, `[1,2]`},
		{"short", `"short"`},
		{"with \"quote\" " + long, `"with \"quote\" ` + strings.Repeat("a", 48) + `..."`},
	}
	for _, tc := range tests {
		if got := show([]any{tc.v}, nil); got != tc.want {
			t.Errorf("show(%.20v...) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
