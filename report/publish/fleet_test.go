package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// fleetProber is one prober of a fleet: its own config (location,
// archive), its own publisher and log, the shared store and clock.
type fleetProber struct {
	cfg  *config.Config
	p    *Publisher
	hook *fakeChannel
	log  *syncBuf
}

// newFleetProber makes the publisher of the prober at location, with its
// archive in its own directory; edit changes its config.
func newFleetProber(t *testing.T, st Store, clk clock.Clock, location string, edit func(*config.Config)) *fleetProber {
	t.Helper()
	cfg := testConfig(filepath.Join(t.TempDir(), "reports-"+location))
	cfg.Location = location
	cfg.Reports.Backfill = 1
	cfg.Secrets = map[string]string{}
	if edit != nil {
		edit(cfg)
	}
	f := &fleetProber{cfg: cfg, hook: &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"}, log: &syncBuf{}}
	p, err := New(cfg, Options{Store: st, Clock: clk,
		Logger:   slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Channels: func(*config.Config) []Channel { return []Channel{f.hook} }})
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	return f
}

// withMaintenance gives the config a maintenance window of messaging on
// 2022-10-01, 02:00-04:00: a config the other probers lack.
func withMaintenance(cfg *config.Config) {
	at := time.Date(2022, 10, 1, 2, 0, 0, 0, cfg.Loc)
	cfg.Maintenance = config.MaintenancePlan{{Service: "messaging", Start: at, End: at.Add(2 * time.Hour), Reason: "planned database upgrade"}}
}

func fleetStores(t *testing.T) []struct {
	name string
	open func(t *testing.T) Store
} {
	return []struct {
		name string
		open func(t *testing.T) Store
	}{{"postgres", postgresStore}, {"sqlite", func(t *testing.T) Store { return sqliteStore(t) }}}
}

func versionList(t *testing.T, st Store) string {
	t.Helper()
	vs, err := st.ReportVersions(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var b []string
	for _, v := range vs {
		b = append(b, fmt.Sprintf("%s v%d", v.Month, v.Version))
	}
	return strings.Join(b, ", ")
}

// TestFleetMakesOneVersion: two probers whose configs differ (seoul-b has a
// maintenance window seoul-a lacks) share one database and each runs the
// publisher, day after day. Before, seoul-a made October's v1, seoul-b
// found its own build different and made v2, seoul-a made v3, ..., each
// one delivered: eight versions in four days, where the month's data had
// not changed at all.
func TestFleetMakesOneVersion(t *testing.T) {
	for _, sc := range fleetStores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			st := sc.open(t)
			clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, time.FixedZone("KST", 9*3600)))
			a := newFleetProber(t, st, clk, "seoul-a", nil)
			b := newFleetProber(t, st, clk, "seoul-b", withMaintenance)
			oct := time.Date(2022, 10, 1, 0, 0, 0, 0, a.cfg.Loc)
			fill(t, st, oct, oct.Add(48*time.Hour))
			for day := range 4 {
				for _, f := range []*fleetProber{a, b} {
					if err := f.p.Cycle(ctx); err != nil {
						t.Fatalf("day %d, %s: %v", day, f.cfg.Location, err)
					}
					if err := f.p.DeliverDue(ctx); err != nil {
						t.Fatalf("day %d, %s: %v", day, f.cfg.Location, err)
					}
				}
				clk.Advance(24 * time.Hour)
			}
			if got := versionList(t, st); got != "2022-10 v1" {
				t.Errorf("versions made: %s; want 2022-10 v1 alone", got)
			}
			if n := len(a.hook.sent) + len(b.hook.sent); n != 1 {
				t.Errorf("%d deliveries (seoul-a %d, seoul-b %d), want 1", n, len(a.hook.sent), len(b.hook.sent))
			}
			if vs, _ := st.ReportVersions(ctx, "2022-10"); len(vs) > 0 && vs[0].Maker != "seoul-a" {
				t.Errorf("v1 made by %q, want seoul-a", vs[0].Maker)
			}
			if !strings.Contains(b.log.String(), `"msg":"not publishing the reports: another prober holds the publisher role","location":"seoul-b","publisher":"seoul-a"`) {
				t.Errorf("seoul-b's log does not say who publishes:\n%s", b.log)
			}
			if !strings.Contains(a.log.String(), `"msg":"publishing the reports: this prober holds the publisher role","location":"seoul-a"`) {
				t.Errorf("seoul-a's log does not say it publishes:\n%s", a.log)
			}
			if g, h := testutil.ToFloat64(a.p.publishing), testutil.ToFloat64(b.p.publishing); g != 1 || h != 0 {
				t.Errorf("slaprobe_reports_publishing: seoul-a %v, seoul-b %v; want 1, 0", g, h)
			}

			// A config changed on the publishing prober (a maintenance
			// window added after the fact, by a reload) still makes a new
			// version, once; seoul-b still makes none.
			c := *a.cfg
			withMaintenance(&c)
			a.p.SetConfig(&c)
			for range 3 {
				for _, f := range []*fleetProber{a, b} {
					if err := f.p.Cycle(ctx); err != nil {
						t.Fatal(err)
					}
				}
				clk.Advance(24 * time.Hour)
			}
			if got := versionList(t, st); got != "2022-10 v1, 2022-10 v2" {
				t.Errorf("after the publisher's config changed: %s; want 2022-10 v1, 2022-10 v2", got)
			}
		})
	}
}

