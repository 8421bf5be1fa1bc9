package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestPublications(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) Publications
	}{
		{"sqlite", func(t *testing.T) Publications { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Publications { return openTestPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) { testPublications(t, tc.open(t)) })
	}
}

func testPublications(t *testing.T, p Publications) {
	ctx := context.Background()
	at := time.Date(2022, 11, 1, 0, 10, 0, 0, time.UTC)
	v1 := ReportVersion{Month: "2022-10", Version: 1, Generated: at, Digest: "d1", Files: []string{"2022-10/report.pdf"}}
	ds := []Delivery{{Channel: "webhook", Target: "http://127.0.0.1:1/in", Next: at}, {Channel: "email", Target: "ops@example.com", Next: at}}
	if err := p.AddReportVersion(ctx, v1, ds); err != nil {
		t.Fatal(err)
	}
	if err := p.AddReportVersion(ctx, v1, ds); !errors.Is(err, ErrVersionExists) {
		t.Fatalf("second add of the same version: %v, want ErrVersionExists", err)
	}
	v2 := ReportVersion{Month: "2022-10", Version: 2, Generated: at.Add(24 * time.Hour), Digest: "d2", Changes: "messaging: availability 99.5% -> 99.4%"}
	if err := p.AddReportVersion(ctx, v2, ds[:1]); err != nil {
		t.Fatal(err)
	}
	vs, err := p.ReportVersions(ctx, "2022-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 1 || !vs[0].Generated.Equal(at) || !slices.Equal(vs[0].Files, v1.Files) || vs[1].Changes != v2.Changes || vs[1].Files == nil {
		t.Fatalf("versions %+v", vs)
	}
	pend, err := p.PendingDeliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 3 || pend[0].Channel != "webhook" || pend[0].Version != 1 || pend[2].Version != 2 || pend[0].State != DeliveryPending {
		t.Fatalf("pending %+v", pend)
	}
	d := pend[0]
	d.Attempts, d.Last, d.Next, d.Result = 1, at.Add(time.Second), at.Add(31*time.Second), "HTTP 503"
	if err := p.UpdateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Attempts, d.State, d.Result, d.Delivered = 2, DeliveryDelivered, "HTTP 200", at.Add(32*time.Second)
	if err := p.UpdateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	pend, _ = p.PendingDeliveries(ctx)
	if len(pend) != 2 {
		t.Fatalf("pending after delivery: %+v", pend)
	}
	all, err := p.Deliveries(ctx, "2022-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].State != DeliveryDelivered || all[0].Attempts != 2 || all[0].Result != "HTTP 200" || !all[0].Delivered.Equal(at.Add(32*time.Second)) {
		t.Fatalf("deliveries %+v", all)
	}
	if err := p.UpdateDelivery(ctx, Delivery{ID: 999, State: DeliveryFailed}); err == nil || errors.Is(err, ErrDeliveryDone) {
		t.Errorf("updating a delivery that does not exist: %v, want an error other than ErrDeliveryDone", err)
	}
	// An attempt that ended after another process had recorded the
	// delivery done (a publisher whose attempt outlived its lease, a
	// prober that took the role over meanwhile) does not put it back to
	// pending, to be delivered again; before, it did.
	late := all[0] // delivered, as an attempt that began before read it
	late.State, late.Delivered = DeliveryPending, time.Time{}
	late.Attempts, late.Last, late.Next, late.Result = 1, at.Add(40*time.Second), at.Add(100*time.Second), "HTTP 503"
	if err := p.UpdateDelivery(ctx, late); !errors.Is(err, ErrDeliveryDone) {
		t.Errorf("a late attempt's record of a delivered delivery: %v, want ErrDeliveryDone", err)
	}
	if all, _ := p.Deliveries(ctx, "2022-10"); len(all) != 3 || all[0].State != DeliveryDelivered || all[0].Attempts != 2 {
		t.Errorf("after a late attempt's record: %+v, want the first delivered, 2 attempts", all)
	}
}

