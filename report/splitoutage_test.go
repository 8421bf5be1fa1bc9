package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCountedOutageSplitBySecond: the accounting policy counts a flow down
// where at least the quorum of locations are down at the same time, by
// their measured windows; a second in which too few were is not down time
// though the bounds say the true edges may have met. Majority of 3:
// seoul-a down 10:10-10:15:00, daegu-c 10:13-10:25, busan-b (runs at :01)
// 10:15:01-10:30:01: from 10:15:00 to 10:15:01 daegu-c alone was down, so
// two counted windows, 10:13-10:15:00 and 10:15:01-10:25, not one, and one
// incident of two parts (flap merging, policy.flap_gap 5m: the outage is
// one where MTTR and the incident list are concerned). Each has its own
// bounds: the first ends -1m0s (seoul-a's last failing run) +300ms (its
// passing run), the second begins -1m0s (busan-b's last pass, 10:14:01, when
// seoul-a was still down: the two may have been one) +300ms (busan-b's
// first failing run, beside daegu-c's since 10:13). With flap_gap 0 they are
// two incidents. The second names the first's start (SplitFrom,
// split_from in the JSON: daegu-c's window lasted from one into the other,
// so they may have been one outage), whatever the flap gap. With busan-b
// down from 10:15:00, as seoul-a comes back, two were down at every
// instant: one counted window 10:13-10:25. Two outages with no location
// down between them are not linked (TestCountedSplitFromApart).
// Stored and recomputed alike, in both stores.
func TestCountedOutageSplitBySecond(t *testing.T) {
	sec := time.Second
	for _, tc := range []struct {
		name      string
		phase     time.Duration // busan-b's runs' past the minute
		flapGap   time.Duration
		want      []string
		incidents int
		downtime  float64
	}{
		{"flap gap 5m", sec, 5 * time.Minute, []string{
			"10:13:00 -1m0s +300ms / 10:15:00 -1m0s +300ms",
			"10:15:01 -1m0s +300ms / 10:25:00 -1m0s +300ms split from 10:13:00",
		}, 1, 2*60 + 9*60 + 59},
		{"flap gap 0", sec, 0, []string{
			"10:13:00 -1m0s +300ms / 10:15:00 -1m0s +300ms",
			"10:15:01 -1m0s +300ms / 10:25:00 -1m0s +300ms split from 10:13:00",
		}, 2, 2*60 + 9*60 + 59},
		{"busan-b down as seoul-a comes back: one", 0, 0, []string{
			"10:13:00 -1m0s +300ms / 10:25:00 -1m0s +300ms",
		}, 1, 12 * 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			cfg.Policy.FlapGap = tc.flapGap
			runs := [][]probe.Run{
				phasedRuns("seoul-a", 0, [2]int{10, 15}, nil),
				phasedRuns("busan-b", tc.phase, [2]int{15, 30}, nil),
				phasedRuns("daegu-c", 0, [2]int{13, 25}, nil),
			}
			for _, st := range stores() {
				t.Run(st.name, func(t *testing.T) {
					ctx := context.Background()
					s := st.open(t)
					for _, r := range runs {
						load(t, s, cfg, r)
					}
					in := Input{Config: cfg, Store: s, From: hourStart, To: hourStart.Add(time.Hour), Now: hourStart.Add(time.Hour)}
					stored, err := Windows(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, w := range stored {
						if w.Function == nil {
							g := boundsToSecond(w)
							if w.SplitFrom != nil {
								g += " split from " + w.SplitFrom.UTC().Format("15:04:05")
							}
							got = append(got, g)
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(tc.want) {
						t.Errorf("counted windows %q, want %q", got, tc.want)
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
					rep, err := Build(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					sv := rep.Services[0]
					if sv.Incidents != tc.incidents || !near(sv.DowntimeSeconds, tc.downtime) {
						t.Errorf("%d incidents, %v s down, want %d, %v s: %+v", sv.Incidents, sv.DowntimeSeconds, tc.incidents, tc.downtime, sv.IncidentList)
					}
				})
			}
		})
	}
}

// boundsToSecond is laterBounds with the edges to the second.
func boundsToSecond(w Window) string {
	f := func(v *float64) string {
		if v == nil {
			return "?"
		}
		return time.Duration(*v * float64(time.Second)).String()
	}
	end := "open"
	if w.End != nil {
		end = w.End.UTC().Format("15:04:05")
	}
	return fmt.Sprintf("%s -%s +%s / %s -%s +%s", w.Start.UTC().Format("15:04:05"), f(w.StartUncertaintySeconds), f(w.StartUncertaintyLaterSeconds),
		end, f(w.EndUncertaintySeconds), f(w.EndUncertaintyLaterSeconds))
}

// TestCountedSplitFromApart: two counted windows with no location window
// lasting from one into the other are two outages, not linked (no
// split_from): majority of 3, seoul-a and busan-b down 10:10-10:15 and
// 10:20-10:25, daegu-c up; nor where a location down between them came
// back before the second began (busan-b down to 10:17). With busan-b down
// 10:10-10:25 the second names the first (split from 10:10). Stored and
// recomputed alike, in both stores.
func TestCountedSplitFromApart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		busan [][2]int
		want  string
	}{
		{"none down between", [][2]int{{10, 15}, {20, 25}}, "[<nil> <nil>]"},
		{"one down between, back before", [][2]int{{10, 17}, {20, 25}}, "[<nil> <nil>]"},
		{"one down throughout", [][2]int{{10, 25}}, "[<nil> 10:10:00]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Policy.Quorum = config.Quorum{Mode: "majority"}
			runs := [][]probe.Run{
				schedule("seoul-a", hourStart, hourStart.Add(time.Hour), time.Minute, failing("fail:send", [2]int{10, 15}, [2]int{20, 25})),
				schedule("busan-b", hourStart, hourStart.Add(time.Hour), time.Minute, failing("fail:send", tc.busan...)),
				schedule("daegu-c", hourStart, hourStart.Add(time.Hour), time.Minute, failing("fail:send")),
			}
			windowsStoredAndRecomputed(t, cfg, runs, hourStart, func(t *testing.T, recompute bool, ws []Window) {
				var got []string
				for _, w := range ws {
					if w.Function != nil {
						continue
					}
					g := "<nil>"
					if w.SplitFrom != nil {
						g = w.SplitFrom.UTC().Format("15:04:05")
					}
					got = append(got, g)
				}
				if fmt.Sprint(got) != tc.want {
					t.Errorf("recompute %v: split_from %v, want %s", recompute, got, tc.want)
				}
			})
		})
	}
}
