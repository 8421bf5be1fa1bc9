package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestFunctionAccounts checks each function's accounting against the
// windows that took it down: a failing send blocks receive (not login), a
// slow receive degrades only receive, a second flow serving login keeps
// login measured while chat has a gap, and the days add up to the period.
func TestFunctionAccounts(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig("Asia/Seoul", time.Minute)
	cfg.Services[0].Flows = append(cfg.Services[0].Flows, config.Flow{
		Name: "web", Service: "messaging", Interval: time.Minute, DownAfter: 2, UpAfter: 1,
		Steps: []config.Step{{Name: "login", Function: "login"}},
	})
	from := time.Date(2022, 10, 15, 23, 0, 0, 0, cfg.Loc)
	to := from.Add(2 * time.Hour) // spans two local days
	s := stores()[0].open(t)
	// chat: send fails in minutes [10, 30), receive slow in [60, 70), no run
	// in [90, 100).
	load(t, s, cfg, schedule("seoul-a", from, to, time.Minute, func(off time.Duration) string {
		m := int(off / time.Minute)
		switch {
		case m >= 10 && m < 30:
			return "fail:send"
		case m >= 60 && m < 70:
			return "slow:receive"
		case m >= 90 && m < 100:
			return ""
		}
		return "ok"
	}))
	web := schedule("seoul-a", from, to, time.Minute, failing("ok"))
	for i := range web {
		web[i].Flow, web[i].ID, web[i].Steps = "web", "w"+web[i].ID, web[i].Steps[:1]
	}
	wcfg := *cfg
	wcfg.Services = []config.Service{cfg.Services[0]}
	wcfg.Services[0].Flows = cfg.Services[0].Flows[1:]
	load(t, s, &wcfg, web)

	rep, err := Build(ctx, Input{Config: cfg, Store: s, From: from, To: to, Functions: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := rep.Services[0]
	if len(svc.Functions) != 3 {
		t.Fatalf("functions %+v, want login, send, receive", svc.Functions)
	}
	byName := map[string]FunctionAccount{}
	for _, f := range svc.Functions {
		byName[f.Name] = f
	}
	down := 20 * time.Minute // backdated to the first failing run
	cases := []struct {
		fn                     string
		down, degraded, unknow time.Duration
		windows                int
	}{
		// windows: the whole-flow window and the function's own, each kind
		{"login", 0, 0, 0, 0}, // web covers chat's gap
		{"send", down, 0, 10 * time.Minute, 2},
		{"receive", down, 10 * time.Minute, 10 * time.Minute, 4},
	}
	for _, tc := range cases {
		f := byName[tc.fn]
		if f.Availability == nil {
			t.Fatalf("%s: no availability", tc.fn)
		}
		if got := time.Duration(f.DowntimeSeconds * float64(time.Second)); got != tc.down {
			t.Errorf("%s: down %s, want %s", tc.fn, got, tc.down)
		}
		if got := time.Duration(f.DegradedSeconds * float64(time.Second)); got != tc.degraded {
			t.Errorf("%s: degraded %s, want %s", tc.fn, got, tc.degraded)
		}
		if got := time.Duration(f.UnknownSeconds * float64(time.Second)); got != tc.unknow {
			t.Errorf("%s: unknown %s, want %s", tc.fn, got, tc.unknow)
		}
		eligible := to.Sub(from) - tc.unknow
		if want := float64(eligible-tc.down) / float64(eligible); !near(*f.Availability, want) {
			t.Errorf("%s: availability %g, want %g", tc.fn, *f.Availability, want)
		}
		if len(f.Windows) != tc.windows {
			t.Errorf("%s: %d windows %v, want %d", tc.fn, len(f.Windows), f.Windows, tc.windows)
		}
		if len(f.Daily) != 2 || f.Daily[0].Date != "2022-10-15" || f.Daily[1].Date != "2022-10-16" {
			t.Fatalf("%s: days %+v, want 2022-10-15 and 2022-10-16", tc.fn, f.Daily)
		}
		var sum float64
		for _, d := range f.Daily {
			sum += d.DowntimeSeconds
		}
		if !near(sum, f.DowntimeSeconds) {
			t.Errorf("%s: daily down adds up to %gs, period %gs", tc.fn, sum, f.DowntimeSeconds)
		}
	}
	// The service's own figures are what the worst function says.
	if !near(svc.DowntimeSeconds, byName["send"].DowntimeSeconds) {
		t.Errorf("service down %gs, send down %gs", svc.DowntimeSeconds, byName["send"].DowntimeSeconds)
	}

	// Without the option nothing changes in the report files.
	plain, err := Build(ctx, Input{Config: cfg, Store: s, From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Services[0].Functions != nil {
		t.Error("Functions filled without Input.Functions")
	}
}
