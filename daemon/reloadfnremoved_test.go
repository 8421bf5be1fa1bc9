package daemon

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/state"
)

// A reload that removes a function whose window is open and shortens the
// interval closes that window where the daemon with its store closes it
// and where a daemon without it, re-judging its held runs, closes it: the
// reload's closeAll (update) and the re-judging's reconfigure, an interval
// after the last run at the latest. Every 5 minutes, receive failing
// (down_after 2), reloaded to every minute without receive 2 minutes after
// the last run.
func TestReloadRemovingAFunctionClosesItsWindowAlike(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	shorter := testConfig(time.Minute, "msg")
	f := &shorter.Services[0].Flows[0]
	f.Steps = f.Steps[:2]
	life := func(detached bool) (evs []string) {
		st := &fakeStore{lastRuns: map[string]time.Time{"msg": now.Add(-2 * time.Second)}}
		l := startLife(t, testConfig(5*time.Minute, "msg"), st, now, detached, failAt("receive"))
		d, fw := l.d, l.fw
		l.advance(12 * time.Minute)
		waitFor(t, "two runs", func() bool { return d.processed.Load() >= 2 })
		if err := d.Reload(shorter); err != nil {
			t.Fatal(err)
		}
		l.advance(14 * time.Minute)
		l.attach()
		l.stop()
		fw.mu.Lock()
		defer fw.mu.Unlock()
		for _, ev := range fw.events {
			w := ev.Window
			if ev.Op != state.OpClose || w.Function != "receive" {
				continue
			}
			evs = append(evs, fmt.Sprintf("%s %s %q %s-%s", ev.Op, w.Kind, w.Function, w.Start.Format(time.TimeOnly), w.End.Format(time.TimeOnly)))
		}
		slices.Sort(evs)
		return evs
	}
	want := life(false)
	got := life(true)
	if len(want) == 0 {
		t.Fatal("receive's window was not closed by the reload")
	}
	if !slices.Equal(got, want) {
		t.Errorf("receive's window closed, re-judged after the store came back:\n  %s\nwith the store throughout:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
