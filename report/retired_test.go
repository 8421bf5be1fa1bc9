package report

import (
	"cmp"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// flowSchedule is schedule for flow (chat's steps) of service messaging.
func flowSchedule(flow string, from, to time.Time, interval time.Duration, spec func(time.Duration) string) []probe.Run {
	runs := schedule("seoul-a", from, to, interval, spec)
	for i := range runs {
		runs[i].Flow, runs[i].ID = flow, flow+"-"+runs[i].ID
	}
	return runs
}

// withFlows is testConfig with chat's steps under each of names instead.
func withFlows(interval time.Duration, names ...string) *config.Config {
	cfg := testConfig("Asia/Seoul", interval)
	chat := cfg.Services[0].Flows[0]
	cfg.Services[0].Flows = nil
	for _, n := range names {
		f := chat
		f.Name = n
		cfg.Services[0].Flows = append(cfg.Services[0].Flows, f)
	}
	return cfg
}

// flowsJSON is each flow of svc by name, as report.json has it.
func flowsJSON(t *testing.T, svc Service) map[string]map[string]any {
	t.Helper()
	b, err := json.Marshal(svc.Flows)
	if err != nil {
		t.Fatal(err)
	}
	var fs []map[string]any
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, f := range fs {
		out[f["name"].(string)] = f
	}
	return out
}

// sameAccounting fails unless got's service accounting is want's: every
// figure, window, incident, reconciliation, function and day, the flows by
// name (retired aside) and the steps in any order.
func sameAccounting(t *testing.T, got, want Service) {
	t.Helper()
	gf, wf := flowsJSON(t, got), flowsJSON(t, want)
	for _, f := range gf {
		delete(f, "retired")
	}
	if !reflect.DeepEqual(gf, wf) {
		t.Errorf("flows\n got %v\nwant %v", gf, wf)
	}
	byKey := func(a, b StepLatency) int { return strings.Compare(a.Flow+"/"+a.Step, b.Flow+"/"+b.Step) }
	gs, ws := slices.Clone(got.Steps), slices.Clone(want.Steps)
	slices.SortFunc(gs, byKey)
	slices.SortFunc(ws, byKey)
	if !reflect.DeepEqual(gs, ws) {
		t.Errorf("steps\n got %+v\nwant %+v", gs, ws)
	}
	got.Flows, want.Flows, got.Steps, want.Steps = nil, nil, nil, nil
	// The unknown stretches are listed flow by flow, in the flows' order.
	byStart := func(a, b Span) int { return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Flow, b.Flow)) }
	got.Unknown, want.Unknown = slices.Clone(got.Unknown), slices.Clone(want.Unknown)
	slices.SortFunc(got.Unknown, byStart)
	slices.SortFunc(want.Unknown, byStart)
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Errorf("service accounting differs at %s", firstDiff(g, w))
	}
}

