package statuspage

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// TestOpenWindowNotResentEveryVerdict: a firing alert is sent again
// whenever any of its annotations change (a767663), so one that changed
// at every verdict (a duration, a count, a bound that moved) would be sent
// at every rebuild of the figures. Probers wired as cmd/slaprobe wires them
// (each page's verdict handed to its notifier), resend 3 h so that only
// changes are sent, a window open for over an hour, rebuilt every minute:
// alone; two probers on one store; three, daegu-c joining the counted
// window at 09:30 (its locations, in the description, change once); two
// across the month's end (the counted window dated from the previous
// days' figures), in UTC and in America/New_York, whose month ends at 04:00
// UTC on 2026-11-01 and whose clocks go back at 06:00 UTC that night. Each alert is sent firing as often as it changes, not
// once a minute, and its started_between is one value throughout. The
// counts are those ac78718 (which compared the description only) sends.
// With an annotation of the window's age (rounded to the minute) added to
// every alert, 40 of its checks fail (the quorum's page sent at every
// verdict); with the verdict's dating of the bounds dropped (verdict.go),
// the month's rows send the page's started_between, then "" from the
// month's first verdict on.
func TestOpenWindowNotResentEveryVerdict(t *testing.T) {
	day := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []struct {
		name string
		zone *time.Location
		t0   time.Time
		down map[string][2]int // minutes [from, to) from t0
		mins int
		// firing pushes per alert (labels), every prober alike: the
		// quorum's page and a location's ticket.
		page, ticket map[string]int
	}{
		{"alone", time.UTC, day, map[string][2]int{"seoul-a": {10, 75}}, 80,
			map[string]int{"seoul-a": 1}, nil},
		{"two probers", time.UTC, day, map[string][2]int{"seoul-a": {10, 75}, "busan-b": {15, 75}}, 80,
			map[string]int{"quorum": 1}, map[string]int{"seoul-a": 1}},
		{"three probers, one joining", time.UTC, day, map[string][2]int{"seoul-a": {10, 75}, "busan-b": {15, 75}, "daegu-c": {30, 75}}, 80,
			map[string]int{"quorum": 2}, map[string]int{"seoul-a": 1}},
		{"two probers across the month's end", time.UTC, time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), map[string][2]int{"seoul-a": {10, 95}, "busan-b": {15, 95}}, 100,
			map[string]int{"quorum": 1}, map[string]int{"seoul-a": 1}},
		// New York's month ends at 04:00 UTC, and its clocks go back at
		// 06:00 UTC the same night.
		{"two probers across New York's month's end and its change of the clocks", ny, time.Date(2026, 11, 1, 3, 30, 0, 0, time.UTC),
			map[string][2]int{"seoul-a": {10, 170}, "busan-b": {15, 170}}, 175,
			map[string]int{"quorum": 1}, map[string]int{"seoul-a": 1}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			s := tempStore(t)
			clk := clock.NewManual(sc.t0)
			var ps []*pushProber
			for _, loc := range []string{"seoul-a", "busan-b", "daegu-c"} {
				if _, ok := sc.down[loc]; !ok {
					continue
				}
				cfg := fleetConfig(loc)
				cfg.Loc, cfg.Timezone = sc.zone, sc.zone.String()
				p := &pushProber{loc: loc, am: &recordingAM{clk: clk}}
				p.m = state.New("messaging", "chat", loc, cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
				srv := httptest.NewServer(p.am)
				t.Cleanup(srv.Close)
				var err error
				p.n, err = alert.NewNotifier(alert.Options{URLs: []string{srv.URL}, Clock: clk, Location: loc, Zone: sc.zone, FleetAware: true, Resend: 3 * time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				opts := Options{Store: s, Clock: clk, Verdict: func(v Verdict) {
					p.n.SetFleet(alert.Fleet{Fleet: v.Fleet, NoRuns: !v.Runs, Counted: v.Counted, Unknown: v.Unknown, Next: v.Next})
				}}
				if p.page, err = New(cfg, opts); err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			at := func(min int) time.Time { return sc.t0.Add(time.Duration(min) * time.Minute) }
			for i := 0; i < sc.mins; i++ {
				pushMinute(t, s, clk, at(i), ps, func(loc string) bool { d := sc.down[loc]; return i < d[0] || i >= d[1] })
			}
			for _, p := range ps {
				firing := map[string]int{}
				between := map[string]string{}
				for _, a := range p.am.alerts() {
					if sb, ok := between[a.key]; ok && sb != a.ann["started_between"] {
						t.Errorf("%s sent %s with started_between %q, then %q", p.loc, a.key, sb, a.ann["started_between"])
					}
					between[a.key] = a.ann["started_between"]
					if a.ann["started_between"] == "" {
						t.Errorf("%s sent %s without started_between", p.loc, a.key)
					}
					if a.ends.After(a.at) {
						firing[a.key]++
					}
				}
				if len(firing) == 0 {
					t.Fatalf("%s sent nothing firing", p.loc)
				}
				for key, n := range firing {
					want := 0
					var a pushed
					for _, x := range p.am.alerts() {
						if x.key == key {
							a = x
						}
					}
					switch loc := a.labels["location"]; {
					case loc == alert.QuorumLocation || a.labels["severity"] == "page":
						want = sc.page[loc]
					default:
						want = sc.ticket[loc]
					}
					if n != want {
						t.Errorf("%s sent %s firing %d times in %d minutes, want %d", p.loc, key, n, sc.mins, want)
					}
				}
			}
		})
	}
}
