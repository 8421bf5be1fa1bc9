package alert

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// A window's alert says when it may really have begun, started_between:
// from the start of the last run before it, which passed (state.Window's
// StartUncertainty), to the end of its first failing run (StartLater),
// RFC 3339 in the configured zone as the description's times, rounded
// outwards to the second; "?" for a bound not known, no annotation when
// neither is. Its labels are those of the same window without bounds
// (labels identify an alert: other ones would fire it anew).
func TestStartedBetween(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	with := func(fn string, before, firstEnd time.Duration) state.Window {
		w := flowWindow(state.KindDown, fn, t0.In(time.UTC)) // as restored from the store
		if before != 0 {
			w.LastBefore = t0.Add(-before)
		}
		if firstEnd != 0 {
			w.FirstInEnd = t0.Add(firstEnd)
		}
		return w
	}
	for _, tc := range []struct {
		name string
		zone *time.Location
		w    state.Window
		want string // "" no annotation
	}{
		{"both", kst, with("", 50*time.Second, 2*time.Second), "2021-05-05T21:46:10+09:00 and 2021-05-05T21:47:02+09:00"},
		{"function", kst, with("receive", 50*time.Second, 2*time.Second), "2021-05-05T21:46:10+09:00 and 2021-05-05T21:47:02+09:00"},
		{"rounded outwards", kst, with("", 49500*time.Millisecond, 40*time.Millisecond), "2021-05-05T21:46:10+09:00 and 2021-05-05T21:47:01+09:00"},
		{"whole seconds stay", kst, with("", time.Minute, 15*time.Second), "2021-05-05T21:46:00+09:00 and 2021-05-05T21:47:15+09:00"},
		{"in the config's zone", ny, with("", 50*time.Second, 2*time.Second), "2021-05-05T08:46:10-04:00 and 2021-05-05T08:47:02-04:00"},
		{"earlier not known", kst, with("", 0, 2*time.Second), "? and 2021-05-05T21:47:02+09:00"},
		{"later not known (before schema 12)", kst, with("", 50*time.Second, 0), "2021-05-05T21:46:10+09:00 and ?"},
		{"neither known", kst, with("", 0, 0), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := NewNotifier(Options{URLs: []string{"http://127.0.0.1:1"}, Zone: tc.zone, Location: "seoul-a", Clock: clock.NewManual(t0)})
			if err != nil {
				t.Fatal(err)
			}
			a := n.render(tc.w)
			got, ok := a.Annotations["started_between"]
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("started_between %q (present %v), want %q", got, ok, tc.want)
			}
			plain := tc.w
			plain.LastBefore, plain.FirstInEnd = time.Time{}, time.Time{}
			if b := n.render(plain); !maps.Equal(a.Labels, b.Labels) || a.Annotations["description"] != b.Annotations["description"] {
				t.Errorf("labels %v and description %q, without the bounds %v and %q: want them the same", a.Labels, a.Annotations["description"], b.Labels, b.Annotations["description"])
			}
		})
	}
}

// An alert firing from before started_between (kept in the state file of
// an earlier slaprobe) gets it when its window's open is replayed after
// the restart, though its description is the same: before, only a changed
// description was sent again, so the alert lacked it until its window's
// cause changed.
func TestStartedBetweenReachesAFiringAlert(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(time.Minute))
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()
	old := flowWindow(state.KindDown, "", t0)
	n.Handle([]state.Event{open(old)})
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	w := old
	w.LastBefore, w.FirstInEnd = t0.Add(-50*time.Second), t0.Add(2*time.Second)
	clk.Advance(10 * time.Second) // before the resend is due
	before, _ := am.posts()
	n.Handle([]state.Event{open(w)})
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	after, last := am.posts()
	if after != before+1 || len(last) != 1 {
		t.Fatalf("posts %d -> %d (%+v), want the alert sent again", before, after, last)
	}
	if got, want := last[0].Annotations["started_between"], "2021-05-05T21:46:10+09:00 and 2021-05-05T21:47:02+09:00"; got != want {
		t.Errorf("started_between %q, want %q", got, want)
	}
	if !last[0].StartsAt.Equal(t0) {
		t.Errorf("startsAt %s, want %s kept", last[0].StartsAt, t0)
	}
}
