package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// TestRevisionAfterAFlowAdded: a flow added to the config (or a flow
// renamed) after a month was made was not measured in that month, so it
// changes none of its figures and makes no new version of it; what was
// measured there, late, still does. Before, adding inbox on November 2
// made October's version 2, "figures as in version 1; details changed:
// messaging: latencies; messaging: run counts; messaging: unknown
// stretches", delivered again: inbox was listed in October without runs
// (its row, its steps, the whole month unknown for it) and, with its own
// down_after, named in the policy.
func TestRevisionAfterAFlowAdded(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Seoul")
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, loc)
	inbox := config.Flow{Name: "inbox", Service: "messaging", Interval: 10 * time.Minute, DownAfter: 3, UpAfter: 1, ConfirmEvery: 30 * time.Second,
		Steps: []config.Step{{Name: "search", Function: "search"}, {Name: "receive", Function: "receive"}}}
	for _, c := range []struct {
		name string
		// change is the config of November 2; late stores results in
		// October after version 1 was made.
		change func(cfg *config.Config)
		late   func(t *testing.T, s Store)
		want   []string
	}{
		{name: "added", change: func(cfg *config.Config) {
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
		}, want: []string{"2022-10/v1 "}},
		{name: "added first", change: func(cfg *config.Config) {
			cfg.Services[0].Flows = append([]config.Flow{inbox}, cfg.Services[0].Flows...)
		}, want: []string{"2022-10/v1 "}},
		{name: "service added", change: func(cfg *config.Config) {
			f := inbox
			f.Service = "mail"
			cfg.Services = append(cfg.Services, config.Service{Name: "mail", Objective: 0.99, Flows: []config.Flow{f}})
		}, want: []string{"2022-10/v1 "}},
		{name: "service added, and a run of chat from another prober stored late", change: func(cfg *config.Config) {
			f := inbox
			f.Service = "mail"
			cfg.Services = append(cfg.Services, config.Service{Name: "mail", Objective: 0.99, Flows: []config.Flow{f}})
		}, late: func(t *testing.T, s Store) {
			runAt(t, s, "seoul-b", oct.AddDate(0, 1, 0).Add(-5*time.Minute))
		}, want: []string{"2022-10/v1 ", "2022-10/v2 version 2: figures as in version 1; details changed: messaging: latencies; messaging: run counts; prober locations"}},
		{name: "service added, measured in October late", change: func(cfg *config.Config) {
			f := inbox
			f.Service = "mail"
			cfg.Services = append(cfg.Services, config.Service{Name: "mail", Objective: 0.99, Flows: []config.Flow{f}})
		}, late: func(t *testing.T, s Store) {
			fillFlow(t, s, "inbox", oct.AddDate(0, 0, 30), oct.AddDate(0, 1, 0))
		}, want: []string{"2022-10/v1 ", "2022-10/v2 version 2, changed from version 1: mail: new service"}},
		{name: "renamed", change: func(cfg *config.Config) {
			cfg.Services[0].Flows[0].Name = "chat-roundtrip"
		}, want: []string{"2022-10/v1 "}},
		{name: "added, measured in October late", change: func(cfg *config.Config) {
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
		}, late: func(t *testing.T, s Store) {
			fillFlow(t, s, "inbox", oct.AddDate(0, 0, 30), oct.AddDate(0, 1, 0))
		}, want: []string{"2022-10/v1 ", "2022-10/v2 version 2: figures as in version 1; details changed: messaging: latencies; messaging: run counts; messaging: unknown stretches; policy"}},
		{name: "added, and a run of chat from another prober stored late", change: func(cfg *config.Config) {
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
		}, late: func(t *testing.T, s Store) {
			runAt(t, s, "seoul-b", oct.AddDate(0, 1, 0).Add(-5*time.Minute))
		}, want: []string{"2022-10/v1 ", "2022-10/v2 version 2: figures as in version 1; details changed: messaging: latencies; messaging: run counts; prober locations"}},
		{name: "added, and maintenance declared in October", change: func(cfg *config.Config) {
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
			cfg.Maintenance = []config.Maintenance{{Service: "messaging", Start: oct.AddDate(0, 0, 2), End: oct.AddDate(0, 0, 2).Add(2 * time.Hour), Reason: "planned"}}
		}, want: []string{"2022-10/v1 ", "2022-10/v2 version 2, changed from version 1: messaging: maintenance 0s -> 2h0m0s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			// A declared incident of a function only inbox serves: its
			// reconciliation (not detected) is October's with or without
			// inbox.
			cfg.Timelines = []*config.Timeline{{Name: "declared", Incidents: []config.Incident{{ID: "search-1", Service: "messaging",
				Functions: []string{"search"}, Start: oct.AddDate(0, 0, 9), End: oct.AddDate(0, 0, 9).Add(time.Hour), Mode: "down"}}}}
			s := openStore(t, dir)
			fill(t, s, oct, oct.AddDate(0, 1, 0), [2]time.Time{oct.AddDate(0, 0, 14), oct.AddDate(0, 0, 14).Add(time.Hour)})
			clk := clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, loc))
			p, err := New(cfg, Options{Store: s, Clock: clk, Channels: func(*config.Config) []Channel { return nil }})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Cycle(ctx); err != nil {
				t.Fatal(err)
			}
			changed := *cfg
			changed.Services = []config.Service{cfg.Services[0]}
			changed.Services[0].Flows = append([]config.Flow(nil), cfg.Services[0].Flows...)
			c.change(&changed)
			if c.late != nil {
				c.late(t, s)
			}
			p.SetConfig(&changed)
			clk.Advance(24 * time.Hour)
			if err := p.Cycle(ctx); err != nil {
				t.Fatal(err)
			}
			vs, err := s.ReportVersions(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				got = append(got, fmt.Sprintf("%s/v%d %s", v.Month, v.Version, v.Changes))
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("versions %q, want %q", got, c.want)
			}
		})
	}
}

