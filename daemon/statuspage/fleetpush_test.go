package statuspage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// pushed is one alert as a recording Alertmanager took it, and when.
type pushed struct {
	at     time.Time
	key    string // the labels, sorted
	labels map[string]string
	ann    map[string]string
	starts time.Time
	ends   time.Time
	body   string // the whole POST, for comparing two notifiers
}

// recordingAM is an Alertmanager that records every alert POSTed to it.
type recordingAM struct {
	clk   clock.Clock
	mu    sync.Mutex
	got   []pushed
	posts []string
}

func (r *recordingAM) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var as []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      time.Time         `json:"endsAt"`
	}
	if err := json.Unmarshal(body, &as); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clk.Now()
	r.posts = append(r.posts, string(body))
	for _, a := range as {
		r.got = append(r.got, pushed{at: now, key: labelKey(a.Labels), labels: a.Labels, ann: a.Annotations, starts: a.StartsAt, ends: a.EndsAt, body: string(body)})
	}
	w.WriteHeader(http.StatusOK)
}

func (r *recordingAM) alerts() []pushed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func labelKey(l map[string]string) string {
	var ks []string
	for k, v := range l {
		ks = append(ks, k+"="+v)
	}
	sort.Strings(ks)
	return "{" + strings.Join(ks, ",") + "}"
}

// pushProber is one prober of the push rig: its state machine, page and
// notifier (wired as cmd/slaprobe wires them) and its Alertmanager.
type pushProber struct {
	loc  string
	m    *state.Machine
	page *Page
	n    *alert.Notifier
	am   *recordingAM
}

func newPushProber(t *testing.T, s store.Store, clk *clock.Manual, loc string, fleetAware bool) *pushProber {
	t.Helper()
	return newPushProberWith(t, s, clk, fleetConfig(loc), fleetAware)
}

// newPushProberWith is newPushProber with the config cfg (fleetConfig of
// its location, changed).
func newPushProberWith(t *testing.T, s store.Store, clk *clock.Manual, cfg *config.Config, fleetAware bool) *pushProber {
	t.Helper()
	loc := cfg.Location
	p := &pushProber{loc: loc, am: &recordingAM{clk: clk}}
	p.m = state.New("messaging", "chat", loc, cfg.Services[0].Flows[0].Functions(), state.Policy{Interval: time.Minute, DownAfter: 2, UpAfter: 1})
	srv := httptest.NewServer(p.am)
	t.Cleanup(srv.Close)
	var err error
	p.n, err = alert.NewNotifier(alert.Options{URLs: []string{srv.URL}, Clock: clk, Location: loc, Zone: time.UTC, FleetAware: fleetAware})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Store: s, Clock: clk}
	if fleetAware {
		opts.Verdict = func(v Verdict) {
			p.n.SetFleet(alert.Fleet{Fleet: v.Fleet, NoRuns: !v.Runs, Counted: v.Counted, Unknown: v.Unknown, Next: v.Next})
		}
	}
	if p.page, err = New(cfg, opts); err != nil {
		t.Fatal(err)
	}
	return p
}

