package daemon

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// TestReportAvailability: the live gauge's number is the report's, from a
// replay that drops messages for 30 of 120 minutes into a real store.
func TestReportAvailability(t *testing.T) {
	from := time.Date(2021, 5, 5, 21, 0, 0, 0, time.UTC)
	to := from.Add(2 * time.Hour)
	cfg, err := config.Parse("replay.yaml", []byte(replayConfig), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tl := &config.Timeline{Name: "test", Incidents: []config.Incident{{
		ID: "drop", Service: "messaging", Functions: []string{"receive"}, Mode: config.ModeDrop, Rate: 1,
		Start: from.Add(30 * time.Minute), End: from.Add(60 * time.Minute),
	}}}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, t.TempDir()+"/r.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := platform.New(platform.Options{Timelines: []*config.Timeline{tl}})
	if err := Replay(ctx, cfg, Deps{Store: st, Transport: p.Transport()}, from, to, nil); err != nil {
		t.Fatal(err)
	}
	rec := &storetest.Recorder{Store: st}
	got, err := ReportAvailability(ctx, rec, cfg, from, to)
	if err != nil {
		t.Fatal(err)
	}
	// The gauge shows no latency: it reads run counts alone.
	if qs := rec.TotalsQueries(); len(qs) == 0 || slices.ContainsFunc(qs, func(q store.Query) bool { return !q.RunsOnly }) {
		t.Errorf("Totals asked %+v, want every query RunsOnly", qs)
	}
	if got["account"] != 1 {
		t.Errorf("account availability %v, want 1", got["account"])
	}
	// Down from the first failing run to the first passing one: 30 minutes
	// give or take one interval at each end.
	if m, ok := got["messaging"]; !ok || math.Abs(m-(1-30.0/120)) > 2.0/120 {
		t.Errorf("messaging availability %v (present %v), want about %v", m, ok, 1-30.0/120)
	}
	empty, err := ReportAvailability(ctx, st, cfg, to.Add(time.Hour), to.Add(2*time.Hour))
	if err != nil || len(empty) != 0 {
		t.Errorf("a range with no runs gave %v, %v; want no services", empty, err)
	}
}

func TestRefreshAvailabilityMetric(t *testing.T) {
	calls := map[string]int{}
	avail := func(_ context.Context, from, to time.Time) (map[string]float64, error) {
		calls["svc"]++
		if to.Sub(from) > 29*24*time.Hour {
			return map[string]float64{"svc": 0.99}, nil
		}
		return map[string]float64{}, nil // month: no data yet
	}
	fc := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Availability: avail, Clock: fixedClock(fc)})
	d.refreshAvailability(context.Background())
	if got := testutil.ToFloat64(d.m.availability.WithLabelValues("svc", "30d")); got != 0.99 {
		t.Errorf(`availability{window="30d"} = %v, want 0.99`, got)
	}
	if n := testutil.CollectAndCount(d.m.availability); n != 1 {
		t.Errorf("%d availability samples, want 1: the month without data has none", n)
	}
	if calls["svc"] != 2 {
		t.Errorf("availability computed %d times, want 2 (30d and month)", calls["svc"])
	}
}