// TestRetiredFlowRenamed: a flow renamed in the middle of a month (old until
// the 16th, new after) is measured by both names; a report made with
// today's config, which has only the new name, accounts both halves as a
// config with both names does. Before, the old name's half was gone from
// every report made after the rename: October read 15 days unknown, the
// 10-hour outage of the 3rd was not in it, its declared incident "not
// detected", and the credit was the second half's 10% instead of 25%.
func TestRetiredFlowRenamed(t *testing.T) {
	ctx := context.Background()
	const ivl = 5 * time.Minute
	both, renamed := withFlows(ivl, "old", "new"), withFlows(ivl, "new")
	loc := both.Loc
	from, to := time.Date(2022, 10, 1, 0, 0, 0, 0, loc), time.Date(2022, 11, 1, 0, 0, 0, 0, loc)
	mid := time.Date(2022, 10, 16, 0, 0, 0, 0, loc)
	sendDown := [2]time.Time{localAt(loc, "2022-10-03 10:00"), localAt(loc, "2022-10-03 20:00")}
	loginDown := [2]time.Time{localAt(loc, "2022-10-20 09:00"), localAt(loc, "2022-10-20 09:30")}
	tls := timeline(incident("send-03", "error", []string{"send"}, sendDown[0], sendDown[1]),
		incident("login-20", "down", []string{"login"}, loginDown[0], loginDown[1]))
	runs := append(flowSchedule("old", from, mid, ivl, between(from, "fail:send", sendDown)),
		flowSchedule("new", mid, to, ivl, between(mid, "fail:login", loginDown))...)
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, both, runs)
			for _, recompute := range []bool{false, true} {
				var warned []string
				in := Input{Store: s, From: from, To: to, Timelines: tls, Functions: true, Recompute: recompute,
					Warn: func(m string) { warned = append(warned, m) }}
				in.Config = both
				want, err := Build(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				in.Config = renamed
				got, err := Build(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(warned) > 0 {
					t.Errorf("recompute %v: warned %q", recompute, warned)
				}
				g, w := got.Services[0], want.Services[0]
				// The figures the customer reads, first, then everything.
				if val(g.Availability) != val(w.Availability) || g.DowntimeSeconds != w.DowntimeSeconds || g.Incidents != w.Incidents ||
					val(g.CreditPercent) != val(w.CreditPercent) || g.UnknownSeconds != w.UnknownSeconds {
					t.Errorf("recompute %v: availability %v downtime %v incidents %d credit %v unknown %v; want %v %v %d %v %v", recompute,
						val(g.Availability), g.DowntimeSeconds, g.Incidents, val(g.CreditPercent), g.UnknownSeconds,
						val(w.Availability), w.DowntimeSeconds, w.Incidents, val(w.CreditPercent), w.UnknownSeconds)
				}
				if w.DowntimeSeconds != (10*time.Hour+30*time.Minute).Seconds() || val(w.CreditPercent) != 25 {
					t.Errorf("recompute %v: the config with both names has downtime %v and credit %v, want 10h30m and 25%%", recompute, w.DowntimeSeconds, val(w.CreditPercent))
				}
				for _, r := range g.Reconciliation {
					if !r.Detected {
						t.Errorf("recompute %v: %s not detected", recompute, r.ID)
					}
				}
				sameAccounting(t, g, w)
				fs := flowsJSON(t, g)
				if fs["old"]["retired"] != true || fs["new"]["retired"] != nil {
					t.Errorf("recompute %v: flows %v, want old retired and new not", recompute, fs)
				}
				if !reflect.DeepEqual(got.Windows, want.Windows) {
					t.Errorf("recompute %v: report windows differ", recompute)
				}
				wsGot, err := Windows(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(wsGot, want.Windows) {
					t.Errorf("recompute %v: windows listing\n got %+v\nwant %+v", recompute, wsGot, want.Windows)
				}
			}
		})
	}
}

