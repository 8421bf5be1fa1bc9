package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// TestFunctionRunsOfASession: flow sync keeps a login session (ttl 1h,
// session step login): of its 288 runs in a day at 5 min, 30 log in (at
// 00:00 to 09:00 hourly, then each run from 10:00 to 10:25 while new logins
// fail, then hourly from 10:30), and the rest reuse the session and list no
// login step. New logins fail from 09:30, but the runs to 09:55 reuse the
// session and pass. report.json's flow says login was exercised by 30 runs,
// send and receive by 288 (function_runs), also when the raw results are
// pruned (the step rollups count them), and flow plain, without a session,
// leaves the key out; the login window from 10:00 may have begun up to an
// hour before (09:00, the last login that passed), stored and recomputed,
// where the flow's window says 5 min (09:55). Without function_runs the
// counts are absent; without state's rule the login window says 5 min.
func TestFunctionRunsOfASession(t *testing.T) {
	ctx := context.Background()
	const ivl = 5 * time.Minute
	cfg := withFlows(ivl, "sync", "plain")
	sync := &cfg.Services[0].Flows[0]
	sessionLogin(sync, time.Hour)
	loc := cfg.Loc
	from, to := time.Date(2022, 10, 1, 0, 0, 0, 0, loc), time.Date(2022, 10, 2, 0, 0, 0, 0, loc)
	runs := sessionDay(cfg, from, to, ivl)
	want := fmt.Sprint([]FunctionRuns{{"login", 30}, {"send", 288}, {"receive", 288}})
	for _, st := range confirmStores() {
		for _, pruned := range []bool{false, true} {
			if pruned && st.name != "sqlite" {
				continue // SQLite's store alone prunes
			}
			for _, recompute := range []bool{false, true} {
				name := fmt.Sprintf("%s/pruned=%v/recompute=%v", st.name, pruned, recompute)
				if pruned && recompute {
					continue // no raw results to recompute from
				}
				t.Run(name, func(t *testing.T) {
					s := st.open(t)
					load(t, s, cfg, runs)
					if pruned {
						if _, err := s.Prune(ctx, store.Cutoffs{Runs: to}, 100000); err != nil {
							t.Fatal(err)
						}
						if h, err := s.Horizon(ctx); err != nil || h.Runs.IsZero() {
							t.Fatalf("horizon %+v, %v: raw runs not pruned", h, err)
						}
					}
					rep, err := Build(ctx, Input{Config: cfg, Store: s, From: from, To: to, Now: to.Add(time.Hour), Recompute: recompute})
					if err != nil {
						t.Fatal(err)
					}
					svc := rep.Services[0]
					for _, f := range svc.Flows {
						switch f.Name {
						case "sync":
							if f.Runs != 288 || fmt.Sprint(f.FunctionRuns) != want {
								t.Errorf("sync: runs %d, function_runs %v; want 288, %s", f.Runs, f.FunctionRuns, want)
							}
						case "plain":
							if f.FunctionRuns != nil {
								t.Errorf("plain (no session): function_runs %v, want none", f.FunctionRuns)
							}
						}
					}
					bounds := map[string]string{}
					for _, w := range svc.Windows {
						fn := "flow"
						if w.Function != nil {
							fn = *w.Function
						}
						u := "?"
						if w.StartUncertaintySeconds != nil {
							u = fmt.Sprint(*w.StartUncertaintySeconds)
						}
						bounds[w.Flow+"/"+fn] = w.Start.In(loc).Format("15:04") + " -" + u + "s"
					}
					for k, v := range map[string]string{"sync/login": "10:00 -3600s", "sync/flow": "10:00 -300s"} {
						if bounds[k] != v {
							t.Errorf("%s window %q, want %q (all: %v)", k, bounds[k], v, bounds)
						}
					}
				})
			}
		}
	}
}