// TestFleetTakeover: the prober that holds the publisher role stops (a
// crash, which leaves the lease; or a shutdown, which releases it); the
// other takes the role over, within LeaseStale and two looks after the
// last renewal (at its next look when released), and publishes from then
// on: its config differs, so October gets one new version, which names
// both makers. While the holder renews, nobody takes it; the old holder
// back after the takeover publishes nothing.
func TestFleetTakeover(t *testing.T) {
	for _, sc := range fleetStores(t) {
		for _, stop := range []string{"crash", "shutdown"} {
			t.Run(sc.name+"/"+stop, func(t *testing.T) {
				ctx := context.Background()
				st := sc.open(t)
				clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.FixedZone("KST", 9*3600)))
				a := newFleetProber(t, st, clk, "seoul-a", nil)
				b := newFleetProber(t, st, clk, "seoul-b", withMaintenance)
				oct := time.Date(2022, 10, 1, 0, 0, 0, 0, a.cfg.Loc)
				fill(t, st, oct, oct.Add(48*time.Hour))
				if err := a.p.Cycle(ctx); err != nil { // October's v1, by seoul-a
					t.Fatal(err)
				}
				look := func(f *fleetProber) bool { // one turn of f's lease loop
					t.Helper()
					ok, err := f.p.lead(ctx, true)
					if err != nil {
						t.Fatal(err)
					}
					return ok
				}
				if !look(a) || look(b) {
					t.Fatal("seoul-a, first, does not hold the role alone")
				}
				// An hour of both probers' loops: seoul-a renews, seoul-b
				// never takes it.
				for range int(time.Hour / leaseCheck) {
					clk.Advance(leaseCheck)
					if !look(a) || look(b) {
						t.Fatalf("at %s the role moved while its holder renewed it", clk.Now())
					}
				}
				if stop == "shutdown" {
					a.p.release(ctx)
				}
				bound := leaseStale + 2*leaseCheck
				if stop == "shutdown" {
					bound = leaseCheck
				}
				var took time.Duration
				for took = leaseCheck; took <= bound+leaseCheck; took += leaseCheck {
					clk.Advance(leaseCheck)
					if look(b) {
						break
					}
				}
				if took > bound {
					t.Fatalf("seoul-b took the role %s after seoul-a's %s (or not at all), want within %s", took, stop, bound)
				}
				if stop == "crash" && took < leaseStale {
					t.Fatalf("seoul-b took a crashed holder's role after %s, before the lease went stale (%s)", took, leaseStale)
				}
				if !strings.Contains(b.log.String(), "publishing the reports") {
					t.Errorf("seoul-b's log does not say it publishes now:\n%s", b.log)
				}
				// The new publisher's config counts October's maintenance,
				// seoul-a's did not: one new version, which says who made
				// it, and no more.
				for range 3 {
					if err := b.p.Cycle(ctx); err != nil {
						t.Fatal(err)
					}
				}
				vs, err := st.ReportVersions(ctx, "2022-10")
				if err != nil || len(vs) != 2 || vs[0].Maker != "seoul-a" || vs[1].Maker != "seoul-b" {
					t.Fatalf("October after the takeover: %+v, %v; want v1 by seoul-a, v2 by seoul-b", vs, err)
				}
				if want := "made by prober seoul-b; version 1 by seoul-a"; !strings.Contains(vs[1].Changes, want) || !strings.Contains(vs[1].Changes, "maintenance 0s -> 2h0m0s") {
					t.Errorf("v2's changes %q lack %q and the maintenance", vs[1].Changes, want)
				}
				// seoul-a comes back (a new process, or the old one
				// resumed): it publishes nothing.
				a2 := newFleetProber(t, st, clk, "seoul-a", nil)
				for range 3 {
					if err := a2.p.Cycle(ctx); err != nil {
						t.Fatal(err)
					}
					if err := b.p.Cycle(ctx); err != nil {
						t.Fatal(err)
					}
					clk.Advance(leaseCheck)
					look(b)
				}
				if got := versionList(t, st); got != "2022-10 v1, 2022-10 v2" {
					t.Errorf("after seoul-a came back: %s, want 2022-10 v1, 2022-10 v2", got)
				}
			})
		}
	}
}