// TestAvailabilityMonthStart: the month gauge's month starts at the first
// instant of its first local day, as a report's does (report.MonthRange),
// also where the clocks jump over that midnight: Asuncion's 2023-10-01
// began at 01:00 -03:00, and time.Date's 00:00 is 23:00 on 09-30.
func TestAvailabilityMonthStart(t *testing.T) {
	tests := []struct {
		zone, month string
		now         time.Time
	}{
		{"America/Asuncion", "2023-10", time.Date(2023, 10, 20, 12, 0, 0, 0, time.UTC)},
		{"America/New_York", "2026-03", time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)},
		{"Australia/Lord_Howe", "2026-04", time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := report.MonthRange(tc.month, loc)
			if err != nil {
				t.Fatal(err)
			}
			var froms []time.Time
			avail := func(_ context.Context, from, _ time.Time) (map[string]float64, error) {
				froms = append(froms, from)
				return map[string]float64{"svc": 1}, nil
			}
			cfg := testConfig(time.Minute, "a")
			cfg.Timezone, cfg.Loc = tc.zone, loc
			d, _ := newTestDaemon(t, cfg, nil, Deps{Availability: avail, Clock: fixedClock(tc.now)})
			d.refreshAvailability(context.Background())
			if len(froms) != 2 || !froms[1].Equal(want) {
				t.Errorf("month gauge from %v, want %v", froms, want)
			}
		})
	}
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time                                   { return time.Time(c) }
func (c fixedClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
func (c fixedClock) After(time.Duration) <-chan time.Time             { return make(chan time.Time) }

// TestOneReportBuildAtATime: the availability gauge's reports wait while
// another Exclusive build (the status page's) is in the making, and give up
// when their context ends meanwhile.
func TestOneReportBuildAtATime(t *testing.T) {
	calls := 0
	avail := func(context.Context, time.Time, time.Time) (map[string]float64, error) {
		calls++
		return map[string]float64{"svc": 1}, nil
	}
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Availability: avail, Clock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))})
	ctx := context.Background()
	ended, cancel := context.WithCancel(ctx)
	cancel()
	err := d.Exclusive(ctx, func(context.Context) {
		// The page's build: the gauge, its context ended, must not build.
		d.refreshAvailability(ended)
		if calls != 0 {
			t.Errorf("the gauge built %d reports while another was in the making", calls)
		}
		if err := d.Exclusive(ended, func(context.Context) { t.Error("a build ran while another was in the making") }); !errors.Is(err, context.Canceled) {
			t.Errorf("waiting with an ended context: %v, want context.Canceled", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(d.m.availability); n != 0 {
		t.Errorf("%d availability samples from reports never built, want 0", n)
	}
	d.refreshAvailability(ctx)
	if calls != 2 {
		t.Errorf("the gauge built %d reports once its turn came, want 2 (30d and month)", calls)
	}
	if got := testutil.ToFloat64(d.m.availability.WithLabelValues("svc", "month")); got != 1 {
		t.Errorf(`availability{window="month"} = %v, want 1`, got)
	}
}

// TestHeavyAroundBuilds: Deps.Heavy begins before each periodic report build
// (the gauge's two, and an Exclusive build such as the status page's) and
// ends after it; a build that never gets its turn calls neither.
func TestHeavyAroundBuilds(t *testing.T) {
	var events []string
	heavy := func() func() {
		events = append(events, "begin")
		return func() { events = append(events, "end") }
	}
	avail := func(context.Context, time.Time, time.Time) (map[string]float64, error) {
		events = append(events, "gauge")
		return map[string]float64{"svc": 1}, nil
	}
	d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{Availability: avail, Heavy: heavy, Clock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))})
	ctx := context.Background()
	d.refreshAvailability(ctx)
	if err := d.Exclusive(ctx, func(context.Context) { events = append(events, "page") }); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.Exclusive(ctx, func(context.Context) {
		events = append(events, "page")
		d.Exclusive(ended, func(context.Context) { events = append(events, "never") }) //nolint:errcheck // context.Canceled, tested above
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"begin", "gauge", "end", "begin", "gauge", "end", "begin", "page", "end", "begin", "page", "end"}
	if !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
}

// sleepLog is a clock whose Sleep records how long it was asked to sleep
// and ends the loop (context.Canceled) after n sleeps.
type sleepLog struct {
	fixedClock
	n      int
	sleeps []time.Duration
}

func (c *sleepLog) Sleep(_ context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	if len(c.sleeps) >= c.n {
		return context.Canceled
	}
	return nil
}

// TestAvailabilityRetriesWhileNoData: while a service has no availability
// sample (a new store), the gauge is refreshed again after the shortest
// interval of that service's flows (at least 15 s), not after 5 minutes;
// once every service has its samples, every 5 minutes. A service of hourly
// flows without data does not make the gauge rebuilt every 15 s, and a build
// that failed is not retried early. On a new store the gauge had no sample
// for the first 5 minutes.
func TestAvailabilityRetriesWhileNoData(t *testing.T) {
	// Two services: "svc" (flow a) and "hourly" (flow h, every hour).
	cfgWith := func(interval time.Duration) *config.Config {
		cfg := testConfig(interval, "a")
		h := testConfig(time.Hour, "h").Services[0]
		h.Name = "hourly"
		for i := range h.Flows {
			h.Flows[i].Service = "hourly"
		}
		cfg.Services = append(cfg.Services, h)
		return cfg
	}
	both := map[string]float64{"svc": 1, "hourly": 1}
	cases := []struct {
		name     string
		interval time.Duration
		answers  []map[string]float64 // each refresh's answer (30d and month alike); nil: the build fails
		want     []time.Duration
	}{
		{"1m flows, no data twice", time.Minute, []map[string]float64{{}, {}, both, both}, []time.Duration{time.Minute, time.Minute, availabilityEvery, availabilityEvery}},
		{"5s flows: at least 15s", 5 * time.Second, []map[string]float64{{}, both}, []time.Duration{15 * time.Second, availabilityEvery}},
		{"only the hourly service without data", 10 * time.Second, []map[string]float64{{"svc": 1}, both}, []time.Duration{availabilityEvery, availabilityEvery}},
		{"only the fast service without data", 10 * time.Second, []map[string]float64{{"hourly": 1}, both}, []time.Duration{15 * time.Second, availabilityEvery}},
		{"a failed build", time.Minute, []map[string]float64{nil, both}, []time.Duration{availabilityEvery, availabilityEvery}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refresh := 0 // each refresh builds two reports: 30d and month
			avail := func(context.Context, time.Time, time.Time) (map[string]float64, error) {
				a := tc.answers[min(refresh/2, len(tc.answers)-1)]
				refresh++
				if a == nil {
					return nil, errors.New("store: database is locked")
				}
				return a, nil
			}
			clk := &sleepLog{fixedClock: fixedClock(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)), n: len(tc.want)}
			d, _ := newTestDaemon(t, cfgWith(tc.interval), nil, Deps{Availability: avail, Clock: clk})
			d.availabilityLoop(context.Background())
			if !slices.Equal(clk.sleeps, tc.want) {
				t.Errorf("slept %v, want %v", clk.sleeps, tc.want)
			}
		})
	}
}

