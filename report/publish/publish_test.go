package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// testConfig is one service with one flow of two steps, reports made as
// JSON and Markdown into dir.
func testConfig(dir string) *config.Config {
	loc, _ := time.LoadLocation("Asia/Seoul")
	return &config.Config{
		Location: "seoul-a", Timezone: "Asia/Seoul", Loc: loc,
		Defaults: config.Defaults{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1},
		Policy:   config.Policy{Unknown: "exclude", Degraded: "up", Quorum: config.Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Services: []config.Service{{Name: "messaging", Objective: 0.999, Flows: []config.Flow{{
			Name: "chat", Service: "messaging", Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1,
			Steps: []config.Step{{Name: "send", Function: "send"}, {Name: "receive", Function: "receive"}},
		}}}},
		Reports: config.Reports{Enabled: true, Schedule: config.DefaultReportSchedule, Formats: []string{"json", "md"}, Archive: dir,
			Backfill: 2, Revise: 1, Retry: config.Retry{Attempts: 3, Backoff: time.Minute, MaxBackoff: 4 * time.Minute}},
	}
}

// openStore opens a SQLite store r.db in dir, closed when the test ends.
func openStore(t testing.TB, dir string) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// cycleAt starts a publisher of cfg on s at at (a start of the daemon),
// with chans as its delivery channels (none: nothing delivered), runs one
// cycle, and returns the versions of month ("" every month) s holds after
// it, and the cycle's error.
func cycleAt(t testing.TB, cfg *config.Config, s Store, at time.Time, month string, chans ...Channel) ([]store.ReportVersion, error) {
	t.Helper()
	p, err := New(cfg, Options{Store: s, Clock: clock.NewManual(at), Channels: func(*config.Config) []Channel { return chans }})
	if err != nil {
		t.Fatal(err)
	}
	cerr := p.Cycle(context.Background())
	vs, err := s.ReportVersions(context.Background(), month)
	if err != nil {
		t.Fatal(err)
	}
	return vs, cerr
}

// monthVersions writes versions as "YYYY-MM/N ...".
func monthVersions(vs []store.ReportVersion) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s/%d", v.Month, v.Version)
	}
	return b.String()
}

// fill stores a run every 10 minutes in [from, to), failing at receive in
// the half-open minute ranges given, and the state machine's events.
func fill(t *testing.T, s store.Store, from, to time.Time, fail ...[2]time.Time) {
	t.Helper()
	m := state.New("messaging", "chat", "seoul-a", []string{"send", "receive"}, state.Policy{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1})
	var runs []probe.Run
	var evs []state.Event
	for at := from; at.Before(to); at = at.Add(10 * time.Minute) {
		r := probe.Run{ID: at.Format(time.RFC3339), Flow: "chat", Service: "messaging", Location: "seoul-a", Start: at, Duration: time.Second,
			Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: "receive", Function: "receive", Status: probe.StatusOK}}}
		for _, f := range fail {
			if !at.Before(f[0]) && at.Before(f[1]) {
				r.Steps[1].Status, r.Steps[1].Error = probe.StatusFailed, "not delivered"
			}
		}
		runs = append(runs, r)
		evs = append(evs, m.Observe(&runs[len(runs)-1])...)
	}
	ctx := context.Background()
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// fakeChannel fails its first failures sends.
type fakeChannel struct {
	kind, target string
	mu           sync.Mutex
	failures     int
	sent         []*Message
	attempts     int
}

func (f *fakeChannel) Kind() string   { return f.kind }
func (f *fakeChannel) Target() string { return f.target }
func (f *fakeChannel) Send(_ context.Context, m *Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.attempts <= f.failures {
		return errors.New("HTTP 503: try later (token s3cret-token)")
	}
	f.sent = append(f.sent, m)
	return nil
}