// TestFleetTakeoverRunsTheDueReports: in the daemon's loop (Run), a prober
// that takes the role over makes at once the months that are due: seoul-a
// held the role through the scheduled time (day 1, 00:10) and stopped at
// 00:15 without making October; seoul-b, whose schedule found it not
// publishing at 00:10, makes October once it holds the role, rather than a
// month later. A Run that ends releases the role.
func TestFleetTakeoverRunsTheDueReports(t *testing.T) {
	for _, sc := range fleetStores(t) {
		t.Run(sc.name, func(t *testing.T) {
			st := sc.open(t)
			kst := time.FixedZone("KST", 9*3600)
			start := time.Date(2022, 11, 1, 0, 0, 0, 0, kst)
			fc := clockwork.NewFakeClockAt(start)
			clk := cwClock{fc}
			a := newFleetProber(t, st, clk, "seoul-a", nil)
			b := newFleetProber(t, st, clk, "seoul-b", nil)
			oct := time.Date(2022, 10, 1, 0, 0, 0, 0, a.cfg.Loc)
			fill(t, st, oct, oct.Add(48*time.Hour))
			ctx := context.Background()
			if ok, err := a.p.lead(ctx, true); err != nil || !ok {
				t.Fatalf("seoul-a does not take the free role: %v", err)
			}
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- b.p.Run(rctx) }()
			deadline := time.Now().Add(30 * time.Second)
			made := func() []store.ReportVersion {
				vs, err := st.ReportVersions(ctx, "2022-10")
				if err != nil {
					t.Fatal(err)
				}
				return vs
			}
			for len(made()) == 0 && fc.Now().Before(start.Add(2*time.Hour)) && time.Now().Before(deadline) {
				fc.Advance(5 * time.Second)
				if fc.Now().Before(start.Add(15 * time.Minute)) {
					if ok, err := a.p.lead(ctx, true); err != nil || !ok {
						t.Fatalf("at %s seoul-a lost the role it renews: %v", fc.Now(), err)
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
			vs := made()
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 || vs[0].Maker != "seoul-b" {
				t.Fatalf("October by %s: %+v; want v1 by seoul-b\n%s", fc.Now(), vs, b.log)
			}
			if vs[0].Generated.Before(start.Add(15 * time.Minute)) {
				t.Errorf("seoul-b made October at %s, while seoul-a held the role", vs[0].Generated)
			}
			if l, err := st.PublisherLease(ctx); err != nil || l.Holder != "" {
				t.Errorf("after seoul-b's Run ended the lease is %+v, %v; want released", l, err)
			}
		})
	}
}

// failingClaims is a store whose claims of the publisher lease fail while
// down is set (the database unreachable).
type failingClaims struct {
	Store
	down bool
}

func (f *failingClaims) ClaimPublisher(ctx context.Context, me string, now time.Time, stale store.Lease) (store.Lease, error) {
	if f.down {
		return store.Lease{}, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return f.Store.ClaimPublisher(ctx, me, now, stale)
}

// TestFleetLeaseStoreError: while the database cannot be reached the
// publisher says it does not publish (slaprobe_reports_publishing 0, Cycle
// and DeliverDue fail), and when it is back it goes on as the publisher
// without a new start in its log nor a takeover's cycle.
func TestFleetLeaseStoreError(t *testing.T) {
	ctx := context.Background()
	st := &failingClaims{Store: sqliteStore(t)}
	clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.UTC))
	a := newFleetProber(t, st, clk, "seoul-a", nil)
	if ok, err := a.p.lead(ctx, true); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	a.p.took = false // as the first cycle does
	st.down = true
	clk.Advance(leaseCheck)
	if ok, err := a.p.lead(ctx, true); ok || err == nil {
		t.Fatalf("claim with the database down: %v, %v; want not held and the error", ok, err)
	}
	if g := testutil.ToFloat64(a.p.publishing); g != 0 {
		t.Errorf("slaprobe_reports_publishing %v with the database down, want 0", g)
	}
	if err := a.p.Cycle(ctx); err == nil {
		t.Error("Cycle with the database down: no error")
	}
	st.down = false
	clk.Advance(leaseCheck)
	if ok, err := a.p.lead(ctx, true); !ok || err != nil {
		t.Fatalf("claim with the database back: %v, %v", ok, err)
	}
	if g := testutil.ToFloat64(a.p.publishing); g != 1 || a.p.took {
		t.Errorf("back: slaprobe_reports_publishing %v, took %v; want 1, false", g, a.p.took)
	}
	if n := strings.Count(a.log.String(), "publishing the reports: this prober holds"); n != 1 {
		t.Errorf("%d starts as publisher in the log, want 1:\n%s", n, a.log)
	}
}

// TestFleetSameLocationSaysSo: two probers configured with one location
// both take the lease for their own (it is by location) and both publish;
// the first renewal that finds the other's claims logs an error that says
// so, once.
func TestFleetSameLocationSaysSo(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.UTC))
	a := newFleetProber(t, st, clk, "seoul-a", nil)
	b := newFleetProber(t, st, clk, "seoul-a", withMaintenance)
	for range 3 {
		for _, f := range []*fleetProber{a, b} {
			if ok, err := f.p.lead(ctx, true); !ok || err != nil {
				t.Fatalf("claim: %v, %v", ok, err)
			}
		}
		clk.Advance(leaseCheck)
	}
	const msg = "another prober with this location claims the publisher lease too"
	if n := strings.Count(a.log.String(), msg) + strings.Count(b.log.String(), msg); n != 2 {
		t.Errorf("%d errors about the shared location, want 1 from each:\n%s\n%s", n, a.log, b.log)
	}
	// One prober alone renewing says nothing.
	c := newFleetProber(t, sqliteStore(t), clk, "seoul-c", nil)
	for range 3 {
		c.p.lead(ctx, true)
		clk.Advance(leaseCheck)
	}
	if strings.Contains(c.log.String(), msg) {
		t.Errorf("a prober alone: %s", c.log)
	}
}