// TestPublisherLease: one prober of a fleet holds the publisher role at a
// time. The first claim takes a free lease, a claim by its holder renews it
// (Beat grows), another prober's claim leaves it alone unless the lease it
// names as stale is still the current one (a holder that stopped renewing),
// a release frees it at once, and only the holder's versions are recorded
// (with their maker and figures).
func TestPublisherLease(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) Publications
	}{
		{"sqlite", func(t *testing.T) Publications { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Publications { return openTestPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := tc.open(t)
			at := time.Date(2022, 11, 1, 0, 10, 0, 0, time.UTC)
			claim := func(me string, now time.Time, stale Lease) Lease {
				t.Helper()
				l, err := p.ClaimPublisher(ctx, me, now, stale)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			if l, err := p.PublisherLease(ctx); err != nil || l.Holder != "" {
				t.Fatalf("a new database's lease: %+v, %v; want nobody", l, err)
			}
			if l, _ := p.PublisherLease(ctx); !l.Began.IsZero() {
				t.Fatalf("a new database's lease began: %+v", l)
			}
			a := claim("seoul-a", at, Lease{})
			if a.Holder != "seoul-a" || !a.Since.Equal(at) || !a.Renewed.Equal(at) || !a.Began.Equal(at) {
				t.Fatalf("first claim: %+v", a)
			}
			if b := claim("seoul-b", at, Lease{}); b != a {
				t.Fatalf("another prober's claim of a held lease: %+v, want %+v unchanged", b, a)
			}
			a2 := claim("seoul-a", at.Add(time.Minute), Lease{})
			if a2.Holder != "seoul-a" || a2.Beat <= a.Beat || !a2.Since.Equal(at) || !a2.Renewed.Equal(at.Add(time.Minute)) {
				t.Fatalf("renewal: %+v after %+v", a2, a)
			}
			// seoul-b saw a; the lease has been renewed since: not stale.
			if b := claim("seoul-b", at.Add(2*time.Minute), a); b.Holder != "seoul-a" {
				t.Fatalf("a renewed lease taken over as stale: %+v", b)
			}
			// Only the holder records a version.
			if err := p.AddReportVersion(ctx, ReportVersion{Month: "2022-10", Version: 1, Digest: "b", Maker: "seoul-b"}, nil); !errors.Is(err, ErrNotPublisher) {
				t.Fatalf("a version of a prober without the lease: %v, want ErrNotPublisher", err)
			}
			if err := p.AddReportVersion(ctx, ReportVersion{Month: "2022-10", Version: 1, Digest: "a", Maker: "seoul-a", Figures: `{"services": []}`}, nil); err != nil {
				t.Fatal(err)
			}
			if vs, err := p.ReportVersions(ctx, "2022-10"); err != nil || len(vs) != 1 || vs[0].Maker != "seoul-a" || vs[0].Digest != "a" || vs[0].Figures != `{"services": []}` {
				t.Fatalf("versions %+v, %v", vs, err)
			}
			// a2 unchanged: seoul-a stopped renewing; seoul-b takes over.
			b := claim("seoul-b", at.Add(3*time.Minute), a2)
			if b.Holder != "seoul-b" || !b.Since.Equal(at.Add(3*time.Minute)) || !b.Began.Equal(at) {
				t.Fatalf("takeover of a stale lease: %+v", b)
			}
			// seoul-a comes back: it neither renews nor takes it (its own
			// view of the lease, a2, is no longer the lease).
			if l := claim("seoul-a", at.Add(4*time.Minute), a2); l.Holder != "seoul-b" {
				t.Fatalf("the old holder's claim after a takeover: %+v", l)
			}
			if err := p.AddReportVersion(ctx, ReportVersion{Month: "2022-10", Version: 2, Digest: "a2", Maker: "seoul-a"}, nil); !errors.Is(err, ErrNotPublisher) {
				t.Fatalf("a version of the old holder after a takeover: %v, want ErrNotPublisher", err)
			}
			// Release: only by the holder; then anyone takes it at once.
			if err := p.ReleasePublisher(ctx, "seoul-a"); err != nil {
				t.Fatal(err)
			}
			if l, _ := p.PublisherLease(ctx); l.Holder != "seoul-b" {
				t.Fatalf("released by a prober that does not hold it: %+v", l)
			}
			if err := p.ReleasePublisher(ctx, "seoul-b"); err != nil {
				t.Fatal(err)
			}
			// Began stays the first claim's through renewals, takeovers
			// and releases: when the database's publishing began.
			if l := claim("seoul-a", at.Add(5*time.Minute), Lease{}); l.Holder != "seoul-a" || !l.Began.Equal(at) || !a2.Began.Equal(at) {
				t.Fatalf("claim of a released lease: %+v (renewed: %+v), want began %v", l, a2, at)
			}
			if l, _ := p.PublisherLease(ctx); !l.Began.Equal(at) {
				t.Fatalf("lease read: %+v, want began %v", l, at)
			}
		})
	}
}

// TestOlderProbersCannotReadDeliveries: a prober of schema version 9 or
// older still running beside the first prober of this version (an upgrade
// that did not stop the old probers first) must not see the deliveries it
// cannot record. Before, it read them, sent each one, was refused the
// record (a newer schema), and sent it again at its next poll, every
// second: a customer's inbox flooded for as long as the old prober ran.
// Version 10 renames the table, so the old query fails and sends nothing.
// The query is version 9's PendingDeliveries, as it was (frozen here).
func TestOlderProbersCannotReadDeliveries(t *testing.T) {
	const v9Pending = `SELECT id, month, version, channel, target, state, attempts, next_ns, last_ns, result, delivered_ns FROM deliveries WHERE state = ? ORDER BY id`
	for _, tc := range []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"sqlite", func(t *testing.T) Store { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Store { return openTestPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tc.open(t)
			p := s.(Publications)
			at := time.Date(2022, 11, 1, 0, 10, 0, 0, time.UTC)
			if err := p.AddReportVersion(ctx, ReportVersion{Month: "2022-10", Version: 1, Generated: at, Digest: "d1"},
				[]Delivery{{Channel: "webhook", Target: "http://127.0.0.1:1/in", Next: at}}); err != nil {
				t.Fatal(err)
			}
			c := coreOf(t, s)
			var rows []deliveryRow
			if err := c.r.SelectContext(ctx, &rows, c.r.Rebind(v9Pending), DeliveryPending); err == nil {
				t.Errorf("an older prober's query reads %d pending deliveries, which it would send at every poll; want an error", len(rows))
			}
			if pend, err := p.PendingDeliveries(ctx); err != nil || len(pend) != 1 {
				t.Errorf("this version's PendingDeliveries: %d, %v; want 1", len(pend), err)
			}
		})
	}
}