func TestPublisher(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Secrets = map[string]string{"env:TOKEN": "s3cret-token"}
	s := openStore(t, dir)
	loc := cfg.Loc
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, loc)
	// Data only in October (an outage on the 15th); September has none.
	fill(t, s, oct, oct.AddDate(0, 1, 0), [2]time.Time{oct.AddDate(0, 0, 14), oct.AddDate(0, 0, 14).Add(time.Hour)})

	hook := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in", failures: 2}
	mail := &fakeChannel{kind: "email", target: "ops@example.com"}
	clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, loc))
	newPub := func(reg *prometheus.Registry) *Publisher {
		p, err := New(cfg, Options{Store: s, Clock: clk, Registry: reg,
			Channels: func(*config.Config) []Channel { return []Channel{hook, mail} }})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	reg := prometheus.NewRegistry()
	p := newPub(reg)

	// First start: backfill 2 looks at September and October; September
	// has no data, so only October is made.
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	vs, _ := s.ReportVersions(ctx, "")
	if len(vs) != 1 || vs[0].Month != "2022-10" || vs[0].Version != 1 {
		t.Fatalf("versions after the first cycle: %+v", vs)
	}
	for _, f := range []string{"2022-10/report.json", "2022-10/report.md", "2022-10/v1/report.json", "2022-10/v1/figures.json"} {
		if _, err := os.Stat(filepath.Join(cfg.Reports.Archive, f)); err != nil {
			t.Errorf("archive lacks %s: %v", f, err)
		}
	}
	if got := testutil.ToFloat64(p.generated); got != 1 {
		t.Errorf("slaprobe_reports_generated_total %g, want 1", got)
	}

	// Made once: another cycle (and a restarted publisher) makes nothing.
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := newPub(nil).Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.ReportVersions(ctx, ""); len(vs) != 1 {
		t.Fatalf("a second cycle made %d versions", len(vs))
	}

	// Deliveries: the e-mail goes at once; the webhook fails twice, backs
	// off 1m then 2m, and is delivered on its third attempt.
	if err := p.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mail.sent) != 1 || hook.attempts != 1 {
		t.Fatalf("after the first pass: %d mails, %d webhook attempts", len(mail.sent), hook.attempts)
	}
	clk.Advance(30 * time.Second)
	p.DeliverDue(ctx) //nolint:errcheck
	if hook.attempts != 1 {
		t.Fatalf("retried before its backoff: %d attempts", hook.attempts)
	}
	clk.Advance(30 * time.Second)
	// A restart here resumes the webhook, and does not mail again.
	p = newPub(prometheus.NewRegistry())
	p.DeliverDue(ctx) //nolint:errcheck
	clk.Advance(2 * time.Minute)
	p.DeliverDue(ctx) //nolint:errcheck
	if hook.attempts != 3 || len(hook.sent) != 1 || len(mail.sent) != 1 {
		t.Fatalf("webhook %d attempts %d sent, mails %d", hook.attempts, len(hook.sent), len(mail.sent))
	}
	ds, _ := s.Deliveries(ctx, "2022-10")
	if len(ds) != 2 {
		t.Fatalf("deliveries %+v", ds)
	}
	for _, d := range ds {
		want := map[string]int{"webhook": 3, "email": 1}[d.Channel]
		if d.State != store.DeliveryDelivered || d.Attempts != want {
			t.Errorf("%s: %s after %d attempts, want delivered after %d", d.Channel, d.State, d.Attempts, want)
		}
		if strings.Contains(d.Result, "s3cret-token") {
			t.Errorf("a secret reached the store: %q", d.Result)
		}
	}
	m := hook.sent[0]
	if m.Month != "2022-10" || m.Version != 1 || len(m.Files) != 2 || m.Summary.Services[0].Incidents != 1 || m.Key == "" {
		t.Errorf("webhook message %+v", m)
	}

	// Late data for October (another prober's results arriving after the
	// report): the next cycle makes version 2 with what changed, delivers
	// it, and keeps version 1 in v1/.
	fill(t, s, oct.AddDate(0, 0, 20), oct.AddDate(0, 0, 20).Add(3*time.Hour), [2]time.Time{oct.AddDate(0, 0, 20), oct.AddDate(0, 0, 20).Add(2 * time.Hour)})
	clk.Advance(24 * time.Hour)
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	vs, _ = s.ReportVersions(ctx, "2022-10")
	if len(vs) != 2 || vs[1].Version != 2 || !strings.Contains(vs[1].Changes, "incidents 1 -> 2") {
		t.Fatalf("versions after late data: %+v", vs)
	}
	if data, err := os.ReadFile(filepath.Join(cfg.Reports.Archive, "2022-10", "v2", "CHANGES.txt")); err != nil || !strings.Contains(string(data), "availability") {
		t.Errorf("v2/CHANGES.txt: %q %v", data, err)
	}
	if err := p.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mail.sent) != 2 || mail.sent[1].Version != 2 || mail.sent[1].Changes == "" {
		t.Errorf("version 2 was not mailed with its changes: %+v", mail.sent)
	}
	list, err := List(cfg.Reports.Archive)
	if err != nil || len(list) != 1 || list[0].Month != "2022-10" || list[0].Version != 2 || len(list[0].Files) != 2 {
		t.Errorf("archive list %+v %v", list, err)
	}

	// A month the daemon was down for entirely is made at the next start
	// (every month after the last one made), even without data.
	clk.Set(time.Date(2023, 1, 2, 0, 0, 0, 0, loc))
	if err := newPub(nil).Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	vs, _ = s.ReportVersions(ctx, "")
	if got := monthVersions(vs); got != "2022-10/1 2022-10/2 2022-11/1 2022-12/1" {
		t.Errorf("versions after two months down: %v", got)
	}
}

