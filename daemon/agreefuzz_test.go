package daemon

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// The randomized agreement check: each seed draws a scenario (locations
// and their quorum, down_after/up_after, confirm runs, flows of 1-3 steps,
// what the target does at each location over time, stops and restarts of
// probers, a reload, reloads that lengthen the interval and shorten it
// again, a maintenance window), plays it on the agreement rig
// (agree_test.go: live daemons on one fake clock and one SQLite store) and
// checks that
//
//  1. the windows the daemons stored are those `windows --recompute` finds;
//  2. report.Build over the range agrees with the stored windows after the
//     quorum, recomputed here on their own (counted and below-quorum
//     windows, downtime, degraded, unknown, availability), and no figure is
//     negative or more than the period;
//  3. each daemon's live view when it stopped (its state machines'
//     verdicts in Status, slaprobe_flow_up) is the windows it left open;
//  4. over three ranges that begin and end anywhere, made as of their end
//     or an hour later, `windows` and `windows --recompute` agree and the
//     figures are within the range and add up to it;
//  5. a prober never stopped stores no unknown window (checkNoGap), which
//     the reloads that shorten the interval put to the test.
//
// Checks 1 and 4's recompute are left out when a reload changed
// down_after or the interval (--recompute replays with today's config,
// README says so), and 4's report figures made as of a time before the
// last reload of the interval (made with the config after it). A seed's timing is replayable to within the rig's clock
// step (200 ms): goroutines react to the fake clock as they are scheduled.
//
// SLAPROBE_AGREEFUZZ_SEEDS=N runs N seeds (default 3: a few seconds);
// SLAPROBE_AGREEFUZZ_SEED=S runs seed S alone (to replay a failure);
// SLAPROBE_AGREEFUZZ_FIRST=S starts at seed S;
// SLAPROBE_AGREEFUZZ_STREAK=N (3 to 1000) draws down_after and up_after
// from 3 to N in scenarios N/3 times as long. A failing seed prints its
// scenario.

type fuzzFlow struct {
	name      string
	functions []string // one a step, s1, s2, ...
}

type fuzzPhase struct {
	at time.Duration
	o  outcome
	// what, for the printed scenario
	what string
}

type fuzzEvent struct {
	at   time.Duration
	kind string // stop, start, reload
	loc  string
	// reload: what changes
	change string // interval=20s, down_after=3, add g, remove g
}

type fuzzScenario struct {
	seed      uint64
	locs      []string
	quorum    string
	downAfter int
	upAfter   int
	confirm   string
	degraded  string
	unknown   string
	interval  time.Duration
	timeout   time.Duration // hangs take it; up to the interval (a hang then skips base slots)
	flows     []fuzzFlow
	phases    map[string][]fuzzPhase // by location/flow
	events    []fuzzEvent
	maint     [2]time.Duration // offsets; zero length: none
	// cert: flow f's certificate under min_days_left at every location
	// over [cert[0], cert[1]) at step certStep, whatever else the target
	// does (a degraded run not confirm-run unless slow too: state.
	// Machine.Confirming); zero length: none.
	cert       [2]time.Duration
	certStep   string
	total      time.Duration
	t0         time.Time // where the offsets start
	extra      *fuzzFlow // the flow a reload adds ("add g") when not in flows
	flowIvl    map[string]time.Duration
	flowDown   map[string]int
	configured map[string]bool
}