// TestSetReportCanon: a version made before schema version 14 (no canonical
// digest) is given one by the lease's holder, once; a version that has one
// keeps it; a prober that does not hold the lease is refused.
func TestSetReportCanon(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) Publications
	}{
		{"sqlite", func(t *testing.T) Publications { return openTestSQLite(t) }},
		{"postgres", func(t *testing.T) Publications { return openTestPostgres(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			p := tc.open(t)
			at := time.Date(2022, 11, 1, 0, 10, 0, 0, time.UTC)
			if _, err := p.ClaimPublisher(ctx, "seoul-a", at, Lease{}); err != nil {
				t.Fatal(err)
			}
			for _, v := range []ReportVersion{
				{Month: "2022-09", Version: 1, Generated: at, Digest: "old"},
				{Month: "2022-10", Version: 1, Generated: at, Digest: "d1", Canon: "c1:one", Maker: "seoul-a"},
			} {
				if err := p.AddReportVersion(ctx, v, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.SetReportCanon(ctx, "busan-a", "2022-09", 1, "c1:nine"); !errors.Is(err, ErrNotPublisher) {
				t.Errorf("set by a prober without the lease: %v, want ErrNotPublisher", err)
			}
			for _, c := range []struct {
				month string
				canon string
			}{{"2022-09", "c1:nine"}, {"2022-09", "c1:again"}, {"2022-10", "c1:ten"}} {
				if err := p.SetReportCanon(ctx, "seoul-a", c.month, 1, c.canon); err != nil {
					t.Fatalf("%s %s: %v", c.month, c.canon, err)
				}
			}
			vs, err := p.ReportVersions(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 2 || vs[0].Canon != "c1:nine" || vs[0].Digest != "old" || vs[1].Canon != "c1:one" || vs[1].Digest != "d1" {
				t.Errorf("versions %+v, want 2022-09 given c1:nine (its digest kept), 2022-10 keeping c1:one", vs)
			}
		})
	}
}

// TestLeaseBeganRecordedLate: a database whose lease a slaprobe took before
// Lease.Began was recorded (no store_meta row) gets it at the next claim
// that takes or renews it, as of that claim; another prober's claim that
// does not take it records nothing.
func TestLeaseBeganRecordedLate(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *core
	}{
		{"sqlite", func(t *testing.T) *core { return openTestSQLite(t).core }},
		{"postgres", func(t *testing.T) *core { return openTestPostgres(t).core }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := tc.open(t)
			at := time.Date(2022, 11, 1, 0, 10, 0, 0, time.UTC)
			if _, err := c.ClaimPublisher(ctx, "seoul-a", at, Lease{}); err != nil {
				t.Fatal(err)
			}
			// As an older slaprobe left it: taken, no Began.
			if _, err := c.w.ExecContext(ctx, c.w.Rebind(`DELETE FROM store_meta WHERE name = ?`), metaReportsBegan); err != nil {
				t.Fatal(err)
			}
			if l, err := c.ClaimPublisher(ctx, "seoul-b", at.Add(time.Minute), Lease{}); err != nil || l.Holder != "seoul-a" || !l.Began.IsZero() {
				t.Fatalf("another prober's claim of a held lease: %+v, %v; want seoul-a's, no Began", l, err)
			}
			renewed := at.Add(2 * time.Minute)
			if l, err := c.ClaimPublisher(ctx, "seoul-a", renewed, Lease{}); err != nil || !l.Began.Equal(renewed) {
				t.Fatalf("renewal: %+v, %v; want began %v", l, err, renewed)
			}
			if l, err := c.ClaimPublisher(ctx, "seoul-a", renewed.Add(time.Minute), Lease{}); err != nil || !l.Began.Equal(renewed) {
				t.Fatalf("the renewal after: %+v, %v; want began %v", l, err, renewed)
			}
		})
	}
}
