package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// TestLifecycleChangesName: a revised month's "what changed" names every
// headline figure that changed, the ones a config change moves too (an
// objective raised, a maintenance window added after the fact, time found
// unknown, the month's period moved to another time zone). Before, the
// objective, maintenance, unknown time and the period were not
// compared: a version made because the objective went from 99% to 99.5% and
// 4 h of maintenance were added said "figures as in version 1; details
// changed (latencies, window causes or run counts)". Figures kept by an
// older version, without maintenance or unknown time, are not taken for 0.
func TestLifecycleChangesName(t *testing.T) {
	svc := func(objective, maint, unknown float64) report.Service {
		a, c := 1.0, 0.0
		return report.Service{Name: "maps", Objective: objective, Availability: &a, CreditPercent: &c, MaintenanceSeconds: maint, UnknownSeconds: unknown}
	}
	tests := []struct {
		name      string
		old       string // figures.json of version 1; "" from summaryOf(old)
		prev, cur report.Service
		zone      *time.Location // the current version's (config.timezone changed); nil UTC
		want      []string
		not       []string
	}{
		{name: "objective raised", prev: svc(0.99, 0, 0), cur: svc(0.995, 0, 0), want: []string{"objective 99% -> 99.5%"}, not: []string{"figures as in"}},
		{name: "maintenance added", prev: svc(0.99, 0, 0), cur: svc(0.99, 14400, 0), want: []string{"maintenance 0s -> 4h0m0s"}, not: []string{"figures as in"}},
		{name: "unknown found", prev: svc(0.99, 0, 0), cur: svc(0.99, 0, 3600), want: []string{"unknown 0s -> 1h0m0s"}, not: []string{"figures as in"}},
		{name: "no data now", prev: svc(0.99, 0, 0), cur: report.Service{Name: "maps", Objective: 0.99, NoData: true, UnknownSeconds: 2592000},
			want: []string{"availability 100.000% -> no data"}, not: []string{"-> 0.000%"}},
		{name: "no data now, counted as down", prev: svc(0.99, 0, 0), cur: func() report.Service {
			a, c := 0.0, 100.0 // policy.unknown: down
			return report.Service{Name: "maps", Objective: 0.99, NoData: true, Availability: &a, CreditPercent: &c, UnknownSeconds: 2592000}
		}(), want: []string{"availability 100.000% -> 0.000% (no data)", "SLA credit 0% -> 100%"}},
		{name: "data now", prev: report.Service{Name: "maps", Objective: 0.99, NoData: true}, cur: svc(0.99, 0, 0),
			want: []string{"availability no data -> 100.000%"}, not: []string{"0.000% ->"}},
		{name: "time zone changed", prev: svc(0.99, 0, 0), cur: svc(0.99, 0, 0), zone: time.FixedZone("KST", 9*3600),
			want: []string{"period 2026-11-01 00:00 +00:00 - 2026-12-01 00:00 +00:00 -> 2026-11-01 00:00 +09:00 - 2026-12-01 00:00 +09:00"}, not: []string{"figures as in"}},
		{
			// An older version kept 0 for the credit of a service without
			// data: not a change to "none".
			name: "no data in figures of an older version",
			old:  `{"title": "SLA report 2026-11", "services": [{"name": "maps", "availability": 0, "objective": 0.99, "no_data": true, "downtime_seconds": 0, "incidents": 0, "windows": 0, "credit_percent": 0}]}`,
			cur:  report.Service{Name: "maps", Objective: 0.99, NoData: true}, want: []string{"figures as in version 1"}, not: []string{"credit"},
		},
		{name: "unchanged headline", prev: svc(0.99, 600, 60), cur: svc(0.99, 600, 60), want: []string{"figures as in version 1"}},
		{
			name: "figures of an older version",
			old:  `{"title": "SLA report 2026-11", "services": [{"name": "maps", "availability": 1, "objective": 0.99, "no_data": false, "downtime_seconds": 0, "incidents": 0, "windows": 0, "credit_percent": 0}]}`,
			cur:  svc(0.99, 14400, 60), want: []string{"figures as in version 1"}, not: []string{"maintenance", "unknown"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := &config.Config{Reports: config.Reports{Archive: dir}}
			at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			curAt := at
			if tc.zone != nil {
				curAt = time.Date(2026, 11, 1, 0, 0, 0, 0, tc.zone)
			}
			old := []byte(tc.old)
			if tc.old == "" {
				var err error
				if old, err = json.Marshal(summaryOf(&report.Report{Title: "SLA report 2026-11", From: at, To: at.AddDate(0, 1, 0), Services: []report.Service{tc.prev}})); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "2026-11", "v1"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "2026-11", "v1", figuresFile), old, 0o644); err != nil {
				t.Fatal(err)
			}
			got := (&Publisher{}).changes(cfg, "2026-11", 1, &report.Report{Title: "SLA report 2026-11", From: curAt, To: curAt.AddDate(0, 1, 0), Services: []report.Service{tc.cur}})
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("%q has %q", got, w)
				}
			}
		})
	}
}