// pushMinute runs chat once at each prober at the minute (ok says whether
// it passes there), stores the runs and events and hands the events to the
// prober's notifier; 30 s later each page rebuilds its figures and each
// notifier sends.
func pushMinute(t *testing.T, s store.Store, clk *clock.Manual, at time.Time, ps []*pushProber, ok func(loc string) bool) {
	t.Helper()
	ctx := context.Background()
	clk.Set(at)
	for _, p := range ps {
		r := fleetRun(p.loc, at, ok(p.loc))
		evs := p.m.Observe(&r)
		if err := s.AppendRuns(ctx, []probe.Run{r}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		p.n.Handle(evs)
	}
	clk.Set(at.Add(30 * time.Second))
	for _, p := range ps {
		if err := p.page.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.n.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFleetPushPagesOnQuorum: two probers (seoul-a, busan-b) on one store,
// quorum majority, each pushing to its Alertmanager. seoul-a down alone
// from 09:30 (one location of two: below the quorum, which the report,
// windows and SlaprobeFlowNotUp do not count) pages from neither prober:
// seoul-a pushes its own window at severity ticket, location seoul-a. Once
// busan-b is down too (09:36, confirmed 09:37) both push the same page,
// location quorum, startsAt 09:36 (the counted window's start), and
// seoul-a's ticket is resolved; when busan-b is back (09:45) the page is
// resolved with endsAt 09:45 by both; at the end nothing fires anywhere.
// Before, each prober pushed its own verdict: seoul-a paged at 09:31 with
// location seoul-a and startsAt 09:30.
func TestFleetPushPagesOnQuorum(t *testing.T) {
	for _, st := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			s := tempStore(t)
			return s
		}},
		{"postgres", func(t *testing.T) store.Store {
			s, err := store.OpenPostgres(context.Background(), pgtest.DSN(t), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t)
			t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
			clk := clock.NewManual(t0)
			ps := []*pushProber{newPushProber(t, s, clk, "seoul-a", true), newPushProber(t, s, clk, "busan-b", true)}
			down := map[string][2]int{"seoul-a": {30, 50}, "busan-b": {36, 45}} // minutes [from, to)
			at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
			for i := 0; i < 56; i++ {
				pushMinute(t, s, clk, at(i), ps, func(loc string) bool { d := down[loc]; return i < d[0] || i >= d[1] })
			}
			pages := map[string]map[string]pushed{} // prober -> labels -> first push
			for _, p := range ps {
				pages[p.loc] = map[string]pushed{}
				for _, a := range p.am.alerts() {
					if a.labels["severity"] != "page" {
						continue
					}
					if a.at.Before(at(37)) {
						t.Errorf("%s paged at %s, below the quorum: %s", p.loc, a.at.Format("15:04:05"), a.key)
					}
					if _, ok := pages[p.loc][a.key]; !ok {
						pages[p.loc][a.key] = a
					}
				}
			}
			// Both pushed the same pages: the flow and its three functions,
			// location quorum, from 09:36, at the rebuild after the confirming run.
			for _, p := range ps {
				if len(pages[p.loc]) != 4 {
					t.Fatalf("%s pushed %d pages, want 4 (chat, login, send, receive): %v", p.loc, len(pages[p.loc]), keys(pages[p.loc]))
				}
				for k, a := range pages[p.loc] {
					if a.labels["location"] != alert.QuorumLocation {
						t.Errorf("%s's page %s: location %q, want %q", p.loc, k, a.labels["location"], alert.QuorumLocation)
					}
					if !a.starts.Equal(at(36)) {
						t.Errorf("%s's page %s starts %s, want 09:36 (the counted window's)", p.loc, k, a.starts.Format("15:04:05"))
					}
					if !a.at.Equal(at(37).Add(30 * time.Second)) {
						t.Errorf("%s's page %s first pushed at %s, want 09:37:30 (the rebuild after busan-b's confirming run)", p.loc, k, a.at.Format("15:04:05"))
					}
				}
			}
			if a, b := keys(pages["seoul-a"]), keys(pages["busan-b"]); !slices.Equal(a, b) {
				t.Errorf("the probers pushed different pages (Alertmanager cannot take them for one):\n%v\n%v", a, b)
			}
			// seoul-a's own window below the quorum: a ticket at seoul-a.
			var ticket bool
			for _, a := range ps[0].am.alerts() {
				if a.labels["severity"] == "ticket" && a.labels["location"] == "seoul-a" && a.labels["alertname"] == alert.NameFlowDown &&
					a.starts.Equal(at(30)) && a.ends.After(a.at) && a.at.Before(at(37)) {
					ticket = true
				}
			}
			if !ticket {
				t.Errorf("seoul-a pushed no ticket for its own window below the quorum from 09:30")
			}
			// Resolved: each page's last push ends at 09:45 (the counted
			// window's end), and every alert either prober pushed is resolved.
			for _, p := range ps {
				last := map[string]pushed{}
				for _, a := range p.am.alerts() {
					last[a.key] = a
				}
				for k, a := range last {
					if a.ends.After(a.at) {
						t.Errorf("%s left %s firing (last push at %s ends %s)", p.loc, k, a.at.Format("15:04:05"), a.ends.Format("15:04:05"))
					}
					if a.labels["severity"] == "page" && !a.ends.Equal(at(45)) {
						t.Errorf("%s resolved %s at %s, want 09:45 (the counted window's end)", p.loc, k, a.ends.Format("15:04:05"))
					}
				}
				if act := p.n.Active(); len(act) != 0 {
					t.Errorf("%s holds %d alerts firing at the end", p.loc, len(act))
				}
			}
		})
	}
}

