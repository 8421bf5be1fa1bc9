package daemon

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

func TestStoreAvailability(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(10 * time.Hour)
	h := func(n float64) time.Time { return from.Add(time.Duration(n * float64(time.Hour))) }
	key := state.Key{Service: "svc", Flow: "a", Location: "seoul-a"}
	fnKey := key
	fnKey.Function = "send"
	wins := []state.Window{
		{Key: key, Kind: state.KindDown, Start: h(1), End: h(2)},
		{Key: fnKey, Kind: state.KindDown, Start: h(4), End: h(5)}, // function-level: covered by the flow's
		{Key: key, Kind: state.KindUnknown, Start: h(6), End: h(7)},
		{Key: key, Kind: state.KindDegraded, Start: h(8), End: h(8.5)},
		{Key: state.Key{Service: "other", Flow: "o"}, Kind: state.KindDown, Start: h(0), End: h(10)},
	}
	maint := []config.Maintenance{{Service: "svc", Start: h(1.5), End: h(2.5)}}

	for _, tc := range []struct {
		name   string
		policy config.Policy
		cov    []store.Span
		wins   []state.Window
		want   float64 // NaN: no data
	}{
		// Denominator 10h - 1h unknown - 1h maintenance = 8h; down 1h of
		// which 30m in maintenance.
		{"exclude unknown, degraded up", config.Policy{Unknown: "exclude", Degraded: "up"}, []store.Span{{Flow: "a", Service: "svc", First: from}}, wins, 1 - 0.5/8},
		{"unknown counts as down", config.Policy{Unknown: "down", Degraded: "up"}, []store.Span{{Flow: "a", Service: "svc", First: from}}, wins, 1 - 1.5/9},
		{"degraded counts as down", config.Policy{Unknown: "exclude", Degraded: "down"}, []store.Span{{Flow: "a", Service: "svc", First: from}}, wins, 1 - 1.0/8},
		// Coverage starting at 5h: only [5h, 10h) counts, 4h less 1h unknown.
		{"coverage starts late", config.Policy{}, []store.Span{{Flow: "a", Service: "svc", First: h(5)}}, wins, 1},
		{"open window runs to now", config.Policy{}, []store.Span{{Flow: "a", Service: "svc", First: from}}, []state.Window{{Key: key, Kind: state.KindDown, Start: h(9)}}, 1 - 1.0/9},
		{"no data", config.Policy{}, nil, wins, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(time.Minute, "a")
			cfg.Policy, cfg.Maintenance = tc.policy, maint
			st := &fakeStore{cov: tc.cov, wins: tc.wins}
			got, ok, err := StoreAvailability(context.Background(), st, cfg, "svc", from, to)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(tc.want) {
				if ok {
					t.Errorf("got %v, want no data", got)
				}
				return
			}
			if !ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("availability = %v (ok %v), want %v", got, ok, tc.want)
			}
		})
	}
}

func TestRefreshAvailabilityMetric(t *testing.T) {
	calls := map[string]int{}
	avail := func(_ context.Context, service string, from, to time.Time) (float64, bool, error) {
		calls[service]++
		if to.Sub(from) > 29*24*time.Hour {
			return 0.99, true, nil
		}
		return 0, false, nil // month: no data yet
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

type fixedClock time.Time

func (c fixedClock) Now() time.Time                                   { return time.Time(c) }
func (c fixedClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