// TestLifecycleNoRevisionOfPrunedMonths: a month under revision whose hour
// rollups the store has pruned (storage.hour_retention shorter than the
// months reports.revise looks back) keeps its last version. Before, each
// cycle rebuilt it from what was left and sent the receivers a new version
// that read "availability 99.861% -> no data", as if the outage and the
// month's runs had never been.
func TestLifecycleNoRevisionOfPrunedMonths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	s := openStore(t, dir)
	loc := cfg.Loc
	sep := time.Date(2022, 9, 1, 0, 0, 0, 0, loc)
	oct := sep.AddDate(0, 1, 0)
	// September and October, an outage on the 15th of each.
	fill(t, s, sep, oct.AddDate(0, 1, 0), [2]time.Time{sep.AddDate(0, 0, 14), sep.AddDate(0, 0, 14).Add(time.Hour)},
		[2]time.Time{oct.AddDate(0, 0, 14), oct.AddDate(0, 0, 14).Add(time.Hour)})
	clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, loc))
	p, err := New(cfg, Options{Store: s, Clock: clk, Channels: func(*config.Config) []Channel { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	// Everything before October 10 is pruned.
	cut := oct.AddDate(0, 0, 9)
	for {
		n, err := s.Prune(ctx, store.Cutoffs{Runs: cut, Minute: cut, Hour: cut}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1000 {
			break
		}
	}
	clk.Advance(24 * time.Hour)
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	got := versionsMade(t, s)
	if want := []string{"2022-09/v1 ", "2022-10/v1 "}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("versions %q, want %q", got, want)
	}
}

// TestLifecycleChangesNameTheDetails: a version made because a detail
// changed, not a headline figure, names the part of the report that
// changed. A corrected timeline (README: a reason for a new version) moves
// only the reconciliation; before, the new version said "details changed
// (latencies, window causes or run counts)", none of which had.
func TestLifecycleChangesNameTheDetails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	s := openStore(t, dir)
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
	out := oct.AddDate(0, 0, 14)
	fill(t, s, oct, oct.AddDate(0, 1, 0), [2]time.Time{out, out.Add(time.Hour)})
	declare := func(end time.Time) {
		cfg.Timelines = []*config.Timeline{{Name: "provider", Incidents: []config.Incident{{
			ID: "inc-1", Service: "messaging", Functions: []string{"receive"}, Start: out, End: end, Mode: "drop"}}}}
	}
	declare(out.Add(30 * time.Minute))
	clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, cfg.Loc))
	p, err := New(cfg, Options{Store: s, Clock: clk, Channels: func(*config.Config) []Channel { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	// The provider corrects its declared end: 30 minutes -> 1 hour.
	declare(out.Add(time.Hour))
	p.SetConfig(cfg)
	clk.Advance(time.Hour)
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	vs, err := s.ReportVersions(ctx, "2022-10")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("%d versions, want 2", len(vs))
	}
	if got := vs[1].Changes; !strings.Contains(got, "messaging: reconciliation with declared incidents") || strings.Contains(got, "latencies") {
		t.Errorf("changes %q, want the reconciliation named (and not latencies)", got)
	}
}

// keyChannel records the key of every attempt and fails the first fail.
type keyChannel struct {
	fail int
	keys []string
}

func (k *keyChannel) Kind() string   { return "webhook" }
func (k *keyChannel) Target() string { return "http://127.0.0.1:1/in" }
func (k *keyChannel) Send(_ context.Context, m *Message) error {
	k.keys = append(k.keys, m.Key)
	if len(k.keys) <= k.fail {
		return fmt.Errorf("HTTP 503")
	}
	return nil
}

// TestLifecycleDeliveryKeyNamesTheContent: the Idempotency-Key (and the
// e-mail's Message-ID, made from it) stays the same across the attempts of
// one delivery and differs between reports with different content for the
// same month, version and receiver: two probers with their own databases
// (two locations), or a store started afresh. Before, it was made of the
// month, version, channel and target only, so a receiver that honours it
// (or a mail service that drops a repeated Message-ID) dropped the second
// prober's report as a repeat of the first.
func TestLifecycleDeliveryKeyNamesTheContent(t *testing.T) {
	ctx := context.Background()
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)
	prober := func(loc string, fail int, outage time.Duration) *keyChannel {
		dir := t.TempDir()
		cfg := testConfig(filepath.Join(dir, "reports"))
		cfg.Location = loc
		s := openStore(t, dir)
		out := oct.AddDate(0, 0, 14)
		fill(t, s, oct, oct.AddDate(0, 1, 0), [2]time.Time{out, out.Add(outage)})
		ch := &keyChannel{fail: fail}
		clk := clock.NewManual(time.Date(2022, 11, 2, 0, 10, 0, 0, time.UTC))
		p, err := New(cfg, Options{Store: s, Clock: clk, Channels: func(*config.Config) []Channel { return []Channel{ch} }})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			p.DeliverDue(ctx) //nolint:errcheck // the first attempt fails on purpose
			clk.Advance(time.Hour)
		}
		return ch
	}
	a := prober("seoul-a", 1, time.Hour)
	b := prober("busan-b", 0, 3*time.Hour)
	if len(a.keys) != 2 || a.keys[0] != a.keys[1] {
		t.Errorf("attempts of one delivery: keys %q, want two equal ones", a.keys)
	}
	if len(b.keys) != 1 || len(a.keys) == 0 || b.keys[0] == a.keys[0] {
		t.Errorf("two probers' reports of 2022-10 v1 to one receiver: keys %q and %q, want different", a.keys, b.keys)
	}
}

