package report

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// Cases from the review of a prober's lifecycle over months (a prober that
// stops during an outage and is not back when a report is made): each failed
// on the code before its fix.

// TestLifecycleBelowQuorumEndsWithData: a location window still open when
// its prober stopped (it failed until its last run, then nothing: the
// prober crashed, or was retired, during an outage) is below quorum only
// while that location reports. Before, it ran to the period's end, or over
// a whole later period in which the location had no run at all, listed as
// "seen from too few locations" though seen from none.
func TestLifecycleBelowQuorumEndsWithData(t *testing.T) {
	m := time.Minute
	// c fails from 10:20 and stops at 10:30 (its window stays open in the
	// store); a and b pass throughout.
	runs := func() []probe.Run {
		var out []probe.Run
		for _, l := range []string{"a", "b"} {
			out = append(out, schedule(l, hm(10, 0), hm(12, 0), m, failing("ok"))...)
		}
		return append(out, schedule("c", hm(10, 0), hm(10, 30), m, failing("fail:login", [2]int{20, 30}))...)
	}
	tests := []struct {
		name     string
		from, to time.Time
		below    []string
		endCut   string
	}{
		{"the stop in the period", hm(10, 0), hm(11, 0), []string{
			"flow down 10:20-10:30 login c",
			"login down 10:20-10:30 login c",
			"receive down 10:20-10:30 login c",
			"send down 10:20-10:30 login c",
		}, CutNoData},
		{"a period after the stop", hm(11, 0), hm(12, 0), nil, ""},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, runs())
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Timelines: []*config.Timeline{}})
				if err != nil {
					t.Fatal(err)
				}
				svc := rep.Services[0]
				sameList(t, "below quorum", winList(svc.BelowQuorum), tc.below)
				for _, w := range svc.BelowQuorum {
					if w.EndCut != tc.endCut {
						t.Errorf("%s: end_cut %q, want %q", fnName(w), w.EndCut, tc.endCut)
					}
				}
				if len(svc.Windows) != 0 {
					t.Errorf("counted windows %q, want none", winList(svc.Windows))
				}
			})
		}
	}
}

// TestLifecycleIncidentInUnknownTime: a declared incident that falls wholly
// in time no run of its functions' flows covered (the prober was down) is
// not detected, and says why: start_cut and end_cut "no_data". Before, it
// read as a plain "not detected", as if the prober had watched the function
// pass while the provider declared it down. An incident partly covered by
// passing runs is not detected, with no cut: the prober saw it up.
func TestLifecycleIncidentInUnknownTime(t *testing.T) {
	m := time.Minute
	// One location: passing runs 10:00-10:30 and 11:00-12:00; no run in
	// between (the prober was stopped).
	runs := func() []probe.Run {
		return schedule("a", hm(10, 0), hm(12, 0), m, failing("gap", [2]int{30, 60}))
	}
	tests := []struct {
		name       string
		start, end time.Time
		cut        string
	}{
		{"wholly in the gap", hm(10, 40), hm(10, 50), CutNoData},
		{"the whole gap", hm(10, 31), hm(11, 0), CutNoData},
		{"partly seen passing", hm(10, 20), hm(10, 50), ""},
		{"seen passing", hm(11, 10), hm(11, 20), ""},
	}
	for _, st := range stores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig("UTC", m)
				s := st.open(t)
				load(t, s, cfg, runs())
				tls := timeline(incident("inc", "down", []string{"receive"}, tc.start, tc.end))
				rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(12, 0), Timelines: tls})
				if err != nil {
					t.Fatal(err)
				}
				rcs := rep.Services[0].Reconciliation
				if len(rcs) != 1 {
					t.Fatalf("%d reconciliations, want 1", len(rcs))
				}
				rc := rcs[0]
				if rc.Detected || rc.MeasuredStart != nil || rc.MeasuredEnd != nil {
					t.Errorf("detected %v, measured %v-%v; want not detected, nothing measured", rc.Detected, rc.MeasuredStart, rc.MeasuredEnd)
				}
				if rc.StartCut != tc.cut || rc.EndCut != tc.cut {
					t.Errorf("start_cut %q end_cut %q, want %q", rc.StartCut, rc.EndCut, tc.cut)
				}
			})
		}
	}
}

// TestLifecyclePrunedTimeSaysSo: time before the hour rollups' horizon
// (storage.hour_retention pruned them, and the windows that ended there) is
// unknown because its results are no longer kept, and the report says so:
// its unknown stretch's reason names the pruning, not "no run". Before, a
// month older than the retention read as one the prober never ran in, and
// `windows` over it listed nothing without a word.
func TestLifecyclePrunedTimeSaysSo(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig("UTC", time.Minute)
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "results.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Runs every minute 10:00-14:00, all passing; everything before 12:00
	// pruned.
	load(t, s, cfg, schedule("seoul-a", hm(10, 0), hm(14, 0), time.Minute, failing("ok")))
	cut := hm(12, 0)
	for {
		n, err := s.Prune(ctx, store.Cutoffs{Runs: cut, Minute: cut, Hour: cut}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1000 {
			break
		}
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []string // "start-end reason"
	}{
		{"wholly pruned", hm(10, 0), hm(11, 0), []string{"10:00-11:00 " + ReasonPruned}},
		{"pruned, then kept", hm(11, 0), hm(13, 0), []string{"11:00-12:00 " + ReasonPruned}},
		{"kept", hm(12, 0), hm(13, 0), nil},
		{"never run", hm(14, 30), hm(15, 0), []string{"14:30-15:00 " + ReasonNoRun}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var warned []string
			warn := func(msg string) { warned = append(warned, msg) }
			rep, err := Build(ctx, Input{Config: cfg, Store: s, From: tc.from, To: tc.to, Timelines: []*config.Timeline{}, Warn: warn})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range rep.Services[0].Unknown {
				got = append(got, u.Start.Format("15:04")+"-"+u.End.Format("15:04")+" "+u.Reason)
			}
			sameList(t, "unknown", got, tc.want)
			// The caller (report, windows) is told too: a windows listing
			// has no other place to say it.
			pruned := tc.from.Before(cut)
			if (len(warned) == 1 && strings.Contains(warned[0], "storage.hour_retention")) != pruned || len(warned) > 1 {
				t.Errorf("warnings %q; want one naming storage.hour_retention: %v", warned, pruned)
			}
		})
	}
}
