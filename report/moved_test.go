package report

import (
	"context"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestFlowMovedMidPeriod: a flow moved from one service to another in the
// middle of a period (a reload: its runs are stored under the old service
// before and the new one after, two series of one flow at one location)
// is measured throughout, and counts its whole period under the service
// today's config gives it (README: a flow is its name). Before, each
// series' edges were judged on their own: the old one's end made the rest
// of the day unknown, the new one's start the day before it, so at one
// location the whole day was unknown; the flow read 24 h unknown beside its
// 1,440 runs, and its outage (under the old service) was not counted: 0 s
// down. The same befell a name reused: payments' login removed at 08:00,
// messaging's signin renamed login at 16:00.
func TestFlowMovedMidPeriod(t *testing.T) {
	ctx := context.Background()
	const ivl = time.Minute
	// x under payments (before) or messaging (after), beside chat.
	withX := func(svc string) *config.Config {
		cfg := withFlows(ivl, "chat")
		pay := cfg.Services[0]
		pay.Name, pay.Flows = "payments", []config.Flow{cfg.Services[0].Flows[0]}
		pay.Flows[0].Name, pay.Flows[0].Service = "transfer", "payments"
		cfg.Services = append(cfg.Services, pay)
		x := cfg.Services[0].Flows[0]
		x.Name = "x"
		for i := range cfg.Services {
			if cfg.Services[i].Name == svc {
				x.Service = svc
				cfg.Services[i].Flows = append(cfg.Services[i].Flows, x)
			}
		}
		return cfg
	}
	before, after := withX("payments"), withX("messaging")
	loc := before.Loc
	from, to := time.Date(2022, 10, 20, 0, 0, 0, 0, loc), time.Date(2022, 10, 21, 0, 0, 0, 0, loc)
	moved := localAt(loc, "2022-10-20 12:00")
	down := [2]time.Time{localAt(loc, "2022-10-20 05:00"), localAt(loc, "2022-10-20 06:00")}
	service := func(svc string, runs []probe.Run) []probe.Run {
		for i := range runs {
			runs[i].Service = svc
		}
		return runs
	}
	others := append(flowSchedule("chat", from, to, ivl, failing("ok")),
		service("payments", flowSchedule("transfer", from, to, ivl, failing("ok")))...)
	xBefore := service("payments", flowSchedule("x", from, moved, ivl, between(from, "fail:send", down)))
	xAfter := flowSchedule("x", moved, to, ivl, failing("ok"))
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, before, append(others, xBefore...))
			load(t, s, after, xAfter)
			got, err := Build(ctx, Input{Config: after, Store: s, From: from, To: to, Functions: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, sv := range got.Services {
				var x *Flow
				for i := range sv.Flows {
					if sv.Flows[i].Name == "x" {
						x = &sv.Flows[i]
					}
				}
				switch sv.Name {
				case "messaging":
					if x == nil || x.Runs != 1440 || x.UnknownSeconds != 0 || x.DowntimeSeconds != time.Hour.Seconds() {
						t.Errorf("messaging's x %+v, want 1440 runs, 0 s unknown, 1 h down", x)
					}
					if sv.UnknownSeconds != 0 || sv.DowntimeSeconds != time.Hour.Seconds() || sv.Incidents != 1 {
						t.Errorf("messaging: unknown %v s, down %v s, %d incidents; want 0, 1 h, 1", sv.UnknownSeconds, sv.DowntimeSeconds, sv.Incidents)
					}
				case "payments":
					if x != nil || sv.DowntimeSeconds != 0 {
						t.Errorf("payments: x %+v, down %v s; want no x (today's config has it under messaging), 0 s", x, sv.DowntimeSeconds)
					}
				}
			}
		})
	}
}