// gateChannel is a webhook whose Send waits for the test's answer: a
// receiver that takes its time.
type gateChannel struct {
	entered chan struct{}
	answer  chan error
	mu      sync.Mutex
	sent    int
}

func (g *gateChannel) Kind() string   { return "webhook" }
func (g *gateChannel) Target() string { return "http://127.0.0.1:1/in" }
func (g *gateChannel) Send(ctx context.Context, _ *Message) error {
	g.entered <- struct{}{}
	select {
	case err := <-g.answer:
		if err == nil {
			g.mu.Lock()
			g.sent++
			g.mu.Unlock()
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestFleetTakeoverDuringAnAttempt: the publisher's renewals fail (its
// database connection stalled) 19 s after its last one, when it begins a
// delivery attempt whose receiver is slow; the other prober takes the role
// over 2 minutes later and delivers. Before, the attempt went ahead on the
// lease's 19-second-old answer, ran beside the new publisher's, and its
// failure (503), recorded when it ended, put the delivery the new
// publisher had made back to pending: delivered again after the backoff.
// An attempt now begins only on a renewal that worked, and an attempt's
// record never overwrites one made since it began.
func TestFleetTakeoverDuringAnAttempt(t *testing.T) {
	for _, sc := range fleetStores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			base := sc.open(t)
			ast := &failingClaims{Store: base}
			clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.FixedZone("KST", 9*3600)))
			a := newFleetProber(t, ast, clk, "seoul-a", nil)
			b := newFleetProber(t, base, clk, "seoul-b", func(c *config.Config) { c.Reports.Archive = a.cfg.Reports.Archive }) // shared archive
			gate := &gateChannel{entered: make(chan struct{}, 1), answer: make(chan error, 1)}
			a.p.opts.Channels = func(*config.Config) []Channel { return []Channel{gate} }
			oct := time.Date(2022, 10, 1, 0, 0, 0, 0, a.cfg.Loc)
			fill(t, base, oct, oct.Add(48*time.Hour))
			look := func(f *fleetProber) bool {
				t.Helper()
				ok, err := f.p.lead(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !look(a) || look(b) {
				t.Fatal("seoul-a, first, does not hold the role alone")
			}
			if err := a.p.Cycle(ctx); err != nil { // October's v1 and its delivery
				t.Fatal(err)
			}
			clk.Advance(leaseCheck - time.Second)
			ast.down = true
			aDone := make(chan error, 1)
			go func() { aDone <- a.p.DeliverDue(ctx) }()
			attempted := false
			select {
			case <-gate.entered:
				attempted = true
			case err := <-aDone:
				if err == nil {
					t.Error("seoul-a's deliveries with its renewal failing: no error")
				}
			}
			took := false
			for range int((leaseStale + 3*leaseCheck) / leaseCheck) {
				clk.Advance(leaseCheck)
				if took = look(b); took {
					break
				}
			}
			if !took {
				t.Fatal("seoul-b did not take the role over")
			}
			if err := b.p.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			if attempted {
				gate.answer <- errors.New("HTTP 503: try later")
				if err := <-aDone; err != nil {
					t.Logf("seoul-a's attempt, recorded late: %v", err)
				}
			}
			for range 3 {
				clk.Advance(10 * time.Minute)
				if err := b.p.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if attempted {
				t.Errorf("seoul-a attempted a delivery on a 19-second-old answer of a lease it could not renew")
			}
			if n := len(b.hook.sent) + gate.sent; n != 1 {
				t.Errorf("October v1 delivered %d times (seoul-b %d, seoul-a %d), want once", n, len(b.hook.sent), gate.sent)
			}
			ds, err := base.Deliveries(ctx, "2022-10")
			if err != nil || len(ds) != 1 || ds[0].State != store.DeliveryDelivered {
				t.Errorf("deliveries %+v, %v; want one, delivered", ds, err)
			}
		})
	}
}

// TestFleetTakeoverDeliversThePending: the publisher made October's v1 and
// its delivery failed (the receiver down); then it crashed, with the
// version's files in its own archive. The prober that takes the role over,
// whose config counts October the same, finds v1 unchanged, so it makes no
// new version. Before, it could not deliver v1 either (its files were in
// the other prober's archive): retried, then given up, and October was
// never delivered. Now the new publisher archives that version again from
// its own build, the figures being the same (same digest), and delivers it,
// once.
func TestFleetTakeoverDeliversThePending(t *testing.T) {
	for _, sc := range fleetStores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			st := sc.open(t)
			clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.FixedZone("KST", 9*3600)))
			a := newFleetProber(t, st, clk, "seoul-a", nil)
			b := newFleetProber(t, st, clk, "seoul-b", nil)
			a.hook.failures = 100 // the receiver is down while seoul-a publishes
			oct := time.Date(2022, 10, 1, 0, 0, 0, 0, a.cfg.Loc)
			fill(t, st, oct, oct.Add(48*time.Hour))
			if err := a.p.Cycle(ctx); err != nil {
				t.Fatal(err)
			}
			if err := a.p.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
			// seoul-a crashes; seoul-b takes over once the lease is stale,
			// makes what is due, and delivers for the next hours.
			took := false
			for range int((leaseStale + 3*leaseCheck) / leaseCheck) {
				clk.Advance(leaseCheck)
				ok, err := b.p.lead(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				if took = ok; took {
					break
				}
			}
			if !took {
				t.Fatal("seoul-b did not take the role over")
			}
			if err := b.p.Cycle(ctx); err != nil {
				t.Fatal(err)
			}
			for range 6 * 60 {
				if err := b.p.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
			}
			if got := versionList(t, st); got != "2022-10 v1" {
				t.Errorf("versions %s, want 2022-10 v1", got)
			}
			if len(b.hook.sent) != 1 || b.hook.sent[0].Version != 1 || len(b.hook.sent[0].Files) == 0 {
				t.Errorf("seoul-b delivered %d messages (%+v), want October v1 once, with its files\n%s", len(b.hook.sent), b.hook.sent, b.log)
			}
			ds, err := st.Deliveries(ctx, "2022-10")
			if err != nil || len(ds) != 1 || ds[0].State != store.DeliveryDelivered {
				t.Errorf("deliveries %+v, %v; want one, delivered", ds, err)
			}
		})
	}
}

