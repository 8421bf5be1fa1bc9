package alert

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// quorumSent are the quorum's alerts among sent, in order.
func quorumSent(sent []Alert) []Alert {
	var out []Alert
	for _, a := range sent {
		if a.Labels["location"] == QuorumLocation {
			out = append(out, a)
		}
	}
	return out
}

// TestFleetShortCountedOutagePages: a counted window that opens and closes
// between two verdicts is paged once: one push firing (startsAt its start,
// severity page, the summary saying it is over) and, lateHoldMin later,
// its resolve with endsAt its end; not again at the next verdicts, nor
// after a restart (the state file), the one during the hold included,
// which still sends the resolve. The ticket this prober pushed for its own
// window meanwhile, resolved saying "not counted", is sent again saying it
// was counted. Only the prober of the first location the window was seen
// from pages it (the others' pushes would fire it again once resolved);
// a window that ended before the notifier started, or where every
// location's data ends, is not paged.
func TestFleetShortCountedOutagePages(t *testing.T) {
	ctx := context.Background()
	own := flowWindow(state.KindDown, "", t0.Add(70*time.Second)) // seoul-a's own window
	start, end := t0.Add(80*time.Second), t0.Add(110*time.Second)
	short := func(locs, by string) state.Window {
		w := counted(start, end)
		w.Location, w.QuorumBy = locs, by
		return w
	}
	for _, tc := range []struct {
		name    string
		locs    string
		by      string         // QuorumBy: the locations whose windows began at its start
		unknown []state.Window // the verdict's Unknown
		restart bool           // restarted during the hold
		page    bool
	}{
		{name: "seen from seoul-a first", locs: "seoul-a, tokyo-c", page: true},
		{name: "restarted during the hold", locs: "seoul-a, tokyo-c", restart: true, page: true},
		{name: "seen from busan-b first", locs: "busan-b, seoul-a"},
		// The prober whose window reached the quorum pages it, not the
		// first of its locations: its kicked rebuild is the one that
		// could have seen it open and paged it (a late page from another
		// after that page's resolve fired it again in Alertmanager).
		{name: "the quorum reached by seoul-a", locs: "busan-b, seoul-a", by: "seoul-a", page: true},
		{name: "the quorum reached by tokyo-c", locs: "seoul-a, tokyo-c", by: "tokyo-c"},
		{name: "the quorum reached by busan-b and seoul-a at once", locs: "busan-b, seoul-a, tokyo-c", by: "busan-b, seoul-a"},
		{name: "ended where the data ends", locs: "seoul-a, tokyo-c", unknown: []state.Window{gapOf(end, time.Time{})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			am := newFakeAM(t)
			clk := clock.NewManual(t0.Add(time.Minute))
			path := filepath.Join(t.TempDir(), ".r.db.slaprobe-alerts.json")
			n := newFleetNotifier(t, clk, path, am.srv.URL)
			n.Reconcile(nil)
			n.SetFleet(Fleet{Fleet: true})
			mustTick(t, n, ctx)

			clk.Set(own.Confirmed)
			n.Handle([]state.Event{open(own)})
			mustTick(t, n, ctx)
			clk.Set(end)
			n.Handle([]state.Event{closeAt(own, end)})
			mustTick(t, n, ctx)
			if q := quorumSent(am.all(t)); len(q) != 0 {
				t.Fatalf("quorum's alerts before the verdict: %+v", q)
			}

			clk.Set(t0.Add(2 * time.Minute))
			before := len(am.all(t))
			n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{short(tc.locs, tc.by)}, Unknown: tc.unknown})
			mustTick(t, n, ctx)
			sent := am.all(t)[before:]
			q := quorumSent(sent)
			if !tc.page {
				if len(q) != 0 {
					t.Fatalf("paged: %+v, want nothing from this prober", q)
				}
			} else {
				if len(q) != 1 || q[0].Resolved() && !q[0].EndsAt.After(clk.Now()) || !q[0].StartsAt.Equal(start) || q[0].Labels["severity"] != "page" {
					t.Fatalf("at the verdict: %+v, want the quorum's page firing from %s", q, start)
				}
				if s := q[0].Annotations["summary"]; !strings.Contains(s, "was down for 30s") || !strings.Contains(s, "(over)") {
					t.Errorf("summary %q, want it to say the outage is over", s)
				}
				if d := q[0].Annotations["description"]; !strings.Contains(d, "(ended ") || !strings.Contains(d, "paged after its end") {
					t.Errorf("description %q, want it to say it ended", d)
				}
			}
			if tc.unknown == nil {
				// The ticket is sent again, resolved, saying it was counted.
				var amended bool
				for _, a := range sent {
					if a.Labels["location"] == "seoul-a" && a.Resolved() && strings.HasSuffix(a.Annotations["description"], countedAfterAll) {
						amended = true
					}
				}
				if !amended {
					t.Errorf("this prober's ticket was not sent again saying it was counted: %+v", sent)
				}
			}

			if tc.restart {
				clk.Advance(time.Minute)
				n = newFleetNotifier(t, clk, path, am.srv.URL)
				n.Reconcile(nil)
				n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{short(tc.locs, tc.by)}})
				mustTick(t, n, ctx)
			}
			// Verdicts go on, each with the window closed; the hold ends.
			for clk.Now().Before(t0.Add(10 * time.Minute)) {
				clk.Advance(time.Minute)
				n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{short(tc.locs, tc.by)}, Unknown: tc.unknown})
				mustTick(t, n, ctx)
			}
			q = quorumSent(am.all(t)[before:])
			if !tc.page {
				if len(q) != 0 {
					t.Fatalf("paged later: %+v", q)
				}
				return
			}
			if len(q) != 2 || !q[1].Resolved() || !q[1].EndsAt.Equal(end) || !q[1].StartsAt.Equal(start) {
				t.Fatalf("quorum's alerts sent: %+v, want the page firing once, then its resolve at %s", q, end)
			}

			// Restarted after it: nothing sent again.
			n = newFleetNotifier(t, clk, path, am.srv.URL)
			n.Reconcile(nil)
			n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{short(tc.locs, tc.by)}})
			mustTick(t, n, ctx)
			if q := quorumSent(am.all(t)[before:]); len(q) != 2 {
				t.Fatalf("after a restart: %+v, want nothing more", q[2:])
			}
		})
	}
}

// TestFleetLatePageNotBeforeStart: a counted window that ended before the
// notifier started is not paged late (another prober did, or no prober of
// this version ran), nor one an hour old.
func TestFleetLatePageNotBeforeStart(t *testing.T) {
	ctx := context.Background()
	am := newFakeAM(t)
	clk := clock.NewManual(t0.Add(2 * time.Hour))
	n := newFleetNotifier(t, clk, "", am.srv.URL)
	n.Reconcile(nil)
	w := counted(t0, t0.Add(time.Minute))
	w.Location = "seoul-a"
	n.SetFleet(Fleet{Fleet: true, Counted: []state.Window{w}})
	mustTick(t, n, ctx)
	if q := quorumSent(am.all(t)); len(q) != 0 {
		t.Fatalf("paged a window that ended before the start: %+v", q)
	}
}