func drawScenario(seed uint64, streak int) *fuzzScenario {
	// streak > 3 (SLAPROBE_AGREEFUZZ_STREAK) draws down_after and
	// up_after from 3 to streak and stretches the scenario and its phases
	// by streak/3, so that streaks that long happen and cross the ranges'
	// edges; the rng draws the same numbers, so seeds replay with it.
	k := time.Duration(max(1, streak/3))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := &fuzzScenario{seed: seed, phases: map[string][]fuzzPhase{}, interval: 10 * time.Second}
	s.locs = []string{"seoul-a", "busan-b", "daegu-c"}[:1+rng.IntN(3)]
	s.quorum = []string{"majority", "all", "1", "2"}[rng.IntN(4)]
	s.downAfter, s.upAfter = 1+rng.IntN(3), 1+rng.IntN(3)
	if streak > 3 {
		long := rand.New(rand.NewPCG(seed, uint64(streak)))
		s.downAfter, s.upAfter = 3+long.IntN(streak-2), 3+long.IntN(streak-2)
	}
	s.confirm = []string{"0s", "2s", "5s"}[rng.IntN(3)]
	s.degraded = []string{"up", "down"}[rng.IntN(2)]
	s.unknown = []string{"exclude", "down"}[rng.IntN(2)]
	s.timeout = []time.Duration{8 * time.Second, 10 * time.Second}[rng.IntN(2)]
	s.total = k * time.Duration(200+rng.IntN(121)) * time.Second
	pool := []string{"login", "send", "receive"}
	mkFlow := func(name string) fuzzFlow {
		f := fuzzFlow{name: name}
		for range 1 + rng.IntN(3) {
			f.functions = append(f.functions, pool[rng.IntN(len(pool))])
		}
		return f
	}
	s.flows = []fuzzFlow{mkFlow("f")}
	g := mkFlow("g")
	if rng.IntN(2) == 0 {
		s.flows = append(s.flows, g)
	} else {
		s.extra = &g
	}
	// What the target does: per flow a common story, which each location
	// follows (a little shifted) or not.
	story := func(f fuzzFlow) []fuzzPhase {
		var ps []fuzzPhase
		for at := time.Duration(0); at < s.total; at += k * time.Duration(5+rng.IntN(66)) * time.Second {
			step := 1 + rng.IntN(len(f.functions))
			name := "s" + strconv.Itoa(step)
			var p fuzzPhase
			switch x := rng.IntN(20); {
			case at == 0 || x < 8:
				p = fuzzPhase{o: outcome{took: 50 * time.Millisecond}, what: "pass"}
			case x < 13:
				p = fuzzPhase{o: outcome{failStep: name, err: name + ": status 503, want 200", took: 60 * time.Millisecond}, what: "fail at " + name}
			case x < 15:
				last := "s" + strconv.Itoa(len(f.functions))
				p = fuzzPhase{o: outcome{failStep: last, err: last + ": flow timeout after " + s.timeout.String(), took: s.timeout}, what: "hang to the timeout"}
			default:
				p = fuzzPhase{o: outcome{slowStep: name, took: 3 * time.Second}, what: "slow at " + name}
			}
			p.at = at
			ps = append(ps, p)
		}
		return ps
	}
	for _, f := range []fuzzFlow{s.flows[0], g} {
		common := story(f)
		for _, l := range s.locs {
			var ps []fuzzPhase
			if rng.IntN(5) < 3 {
				shift := time.Duration(rng.IntN(9)) * time.Second
				for i, p := range common {
					if i > 0 {
						p.at += shift
					}
					ps = append(ps, p)
				}
			} else {
				ps = story(f)
			}
			s.phases[l+"/"+f.name] = ps
		}
	}
	// A third of the scenarios end slow: flow f degraded at every location
	// from 20 to 40 s (times streak/3) before the end, so that the probers
	// stop in a degraded streak or window, confirm-run (state.Machine.
	// Confirming), and the report made an hour after the end (playScenario)
	// judges where their data ends: confirm_every after the last run, not
	// an interval. Its own rng, so that the other seeds replay as before.
	if tail := rand.New(rand.NewPCG(seed, 0xd5)); tail.IntN(3) == 0 {
		from := s.total - k*time.Duration(20+tail.IntN(21))*time.Second
		for _, l := range s.locs {
			key := l + "/" + s.flows[0].name
			ps := slices.DeleteFunc(s.phases[key], func(p fuzzPhase) bool { return p.at >= from })
			s.phases[key] = append(ps, fuzzPhase{at: from, o: outcome{slowStep: "s1", took: 3 * time.Second}, what: "slow at s1 to the end"})
		}
	}
	// A third of the scenarios have a certificate under min_days_left for
	// a while (to the end in half of them, so that probers stop and
	// restart in it): its runs are degraded but not confirm-run, which the
	// live daemons, windows --recompute and a report's data end must agree
	// on, through the other phases (a failure wins; slow too is
	// confirm-run). Its own rng, so that the other seeds replay as before.
	if cr := rand.New(rand.NewPCG(seed, 0xce)); cr.IntN(3) == 0 {
		from := time.Duration(cr.Int64N(int64(s.total * 2 / 3)))
		to := s.total
		if cr.IntN(2) == 0 {
			to = min(s.total, from+k*time.Duration(30+cr.IntN(121))*time.Second)
		}
		s.cert = [2]time.Duration{from.Truncate(time.Second), to.Truncate(time.Second)}
		s.certStep = "s" + strconv.Itoa(1+cr.IntN(len(s.flows[0].functions)))
	}
	// Stops and restarts, short and longer than two intervals.
	for _, l := range s.locs {
		if rng.IntN(2) == 0 {
			continue
		}
		at := time.Duration(30+rng.IntN(int((s.total-100*time.Second)/time.Second))) * time.Second
		if rng.IntN(3) == 0 {
			// A quick restart first.
			s.events = append(s.events, fuzzEvent{at: at / 2, kind: "stop", loc: l}, fuzzEvent{at: at/2 + time.Duration(1+rng.IntN(8))*time.Second, kind: "start", loc: l})
		}
		off := time.Duration(5+rng.IntN(11)) * time.Second
		if rng.IntN(2) == 0 {
			off = time.Duration(25+rng.IntN(36)) * time.Second
		}
		s.events = append(s.events, fuzzEvent{at: at, kind: "stop", loc: l})
		if len(s.locs) == 1 || rng.IntN(5) > 0 {
			s.events = append(s.events, fuzzEvent{at: at + off, kind: "start", loc: l})
		} // else stopped for good: its data ends there

	}
	if rng.IntN(2) == 0 {
		at := time.Duration(20+rng.IntN(int((s.total-60*time.Second)/time.Second))) * time.Second
		var change string
		switch x := rng.IntN(4); {
		case x == 0:
			change = "interval=" + []string{"15s", "20s"}[rng.IntN(2)]
		case x == 1:
			change = "down_after=" + strconv.Itoa(1+(s.downAfter+rng.IntN(2))%3)
		case s.extra != nil:
			change = "add g"
		default:
			change = "remove g"
		}
		s.events = append(s.events, fuzzEvent{at: at, kind: "reload", change: change})
	}
	// Reloads that shorten the interval: 10 s to 30 s, then back to 10 s
	// 15 to 75 s later, at times more than twice 10 s after a run of every
	// 30 s, which then judges the stretch after it (README, Accounting
	// policy: the interval the run had, or the longer of the two when the
	// reload came before its next run was due). Its own rng, so that the
	// other seeds replay as before.
	if sr := rand.New(rand.NewPCG(seed, 0x5407)); sr.IntN(3) == 0 {
		at := time.Duration(20+sr.IntN(int((s.total-150*time.Second)/time.Second))) * time.Second
		back := at + time.Duration(15+sr.IntN(61))*time.Second
		s.events = append(s.events, fuzzEvent{at: at, kind: "reload", change: "interval=30s"}, fuzzEvent{at: back, kind: "reload", change: "interval=10s"})
	}
	slices.SortStableFunc(s.events, func(x, y fuzzEvent) int { return cmp.Compare(x.at, y.at) })
	if rng.IntN(5) < 2 {
		st := time.Duration(rng.IntN(int(s.total/time.Second))) * time.Second
		s.maint = [2]time.Duration{st, st + time.Duration(10+rng.IntN(51))*time.Second}
	}
	return s
}