// stallingClaims is a store whose next claim of the publisher lease, once
// stall is set, waits until release is closed (the database connection
// stalled in the middle of it), then goes through.
type stallingClaims struct {
	Store
	stall   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (s *stallingClaims) ClaimPublisher(ctx context.Context, me string, now time.Time, stale store.Lease) (store.Lease, error) {
	if s.stall.CompareAndSwap(true, false) {
		s.entered <- struct{}{}
		<-s.release
	}
	return s.Store.ClaimPublisher(ctx, me, now, stale)
}

// TestFleetStalledClaimDoesNotTakeBack: the publisher's renewal stalls (its
// database connection hangs) for 3 minutes; the other prober takes the
// role over after 2 and renews it. When the stalled renewal returns, with
// the new holder's lease, the old publisher has seen that lease for no
// time at all. Before, it dated the sight from the start of its stalled
// claim, so its very next look found the new holder's lease "unchanged for
// 3 minutes" and took it back, from a prober that had renewed it a moment
// before: the role flapped, and a delivery attempt of the new holder could
// run beside the old one's (seen with a real server: seoul-a's claim held
// 9 s by a frozen connection, LeaseStale 6 s, took the role back from
// seoul-b 1 s after seoul-b renewed it, "unchanged_for=9.0s").
func TestFleetStalledClaimDoesNotTakeBack(t *testing.T) {
	for _, sc := range fleetStores(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			base := sc.open(t)
			ast := &stallingClaims{Store: base, entered: make(chan struct{}, 1), release: make(chan struct{})}
			clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.FixedZone("KST", 9*3600)))
			a := newFleetProber(t, ast, clk, "seoul-a", nil)
			b := newFleetProber(t, base, clk, "seoul-b", nil)
			look := func(f *fleetProber) bool {
				t.Helper()
				ok, err := f.p.lead(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !look(a) || look(b) {
				t.Fatal("seoul-a, first, does not hold the role alone")
			}
			clk.Advance(leaseCheck)
			ast.stall.Store(true)
			aDone := make(chan bool, 1)
			go func() { aDone <- look(a) }()
			<-ast.entered
			took := false
			for range int(3 * time.Minute / leaseCheck) {
				clk.Advance(leaseCheck)
				took = look(b) || took
			}
			if !took || !look(b) {
				t.Fatal("seoul-b did not take the role over while seoul-a's renewal stalled")
			}
			close(ast.release)
			if <-aDone {
				t.Fatal("seoul-a's stalled renewal holds the role")
			}
			for range 3 {
				clk.Advance(time.Second)
				if look(a) {
					t.Fatalf("seoul-a took the role back from seoul-b, which renewed it %s before\n%s", clk.Now().Sub(b.p.checked), a.log)
				}
			}
			if !look(b) {
				t.Error("seoul-b lost the role it renews")
			}
			if g, h := testutil.ToFloat64(a.p.publishing), testutil.ToFloat64(b.p.publishing); g != 0 || h != 1 {
				t.Errorf("slaprobe_reports_publishing: seoul-a %v, seoul-b %v; want 0, 1", g, h)
			}
		})
	}
}