// TestReloadDoesNotWaitOnAStuckBuild: a reload (ExclusiveWithin) waits for
// a report build in the making only so long, then runs beside it: a build
// stuck on a store that stopped answering (PostgreSQL frozen) held a SIGHUP
// for as long as the store hung (52 s in a test). With the slot free it
// runs alone, as Exclusive does.
func TestReloadDoesNotWaitOnAStuckBuild(t *testing.T) {
	for _, tc := range []struct {
		name      string
		slotTaken bool
		wantAlone bool
	}{
		{"slot free", false, true},
		{"build stuck", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := newTestDaemon(t, testConfig(time.Minute, "a"), nil, Deps{})
			ctx := context.Background()
			release := make(chan struct{})
			defer close(release)
			if tc.slotTaken {
				taken := make(chan struct{})
				go d.Exclusive(ctx, func(context.Context) { close(taken); <-release }) //nolint:errcheck // ctx never ends
				<-taken
			}
			ran := false
			alone, err := d.ExclusiveWithin(ctx, time.Millisecond, func() { ran = true })
			if err != nil || !ran || alone != tc.wantAlone {
				t.Errorf("ExclusiveWithin: ran %v, alone %v, err %v; want ran, alone %v", ran, alone, err, tc.wantAlone)
			}
		})
	}
}