// String is the scenario, to replay by hand.
func (s *fuzzScenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d s, locations %v, quorum %s, down_after %d, up_after %d, confirm_every %s, degraded: %s, unknown: %s, interval %s, timeout %s\n",
		s.seed, int(s.total/time.Second), s.locs, s.quorum, s.downAfter, s.upAfter, s.confirm, s.degraded, s.unknown, s.interval, s.timeout)
	for _, f := range s.flows {
		fmt.Fprintf(&b, "  flow %s: steps %v\n", f.name, f.functions)
	}
	if s.extra != nil {
		fmt.Fprintf(&b, "  flow %s (added by a reload): steps %v\n", s.extra.name, s.extra.functions)
	}
	if s.maint[1] > 0 {
		fmt.Fprintf(&b, "  maintenance +%s..+%s\n", s.maint[0], s.maint[1])
	}
	if s.cert[1] > 0 {
		fmt.Fprintf(&b, "  flow %s: certificate under min_days_left at %s +%s..+%s\n", s.flows[0].name, s.certStep, s.cert[0], s.cert[1])
	}
	for _, l := range s.locs {
		for _, f := range append(slices.Clone(s.flows), *s.extraOr()) {
			ps := s.phases[l+"/"+f.name]
			if len(ps) == 0 {
				continue
			}
			fmt.Fprintf(&b, "  %s/%s:", l, f.name)
			for _, p := range ps {
				fmt.Fprintf(&b, " +%s %s;", p.at, p.what)
			}
			b.WriteString("\n")
		}
	}
	for _, e := range s.events {
		fmt.Fprintf(&b, "  +%s %s %s%s\n", e.at, e.kind, e.loc, e.change)
	}
	return b.String()
}

func (s *fuzzScenario) extraOr() *fuzzFlow {
	if s.extra != nil {
		return s.extra
	}
	return &fuzzFlow{}
}

// yaml is the scenario's config with the flows named.
func (s *fuzzScenario) yaml(t0 time.Time, flows []fuzzFlow) string {
	var b strings.Builder
	q := s.quorum
	fmt.Fprintf(&b, "location: %s\npolicy: {quorum: %s, degraded: %s, unknown: %s}\n", s.locs[0], q, s.degraded, s.unknown)
	fmt.Fprintf(&b, "defaults: {interval: %s, timeout: %s, down_after: %d, up_after: %d, confirm_every: %s}\n",
		s.interval, s.timeout, s.downAfter, s.upAfter, s.confirm)
	if s.maint[1] > 0 {
		fmt.Fprintf(&b, "maintenance:\n  - {service: svc, start: %s, end: %s, reason: fuzz}\n",
			t0.Add(s.maint[0]).Format(time.RFC3339), t0.Add(s.maint[1]).Format(time.RFC3339))
	}
	b.WriteString("services:\n  - name: svc\n    flows:\n")
	for _, f := range flows {
		fmt.Fprintf(&b, "      - name: %s\n", f.name)
		if ivl, ok := s.flowIvl[f.name]; ok {
			fmt.Fprintf(&b, "        interval: %s\n", ivl)
		}
		if n, ok := s.flowDown[f.name]; ok {
			fmt.Fprintf(&b, "        down_after: %d\n", n)
		}
		b.WriteString("        steps:\n")
		for i, fn := range f.functions {
			fmt.Fprintf(&b, "          - {name: s%d, function: %s, request: {url: \"http://127.0.0.1:1/%s\"}, expect: {latency: 2s}}\n", i+1, fn, fn)
		}
	}
	return b.String()
}

// fuzzStreak is SLAPROBE_AGREEFUZZ_STREAK (drawScenario), 3 without it.
func fuzzStreak(t *testing.T) int {
	v := os.Getenv("SLAPROBE_AGREEFUZZ_STREAK")
	if v == "" {
		return 3
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 3 || n > 1000 {
		t.Fatalf("SLAPROBE_AGREEFUZZ_STREAK %q: want 3 to 1000", v)
	}
	return n
}

func fuzzSeeds(t *testing.T) (first, n uint64) {
	n, first = 3, 1
	if v := os.Getenv("SLAPROBE_AGREEFUZZ_SEEDS"); v != "" {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SLAPROBE_AGREEFUZZ_SEEDS: %v", err)
		}
		n = x
	}
	if v := os.Getenv("SLAPROBE_AGREEFUZZ_FIRST"); v != "" {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SLAPROBE_AGREEFUZZ_FIRST: %v", err)
		}
		first = x
	}
	if v := os.Getenv("SLAPROBE_AGREEFUZZ_SEED"); v != "" {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SLAPROBE_AGREEFUZZ_SEED: %v", err)
		}
		first, n = x, 1
	}
	return first, n
}

func TestAgreementFuzz(t *testing.T) {
	first, n := fuzzSeeds(t)
	streak := fuzzStreak(t)
	for seed := first; seed < first+n; seed++ {
		s := drawScenario(seed, streak)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("replay with SLAPROBE_AGREEFUZZ_SEED=%d SLAPROBE_AGREEFUZZ_STREAK=%d; the scenario:\n%s", seed, streak, s)
				}
			})
			playScenario(t, s)
		})
	}
}

