package report

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestQuorumSettlingAfterGap: seoul-a, busan-b and tokyo-c, quorum all,
// chat every minute (down_after 2), failing everywhere from 10:10;
// seoul-a restarted at 10:18 (no run at 10:18 and 10:19). In live figures
// (a range still open, made as of now) a location whose data resumed less
// than Settling (down_after intervals and the timeout: 2 min) before now,
// with no window of its own since, is not reporting yet as the quorum
// reads it: its failed run at 10:20, not yet a window, is not seoul-a
// measuring chat up, and the counted window goes on (before, it closed at
// 10:20, 2 of 3 down, below a quorum of all: the quorum's page resolved
// there and paged anew a minute later). Once its runs have made a window,
// or Settling has passed, or its last run passed (TestQuorumSettlingResumedPassing),
// it reports as before: one that resumed with a pass (the platform up
// from there) closes the counted window at 10:20 at once. A period that is
// over is not changed.
func TestQuorumSettlingAfterGap(t *testing.T) {
	m := time.Minute
	from := hm(10, 0)
	for _, tc := range []struct {
		name    string
		aResume string // seoul-a's runs from 10:20
		to, now time.Time
		want    string // the counted flow windows
	}{
		{"failing, one run after its gap", "fail:login", hm(11, 0), hm(10, 20).Add(30 * time.Second), "10:10-open[busan-b,seoul-a,tokyo-c]"},
		{"failing, its window made", "fail:login", hm(11, 0), hm(10, 21).Add(30 * time.Second), "10:10-open[busan-b,seoul-a,tokyo-c]"},
		{"up, one run after its gap", "ok", hm(11, 0), hm(10, 20).Add(30 * time.Second), "10:10-10:20[busan-b,seoul-a,tokyo-c]"},
		{"up, settled", "ok", hm(11, 0), hm(10, 22).Add(30 * time.Second), "10:10-10:20[busan-b,seoul-a,tokyo-c]"},
		{"over, made at its end", "fail:login", hm(10, 20).Add(30 * time.Second), hm(10, 20).Add(30 * time.Second), "10:10-10:20[busan-b,seoul-a,tokyo-c]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			cfg.Policy.Quorum = config.Quorum{Mode: "all"}
			var runs []probe.Run
			for _, l := range []string{"seoul-a", "busan-b", "tokyo-c"} {
				for at := from; at.Before(tc.now); at = at.Add(m) {
					spec := "ok"
					if !at.Before(hm(10, 10)) {
						spec = "fail:login"
					}
					if l == "seoul-a" && !at.Before(hm(10, 18)) {
						if at.Before(hm(10, 20)) {
							continue // restarting
						}
						spec = tc.aResume
					}
					runs = append(runs, mkRun(l, at, spec))
				}
			}
			s := newMemStore()
			load(t, s, cfg, runs)
			counted, _, err := WindowsAndBelow(context.Background(), Input{Config: cfg, Store: s, From: from, To: tc.to, Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if g := countedDownText(counted); g != tc.want {
				t.Errorf("counted windows %s, want %s", g, tc.want)
			}
		})
	}
}

// TestQuorumSettlingResumedPassing: a location whose first run after its
// gap passed measured the flow up there, which no later run can backdate
// a window over (a window starts at its first failed run), so the quorum
// of live figures counts it at once, not Settling later. seoul-a and
// busan-b (majority of those reporting), chat every minute (down_after 2);
// busan-b alone failing from 10:10 (below the quorum while seoul-a
// reports); seoul-a restarted at 10:18 (no run at 10:18 and 10:19, the
// quorum of busan-b alone then counting its window), passing from 10:20.
// The figures at 10:21:30 (seoul-a's runs at 10:20 and 10:21 passed)
// counted busan-b's window as the flow down past 10:20 to 10:22:10, with
// seoul-a measuring it up: the quorum's page kept and counted downtime in
// the live figures that the month's report made after it does not have;
// with an hourly flow, down_after 5 and confirm_every off, for 5 hours.
func TestQuorumSettlingResumedPassing(t *testing.T) {
	m := time.Minute
	from := hm(10, 0)
	for _, tc := range []struct {
		name    string
		aResume []string // seoul-a's runs from 10:20, a minute apart ("": none)
		now     time.Time
		want    string
	}{
		{"passing", []string{"ok", "ok"}, hm(10, 21).Add(30 * time.Second), "10:18-10:20[busan-b]"},
		{"passing, one run", []string{"ok"}, hm(10, 20).Add(30 * time.Second), "10:18-10:20[busan-b]"},
		{"failed then passed", []string{"fail:login", "ok"}, hm(10, 21).Add(30 * time.Second), "10:18-10:20[busan-b]"},
		{"failing, one run", []string{"fail:login"}, hm(10, 20).Add(30 * time.Second), "10:18-open[busan-b]"},
		{"passed then failed", []string{"ok", "fail:login"}, hm(10, 21).Add(30 * time.Second), "10:18-open[busan-b]"},
		// seoul-a crash-looping (stopped again a minute after each start):
		// each start resumes its data less than Settling after the last,
		// so the live figures at any time had busan-b's window alone as
		// the flow down, open, though seoul-a passed whenever it ran.
		{"crash loop, passing", []string{"ok", "", "", "ok", "", "", "ok"}, hm(10, 26).Add(30 * time.Second), "10:18-10:20[busan-b] 10:21-10:23[busan-b] 10:24-10:26[busan-b]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			var runs []probe.Run
			for at := from; at.Before(tc.now); at = at.Add(m) {
				spec := "ok"
				if !at.Before(hm(10, 10)) {
					spec = "fail:login"
				}
				runs = append(runs, mkRun("busan-b", at, spec))
				switch {
				case at.Before(hm(10, 18)):
					runs = append(runs, mkRun("seoul-a", at, "ok"))
				case !at.Before(hm(10, 20)):
					if spec := tc.aResume[int(at.Sub(hm(10, 20))/m)]; spec != "" {
						runs = append(runs, mkRun("seoul-a", at, spec))
					}
				}
			}
			s := newMemStore()
			load(t, s, cfg, runs)
			counted, _, err := WindowsAndBelow(context.Background(), Input{Config: cfg, Store: s, From: from, To: hm(11, 0), Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if g := countedDownText(counted); g != tc.want {
				t.Errorf("counted windows %s, want %s", g, tc.want)
			}
		})
	}
}

// TestQuorumSettlingResumedBeforePeriod: a location whose data resumed
// just before a live period's start (the month's, at its first minutes)
// is settling in it as it would be in a period that began earlier: the
// period's start hid the gap. seoul-a, busan-b and tokyo-c, quorum all,
// chat every minute with down_after 3, failing everywhere from 09:50;
// seoul-a stopped 09:55-09:58, failing again from 09:59 (its window made
// by its third failed run, at 10:01). The figures from 10:00 at 10:00:30
// counted seoul-a's two failed runs, not yet a window, as it measuring
// chat up: no counted window, where those from 09:00 had it open since
// 09:50 (at the month's change the quorum's page resolved at its first
// verdict and fired again dated 10:00 once seoul-a's window was made).
// Both, and windows --recompute.
func TestQuorumSettlingResumedBeforePeriod(t *testing.T) {
	m := time.Minute
	cfg := testConfig("UTC", m)
	cfg.Policy.Quorum = config.Quorum{Mode: "all"}
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			cfg.Services[i].Flows[j].DownAfter = 3
		}
	}
	now := hm(10, 0).Add(30 * time.Second)
	var runs []probe.Run
	for _, l := range []string{"seoul-a", "busan-b", "tokyo-c"} {
		for at := hm(9, 40); at.Before(now); at = at.Add(m) {
			spec := "ok"
			if !at.Before(hm(9, 50)) {
				spec = "fail:login"
			}
			if l == "seoul-a" && !at.Before(hm(9, 55)) && at.Before(hm(9, 59)) {
				continue
			}
			runs = append(runs, mkRun(l, at, spec))
		}
	}
	s := newMemStore()
	load(t, s, cfg, runs)
	for _, tc := range []struct {
		from      time.Time
		recompute bool
		want      string
	}{
		{hm(9, 0), false, "09:50-open[busan-b,seoul-a,tokyo-c]"},
		{hm(10, 0), false, "10:00-open[busan-b,tokyo-c]"},
		{hm(10, 0), true, "10:00-open[busan-b,tokyo-c]"},
	} {
		counted, _, err := WindowsAndBelow(context.Background(), Input{Config: cfg, Store: s, From: tc.from, To: hm(11, 0), Now: now, Recompute: tc.recompute})
		if err != nil {
			t.Fatal(err)
		}
		if g := countedDownText(counted); g != tc.want {
			t.Errorf("from %s (recompute %v): counted windows %s, want %s", tc.from.UTC().Format("15:04"), tc.recompute, g, tc.want)
		}
	}
}

