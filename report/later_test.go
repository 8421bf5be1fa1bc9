package report

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// laterRuns are runs every minute from hourStart at loc, failing at send in
// the minutes [down[0], down[1]), each lasting 300 ms but those given in
// durs (by minute).
func laterRuns(loc string, down [2]int, durs map[int]time.Duration) []probe.Run {
	runs := schedule(loc, hourStart, hourStart.Add(time.Hour), time.Minute, failing("fail:send", down))
	for i := range runs {
		if d, ok := durs[int(runs[i].Start.Sub(hourStart)/time.Minute)]; ok {
			runs[i].Duration = d
		}
	}
	return runs
}

// laterBounds are a window's edges and its four uncertainties, as JSON
// gives them: "10:12 -1m0s +15s / 10:20 -1m0s +14s", "?" for null.
func laterBounds(w Window) string {
	f := func(v *float64) string {
		if v == nil {
			return "?"
		}
		return time.Duration(*v * float64(time.Second)).String()
	}
	end := "open"
	if w.End != nil {
		end = w.End.UTC().Format("15:04")
	}
	return fmt.Sprintf("%s -%s +%s / %s -%s +%s", w.Start.UTC().Format("15:04"), f(w.StartUncertaintySeconds), f(w.StartUncertaintyLaterSeconds),
		end, f(w.EndUncertaintySeconds), f(w.EndUncertaintyLaterSeconds))
}

// TestWindowsLaterBound: a window's JSON says how much later each edge may
// have been (start_uncertainty_later_seconds: the first failing run's
// duration; end_uncertainty_later_seconds: that of the run that ended it),
// the same from the stored (live) windows, `windows --recompute` and the
// report. A fleet's counted window takes its edges' bounds from the
// location windows that begin and end at them: its end set by another
// location's run (busan-b back first) has that run's bound, and where two
// come back at once with a majority of 3 one sufficed, so the shorter of
// their runs (busan-b's 40 ms answer, not seoul-a's 14 s hang: the end's
// m-th latest, TestCountedEndBoundsNeedth).
func TestWindowsLaterBound(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name string
		runs [][]probe.Run
		want []string // the counted windows of the whole flow
	}{
		{"frozen platform: first pass hung 14s", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec, 11: 15 * sec, 20: 14 * sec}),
		}, []string{"10:10 -1m0s +15s / 10:20 -1m0s +14s"}},
		{"fast recovery", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 3 * time.Millisecond, 20: 40 * time.Millisecond}),
		}, []string{"10:10 -1m0s +3ms / 10:20 -1m0s +40ms"}},
		{"quorum: the end set by another location's run", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 30}, map[int]time.Duration{10: 15 * sec, 30: 50 * time.Millisecond}),
			laterRuns("busan-b", [2]int{12, 20}, map[int]time.Duration{12: 2 * sec, 20: 14 * sec}),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, []string{"10:12 -1m0s +2s / 10:20 -1m0s +14s"}},
		{"quorum: two back at once, one sufficed", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec, 20: 14 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec, 20: 40 * time.Millisecond}),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, []string{"10:10 -1m0s +15s / 10:20 -1m0s +40ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					cfg := testConfig("UTC", time.Minute)
					s := st.open(t)
					for _, runs := range tc.runs {
						load(t, s, cfg, runs)
					}
					in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
					stored, got := flowLaterBounds(ctx, t, in)
					if fmt.Sprint(got) != fmt.Sprint(tc.want) {
						t.Errorf("windows %q, want %q", got, tc.want)
					}
					in.Recompute = true
					rec, err := Windows(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
						t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
					}
					in.Recompute = false
					r, err := Build(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					if a, b := jsonOf(t, stored), jsonOf(t, r.Services[0].Windows); a != b {
						t.Errorf("report windows differ:\nwindows %s\nreport  %s", a, b)
					}
					// The keys, as windows.json and report.json spell them.
					var keys []map[string]any
					if err := json.Unmarshal([]byte(jsonOf(t, stored)), &keys); err != nil {
						t.Fatal(err)
					}
					for _, k := range []string{"start_uncertainty_later_seconds", "end_uncertainty_later_seconds"} {
						if _, ok := keys[0][k]; !ok {
							t.Errorf("no %s in %v", k, keys[0])
						}
					}
				})
			}
		})
	}
}