func playScenario(t *testing.T, s *fuzzScenario) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.t0 = t0
	s.flowIvl, s.flowDown, s.configured = map[string]time.Duration{}, map[string]int{}, map[string]bool{}
	flows := slices.Clone(s.flows)
	for _, f := range flows {
		s.configured[f.name] = true
	}
	parse := func() *config.Config {
		cfg, err := config.Parse("fuzz.yaml", []byte(s.yaml(t0, flows)), config.Options{})
		if err != nil {
			t.Fatalf("%v\n%s", err, s.yaml(t0, flows))
		}
		return cfg
	}
	r := newAgreeRigConfig(t, parse(), nil)
	r.step = 200 * time.Millisecond
	r.flowScript = func(loc, flow string, at time.Time) outcome {
		o := outcome{took: 50 * time.Millisecond}
		for _, p := range s.phases[loc+"/"+flow] {
			if !at.Before(t0.Add(p.at)) {
				o = p.o
			}
		}
		if flow == s.flows[0].name && !at.Before(t0.Add(s.cert[0])) && at.Before(t0.Add(s.cert[1])) {
			o.certStep = s.certStep
		}
		return o
	}
	daemons := map[string]*Daemon{}
	for _, l := range s.locs {
		daemons[l] = r.start(l, r.configAt(l))
	}
	replayed := true        // windows --recompute replays with today's config: a reload of down_after or the interval changes it
	var ivlReload time.Time // the last reload of the interval
	for _, e := range s.events {
		r.advance(t0.Add(e.at).Sub(r.fc.Now()))
		switch e.kind {
		case "stop":
			r.stop(e.loc)
			checkLive(t, r, daemons[e.loc], e.loc)
		case "start":
			daemons[e.loc] = r.start(e.loc, r.configAt(e.loc))
		case "reload":
			switch {
			case strings.HasPrefix(e.change, "interval="):
				ivl, _ := time.ParseDuration(strings.TrimPrefix(e.change, "interval="))
				s.flowIvl["f"] = ivl
				replayed = false
				ivlReload = r.fc.Now()
			case strings.HasPrefix(e.change, "down_after="):
				n, _ := strconv.Atoi(strings.TrimPrefix(e.change, "down_after="))
				s.flowDown["f"] = n
				replayed = false
			case e.change == "add g":
				flows = append(flows, *s.extra)
				s.configured["g"] = true
			case e.change == "remove g":
				flows = flows[:1]
				delete(s.configured, "g")
			}
			r.cfg = parse()
			for l := range r.live {
				if err := daemons[l].Reload(r.configAt(l)); err != nil {
					t.Fatalf("reload: %v", err)
				}
			}
		}
	}
	r.advance(t0.Add(s.total).Sub(r.fc.Now()))
	// Every prober may have stopped for good: then nothing runs to the end
	// (a prober started again here would close its open windows at its last
	// run and an interval, README's restart after more than two intervals,
	// which `windows --recompute` cannot see: it has no record of restarts).
	var locs []string
	for l := range r.live {
		locs = append(locs, l)
	}
	r.stop(locs...)
	// Up to the end of the runs in flight at the stop: one that started as
	// the stop began may confirm a window backdated before it.
	end := r.fc.Now().Add(time.Millisecond)
	for _, l := range locs {
		checkLive(t, r, daemons[l], l)
	}
	if replayed {
		r.compare(t0, end)
	}
	checkReport(t, r, s, t0, end, end)
	// The same made an hour later: every prober stopped more than two
	// intervals before, so each one's data ends where the run after its
	// last was due (its unknown stretch, as its state machine would start
	// it).
	checkReport(t, r, s, t0, end, end.Add(time.Hour))
	checkNoGap(t, r, s, t0, end)
	// Ranges that end (or begin) anywhere, made as of their end or later:
	// `windows` and `windows --recompute` agree, and the figures add up.
	rng := rand.New(rand.NewPCG(s.seed, 7))
	for range 3 {
		a := t0.Add(time.Duration(rng.Int64N(int64(s.total / 2))))
		b := a.Add(time.Duration(1 + rng.Int64N(int64(end.Sub(a)))))
		now := b
		if rng.IntN(2) == 0 {
			now = end.Add(time.Hour)
		}
		checkRange(t, r, s, a, b, now, replayed)
		// Figures as of a time before the last reload of the interval
		// are left out: they are made here with the config after it,
		// which no daemon nor report had then (seed 102, with the
		// reloads that shorten: live figures of 12:01:15-12:01:29, when
		// the flow ran every 30 s, made with today's 10 s, and this
		// check's model of them ended a degraded window at 12:01:29 and
		// at 12:01:22, judging by 10 s a location whose last run was
		// more than 20 s before).
		if now.Before(ivlReload) {
			continue
		}
		checkReport(t, r, s, a, b, now)
	}
}