// closeRemoved stores what the daemon stores when a reload removes a flow
// at now: its open windows at loc closed at the end of its last run's
// interval (daemon closeAll).
func closeRemoved(t *testing.T, s store.Store, flow string, lastRun, now time.Time, interval time.Duration) {
	t.Helper()
	ctx := context.Background()
	open, err := s.OpenWindows(ctx, "seoul-a")
	if err != nil {
		t.Fatal(err)
	}
	end := minT(lastRun.Add(interval), now)
	var evs []state.Event
	for _, w := range open {
		if w.Flow == flow {
			w.End = end
			evs = append(evs, state.Event{Op: state.OpClose, Window: w})
		}
	}
	if len(evs) == 0 {
		t.Fatalf("no open window of %s to close", flow)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// TestRetiredFlowRemovedWhileDown: a flow removed from the config by a
// reload while it was down keeps its outage in the month's report, made
// with the config without it, as in one made with it: the service was
// down while it was. Before, the outage was gone: availability 100%, no
// incident and no credit.
func TestRetiredFlowRemovedWhileDown(t *testing.T) {
	ctx := context.Background()
	const ivl = time.Minute
	both, chatOnly := withFlows(ivl, "chat", "inbox"), withFlows(ivl, "chat")
	loc := both.Loc
	from, to := time.Date(2022, 10, 20, 0, 0, 0, 0, loc), time.Date(2022, 10, 21, 0, 0, 0, 0, loc)
	removed := localAt(loc, "2022-10-20 12:00")
	down := [2]time.Time{localAt(loc, "2022-10-20 10:00"), removed}
	runs := append(flowSchedule("chat", from, to, ivl, failing("ok")),
		flowSchedule("inbox", from, removed, ivl, between(from, "fail:receive", down))...)
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			load(t, s, both, runs)
			closeRemoved(t, s, "inbox", removed.Add(-ivl), removed, ivl)
			in := Input{Config: both, Store: s, From: from, To: to, Functions: true}
			want, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.Config = chatOnly
			got, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			g := got.Services[0]
			if g.DowntimeSeconds != (2*time.Hour).Seconds() || g.Incidents != 1 || val(g.CreditPercent) != 100 {
				t.Errorf("downtime %v incidents %d credit %v, want 2h, 1, 100%%", g.DowntimeSeconds, g.Incidents, val(g.CreditPercent))
			}
			sameAccounting(t, g, want.Services[0])
			if fs := flowsJSON(t, g); fs["inbox"]["retired"] != true {
				t.Errorf("inbox %v, want retired", fs["inbox"])
			}
			var recv *FunctionAccount
			for i := range g.Functions {
				if g.Functions[i].Name == "receive" {
					recv = &g.Functions[i]
				}
			}
			if recv == nil || recv.DowntimeSeconds != (2*time.Hour).Seconds() {
				t.Errorf("receive %+v, want 2h down", recv)
			}
		})
	}
}

// TestRetiredFlowOfRemovedService: runs of a flow whose service the config
// no longer has are left out (no objective to judge them by), and the
// report says so through Warn, naming the flow and its service; before,
// they were left out without a word.
func TestRetiredFlowOfRemovedService(t *testing.T) {
	ctx := context.Background()
	const ivl = time.Minute
	cfg := withFlows(ivl, "chat")
	withPay := withFlows(ivl, "chat")
	pay := withPay.Services[0]
	pay.Name, pay.Flows = "payments", []config.Flow{pay.Flows[0]}
	pay.Flows[0].Name, pay.Flows[0].Service = "transfer", "payments"
	withPay.Services = append(withPay.Services, pay)
	loc := cfg.Loc
	from, to := time.Date(2022, 10, 20, 0, 0, 0, 0, loc), time.Date(2022, 10, 21, 0, 0, 0, 0, loc)
	chat := flowSchedule("chat", from, to, ivl, failing("fail:send", [2]int{60, 90}))
	transfer := flowSchedule("transfer", from, to, ivl, failing("fail:login", [2]int{100, 200}))
	for i := range transfer {
		transfer[i].Service = "payments"
	}
	for _, st := range confirmStores() {
		t.Run(st.name, func(t *testing.T) {
			s, plain := st.open(t), st.open(t)
			load(t, s, withPay, append(chat, transfer...))
			load(t, plain, cfg, chat)
			var warned []string
			in := Input{Config: cfg, Store: s, From: from, To: to, Warn: func(m string) { warned = append(warned, m) }}
			got, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.Store = plain
			want, err := Build(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(warned) != 1 || !strings.Contains(warned[0], "transfer (service payments)") || !strings.Contains(warned[0], "left out") {
				t.Errorf("warned %q, want one warning naming transfer (service payments)", warned)
			}
			got.Location, want.Location = "", "" // the store with transfer lists its location too
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("report differs from one without transfer's runs at %s", firstDiff(g, w))
			}
		})
	}
}

// sessionLogin makes f's first step (its login) a session step kept for
// ttl, as examples/demo.yaml's payments-transfer keeps its login.
func sessionLogin(f *config.Flow, ttl time.Duration) {
	f.Session = &config.Session{TTL: ttl, Steps: f.Steps[:1]}
	f.Steps = f.Steps[1:]
}