// TestQuorumSettlingLiveAgreement: in live figures, the settling rule gives
// `windows`, `windows --recompute` and `report` the same counted windows:
// each case of TestQuorumSettlingResumedPassing and
// TestQuorumSettlingResumedBeforePeriod's, built all three ways.
func TestQuorumSettlingLiveAgreement(t *testing.T) {
	m := time.Minute
	for _, tc := range []struct {
		name      string
		downAfter int
		quorum    string
		loc       func(l string, at time.Time) string // a run's spec, "" none
		from, now time.Time
	}{
		{"resumed passing", 2, "majority", func(l string, at time.Time) string {
			switch {
			case l == "tokyo-c":
				return "" // two probers
			case l == "busan-b" && !at.Before(hm(10, 10)):
				return "fail:login"
			case l == "seoul-a" && !at.Before(hm(10, 18)) && at.Before(hm(10, 20)):
				return ""
			}
			return "ok"
		}, hm(10, 0), hm(10, 21).Add(30 * time.Second)},
		{"resumed failing", 2, "all", func(l string, at time.Time) string {
			switch {
			case l == "seoul-a" && !at.Before(hm(10, 18)) && at.Before(hm(10, 20)):
				return ""
			case !at.Before(hm(10, 10)):
				return "fail:login"
			}
			return "ok"
		}, hm(10, 0), hm(10, 20).Add(30 * time.Second)},
		{"resumed before the period", 3, "all", func(l string, at time.Time) string {
			switch {
			case l == "seoul-a" && !at.Before(hm(9, 55)) && at.Before(hm(9, 59)):
				return ""
			case !at.Before(hm(9, 50)):
				return "fail:login"
			}
			return "ok"
		}, hm(10, 0), hm(10, 0).Add(30 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			cfg.Policy.Quorum = config.Quorum{Mode: tc.quorum}
			for i := range cfg.Services {
				for j := range cfg.Services[i].Flows {
					cfg.Services[i].Flows[j].DownAfter = tc.downAfter
				}
			}
			var runs []probe.Run
			for _, l := range []string{"seoul-a", "busan-b", "tokyo-c"} {
				for at := hm(9, 40); at.Before(tc.now); at = at.Add(m) {
					if spec := tc.loc(l, at); spec != "" {
						runs = append(runs, mkRun(l, at, spec))
					}
				}
			}
			s := newMemStore()
			load(t, s, cfg, runs)
			show := func(ws []Window) string {
				var got []string
				for _, w := range ws {
					end := "open"
					if w.End != nil {
						end = w.End.UTC().Format("15:04")
					}
					fn := ""
					if w.Function != nil {
						fn = "/" + *w.Function
					}
					got = append(got, w.Kind+fn+" "+w.Start.UTC().Format("15:04")+"-"+end+"["+strings.Join(w.Locations, ",")+"]")
				}
				slices.Sort(got)
				return strings.Join(got, " ")
			}
			in := Input{Config: cfg, Store: s, From: tc.from, To: hm(11, 0), Now: tc.now}
			stored, err := Windows(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			in.Recompute = true
			recomputed, err := Windows(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			in.Recompute = false
			r, err := Build(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var reported []Window
			for _, svc := range r.Services {
				reported = append(reported, svc.Windows...)
			}
			if a, b, c := show(stored), show(recomputed), show(reported); a != b || a != c || a == "" {
				t.Errorf("windows:\n%s\nwindows --recompute:\n%s\nreport:\n%s\nwant the same, and some", a, b, c)
			}
		})
	}
}

// TestUnknownSpanSettling: in live figures, a flow's unknown stretch (no
// location reporting) whose data resumed with a failed run less than
// Settling (down_after times confirm_every, or the interval when it is off
// or longer, and the timeout) before now, no window since, is Settling: the
// quorum still reads no location reporting after it (the alerts' verdict
// hands it open). Later, or resumed with a passing last run, or a range
// that is over: not. seoul-a alone, chat failing from 10:10, stopped
// 10:15-10:17, its runs from 10:18 as given (every minute; 10 s apart from
// 10:18 when confirm_every is 10s, as the daemon confirm-runs a failure).
func TestUnknownSpanSettling(t *testing.T) {
	for _, tc := range []struct {
		name    string
		confirm time.Duration
		resume  []string // seoul-a's runs from 10:18
		now     time.Duration
		over    bool
		want    bool
	}{
		{"interval, within", 0, []string{"fail:login"}, 2*time.Minute + 9*time.Second, false, true},
		{"interval, past", 0, []string{"fail:login"}, 2*time.Minute + 11*time.Second, false, false},
		{"confirm_every, within", 10 * time.Second, []string{"fail:login"}, 29 * time.Second, false, true},
		{"confirm_every, past", 10 * time.Second, []string{"fail:login"}, 31 * time.Second, false, false},
		{"confirm_every as long as the interval: the interval", time.Minute, []string{"fail:login"}, 2*time.Minute + 9*time.Second, false, true},
		{"passed", 0, []string{"ok"}, 30 * time.Second, false, false},
		{"failed then passed", 0, []string{"fail:login", "ok"}, 90 * time.Second, false, false},
		{"window made", 0, []string{"fail:login", "fail:login"}, 90 * time.Second, false, false},
		{"over", 0, []string{"fail:login"}, 30 * time.Second, true, false},
		// seoul-a stopped again after its one failed run (a crash loop):
		// the data after 10:19 is unknown, and the failed run between is
		// no more it measuring chat up.
		{"stopped again after a failed run", 0, []string{"fail:login"}, 2*time.Minute + 5*time.Second, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			for i := range cfg.Services {
				for j := range cfg.Services[i].Flows {
					cfg.Services[i].Flows[j].ConfirmEvery = tc.confirm
					cfg.Services[i].Flows[j].Timeout = 10 * time.Second
				}
			}
			now := hm(10, 18).Add(tc.now)
			every := time.Minute
			if tc.confirm > 0 && tc.confirm < every {
				every = tc.confirm
			}
			var runs []probe.Run
			for at := hm(10, 0); at.Before(hm(10, 15)); at = at.Add(time.Minute) {
				spec := "ok"
				if !at.Before(hm(10, 10)) {
					spec = "fail:login"
				}
				runs = append(runs, mkRun("seoul-a", at, spec))
			}
			for i, spec := range tc.resume {
				runs = append(runs, mkRun("seoul-a", hm(10, 18).Add(time.Duration(i)*every), spec))
			}
			s := newMemStore()
			load(t, s, cfg, runs)
			to := hm(11, 0)
			if tc.over {
				to = now
			}
			r, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: to, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			settling := false
			for _, u := range r.Services[0].Unknown {
				got = append(got, u.Start.UTC().Format("15:04:05")+"-"+u.End.UTC().Format("15:04:05"))
				if u.End.UTC().Equal(hm(10, 18)) {
					settling = u.Settling
				}
			}
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasSuffix(g, "-10:18:00") }) {
				t.Fatalf("unknown %v, want a stretch to 10:18 among them", got)
			}
			if settling != tc.want {
				t.Errorf("the stretch to 10:18 at %s (unknown %v): Settling %v, want %v", now.UTC().Format("15:04:05"), got, settling, tc.want)
			}
		})
	}
}

// countedDownText is counted's whole-flow down windows as the settling
// tests read them: "10:10-10:20[busan-b,seoul-a] 10:30-open[busan-b]".
func countedDownText(counted []Window) string {
	var got []string
	for _, w := range counted {
		if w.Function != nil || w.Kind != "down" {
			continue
		}
		end := "open"
		if w.End != nil {
			end = w.End.UTC().Format("15:04")
		}
		got = append(got, w.Start.UTC().Format("15:04")+"-"+end+"["+strings.Join(w.Locations, ",")+"]")
	}
	return strings.Join(got, " ")
}
