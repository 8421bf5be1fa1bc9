package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// A pushed alert's description follows the window's current cause: login
// failed first, then login recovered and media went on failing alone. The
// change is sent at once (not at the next resend), with the same startsAt;
// the same cause again sends nothing.
func TestDescriptionFollowsCause(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()

	w := flowWindow(state.KindDown, "media", t0)
	w.CauseStep, w.Error = "login", "login: connection refused"
	w.Causes = []state.Cause{{Step: "login", Error: "login: connection refused", From: t0}}
	n.Handle([]state.Event{open(w)})
	mustTick(t, n, ctx)
	_, last := am.posts()
	if d := last[0].Annotations["description"]; !strings.Contains(d, "first failing step: login: connection refused") {
		t.Fatalf("description at open: %q", d)
	}

	clk.Advance(10 * time.Second)
	w.Causes = []state.Cause{
		{Step: "login", Error: "login: connection refused", From: t0, To: t0.Add(5 * time.Minute)},
		{Step: "media", Error: "media: status 503, want 201", From: t0.Add(5 * time.Minute)},
	}
	n.Handle([]state.Event{{Op: state.OpCause, Window: w}})
	mustTick(t, n, ctx)
	posts, last := am.posts()
	if posts != 2 {
		t.Fatalf("%d posts, want the change sent at once (2)", posts)
	}
	d := last[0].Annotations["description"]
	for _, want := range []string{"first failing step: media: status 503", "since 2021-05-05T21:52:00+09:00", "at first login: connection refused"} {
		if !strings.Contains(d, want) {
			t.Errorf("description after the change %q lacks %q", d, want)
		}
	}
	// A firing alert is sent with endsAt = now + 4*resend.
	if !last[0].StartsAt.Equal(t0) || !last[0].EndsAt.After(clk.Now()) {
		t.Errorf("startsAt %v endsAt %v: the alert must stay the same firing alert", last[0].StartsAt, last[0].EndsAt)
	}

	clk.Advance(10 * time.Second)
	n.Handle([]state.Event{{Op: state.OpCause, Window: w}, open(w)})
	mustTick(t, n, ctx)
	if p, _ := am.posts(); p != 2 {
		t.Errorf("%d posts after the same cause again, want none new", p)
	}
}

// A fleet's counted window lists every location's causes; when the one in
// force is still the first (busan-b's timeouts from the start, seoul-a's
// 503s come and go inside it), the description names it once, not again as
// "(since START; at first ...)" with the same text.
func TestDescriptionFirstCauseStillCurrent(t *testing.T) {
	am := newFakeAM(t)
	clk := clock.NewManual(t0)
	n := newTestNotifier(t, clk, "", am.srv.URL)
	ctx := context.Background()

	w := flowWindow(state.KindDown, "receive", t0)
	w.CauseStep, w.Error = "receive", "receive: timeout"
	w.Causes = []state.Cause{
		{Step: "receive", Error: "receive: timeout", From: t0},
		{Step: "receive", Error: "receive: status 503, want 200", From: t0.Add(30 * time.Second), To: t0.Add(35 * time.Second)},
	}
	n.Handle([]state.Event{open(w)})
	mustTick(t, n, ctx)
	_, last := am.posts()
	d := last[0].Annotations["description"]
	if !strings.Contains(d, "first failing step: receive: timeout") {
		t.Errorf("description %q lacks the cause in force", d)
	}
	if strings.Contains(d, "at first") || strings.Count(d, "receive: timeout") != 1 {
		t.Errorf("description %q repeats the first cause as if it had changed", d)
	}
}