// TestSetConfigKeepsArchive: a reload applies the reports keys it can
// (formats here) and keeps the archive the publisher started with, which
// the status page lists and which holds the versions made so far
// (reports.archive is a restart key).
func TestSetConfigKeepsArchive(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	p, err := New(cfg, Options{Store: sqliteStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	next := testConfig(filepath.Join(dir, "elsewhere"))
	next.Reports.Formats = []string{"pdf"}
	p.SetConfig(next)
	got := p.config()
	if got.Reports.Archive != cfg.Reports.Archive {
		t.Errorf("archive after reload %q, want the running %q", got.Reports.Archive, cfg.Reports.Archive)
	}
	if !slices.Equal(got.Reports.Formats, []string{"pdf"}) {
		t.Errorf("formats after reload %q, want the reloaded [pdf]", got.Reports.Formats)
	}
	if next.Reports.Archive != filepath.Join(dir, "elsewhere") {
		t.Errorf("SetConfig changed the caller's config: archive %q", next.Reports.Archive)
	}
}

func TestBackoff(t *testing.T) {
	r := config.Retry{Attempts: 8, Backoff: 30 * time.Second, MaxBackoff: 5 * time.Minute}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, backoff(r, n))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoff %v, want %v", got, want)
		}
	}
}

func TestGivesUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Reports.Retry = config.Retry{Attempts: 2, Backoff: time.Second, MaxBackoff: time.Second}
	s := openStore(t, dir)
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
	fill(t, s, oct, oct.Add(24*time.Hour))
	hook := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in", failures: 100}
	clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, cfg.Loc))
	reg := prometheus.NewRegistry()
	p, err := New(cfg, Options{Store: s, Clock: clk, Registry: reg, Channels: func(*config.Config) []Channel { return []Channel{hook} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		p.DeliverDue(ctx) //nolint:errcheck
		clk.Advance(time.Second)
	}
	ds, _ := s.Deliveries(ctx, "")
	if len(ds) != 1 || ds[0].State != store.DeliveryFailed || ds[0].Attempts != 2 || hook.attempts != 2 {
		t.Fatalf("deliveries %+v, %d attempts", ds, hook.attempts)
	}
	if got := testutil.ToFloat64(p.deliveries.WithLabelValues("webhook", "retry")); got != 1 {
		t.Errorf("retry count %g", got)
	}
	if got := testutil.ToFloat64(p.deliveries.WithLabelValues("webhook", "failed")); got != 1 {
		t.Errorf("failed count %g", got)
	}
}

// slaprobe_report_deliveries_total has a series at 0 for every result of
// every configured channel from the start (and from the reload that adds a
// channel): a monthly delivery fails about once a month, and a series that
// first appears at 1 is invisible to increase(), so an alert on failed (or
// retried) deliveries never fired for the first one.
func TestDeliveryCountersStartAtZero(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	channels := func(cfg *config.Config) []Channel {
		var out []Channel
		for range cfg.Reports.Webhooks {
			out = append(out, &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"})
		}
		if cfg.Reports.Email != nil {
			out = append(out, &fakeChannel{kind: "email", target: "ops@example.org"})
		}
		return out
	}
	series := func(reg *prometheus.Registry) []string {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mf := range mfs {
			if mf.GetName() != "slaprobe_report_deliveries_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				lv := map[string]string{}
				for _, l := range m.GetLabel() {
					lv[l.GetName()] = l.GetValue()
				}
				out = append(out, fmt.Sprintf("%s/%s=%g", lv["channel"], lv["result"], m.GetCounter().GetValue()))
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name         string
		webhooks     int
		email        bool
		reloadEmail  bool
		want, reload []string
	}{
		{"no channel", 0, false, false, nil, nil},
		{"webhook", 1, false, false,
			[]string{"webhook/delivered=0", "webhook/failed=0", "webhook/retry=0"}, nil},
		{"webhook, then e-mail added by a reload", 1, false, true,
			[]string{"webhook/delivered=0", "webhook/failed=0", "webhook/retry=0"},
			[]string{"email/delivered=0", "email/failed=0", "email/retry=0", "webhook/delivered=0", "webhook/failed=0", "webhook/retry=0"}},
		{"both", 2, true, false,
			[]string{"email/delivered=0", "email/failed=0", "email/retry=0", "webhook/delivered=0", "webhook/failed=0", "webhook/retry=0"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(filepath.Join(dir, "reports"))
			for i := range tc.webhooks {
				cfg.Reports.Webhooks = append(cfg.Reports.Webhooks, config.Webhook{URL: fmt.Sprintf("http://127.0.0.1:1/in%d", i)})
			}
			if tc.email {
				cfg.Reports.Email = &config.Email{Server: "127.0.0.1:1", From: "p@example.org", To: []string{"ops@example.org"}}
			}
			reg := prometheus.NewRegistry()
			p, err := New(cfg, Options{Store: s, Registry: reg, Channels: channels})
			if err != nil {
				t.Fatal(err)
			}
			if got := series(reg); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("at start: %q, want %q", got, tc.want)
			}
			if !tc.reloadEmail {
				return
			}
			next := *cfg
			next.Reports.Email = &config.Email{Server: "127.0.0.1:1", From: "p@example.org", To: []string{"ops@example.org"}}
			p.SetConfig(&next)
			if got := series(reg); strings.Join(got, " ") != strings.Join(tc.reload, " ") {
				t.Errorf("after the reload: %q, want %q", got, tc.reload)
			}
		})
	}
}
