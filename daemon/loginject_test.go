package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestHostileErrorLoggedOnOneLine pins that a target's text in a step's
// error cannot forge log lines or fields, nor reach a terminal as escapes:
// the window log passes the error as an attribute, which slog's text
// handler quotes (newlines, ESC, BEL, a fake level=ERROR and a fake
// key=value stay inside error="..."). Held already.
func TestHostileErrorLoggedOnOneLine(t *testing.T) {
	var buf syncBuffer
	cfg := testConfig(time.Minute, "msg")
	d, w := newTestDaemon(t, cfg, nil, Deps{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	startPipeline(d, w)
	const hostile = "send: got \"x\r\ntime=2026-03-01T12:00:00Z level=ERROR msg=\\\"store failed\\\" injected=yes\x1b[2J\x1b[31m\a\u202e\""
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		r := mkRun("msg", t0.Add(time.Duration(i)*time.Minute), "send")
		r.Steps[1].Error = hostile
		d.process(&r)
	}
	out := buf.String()
	if strings.ContainsAny(out, "\r\x1b\a\u202e") {
		t.Errorf("a control or bidi character reached the log:\n%q", out)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a line the daemon did not start: %q", line)
		}
		if f := strings.SplitN(line, " ", 3); len(f) < 3 || f[1] != "level=INFO" {
			t.Errorf("a line not at the daemon's own level: %q", line)
		}
		if strings.Contains(line, `msg="window opened"`) {
			n++
			if !strings.Contains(line, ` error="send: got \"x\r\ntime=2026-03-01T12:00:00Z level=ERROR msg=\\\"store failed\\\" injected=yes\x1b[2J\x1b[31m\a\u202e\""`) {
				t.Errorf("the error is not one quoted value: %q", line)
			}
		}
	}
	if n != 3 { // the flow's window, send's and receive's (blocked)
		t.Errorf("%d window opened lines, want 3:\n%s", n, out)
	}
}
