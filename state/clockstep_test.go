package state

import (
	"strings"
	"testing"
	"time"
)

// A run that starts before the flow's last run (the prober's wall clock
// stepped back) is observed at the time already covered, so a window is
// never closed (or opened) earlier than what was measured: a step back of 8
// minutes while the flow is down no longer closes the window at its own
// start, which lost the whole outage (m1-m1).
func TestClockStepBackKeepsTheOutage(t *testing.T) {
	p := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	for _, c := range []struct {
		name string
		runs []struct {
			at   time.Time
			spec string
		}
		want []string // the flow's events, as fmtEvent
	}{
		{
			name: "step back while down, then ok",
			runs: []struct {
				at   time.Time
				spec string
			}{{m(0), "ok"}, {m(1), "fail:send"}, {m(2), "fail:send"}, {m(3), "fail:send"}, {m(-5), "ok"}},
			want: []string{"open down flow m1 - m2 send", "close down flow m1 m3 m2 send"},
		},
		{
			name: "step back while down, still failing, then ok",
			runs: []struct {
				at   time.Time
				spec string
			}{{m(0), "ok"}, {m(1), "fail:send"}, {m(2), "fail:send"}, {m(-5), "fail:send"}, {m(-4), "fail:send"}, {m(-3), "ok"}},
			want: []string{"open down flow m1 - m2 send", "close down flow m1 m2 m2 send"},
		},
		{
			name: "step back while up, then an outage on the new timeline",
			runs: []struct {
				at   time.Time
				spec string
			}{{m(0), "ok"}, {m(1), "ok"}, {m(-5), "fail:send"}, {m(-4), "fail:send"}, {m(-3), "fail:send"}, {m(2), "ok"}},
			want: []string{"open down flow m1 - m1 send", "close down flow m1 m2 m1 send"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, p)
			var got []string
			for _, r := range c.runs {
				for _, e := range mc.Observe(mkRun(r.at, r.spec)) {
					if e.Window.Function == "" {
						got = append(got, fmtEvent(e))
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
