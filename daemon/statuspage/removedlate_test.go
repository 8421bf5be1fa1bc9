package statuspage

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFleetRemovedFlowShortOutagePagedLate pins what a prober does with a
// short counted outage of a flow that a reload removed after the outage
// ended: it pages it late, as any. Two probers (seoul-a, busan-b) on one
// store, quorum majority, rebuilt every 5 minutes (09:30:30, 09:35:30; no
// kicks): busan-b down from 09:30, seoul-a from 09:31 (its run reaches the
// quorum: it is the one elected), both back at 09:33; at 09:34 seoul-a's
// reload removes chat. The verdict of 09:35:30 still counts the window
// (the report counts a retired flow's windows, as the SLA must), and
// seoul-a pages it after its end: the outage was real, counted, and
// happened while the flow was configured; Alertmanager heard nothing of it
// otherwise. busan-b, which still has chat, does not (not elected).
func TestFleetRemovedFlowShortOutagePagedLate(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	clk := clock.NewManual(t0)
	seoul, busan := newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)
	ps := []*pushProber{seoul, busan}
	down := func(p *pushProber, i int) bool {
		if p == busan {
			return i >= 30 && i < 33
		}
		return i >= 31 && i < 33
	}
	removed := fleetConfig("seoul-a")
	removed.Services[0].Flows[0].Name = "mail" // chat removed, another flow kept
	for i := 25; i < 40; i++ {
		clk.Set(at(i))
		if i == 34 {
			seoul.page.SetConfig(removed)
		}
		for _, p := range ps {
			if p == seoul && i >= 34 {
				continue // chat no longer runs at seoul-a
			}
			r := fleetRun(p.loc, at(i), !down(p, i))
			evs := p.m.Observe(&r)
			if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			p.n.Handle(evs)
		}
		clk.Set(at(i).Add(30 * time.Second))
		for _, p := range ps {
			if i%5 == 0 {
				if err := p.page.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.n.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	pages := func(p *pushProber) (out []pushed) {
		for _, a := range p.am.alerts() {
			if a.labels["severity"] == "page" && a.labels["alertname"] == alert.NameFlowDown && a.labels["location"] == alert.QuorumLocation {
				out = append(out, a)
			}
		}
		return out
	}
	for _, a := range pages(seoul) {
		t.Logf("seoul-a %s: flow %s starts %s ends %s %q", a.at.Format("15:04:05"), a.labels["flow"], a.starts.Format("15:04:05"), a.ends.Format("15:04:05"), a.ann["summary"])
	}
	got := pages(seoul)
	if len(got) == 0 || got[0].labels["flow"] != "chat" || !got[0].starts.Equal(at(31)) || !got[0].at.Equal(at(35).Add(30*time.Second)) || !got[0].ends.After(got[0].at) {
		t.Errorf("seoul-a's pages %+v, want chat's counted window from 09:31 paged firing at 09:35:30, after the reload removed chat", got)
	}
	if b := pages(busan); len(b) != 0 {
		t.Errorf("busan-b paged %+v, want nothing (seoul-a is elected)", b)
	}
}
