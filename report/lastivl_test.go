package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// ranEvery are chat's runs at seoul-a every ivl from 09:00:05 up to and
// including last, each of spec, and their intervals.
func ranEvery(ivl time.Duration, last time.Time, spec string) ([]probe.Run, []time.Duration) {
	var runs []probe.Run
	var ivls []time.Duration
	for at := hourStart.Add(-time.Hour + 5*time.Second); !at.After(last); at = at.Add(ivl) {
		runs = append(runs, mkRun("seoul-a", at, spec))
		ivls = append(ivls, ivl)
	}
	return runs, ivls
}

// TestLiveFiguresJudgedByTheLastRunsInterval: figures made as of now (the
// availability gauge's, the status page's: the period ends now) judge the
// stretch after a stopped prober's last run by the interval that run had,
// however long ago it stopped, not only once it stopped two of the
// config's intervals ago (lastRunsAtEnd picked the runs it read by the
// config's). A flow every 60 s reloaded to every 10 s 25 s after its last
// run (the prober stopped) reads no unknown until two of 60 s have passed,
// and a flow every 10 s reloaded to every 60 s reads unknown from 10 s
// after its last run as soon as 20 s have: before, none until 120 s (0 s
// where 15 s, 40 s, 109 s). SQLite, the in-memory store and PostgreSQL.
func TestLiveFiguresJudgedByTheLastRunsInterval(t *testing.T) {
	h := hourStart
	tests := []struct {
		name     string
		ran, cfg time.Duration
		// unknown in [10:00, now) for now = the last run + each key
		want map[time.Duration]float64
	}{
		{"60s to 10s, reloaded 25s after the last run", time.Minute, 10 * time.Second,
			map[time.Duration]float64{25 * time.Second: 0, 50 * time.Second: 0, 100 * time.Second: 0, 130 * time.Second: 70}},
		{"10s to 60s, reloaded 5s after the last run", 10 * time.Second, time.Minute,
			map[time.Duration]float64{15 * time.Second: 0, 25 * time.Second: 15, 50 * time.Second: 40, 119 * time.Second: 109, 130 * time.Second: 120}},
		{"60s unchanged", time.Minute, time.Minute,
			map[time.Duration]float64{25 * time.Second: 0, 100 * time.Second: 0, 130 * time.Second: 70}},
		{"10s unchanged", 10 * time.Second, 10 * time.Second,
			map[time.Duration]float64{15 * time.Second: 0, 25 * time.Second: 15, 50 * time.Second: 40}},
	}
	for _, st := range confirmStores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				s := st.open(t)
				runs, ivls := ranEvery(tc.ran, h.Add(30*time.Minute), "ok")
				last := runs[len(runs)-1].Start
				loadRanAt(t, s, testConfig("UTC", tc.ran), runs, ivls, true)
				for d, want := range tc.want {
					now := last.Add(d)
					rep, err := Build(context.Background(), Input{Config: testConfig("UTC", tc.cfg), Store: s, From: h, To: now, Now: now})
					if err != nil {
						t.Fatal(err)
					}
					if got := rep.Services[0].UnknownSeconds; !near(got, want) {
						t.Errorf("as of %s after the last run: unknown %v s, want %v", d, got, want)
					}
				}
			})
		}
	}
}

// TestEdgeJudgedByTheLastRunsInterval: a location with no run in a period
// shorter than its interval reports in it from its last run before it
// while that run's interval (stored with it) covers the period's start,
// not the config's since (edgeSpans): a 30 s range 25 s after a run every
// 60 s, with 10 s in the config, read 30 s unknown (not reporting) and no
// downtime in an outage; one 30 s after a run every 10 s, with 60 s in the
// config, read the location as reporting and no unknown. The prober has
// stopped (no run after the range: the stored events do not say). Made 3 h
// later and as of the range's end. SQLite, the in-memory store and
// PostgreSQL.
func TestEdgeJudgedByTheLastRunsInterval(t *testing.T) {
	h := hourStart
	last := h.Add(30*time.Minute + 5*time.Second)
	tests := []struct {
		name     string
		ran, cfg time.Duration
		spec     string
		from, to time.Duration // the range, after the last run
		unknown  float64
		down     float64
	}{
		{"60s to 10s", time.Minute, 10 * time.Second, "ok", 25 * time.Second, 55 * time.Second, 0, 0},
		{"60s to 10s, down", time.Minute, 10 * time.Second, "fail:login", 25 * time.Second, 55 * time.Second, 0, 30},
		{"10s to 60s", 10 * time.Second, time.Minute, "ok", 30 * time.Second, 60 * time.Second, 30, 0},
		{"10s to 60s, down", 10 * time.Second, time.Minute, "fail:login", 30 * time.Second, 60 * time.Second, 30, 0},
		// Guards: beyond the run's two intervals either way; unchanged.
		{"60s to 10s, past two intervals", time.Minute, 10 * time.Second, "ok", 130 * time.Second, 160 * time.Second, 30, 0},
		{"10s to 60s, within its interval", 10 * time.Second, time.Minute, "ok", 2 * time.Second, 9 * time.Second, 0, 0},
		{"60s unchanged, down", time.Minute, time.Minute, "fail:login", 25 * time.Second, 55 * time.Second, 0, 30},
	}
	for _, st := range confirmStores() {
		for _, tc := range tests {
			t.Run(st.name+"/"+tc.name, func(t *testing.T) {
				s := st.open(t)
				runs, ivls := ranEvery(tc.ran, last, tc.spec)
				loadRanAt(t, s, testConfig("UTC", tc.ran), runs, ivls, true)
				from, to := last.Add(tc.from), last.Add(tc.to)
				for _, now := range []time.Time{to.Add(3 * time.Hour), to} {
					rep, err := Build(context.Background(), Input{Config: testConfig("UTC", tc.cfg), Store: s, From: from, To: to, Now: now})
					if err != nil {
						t.Fatal(err)
					}
					svc := rep.Services[0]
					at := fmt.Sprintf("made %s after the range", now.Sub(to))
					if !near(svc.UnknownSeconds, tc.unknown) {
						t.Errorf("%s: unknown %v s, want %v", at, svc.UnknownSeconds, tc.unknown)
					}
					if !near(svc.DowntimeSeconds, tc.down) {
						t.Errorf("%s: downtime %v s, want %v", at, svc.DowntimeSeconds, tc.down)
					}
				}
			})
		}
	}
}
