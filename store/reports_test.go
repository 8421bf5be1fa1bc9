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
	if err := p.UpdateDelivery(ctx, Delivery{ID: 999, State: DeliveryFailed}); err == nil {
		t.Error("updating a delivery that does not exist succeeded")
	}
}
