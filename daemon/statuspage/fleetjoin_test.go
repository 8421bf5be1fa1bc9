package statuspage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFleetAtOnceQuorumGrowsPagesOnce: TestFleetAtOnceShortOutagePagesOnce
// where the quorum grows between the start and the confirmation: majority
// of 4, busan-b, daegu-c and seoul-a down from 09:31 in the same second and
// back at 09:34, their 09:32 confirming runs of 5 s, 8 s and 300 ms,
// incheon-d up but without data until its first run at 09:31:30. Two of
// the three reporting at 09:31 sufficed, three of four by 09:32: daegu-c's
// confirmation (09:32:08) made the quorum known, and its kicked rebuild
// pages the window while open; busan-b's, at 09:32:07, found two of four.
// The page must reach the on-call once, as open: no push may fire it as
// over (a late page), before its end or after.
//
// Failed without 8580b0b's report change: busan-b was elected (the second
// to know, by the start's quorum of two), and its kicked rebuild at
// 09:32:07, before daegu-c's window was confirmed, found busan-b and
// seoul-a down from 09:31:00 to 09:31:30 (two of three, then two of four
// once incheon-d reported) and paged that late, "was down for 30s, until
// 09:31:30 (over)", 3 s before daegu-c's page of the outage going on.
//
// The row with a rebuild of seoul-a's at 09:32:06 (a whole-minute slot or
// another kick between busan-b's confirmation and daegu-c's) failed
// before the late page waited for a window's end to be final: seoul-a and
// busan-b down, confirmed, daegu-c's confirmation in flight, incheon-d up
// since 09:31:30, its verdict counted 09:31:00-09:31:30 and seoul-a, the
// first to know, pushed it "(over)" while the outage went on.
func TestFleetAtOnceQuorumGrowsPagesOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]time.Duration // a rebuild of that location's, after 09:32
	}{
		{name: "kicks only"},
		{name: "seoul-a rebuilds at 09:32:06", extra: map[string]time.Duration{"seoul-a": 6 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) { fleetAtOnceQuorumGrows(t, tc.extra) })
	}
}

func fleetAtOnceQuorumGrows(t *testing.T, extra map[string]time.Duration) {
	ms, sec := time.Millisecond, time.Second
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	clk := clock.NewManual(t0)
	confirm := map[string]time.Duration{"busan-b": 5 * sec, "daegu-c": 8 * sec, "seoul-a": 300 * ms}
	var ps []*pushProber
	kicked := map[*pushProber]bool{}
	for _, l := range []string{"busan-b", "daegu-c", "incheon-d", "seoul-a"} {
		p := newPushProber(t, s, clk, l, true)
		p.n.SetFleetChange(func() { kicked[p] = true })
		ps = append(ps, p)
	}
	for i := 25; i < 45; i++ {
		var todo []fleetAction
		for _, p := range ps {
			var r probe.Run
			if p.loc == "incheon-d" {
				if i < 31 {
					continue
				}
				r = fleetRun(p.loc, at(i).Add(30*sec), true)
			} else {
				r = fleetRun(p.loc, at(i), i < 31 || i >= 34)
				if d, ok := confirm[p.loc]; ok && i == 32 {
					r.Duration, r.Steps[0].Duration = d, d
				}
			}
			todo = append(todo, fleetAction{r.Start.Add(r.Duration), p, &r})
			if d, ok := extra[p.loc]; ok && i == 32 {
				todo = append(todo, fleetAction{at(i).Add(d), p, nil})
			}
		}
		playActions(ctx, t, s, clk, todo, kicked)
		clk.Set(at(i).Add(45 * time.Second))
		for _, p := range ps {
			if i%5 == 0 {
				p.rebuild(ctx, t)
			} else if err := p.n.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	pages := pagePushes(ps)
	open, late := 0, 0
	for _, a := range pages {
		t.Logf("%s from %s: starts %s ends %s %q", a.at.Format("15:04:05.0"), a.from, a.starts.Format("15:04:05"), a.ends.Format("15:04:05"), a.ann["summary"])
		switch firing := a.ends.After(a.at); {
		case firing && a.at.Before(at(34)) && !strings.HasSuffix(a.ann["summary"], "(over)"):
			open++
		case firing:
			late++
		}
	}
	if open == 0 || late != 0 {
		t.Errorf("%d pushes fired it while open, %d as over: want it paged open and never as over", open, late)
	}
}