// checkNoGap (5): a prober never stopped stores no unknown window: every
// run it was to make ran (one that hung covers its time), whatever the
// reloads did to the interval (README, Accounting policy: the stretch
// after a run is judged by the interval it had, or the longer of the two
// when a reload came before its next run was due). Main's rule before
// e2e0d7e, the interval after the reload, stored one after 30 s to 10 s
// reloaded more than 20 s after a run.
func checkNoGap(t *testing.T, r *agreeRig, s *fuzzScenario, from, to time.Time) {
	t.Helper()
	stopped := map[string]bool{}
	for _, e := range s.events {
		if e.kind == "stop" {
			stopped[e.loc] = true
		}
	}
	ws, err := r.st.Windows(context.Background(), store.Query{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Kind == state.KindUnknown && !stopped[w.Location] {
			t.Errorf("seed %d: %s never stopped, yet unknown %s %q %s to %s (from the start)", s.seed, w.Location, w.Flow, w.Function, w.Start.Sub(from), w.End.Sub(from))
		}
	}
}

// checkRange: over [from, to) made at now, the windows from the stored
// events are those recomputed (when the config did not change what a
// replay decides), and report.Build's figures are within the period and
// add up to it.
func checkRange(t *testing.T, r *agreeRig, s *fuzzScenario, from, to, now time.Time, replayed bool) {
	t.Helper()
	ctx := context.Background()
	rng := fmt.Sprintf("[+%s, +%s) made at +%s", from.Sub(from.Truncate(time.Hour)), to.Sub(from.Truncate(time.Hour)), now.Sub(from.Truncate(time.Hour)))
	in := report.Input{Config: r.cfg, Store: r.st, From: from, To: to, Now: now}
	if replayed {
		a, err := report.Windows(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		in.Recompute = true
		b, err := report.Windows(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		in.Recompute = false
		if x, y := windowsText(a), windowsText(b); x != y {
			t.Errorf("%s: windows differ:\nstored:\n%s\nrecomputed:\n%s", rng, x, y)
		}
	}
	rep, err := report.Build(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	elapsedTo := to
	if now.Before(to) {
		elapsedTo = now
	}
	elapsed := elapsedTo.Sub(from).Seconds()
	for _, svc := range rep.Services {
		for what, v := range map[string]float64{"downtime": svc.DowntimeSeconds, "degraded": svc.DegradedSeconds, "unknown": svc.UnknownSeconds,
			"uptime": svc.UptimeSeconds, "maintenance": svc.MaintenanceSeconds} {
			if v < -1e-9 || v > elapsed+1e-9 {
				t.Errorf("%s: %s %v s, outside 0..%v", rng, what, v, elapsed)
			}
		}
		bad := svc.DowntimeSeconds
		if s.degraded == "down" {
			bad += svc.DegradedSeconds
		}
		if d := svc.UptimeSeconds + bad + svc.UnknownSeconds + svc.MaintenanceSeconds - elapsed; math.Abs(d) > 1e-3 {
			t.Errorf("%s: up %v + down %v + unknown %v + maintenance %v != %v", rng, svc.UptimeSeconds, bad, svc.UnknownSeconds, svc.MaintenanceSeconds, elapsed)
		}
		for _, f := range svc.Flows {
			if f.Availability != nil && (*f.Availability < 0 || *f.Availability > 1) {
				t.Errorf("%s: %s availability %v", rng, f.Name, *f.Availability)
			}
			if f.DowntimeSeconds < 0 || f.DowntimeSeconds > elapsed+1e-9 || f.UnknownSeconds < 0 || f.UnknownSeconds > elapsed+1e-9 {
				t.Errorf("%s: %s downtime %v, unknown %v, of %v", rng, f.Name, f.DowntimeSeconds, f.UnknownSeconds, elapsed)
			}
		}
	}
}

func windowsText(ws []report.Window) string {
	var b strings.Builder
	for _, w := range ws {
		fn := "-"
		if w.Function != nil {
			fn = *w.Function
		}
		e := "open"
		if w.End != nil {
			e = w.End.UTC().Format("15:04:05.000")
		}
		f := func(v *float64) string {
			if v == nil {
				return "null"
			}
			return strconv.FormatFloat(*v, 'f', 3, 64)
		}
		fmt.Fprintf(&b, "  %s/%s %s %s..%s cut=%s/%s %v confirmed=%s cause=%s causes=%d later=%s/%s\n", w.Flow, fn, w.Kind, w.Start.UTC().Format("15:04:05.000"), e,
			w.StartCut, w.EndCut, w.Locations, w.Confirmed.UTC().Format("15:04:05.000"), w.CauseStep, len(w.Causes),
			f(w.StartUncertaintyLaterSeconds), f(w.EndUncertaintyLaterSeconds))
	}
	return b.String()
}

// checkLive: a stopped daemon's live view (Status, slaprobe_flow_up) is
// the windows it left open in the store, with the bounds of their starts.
func checkLive(t *testing.T, r *agreeRig, d *Daemon, loc string) {
	t.Helper()
	open, err := r.st.OpenWindows(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{} // flow/function/kind/start
	for _, w := range open {
		if w.Kind == state.KindUnknown {
			continue
		}
		var earlier, later *float64
		if d, ok := w.StartUncertainty(); ok {
			earlier = ptrSeconds(d)
		}
		if d, ok := w.StartLater(); ok {
			later = ptrSeconds(d)
		}
		stored[fmt.Sprintf("%s/%s/%s/%s -%s +%s", w.Flow, w.Function, w.Kind, w.Start.UTC().Format("15:04:05.000"), secondsText(earlier), secondsText(later))] = true
	}
	live := map[string]bool{}
	up := map[string]float64{}
	mfs, err := d.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "slaprobe_flow_up" {
			continue
		}
		for _, m := range mf.GetMetric() {
			up[label(m, "flow")] = m.GetGauge().GetValue()
		}
	}
	for _, fs := range d.Status().Flows {
		down, degraded := false, false
		for _, w := range fs.OpenWindows {
			fn := ""
			if w.Function != nil {
				fn = *w.Function
			}
			live[fmt.Sprintf("%s/%s/%s/%s -%s +%s", fs.Flow, fn, w.Kind, w.Start.UTC().Format("15:04:05.000"),
				secondsText(w.StartUncertaintySeconds), secondsText(w.StartUncertaintyLaterSeconds))] = true
			if fn == "" {
				down = down || w.Kind == string(state.KindDown)
				degraded = degraded || w.Kind == string(state.KindDegraded)
			}
		}
		want := "up"
		switch {
		case down:
			want = "down"
		case degraded:
			want = "degraded"
		}
		if fs.State != want && fs.State != "unknown" {
			t.Errorf("%s %s: state %s, but its open whole-flow windows say %s", loc, fs.Flow, fs.State, want)
		}
		v, ok := up[fs.Flow]
		switch {
		case fs.State == "unknown" && ok:
			t.Errorf("%s %s: unknown, but slaprobe_flow_up is %v", loc, fs.Flow, v)
		case fs.State != "unknown" && !ok:
			t.Errorf("%s %s: %s, but no slaprobe_flow_up", loc, fs.Flow, fs.State)
		case ok && (v == 0) != (fs.State == "down"):
			t.Errorf("%s %s: %s, but slaprobe_flow_up is %v", loc, fs.Flow, fs.State, v)
		}
	}
	for k := range stored {
		if !live[k] {
			t.Errorf("%s: the store has %s open, the daemon's live view does not", loc, k)
		}
	}
	for k := range live {
		if !stored[k] {
			t.Errorf("%s: the daemon's live view has %s open, the store does not", loc, k)
		}
	}
}

// secondsText is a bound in seconds as the status JSON writes it, or null.
func secondsText(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// fiv is a half-open interval for the oracle, which keeps its own sets.
type fiv struct{ s, e time.Time }

// fset is a sorted list of disjoint, non-touching intervals.
type fset []fiv

func fnorm(xs []fiv) fset {
	var ys []fiv
	for _, x := range xs {
		if x.e.After(x.s) {
			ys = append(ys, x)
		}
	}
	slices.SortFunc(ys, func(a, b fiv) int { return a.s.Compare(b.s) })
	var out fset
	for _, y := range ys {
		if n := len(out); n > 0 && !y.s.After(out[n-1].e) {
			if y.e.After(out[n-1].e) {
				out[n-1].e = y.e
			}
			continue
		}
		out = append(out, y)
	}
	return out
}

func (a fset) has(t time.Time) bool {
	for _, x := range a {
		if !t.Before(x.s) && t.Before(x.e) {
			return true
		}
	}
	return false
}

// sampled is the set of elementary intervals [p_i, p_i+1) of points for
// which in holds at p_i.
func sampled(points []time.Time, in func(time.Time) bool) fset {
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	points = slices.CompactFunc(points, func(a, b time.Time) bool { return a.Equal(b) })
	var xs []fiv
	for i := 0; i+1 < len(points); i++ {
		if in(points[i]) {
			xs = append(xs, fiv{points[i], points[i+1]})
		}
	}
	return fnorm(xs)
}

func (a fset) points() []time.Time {
	var ps []time.Time
	for _, x := range a {
		ps = append(ps, x.s, x.e)
	}
	return ps
}

func (a fset) total() time.Duration {
	var d time.Duration
	for _, x := range a {
		d += x.e.Sub(x.s)
	}
	return d
}

func (a fset) String() string {
	var b []string
	for _, x := range a {
		b = append(b, x.s.UTC().Format("15:04:05.000")+".."+x.e.UTC().Format("15:04:05.000"))
	}
	return "[" + strings.Join(b, " ") + "]"
}

// checkReport: report.Build over [from, end] (its JSON figures) agrees with
// the stored windows after the quorum, worked out here on its own.
func checkReport(t *testing.T, r *agreeRig, s *fuzzScenario, from, end, now time.Time) {
	t.Helper()
	ctx := context.Background()
	rep, err := report.Build(ctx, report.Input{Config: r.cfg, Store: r.st, From: from, To: end, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	q := store.Query{From: from, To: end}
	stored, err := r.st.Windows(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	cov, err := r.st.Coverage(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// Which locations ran a flow within a day before the range, and after
	// it: the state machine judged the stretch across that edge, and
	// stored it as unknown or not.
	// lastBefore is each one's last run before the range.
	lastBefore := map[[2]string]time.Time{}
	ran := func(a, b time.Time) map[[2]string]bool {
		c, err := r.st.Coverage(ctx, store.Query{From: a, To: b})
		if err != nil {
			t.Fatal(err)
		}
		out := map[[2]string]bool{}
		for _, x := range c {
			k := [2]string{x.Flow, x.Location}
			out[k] = true
			if !b.After(from) && x.Last.After(lastBefore[k]) {
				lastBefore[k] = x.Last
			}
		}
		return out
	}
	ranBefore, ranAfter := ran(from.Add(-24*time.Hour), from), ran(end, end.Add(24*time.Hour))
	var maint fset
	if s.maint[1] > 0 {
		maint = fnorm([]fiv{{s.t0.Add(s.maint[0]), s.t0.Add(s.maint[1])}}).clip(from, end)
	}
	period := end.Sub(from)
	need := func(n int) int {
		switch s.quorum {
		case "all":
			return n
		case "1":
			return 1
		case "2":
			return min(2, n)
		}
		return n/2 + 1
	}
	defer func() {
		if t.Failed() && os.Getenv("SLAPROBE_AGREEFUZZ_DUMP") != "" {
			j, _ := json.MarshalIndent(rep.Services[0], "", " ")
			t.Logf("report over [%s, %s) made at %s:\n%s", from.Format("15:04:05.000"), end.Format("15:04:05.000"), now.Format("15:04:05.000"), j)
		}
	}()
	if len(rep.Services) != 1 {
		t.Fatalf("%d services in the report", len(rep.Services))
	}
	svc := rep.Services[0]
	sane := func(what string, v float64) {
		if v < -1e-9 || v > period.Seconds()+1e-9 || math.IsNaN(v) {
			t.Errorf("%s: %v s, outside 0..%v", what, v, period.Seconds())
		}
	}
	for _, f := range svc.Flows {
		sane(f.Name+" downtime", f.DowntimeSeconds)
		sane(f.Name+" degraded", f.DegradedSeconds)
		sane(f.Name+" unknown", f.UnknownSeconds)
		if f.Availability != nil && (*f.Availability < 0 || *f.Availability > 1) {
			t.Errorf("%s: availability %v", f.Name, *f.Availability)
		}
	}
	sane("service downtime", svc.DowntimeSeconds)
	sane("service unknown", svc.UnknownSeconds)
	sane("service uptime", svc.UptimeSeconds)
	sane("service maintenance", svc.MaintenanceSeconds)
	bad := svc.DowntimeSeconds
	if s.degraded == "down" {
		bad += svc.DegradedSeconds
	}
	if d := svc.UptimeSeconds + bad + svc.UnknownSeconds + svc.MaintenanceSeconds - period.Seconds(); math.Abs(d) > 1e-3 {
		t.Errorf("service: up %v + down %v + unknown %v + maintenance %v != period %v", svc.UptimeSeconds, bad, svc.UnknownSeconds, svc.MaintenanceSeconds, period.Seconds())
	}

	type key struct{ flow, fn, kind, loc string }
	wantCounted, wantBelow := map[key]fset{}, map[key]fset{}
	var svcDown, svcDeg []fiv
	svcUnknown := fset{{from, end}}
	retired := false
	for _, f := range svc.Flows {
		if f.Retired || !s.configured[f.Name] {
			retired = true
			continue
		}
		ivl := s.interval
		if v, ok := s.flowIvl[f.Name]; ok {
			ivl = v
		}
		// Each location's unknown: what the state machines stored, and the
		// time before a location's first run (a flow added by a reload).
		unknown := map[string]fset{}
		var locs []string
		// A location with no run in the range whose last run before it
		// was less than two intervals before it reports in it from that
		// run (README, Accounting policy: unknown is no run for more than
		// twice the interval): its span is that run.
		spans := slices.Clone(cov)
		for k, last := range lastBefore {
			if k[0] != f.Name || from.Sub(last) >= 2*ivl || slices.ContainsFunc(cov, func(c store.Span) bool { return c.Flow == k[0] && c.Location == k[1] }) {
				continue
			}
			spans = append(spans, store.Span{Flow: k[0], Location: k[1], First: last, Last: last})
		}
		for _, c := range spans {
			if c.Flow != f.Name {
				continue
			}
			locs = append(locs, c.Location)
			k := [2]string{f.Name, c.Location}
			// Before a first run (none before the range): unknown
			// however short (README: nothing covered it).
			if c.First.After(from) && !ranBefore[k] {
				unknown[c.Location] = fnorm(append(unknown[c.Location], fiv{from, c.First}))
			}
			if !ranAfter[k] && (end.Sub(c.Last) > 2*ivl || now.Sub(c.Last) > 2*ivl) {
				// A prober stopped (for good, or not back yet): its data
				// ends when the run after its last one was due (README,
				// Accounting policy): confirm_every after it when that run
				// failed or was degraded, or the flow was down or
				// degraded, else the interval; but not when that run was
				// degraded by a certificate under min_days_left alone and
				// the flow was not down (README); or that run's end if
				// later. One that ran again: the stretch its state machine
				// stored then.
				runs, err := r.st.Runs(ctx, store.Query{From: c.Last, To: c.Last.Add(time.Nanosecond), Flows: []string{f.Name}, Location: c.Location})
				if err != nil || len(runs) != 1 {
					t.Fatalf("the last run of %s at %s: %v, %d runs", f.Name, c.Location, err, len(runs))
				}
				last := runs[0]
				down, degraded := !last.OK(), last.Outcome() == probe.StatusDegraded
				certOnly := degraded && !slices.ContainsFunc(last.Steps, func(s probe.StepResult) bool {
					return s.Status == probe.StatusDegraded && !strings.Contains(s.Error, "under min_days_left")
				})
				for _, w := range stored {
					if w.Flow == f.Name && w.Location == c.Location && w.Function == "" && (w.Kind == state.KindDown || w.Kind == state.KindDegraded) &&
						!w.Start.After(c.Last) && (w.End.IsZero() || w.End.After(c.Last)) {
						down = down || w.Kind == state.KindDown
						degraded = degraded || w.Kind == state.KindDegraded
					}
				}
				confirming := down || degraded && !certOnly
				every, _ := time.ParseDuration(s.confirm)
				due := c.Last.Add(ivl)
				if confirming && every > 0 && every < ivl {
					due = c.Last.Add(every)
				}
				if e := last.Start.Add(last.Duration); e.After(due) {
					due = e
				}
				unknown[c.Location] = fnorm(append(unknown[c.Location], fiv{due, end}))
			}
		}
		// A location with windows but no run in the range, nor one
		// before it that covers its start (above), is not reporting there
		// (README: a window left open by a prober that stopped is not seen
		// in a later period without its runs).
		for _, w := range stored {
			if w.Flow == f.Name && !slices.Contains(locs, w.Location) {
				locs = append(locs, w.Location)
				unknown[w.Location] = fset{{from, end}}
			}
		}
		slices.Sort(locs)
		locs = slices.Compact(locs)
		byFK := map[key][]state.Window{}
		for _, w := range stored {
			if w.Flow != f.Name {
				continue
			}
			if w.Kind == state.KindUnknown {
				if w.Function == "" {
					e := w.End
					if e.IsZero() {
						e = end
					}
					unknown[w.Location] = fnorm(append(unknown[w.Location], fiv{w.Start, e}))
				}
				continue
			}
			k := key{f.Name, w.Function, string(w.Kind), ""}
			byFK[k] = append(byFK[k], w)
		}
		flowUnknown := fset{{from, end}}
		for _, l := range locs {
			flowUnknown = flowUnknown.intersect(unknown[l].clip(from, end))
		}
		if len(locs) == 0 {
			continue
		}
		var down, deg []fiv
		for k, ws := range byFK {
			points := []time.Time{from, end}
			per := map[string]fset{}
			for _, w := range ws {
				e := w.End
				if e.IsZero() || e.After(end) {
					e = end
				}
				per[w.Location] = fnorm(append(per[w.Location], fiv{w.Start, e})).clip(from, end)
			}
			for _, l := range locs {
				points = append(points, per[l].points()...)
				points = append(points, unknown[l].points()...)
			}
			counted := sampled(points, func(at time.Time) bool {
				if at.Before(from) || !at.Before(end) {
					return false
				}
				reporting, n := 0, 0
				for _, l := range locs {
					if unknown[l].has(at) {
						continue
					}
					reporting++
					if per[l].has(at) {
						n++
					}
				}
				return reporting > 0 && n >= need(reporting)
			})
			if len(counted) > 0 {
				wantCounted[k] = counted
			}
			for _, w := range ws {
				e := w.End
				if e.IsZero() || e.After(end) {
					e = end
				}
				b := fnorm([]fiv{{w.Start, e}}).clip(from, end).minus(counted).minus(unknown[w.Location])
				if len(b) > 0 {
					bk := key{k.flow, k.fn, k.kind, w.Location}
					wantBelow[bk] = fnorm(append(slices.Clone(wantBelow[bk]), b...))
				}
			}
			if k.kind == string(state.KindDown) {
				down = append(down, counted...)
			} else {
				deg = append(deg, counted...)
			}
		}
		svcDown, svcDeg = append(svcDown, down...), append(svcDeg, deg...)
		svcUnknown = svcUnknown.intersect(flowUnknown)
		um := flowUnknown.minus(maint)
		dn := fnorm(down).clip(from, end).minus(maint).minus(um)
		dg := fnorm(deg).clip(from, end).minus(maint).minus(um).minus(dn)
		checkFigures(t, f.Name, period, maint, um, dn, dg, s.degraded, s.unknown, f.DowntimeSeconds, f.DegradedSeconds, f.UnknownSeconds, f.Availability)
	}
	if !retired {
		um := svcUnknown.minus(maint)
		dn := fnorm(svcDown).clip(from, end).minus(maint).minus(um)
		dg := fnorm(svcDeg).clip(from, end).minus(maint).minus(um).minus(dn)
		checkFigures(t, "service", period, maint, um, dn, dg, s.degraded, s.unknown, svc.DowntimeSeconds, svc.DegradedSeconds, svc.UnknownSeconds, svc.Availability)
	}
	got := func(ws []report.Window, below bool) map[key]fset {
		out := map[key]fset{}
		for _, w := range ws {
			if !s.configured[w.Flow] {
				continue
			}
			k := key{w.Flow, "", w.Kind, ""}
			if w.Function != nil {
				k.fn = *w.Function
			}
			if below && len(w.Locations) == 1 {
				k.loc = w.Locations[0]
			}
			e := end
			if w.End != nil {
				e = *w.End
			}
			out[k] = fnorm(append(slices.Clone(out[k]), fiv{w.Start, e}))
		}
		return out
	}
	compareSets(t, "counted windows", wantCounted, got(svc.Windows, false))
	compareSets(t, "below-quorum windows", wantBelow, got(svc.BelowQuorum, true))
}

func checkFigures(t *testing.T, what string, period time.Duration, maint, unknown, down, deg fset, degraded, unknownPolicy string, gotDown, gotDeg, gotUnknown float64, gotAvail *float64) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-3 }
	if !near(gotDown, down.total().Seconds()) {
		t.Errorf("%s: downtime %v s, the counted down windows less maintenance and unknown make %v s %s", what, gotDown, down.total().Seconds(), down)
	}
	if !near(gotDeg, deg.total().Seconds()) {
		t.Errorf("%s: degraded %v s, the counted degraded windows make %v s %s", what, gotDeg, deg.total().Seconds(), deg)
	}
	if !near(gotUnknown, unknown.total().Seconds()) {
		t.Errorf("%s: unknown %v s, the locations' unknown stretches make %v s %s", what, gotUnknown, unknown.total().Seconds(), unknown)
	}
	elig := period - maint.total() - unknown.total()
	b := down.total()
	if degraded == "down" {
		b += deg.total()
	}
	if unknownPolicy == "down" {
		elig += unknown.total()
		b += unknown.total()
	}
	switch {
	case elig <= 0 && gotAvail != nil:
		t.Errorf("%s: availability %v with nothing eligible", what, *gotAvail)
	case elig > 0 && gotAvail == nil:
		t.Errorf("%s: no availability, %v eligible", what, elig)
	case elig > 0 && math.Abs(*gotAvail-float64(elig-b)/float64(elig)) > 1e-9:
		t.Errorf("%s: availability %v, want up / (period - maintenance - unknown, unless policy.unknown: down) = %v / %v = %v", what, *gotAvail, elig-b, elig, float64(elig-b)/float64(elig))
	}
}

func compareSets[K comparable](t *testing.T, what string, want, got map[K]fset) {
	t.Helper()
	keys := map[K]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	for k := range keys {
		if want[k].String() != got[k].String() {
			t.Errorf("%s of %+v: report %s, from the stored windows after the quorum %s", what, k, got[k], want[k])
		}
	}
}

func (a fset) clip(from, to time.Time) fset {
	var out []fiv
	for _, x := range a {
		if x.s.Before(from) {
			x.s = from
		}
		if x.e.After(to) {
			x.e = to
		}
		out = append(out, x)
	}
	return fnorm(out)
}

func (a fset) intersect(b fset) fset {
	var out []fiv
	for _, x := range a {
		for _, y := range b {
			s, e := x.s, x.e
			if y.s.After(s) {
				s = y.s
			}
			if y.e.Before(e) {
				e = y.e
			}
			out = append(out, fiv{s, e})
		}
	}
	return fnorm(out)
}

func (a fset) minus(b fset) fset {
	pts := append(a.points(), b.points()...)
	return sampled(pts, func(at time.Time) bool { return a.has(at) && !b.has(at) })
}