// sessionSyncDay is withFlows' sync and plain every ivl, sync's login a
// session step kept for an hour when session is set, with sessionDay's
// runs of 2022-10-01 (in the config's zone) loaded into a memory store.
func sessionSyncDay(t *testing.T, ivl time.Duration, session bool) (cfg *config.Config, s *memStore, from, to time.Time) {
	t.Helper()
	cfg = withFlows(ivl, "sync", "plain")
	if session {
		sessionLogin(&cfg.Services[0].Flows[0], time.Hour)
	}
	from, to = time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc), time.Date(2022, 10, 2, 0, 0, 0, 0, cfg.Loc)
	s = newMemStore()
	load(t, s, cfg, sessionDay(cfg, from, to, ivl))
	return cfg, s, from, to
}

// sessionDay is TestFunctionRunsOfASession's runs: flow sync with its
// session (the login hourly, each run while new logins fail from 09:30 to
// 10:30, the others reusing it with no login step listed), and flow plain.
func sessionDay(cfg *config.Config, from, to time.Time, ivl time.Duration) []probe.Run {
	loc := cfg.Loc
	outage := [2]time.Time{localAt(loc, "2022-10-01 09:30"), localAt(loc, "2022-10-01 10:30")}
	var runs []probe.Run
	var loggedIn time.Time // zero: no session
	for at := from; at.Before(to); at = at.Add(ivl) {
		logsIn := loggedIn.IsZero() || !at.Before(loggedIn.Add(time.Hour))
		spec := "ok"
		if logsIn && !at.Before(outage[0]) && at.Before(outage[1]) {
			spec = "fail:login"
		}
		r := mkRun("seoul-a", at, spec)
		r.Flow, r.ID = "sync", fmt.Sprintf("sync-%d", at.Unix())
		switch {
		case !logsIn:
			r.Steps = r.Steps[1:] // reused the session: no login step listed
		case spec == "ok":
			loggedIn = at
		default:
			loggedIn = time.Time{}
		}
		runs = append(runs, r)
	}
	runs = append(runs, flowSchedule("plain", from, to, ivl, failing("ok"))...)
	return runs
}

// TestSessionLoginBoundRecomputedFromARange: windows --recompute over a
// range from 09:55 replays the runs before it as far as a session's ttl
// and two intervals (flowLookback), so it finds the login at 09:00 that the
// stored window's machine saw: the login window from 10:00 may have begun
// an hour before, stored and recomputed alike. With ten intervals only (50
// minutes, back to 09:05: no login) the recomputed bound was not known.
func TestSessionLoginBoundRecomputedFromARange(t *testing.T) {
	ctx := context.Background()
	const ivl = 5 * time.Minute
	cfg := withFlows(ivl, "sync", "plain")
	sync := &cfg.Services[0].Flows[0]
	sessionLogin(sync, time.Hour)
	loc := cfg.Loc
	day, end := time.Date(2022, 10, 1, 0, 0, 0, 0, loc), time.Date(2022, 10, 2, 0, 0, 0, 0, loc)
	runs := sessionDay(cfg, day, end, ivl)
	from, to := localAt(loc, "2022-10-01 09:55"), localAt(loc, "2022-10-01 12:00")
	for _, st := range confirmStores() {
		for _, recompute := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/recompute=%v", st.name, recompute), func(t *testing.T) {
				s := st.open(t)
				load(t, s, cfg, runs)
				ws, err := Windows(ctx, Input{Config: cfg, Store: s, From: from, To: to, Now: end, Recompute: recompute})
				if err != nil {
					t.Fatal(err)
				}
				got := "no login window"
				for _, w := range ws {
					if w.Function != nil && *w.Function == "login" {
						got = w.Start.In(loc).Format("15:04") + " -?s"
						if w.StartUncertaintySeconds != nil {
							got = fmt.Sprintf("%s -%vs", w.Start.In(loc).Format("15:04"), *w.StartUncertaintySeconds)
						}
					}
				}
				if got != "10:00 -3600s" {
					t.Errorf("login window %q, want %q", got, "10:00 -3600s")
				}
			})
		}
	}
}