// TestUpgradeKeepsVersionsWithAnUnmeasuredFlow: a version whose digest an
// earlier slaprobe stored, over the report with every flow (the month
// listing archive, configured but not yet run), is unchanged when the month
// is rebuilt with the same results and config: upgrading makes no new
// version of it. Each digest is computed here as that slaprobe did.
func TestUpgradeKeepsVersionsWithAnUnmeasuredFlow(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Seoul")
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, loc)
	for _, c := range []struct {
		name   string
		digest func(r report.Report) any
	}{
		{"the report's JSON", func(r report.Report) any { return r }},
		{"flows in name order, retired not compared", func(r report.Report) any {
			r.Services = slices.Clone(r.Services)
			for i := range r.Services {
				s := &r.Services[i]
				s.Flows = slices.Clone(s.Flows)
				for j := range s.Flows {
					s.Flows[j].Retired = false
				}
				slices.SortStableFunc(s.Flows, func(a, b report.Flow) int { return strings.Compare(a.Name, b.Name) })
				slices.SortStableFunc(s.Steps, func(a, b report.StepLatency) int { return strings.Compare(a.Flow, b.Flow) })
				slices.SortStableFunc(s.Unknown, func(a, b report.Span) int { return strings.Compare(a.Flow, b.Flow) })
			}
			return r
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			inbox := cfg.Services[0].Flows[0]
			inbox.Name, inbox.DownAfter = "archive", 3 // listed after chat, before it in name order
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, inbox)
			s := openStore(t, dir)
			fill(t, s, oct, oct.AddDate(0, 1, 0), [2]time.Time{oct.AddDate(0, 0, 14), oct.AddDate(0, 0, 14).Add(time.Hour)})
			now := time.Date(2022, 11, 1, 0, 10, 0, 0, loc)
			from, to, _ := report.MonthRange("2022-10", loc)
			rep, err := report.Build(ctx, report.Input{Config: cfg, Store: s, From: from, To: to, Now: now, Timelines: cfg.Timelines})
			if err != nil {
				t.Fatal(err)
			}
			rep.Generated = time.Time{}
			b, err := json.Marshal(c.digest(*rep))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if err := s.AddReportVersion(ctx, store.ReportVersion{Month: "2022-10", Version: 1, Generated: now, Digest: hex.EncodeToString(sum[:])}, nil); err != nil {
				t.Fatal(err)
			}
			vs, err := cycleAt(t, cfg, s, now.Add(24*time.Hour), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 1 {
				t.Errorf("%d versions, want October's version 1 only: %+v", len(vs), vs)
			}
		})
	}
}

// runAt stores one run of chat from location at at, all ok.
func runAt(t *testing.T, s Store, location string, at time.Time) {
	t.Helper()
	r := probe.Run{ID: location + "-" + at.Format(time.RFC3339), Flow: "chat", Service: "messaging", Location: location, Start: at, Duration: time.Second,
		Steps: []probe.StepResult{{Step: "send", Function: "send", Status: probe.StatusOK}, {Step: "receive", Function: "receive", Status: probe.StatusOK}}}
	if err := s.AppendRuns(context.Background(), []probe.Run{r}); err != nil {
		t.Fatal(err)
	}
}
