package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// A range that ends inside the streak that decides a window (found by the
// randomized agreement check, daemon/agreefuzz_test.go): the run that
// confirms a window backdated into the range, or that makes up_after
// passes for one that closed in it, starts after the range's end. The
// stored events have that window (the daemon saw the later run), so
// `windows --recompute` must find it too: it replays the runs stored after
// the end as well, as the daemon did. Before, it stopped at the end: a
// month whose last minute began an outage confirmed a minute into the next
// month listed it under `windows` and not under `windows --recompute`, and
// one whose outage ended in its last minute (up_after 2) read down to the
// month's end under --recompute.
func TestRecomputeRangeEndsInsideStreak(t *testing.T) {
	from, to := hourStart, hourStart.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		upAfter int
		failing [2]int // minutes
	}{
		{"confirmed after the end", 1, [2]int{59, 70}},
		{"up_after's passes across the end", 2, [2]int{20, 59}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					cfg := testConfig("UTC", time.Minute)
					cfg.Defaults.UpAfter = tc.upAfter
					cfg.Services[0].Flows[0].UpAfter = tc.upAfter
					s := st.open(t)
					var runs []probe.Run
					runs = append(runs, schedule("seoul-a", from, to.Add(20*time.Minute), time.Minute, failing("fail:send", tc.failing))...)
					load(t, s, cfg, runs)
					in := Input{Config: cfg, Store: s, From: from, To: to, Now: to}
					stored, err := Windows(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					if len(stored) == 0 {
						t.Fatal("no stored windows")
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
		})
	}
}

// A range that begins just before a location stopped in an outage (its
// last run before the range, its next one more than two intervals into
// it): its window reaches into the range until the location's data ends
// there, under `windows` and `windows --recompute` alike (found by the
// randomized agreement check). Before, --recompute took the location for
// unknown from the range's start (the stretch before its first run in the
// range, as for a prober's first start, with no run before it looked for),
// so the window was missing (and, with a second location, the counted
// window listed one location less).
func TestRecomputeRangeBeginsBeforeAStop(t *testing.T) {
	from, to := hourStart.Add(29*time.Minute+30*time.Second), hourStart.Add(time.Hour)
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig("UTC", time.Minute)
			s := st.open(t)
			runs := schedule("seoul-a", hourStart, hourStart.Add(time.Hour), time.Minute, func(off time.Duration) string {
				switch m := int(off / time.Minute); {
				case m >= 30 && m < 40:
					return "" // stopped
				case m >= 10 && m < 45:
					return "fail:send"
				}
				return "ok"
			})
			load(t, s, cfg, runs)
			for _, now := range []time.Time{to, to.Add(time.Hour)} {
				in := Input{Config: cfg, Store: s, From: from, To: to, Now: now}
				stored, err := Windows(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(stored) == 0 || stored[0].Start != from {
					t.Fatalf("stored windows %s: want one from the range's start", jsonOf(t, stored))
				}
				in.Recompute = true
				rec, err := Windows(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if a, b := jsonOf(t, stored), jsonOf(t, rec); a != b {
					t.Errorf("windows differ:\nstored     %s\nrecomputed %s", a, b)
				}
			}
		})
	}
}