// ctxStallingClaims is stallingClaims whose stalled claim also ends with
// its context, as a database driver's does.
type ctxStallingClaims struct{ stallingClaims }

func (s *ctxStallingClaims) ClaimPublisher(ctx context.Context, me string, now time.Time, stale store.Lease) (store.Lease, error) {
	if s.stall.Load() {
		select {
		case <-s.release:
		case <-ctx.Done():
			return store.Lease{}, ctx.Err()
		}
	}
	return s.Store.ClaimPublisher(ctx, me, now, stale)
}

// TestFleetStalledClaimSaysNotPublishing: while the publisher's renewals
// hang (its database connection stalled, no error), it does not publish
// (its cycle and deliveries wait for the claim) and must not say it does:
// before, its slaprobe_reports_publishing stayed 1 for as long as the claim
// hung, and once the other prober had taken over, both said 1 (seen with a
// real server: 3 s of a 9 s stall at 1/20 of the timing, a minute of a
// 3-minute one). A claim is now bounded by LeaseCheck: an error, the gauge
// 0, and a warning in the log.
func TestFleetStalledClaimSaysNotPublishing(t *testing.T) {
	ctx := context.Background()
	ast := &ctxStallingClaims{stallingClaims{Store: sqliteStore(t), release: make(chan struct{})}}
	clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.UTC))
	a := newFleetProber(t, ast, clk, "seoul-a", nil)
	a.p.opts.LeaseCheck = 100 * time.Millisecond // real time bounds the claim; virtual time the rest
	if ok, err := a.p.lead(ctx, true); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	ast.stall.Store(true)
	defer close(ast.release)
	done := make(chan error, 1)
	go func() {
		clk.Advance(time.Second)
		_, err := a.p.lead(ctx, true)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a claim that hung: no error")
		}
	case <-time.After(5 * time.Second):
		t.Errorf("a claim that hangs is still waiting after 5 s (LeaseCheck %s); slaprobe_reports_publishing %v", a.p.opts.LeaseCheck, testutil.ToFloat64(a.p.publishing))
		return
	}
	if g := testutil.ToFloat64(a.p.publishing); g != 0 {
		t.Errorf("slaprobe_reports_publishing %v while its renewal hangs, want 0", g)
	}
}