func keys(m map[string]pushed) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAlonePushUnchanged: a prober alone on its store, its notifier told
// so by every rebuild of the figures (as cmd/slaprobe wires it), pushes
// byte for byte what a notifier with no verdict pushes: its own window at
// severity page, location seoul-a, startsAt 09:30, at its confirming run,
// and its resolve.
func TestAlonePushUnchanged(t *testing.T) {
	s := tempStore(t)
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	aware := newPushProber(t, s, clk, "seoul-a", true)
	plain := newPushProber(t, s, clk, "seoul-a", false)
	plain.m = nil // fed aware's events
	for i := 0; i < 45; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		clk.Set(at)
		r := fleetRun("seoul-a", at, i < 30 || i >= 40)
		evs := aware.m.Observe(&r)
		if err := s.AppendRuns(context.Background(), []probe.Run{r}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		aware.n.Handle(evs)
		plain.n.Handle(evs)
		clk.Set(at.Add(30 * time.Second))
		for _, p := range []*pushProber{aware, plain} {
			if err := p.page.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := p.n.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, b := aware.am.alerts(), plain.am.alerts()
	if len(a) == 0 {
		t.Fatal("nothing pushed")
	}
	if fmt.Sprint(aware.am.posts) != fmt.Sprint(plain.am.posts) {
		t.Errorf("a prober alone pushes otherwise than before:\n%v\nwant\n%v", a, b)
	}
	for _, x := range a {
		if x.labels["severity"] == "page" && x.labels["location"] == "seoul-a" && x.starts.Equal(t0.Add(30*time.Minute)) {
			return
		}
	}
	t.Errorf("no page at seoul-a from 09:30: %v", a)
}

// fleetAction is one step of a fleet test's minute, at its instant: a
// prober's run taken in, or (run nil) a kicked rebuild of its figures.
type fleetAction struct {
	at  time.Time
	p   *pushProber
	run *probe.Run
}

// rebuild rebuilds p's figures and lets its notifier act on them.
func (p *pushProber) rebuild(ctx context.Context, t *testing.T) {
	t.Helper()
	if err := p.page.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

// playActions sets clk to each of todo's instants in turn and does what is
// due: a run observed, stored and handed to its notifier, or a rebuild.
// A prober kicked meanwhile (kicked, set by its SetFleetChange) rebuilds
// kickSettle after the run that kicked it, as Page.Run would.
func playActions(ctx context.Context, t *testing.T, s store.Store, clk *clock.Manual, todo []fleetAction, kicked map[*pushProber]bool) {
	t.Helper()
	for len(todo) > 0 {
		slices.SortStableFunc(todo, func(x, y fleetAction) int { return x.at.Compare(y.at) })
		a := todo[0]
		todo = todo[1:]
		clk.Set(a.at)
		if a.run == nil {
			a.p.rebuild(ctx, t)
			continue
		}
		evs := a.p.m.Observe(a.run)
		if err := s.AppendRuns(ctx, []probe.Run{*a.run}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		a.p.n.Handle(evs)
		if kicked[a.p] {
			kicked[a.p] = false
			todo = append(todo, fleetAction{a.at.Add(kickSettle), a.p, nil})
		}
	}
}

// pagePush is a page's push as one Alertmanager receives them, with the
// prober that sent it.
type pagePush struct {
	pushed
	from string
}

// pagePushes are the flow-down pages every prober of ps pushed, in the
// order they were pushed.
func pagePushes(ps []*pushProber) []pagePush {
	var pages []pagePush
	for _, p := range ps {
		for _, a := range p.am.alerts() {
			if a.labels["severity"] == "page" && a.labels["alertname"] == alert.NameFlowDown {
				pages = append(pages, pagePush{a, p.loc})
			}
		}
	}
	slices.SortStableFunc(pages, func(x, y pagePush) int { return x.at.Compare(y.at) })
	return pages
}
