package report

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// A flow removed from the config after a month was made changes none of
// the month's figures (README: the month accounts it as no longer
// configured, and makes no new version of it). A retired flow is accounted
// with the defaults' down_after and up_after, and now with the defaults'
// confirm_every too: with none, a prober stopped while it confirm-ran the
// flow (every 10 s at 60 s, the default a sixth of the interval) had its
// data end 10 s after its last run while the flow was configured, and 60 s
// after once it was removed, so the month's downtime (mid-outage: 10:20:40
// to 10:21:30 more) or its unknown time (one failure while up) changed
// with the removal alone.
func TestRetiredFlowKeepsTheDefaultsConfirmEvery(t *testing.T) {
	m := time.Minute
	// A day of runs before the outage: the interval a retired flow's runs
	// show is 60 s, not stretched by the confirm runs at its end.
	from, to := hm(-14, 0), hm(11, 0)
	for _, tc := range []struct {
		name  string
		fails []string // at 10:20, then every 10 s (confirm runs), then the prober stops
	}{
		{"mid-outage", []string{"fail:send", "fail:send", "fail:send", "fail:send"}},
		{"one failure while up", []string{"fail:send"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			cfg.Defaults.ConfirmEverySet = false // none set: a sixth of the interval
			chat := &cfg.Services[0].Flows[0]
			chat.ConfirmEvery = config.ConfirmEveryFor(m) // the default: 10 s
			inbox := *chat
			inbox.Name = "inbox"
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
			var runs []probe.Run
			for at := from; at.Before(to); at = at.Add(m) {
				r := mkRun("seoul-a", at, "ok")
				r.Flow, r.ID = "inbox", "inbox"+r.ID
				runs = append(runs, r)
			}
			for at := from; at.Before(hm(10, 20)); at = at.Add(m) {
				runs = append(runs, mkRun("seoul-a", at, "ok"))
			}
			for i, spec := range tc.fails {
				r := mkRun("seoul-a", hm(10, 20).Add(time.Duration(i)*10*time.Second), spec)
				r.Confirm = i > 0
				runs = append(runs, r)
			}
			s := newMemStore()
			load(t, s, cfg, runs)
			removed := *cfg
			removed.Services = []config.Service{cfg.Services[0]}
			removed.Services[0].Flows = cfg.Services[0].Flows[1:]
			var got [2]string
			for i, c := range []*config.Config{cfg, &removed} {
				rep, err := Build(context.Background(), Input{Config: c, Store: s, From: from, To: to, Now: hm(12, 0)})
				if err != nil {
					t.Fatal(err)
				}
				sv := rep.Services[0]
				var row Flow
				for _, f := range sv.Flows {
					if f.Name == "chat" {
						row, row.Retired = f, false
					}
				}
				b, _ := json.Marshal(struct {
					Service []float64
					Chat    Flow
				}{[]float64{sv.DowntimeSeconds, sv.UnknownSeconds, sv.UptimeSeconds}, row})
				got[i] = string(b)
			}
			if got[0] != got[1] {
				t.Errorf("the service's downtime, unknown and uptime seconds and chat's row with chat configured:\n  %s\nremoved:\n  %s\nwant the same", got[0], got[1])
			}
		})
	}
}