// TestFleetTakeoverSendsOnlyTheRecordedVersion: the new publisher's archive
// already has a directory for the pending version's number, of a version
// it made and could not record (a crash between its archive and its
// record, or the role taken over while it built: "report version not
// recorded"), with other figures. Before, the new publisher sent those
// files as the recorded version, under its Idempotency-Key. Now a version's
// files are sent only when their figures.json is the one the store recorded
// for it, and a publisher whose build has the recorded figures archives the
// version again over the stale one.
func TestFleetTakeoverSendsOnlyTheRecordedVersion(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	clk := clock.NewManual(time.Date(2022, 11, 1, 1, 0, 0, 0, time.FixedZone("KST", 9*3600)))
	a := newFleetProber(t, st, clk, "seoul-a", nil)
	b := newFleetProber(t, st, clk, "seoul-b", nil)
	a.hook.failures = 100
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, a.cfg.Loc)
	fill(t, st, oct, oct.Add(48*time.Hour))
	if err := a.p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	// seoul-b's stale, unrecorded v1.
	stale := filepath.Join(b.cfg.Reports.Archive, "2022-10", "v1")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "report.md", figuresFile} {
		if err := os.WriteFile(filepath.Join(stale, f), []byte(`{"stale": true}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for took := false; !took; {
		clk.Advance(leaseCheck)
		ok, err := b.p.lead(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		took = ok
	}
	if err := b.p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.p.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.hook.sent) != 1 {
		t.Fatalf("seoul-b sent %d messages, want 1\n%s", len(b.hook.sent), b.log)
	}
	for _, f := range b.hook.sent[0].Files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"stale"`) {
			t.Errorf("seoul-b sent its stale %s as the recorded v1: %s", f.Name, data)
		}
	}
	if b.hook.sent[0].Summary.Title == "" {
		t.Errorf("the message's summary is the stale figures': %+v", b.hook.sent[0].Summary)
	}
}