// TestLifecycleSummaryNoDataIsNull: the summary a webhook's metadata part
// carries (and figures.json keeps) has "availability" and "credit_percent"
// null for a service with nothing measured, as report.json does (README:
// never 0%). Before, they were 0 beside "no_data": true, and a receiver
// reading the figure alone booked a 0% month.
func TestLifecycleSummaryNoDataIsNull(t *testing.T) {
	a, c := 0.9986, 10.0
	zero, full := 0.0, 100.0
	r := &report.Report{Title: "SLA report 2026-11", Services: []report.Service{
		{Name: "account", Objective: 0.999, Availability: &a, CreditPercent: &c},
		{Name: "maps", Objective: 0.99, NoData: true},
		// policy.unknown: down counts a month without data as down: the
		// report has 0% and a credit beside no_data, and so must the summary.
		{Name: "mail", Objective: 0.99, NoData: true, Availability: &zero, CreditPercent: &full},
	}}
	b, err := json.Marshal(summaryOf(r))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Services []map[string]any `json:"services"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ avail, credit any }{{0.9986, 10.0}, {nil, nil}, {0.0, 100.0}} {
		s := got.Services[i]
		if s["availability"] != want.avail || s["credit_percent"] != want.credit {
			t.Errorf("%s: availability %v credit %v, want %v and %v", s["name"], s["availability"], s["credit_percent"], want.avail, want.credit)
		}
	}
	if text := summaryOf(r).Text(); !strings.Contains(text, "maps: no data") || !strings.Contains(text, "account: 99.860% against 99.9% (missed)") ||
		!strings.Contains(text, "mail: 0.000% (no data) against 99% (missed), down 0s, 0 incident(s), SLA credit 100%") {
		t.Errorf("summary text:\n%s", text)
	}
}
