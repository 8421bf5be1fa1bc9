package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestBudgetSoFarAgreesWithRestUp: a report of a period not over has its
// error budget not spent (what the reports' and the status page's "below so
// far" rest on) exactly when the rest of the period up would meet the
// objective: the same hour at 90% with every run after 10:30 passing,
// under either policy, with maintenance past and still to come, and a half
// hour all unknown. At the edge, 6m down of 6m allowed, the budget read
// -5.7e-14s (1-0.9 in floating point): "missed" and "overspent by 0s" for
// an hour whose figure, the rest up, is 90.0%, met; and so for the hour
// over, met beside a budget overspent.
func TestBudgetSoFarAgreesWithRestUp(t *testing.T) {
	type mc struct{ a, b int }
	for _, tc := range []struct {
		name     string
		unknown  string
		degraded string
		maint    []mc
		what     string
		ranges   [][2]int
	}{
		{"down 5", "exclude", "up", nil, "fail:send", [][2]int{{5, 10}}},
		{"down 7", "exclude", "up", nil, "fail:send", [][2]int{{5, 12}}},
		{"down 6: the budget to the second", "exclude", "up", nil, "fail:send", [][2]int{{5, 11}}},
		{"gap 4 unknown down", "down", "up", nil, "gap", [][2]int{{5, 9}}},
		{"gap 8 unknown down", "down", "up", nil, "gap", [][2]int{{5, 13}}},
		{"gap 8 unknown excluded", "exclude", "up", nil, "gap", [][2]int{{5, 13}}},
		{"slow 5 degraded down", "exclude", "down", nil, "slow:send", [][2]int{{5, 10}}},
		{"slow 7 degraded down", "exclude", "down", nil, "slow:send", [][2]int{{5, 12}}},
		{"down 3, maint to come", "exclude", "up", []mc{{40, 60}}, "fail:send", [][2]int{{5, 8}}},
		{"down 5, maint to come", "exclude", "up", []mc{{40, 60}}, "fail:send", [][2]int{{5, 10}}},
		{"down 5, maint past and to come", "exclude", "up", []mc{{0, 4}, {50, 60}}, "fail:send", [][2]int{{5, 10}}},
		{"all unknown so far, unknown down", "down", "up", nil, "gap", [][2]int{{0, 30}}},
		{"all unknown but 1 so far, unknown down", "down", "up", nil, "gap", [][2]int{{0, 29}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("UTC", time.Minute)
			cfg.Services[0].Objective = 0.9
			cfg.Policy.Unknown, cfg.Policy.Degraded = tc.unknown, tc.degraded
			for _, m := range tc.maint {
				cfg.Maintenance = append(cfg.Maintenance, config.Maintenance{Service: "messaging", Start: hm(10, m.a), End: hm(10, 0).Add(time.Duration(m.b) * time.Minute)})
			}
			spec := failing(tc.what, tc.ranges...)
			s := stores()[0].open(t)
			load(t, s, cfg, schedule("seoul-a", hm(10, 0), hm(10, 30), time.Minute, spec))
			prov, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(11, 0), Now: hm(10, 30)})
			if err != nil {
				t.Fatal(err)
			}
			s2 := stores()[0].open(t)
			load(t, s2, cfg, schedule("seoul-a", hm(10, 0), hm(11, 10), time.Minute, spec))
			fin, err := Build(context.Background(), Input{Config: cfg, Store: s2, From: hm(10, 0), To: hm(11, 0), Now: hm(11, 10)})
			if err != nil {
				t.Fatal(err)
			}
			p, f := prov.Services[0], fin.Services[0]
			pm := p.Availability != nil && *p.Availability >= p.Objective
			stillCan := pm || (p.ErrorBudget.AllowedSeconds > 0 && p.ErrorBudget.RemainingSeconds >= 0)
			fm := f.Availability != nil && *f.Availability >= f.Objective
			t.Logf("prov avail %v budget %+v unknown %v; final avail %v", val(p.Availability), p.ErrorBudget, p.UnknownSeconds, val(f.Availability))
			if stillCan != fm {
				t.Errorf("so far: still can meet = %v; rest up: met = %v", stillCan, fm)
			}
			if over := f.ErrorBudget.RemainingSeconds >= 0; over != fm {
				t.Errorf("over: budget not spent = %v (%gs), met = %v", over, f.ErrorBudget.RemainingSeconds, fm)
			}
		})
	}
}