// TestFleetClockSkew: the probers' clocks differ by days (seoul-a's a day
// ahead, seoul-b's a day behind, then the other way round). Only durations
// on one prober's clock decide a takeover, so while the holder renews the
// other never takes the role, and once it stops the other takes it after
// LeaseStale of its own clock, not earlier nor later. Held already.
func TestFleetClockSkew(t *testing.T) {
	for _, sc := range fleetStores(t) {
		for _, skew := range []time.Duration{24 * time.Hour, -24 * time.Hour} {
			t.Run(fmt.Sprintf("%s/%s", sc.name, skew), func(t *testing.T) {
				ctx := context.Background()
				st := sc.open(t)
				at := time.Date(2022, 11, 1, 1, 0, 0, 0, time.UTC)
				ca, cb := clock.NewManual(at.Add(skew)), clock.NewManual(at.Add(-skew))
				a := newFleetProber(t, st, ca, "seoul-a", nil)
				b := newFleetProber(t, st, cb, "seoul-b", nil)
				look := func(f *fleetProber) bool {
					t.Helper()
					ok, err := f.p.lead(ctx, true)
					if err != nil {
						t.Fatal(err)
					}
					return ok
				}
				advance := func(d time.Duration) { ca.Advance(d); cb.Advance(d) }
				if !look(a) || look(b) {
					t.Fatal("seoul-a, first, does not hold the role alone")
				}
				for range int(time.Hour / leaseCheck) {
					advance(leaseCheck)
					if !look(a) || look(b) {
						t.Fatalf("the role moved while its holder renewed it (skew %s)", skew)
					}
				}
				var took time.Duration
				for took = leaseCheck; took <= leaseStale+3*leaseCheck; took += leaseCheck {
					advance(leaseCheck)
					if look(b) {
						break
					}
				}
				if took < leaseStale || took > leaseStale+2*leaseCheck {
					t.Errorf("seoul-b took the role %s after seoul-a's last renewal, want within [%s, %s]", took, leaseStale, leaseStale+2*leaseCheck)
				}
			})
		}
	}
}