// TestWindowsLaterBoundOverPrunedRange: `windows --recompute` over a range
// whose raw results were pruned in the middle of a window takes its start
// from the stored window and its end from the recomputation, with both
// edges' later bounds: the end's is the run after the horizon that ended it
// (14 s), not lost with the pruned runs.
func TestWindowsLaterBoundOverPrunedRange(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig("UTC", time.Minute)
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "results.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load(t, s, cfg, laterRuns("seoul-a", [2]int{10, 40}, map[int]time.Duration{10: 15 * time.Second, 40: 14 * time.Second}))
	in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
	stored, err := Windows(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, store.Cutoffs{Runs: hourStart.Add(25 * time.Minute)}, 1000); err != nil {
		t.Fatal(err)
	}
	in.Recompute = true
	in.Warn = func(string) {}
	rec, err := Windows(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, ws := range [][]Window{stored, rec} {
		for _, w := range ws {
			if got, want := laterBounds(w), "10:10 -1m0s +15s / 10:40 -1m0s +14s"; w.Function == nil && got != want {
				t.Errorf("window %s, want %s", got, want)
			}
		}
	}
	if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
		t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
	}
}

// TestCountedLaterBoundAcrossLocations: a counted window's later bounds
// take in every location window that makes its edge. Its start is when the
// last of the quorum really went down, so a location down since before the
// edge whose first failing run was still in flight at it (seoul-a's from
// 10:10:30 hung 45 s, to 10:11:15) bounds it too, not only busan-b, whose
// window begins there with a 300 ms run. And where a location window that
// begins at the counted edge does not know its bound (a window stored before
// schema version 12 whose run was pruned), the counted edge's is not known
// either: the other location's 2 s does not bound seoul-a's 15 s. At the end
// one of the two sufficed, so busan-b's 40 ms bounds it whatever seoul-a's
// was (TestCountedEndBoundsNeedth).
func TestCountedLaterBoundAcrossLocations(t *testing.T) {
	sec := time.Second
	shifted := func(loc string, down [2]int, durs map[int]time.Duration) []probe.Run {
		runs := schedule(loc, hourStart.Add(30*sec), hourStart.Add(time.Hour), time.Minute, failing("fail:send", down))
		for i := range runs {
			if d, ok := durs[int(runs[i].Start.Sub(hourStart)/time.Minute)]; ok {
				runs[i].Duration = d
			}
		}
		return runs
	}
	for _, tc := range []struct {
		name      string
		runs      [][]probe.Run
		notStored string // the location whose stored window has no later bounds (mem store only)
		want      []string
	}{
		{"a location's first run in flight at the edge", [][]probe.Run{
			shifted("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 45 * sec}),
			laterRuns("busan-b", [2]int{11, 20}, nil),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, "", []string{"10:11 -1m0s +15s / 10:20 -1m0s +300ms"}},
		{"a location's bounds not stored", [][]probe.Run{
			laterRuns("seoul-a", [2]int{10, 20}, map[int]time.Duration{10: 15 * sec, 20: 14 * sec}),
			laterRuns("busan-b", [2]int{10, 20}, map[int]time.Duration{10: 2 * sec, 20: 40 * time.Millisecond}),
			laterRuns("daegu-c", [2]int{0, 0}, nil),
		}, "seoul-a", []string{"10:10 -1m0s +? / 10:20 -1m0s +40ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var forget func(*state.Window)
			if tc.notStored != "" {
				forget = func(w *state.Window) {
					if w.Location == tc.notStored {
						w.FirstInEnd, w.FirstAfterEnd = time.Time{}, time.Time{}
					}
				}
			}
			checkFlowBounds(t, testConfig("UTC", time.Minute), tc.runs, forget, tc.want)
		})
	}
}

// checkFlowBounds loads runs (one slice a location) into each store and
// checks the bounds of the whole flow's windows over the hour from
// hourStart (flowLaterBounds' text) against want, and that --recompute
// finds the same windows; forget, when not nil, takes from each stored
// window what an older store lacks (mem store only, and then nothing to
// recompute it against).
func checkFlowBounds(t *testing.T, cfg *config.Config, runs [][]probe.Run, forget func(*state.Window), want []string) {
	t.Helper()
	for _, st := range stores() {
		if forget != nil && st.name != "mem" {
			continue
		}
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			s := st.open(t)
			for _, r := range runs {
				load(t, s, cfg, r)
			}
			if forget != nil {
				ms := s.(*memStore)
				for i := range ms.events {
					forget(&ms.events[i].Window)
				}
			}
			in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
			stored, got := flowLaterBounds(ctx, t, in)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("windows %q, want %q", got, want)
			}
			if forget != nil {
				return
			}
			in.Recompute = true
			rec, err := Windows(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
				t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
			}
		})
	}
}

// flowLaterBounds reads in's windows, and the later bounds (laterBounds) of
// those of whole flows, in order.
func flowLaterBounds(ctx context.Context, t *testing.T, in Input) ([]Window, []string) {
	t.Helper()
	ws, err := Windows(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		if w.Function == nil {
			got = append(got, laterBounds(w))
		}
	}
	return ws, got
}
