package state

import (
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A restart between a flow's last run and a run that starts before it (the
// wall clock stepped back while the prober was stopped, or a VM resumed
// with the process restarted) closes the window as the live machine does:
// Restore and Resume put back the time already covered, so the restarted
// machine observes the run at m3, not at its own start (m-5), and the
// outage keeps its measured length.
func TestClockStepBackAcrossARestart(t *testing.T) {
	p := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	fns := []string{"login", "send", "receive"}
	specs := []string{"ok", "fail:send", "fail:send", "fail:send"}
	live := New("messaging", "chat", "seoul-a", fns, p)
	var tail []probe.Run
	for i, s := range specs {
		live.Observe(mkRun(m(i), s))
		tail = append(tail, *mkRun(m(i), s))
	}
	restarted := New("messaging", "chat", "seoul-a", fns, p)
	restarted.Restore(live.OpenWindows(), m(3))
	restarted.Resume(tail, live.OpenWindows())
	events := func(evs []Event) string {
		var out []string
		for _, e := range evs {
			out = append(out, fmtEvent(e))
		}
		return strings.Join(out, "\n")
	}
	if evs := restarted.Stale(m(-5)); len(evs) != 0 {
		t.Errorf("stale at m-5 after a step back: %s, want none", events(evs))
	}
	got, want := events(restarted.Observe(mkRun(m(-5), "ok"))), events(live.Observe(mkRun(m(-5), "ok")))
	if got != want || !strings.Contains(got, "close down flow m1 m3 m2 send") {
		t.Errorf("restarted:\n%s\nlive:\n%s\nwant the window closed at m3 by both", got, want)
	}
}

// The trade-off README states, pinned: after a step forward of an hour and
// a step back of an hour (date -s set wrong, then corrected), the hour the
// clock skipped is unknown and the runs of the repeated hour take no
// length: an outage of three runs there reads as a down window of 0 s at
// the covered time (m61).
func TestClockStepForwardThenBack(t *testing.T) {
	p := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, p)
	var got []string
	for _, r := range []struct {
		at   int
		spec string
	}{{0, "ok"}, {1, "ok"}, {61, "ok"}, {2, "fail:send"}, {3, "fail:send"}, {4, "fail:send"}, {5, "ok"}, {62, "ok"}} {
		for _, e := range mc.Observe(mkRun(m(r.at), r.spec)) {
			if e.Window.Function == "" {
				got = append(got, fmtEvent(e))
			}
		}
	}
	want := []string{"close unknown flow m2 m61 m2 -", "open down flow m61 - m61 send", "close down flow m61 m61 m61 send"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The runs of the time a step back repeats take no length, as README says,
// also when they last: with runs of 15 s every minute, a step back of an
// hour while down, 20 more failing runs and then an ok one close the
// window at the end of the last run before the step (m3.25). Each
// repeated run was observed at the covered time and pushed it on by its
// own duration, so the window closed at m8.25, 5 minutes that neither the
// old timeline nor the new one measured.
func TestClockStepBackRepeatedRunsTakeNoLength(t *testing.T) {
	p := Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1}
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, p)
	observe := func(at time.Time, spec string) []Event {
		r := mkRun(at, spec)
		r.Duration = 15 * time.Second
		return mc.Observe(r)
	}
	for i, s := range []string{"ok", "fail:send", "fail:send", "fail:send"} {
		observe(m(i), s)
	}
	for i := range 20 {
		if evs := observe(m(-56+i), "fail:send"); len(evs) != 0 {
			t.Fatalf("a failing run at m%d while down: %v", -56+i, evs)
		}
	}
	var got []string
	for _, e := range observe(m(-36), "ok") {
		if e.Window.Function == "" {
			got = append(got, fmtEvent(e))
		}
	}
	if want := "close down flow m1 m3.25 m2 send"; strings.Join(got, "\n") != want {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
