package alert

import (
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestStoredErrorEscapedInDescription: the description of an alert for a
// window whose error was stored before the probe escaped errors (the
// daemon restores the window after an upgrade and re-sends its alert)
// holds no control or bidi character: its ESC [2J reached Alertmanager,
// and the terminal of whoever read the alert with amtool, as it was.
func TestStoredErrorEscapedInDescription(t *testing.T) {
	n := newTestNotifier(t, clock.NewManual(t0), "", "http://127.0.0.1:1")
	w := flowWindow(state.KindDown, "receive", t0)
	w.Error = "receive: certificate is valid for \x1b[2J\x1b[31mevil\a\u202e, not localhost"
	w.Causes = []state.Cause{{Step: "receive", Error: w.Error, From: t0}, {Step: "send", Error: "send: \u202eraw", From: t0.Add(60e9)}}
	d := n.render(w).Annotations["description"]
	if i := strings.IndexAny(d, "\x1b\a\u202e"); i >= 0 {
		t.Errorf("description holds a control or bidi character at byte %d: %q", i, d)
	}
	for _, want := range []string{`valid for \x1b[2J\x1b[31mevil\a\u202e, not localhost`, `send: \u202eraw`} {
		if !strings.Contains(d, want) {
			t.Errorf("description %q lacks %q", d, want)
		}
	}
}
