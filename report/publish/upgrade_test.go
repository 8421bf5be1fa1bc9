package publish

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/store"
)

// stop38Version records, in st, the version of October 2022 that the
// stop-38 publisher (16e0971) made of upgradeMonth, as it stored it
// (testdata/stop38/versions.json: made by testdata/stop38/dump_test.go.txt
// beside upgrade_scenario_test.go in a tree of 16e0971), with its
// archive copied into archive.
func stop38Version(t *testing.T, st Store, archive string) {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(filepath.Join("testdata", "stop38", "versions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []store.ReportVersion
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Canon != "" || strings.HasPrefix(vs[0].Digest, canonForm) {
		t.Fatalf("testdata/stop38/versions.json: %+v", vs)
	}
	if _, err := st.ClaimPublisher(ctx, vs[0].Maker, vs[0].Generated, store.Lease{}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddReportVersion(ctx, vs[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(archive, os.DirFS(filepath.Join("testdata", "stop38", "archive"))); err != nil {
		t.Fatal(err)
	}
}

// stop38Database opens a copy of testdata/stop38/r.db.gz, the database
// the stop-38 publisher made October's version 1 of upgradeMonth in.
func stop38Database(t *testing.T) Store {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "stop38", "r.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.db")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	vs, err := s.ReportVersions(context.Background(), "")
	if err != nil || len(vs) != 1 || vs[0].Canon != "" {
		t.Fatalf("the stop-38 database's versions: %+v (%v)", vs, err)
	}
	return s
}

// files reads every file under dir, by path.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUpgradeFromStop38: a database the stop-38 publisher made October's
// version 1 in, rebuilt by this slaprobe with the same config and data,
// whose report adds windows' maintenance_seconds and flows' function_runs
// and rewords the policy's sentence on the run success ratio: no version 2,
// nothing delivered, the archive as stop 38 left it, on the first cycle
// after the upgrade and on one two weeks on. Before, the first cycle made
// "version 2: figures as in version 1; details changed: messaging: run
// counts; messaging: windows; policy" and delivered it. Version 1 is given
// its canonical digest (store.ReportVersion.Canon) on the first cycle.
func TestUpgradeFromStop38(t *testing.T) {
	for _, sc := range append(fleetStores(t), struct {
		name string
		open func(t *testing.T) Store
	}{"the stop-38 sqlite database", nil}) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			archive := filepath.Join(t.TempDir(), "reports")
			cfg := testConfig(archive)
			var st Store
			if sc.open != nil {
				st = sc.open(t)
				upgradeMonth(t, st, cfg)
				stop38Version(t, st, archive)
			} else {
				// The database itself, results, events and version as
				// stop 38 stored them, migrated here (schema 13 to 14).
				st = stop38Database(t)
				upgradeMaintenance(cfg)
				if err := os.CopyFS(archive, os.DirFS(filepath.Join("testdata", "stop38", "archive"))); err != nil {
					t.Fatal(err)
				}
			}
			before := files(t, archive)
			hook := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"}
			clk := clock.NewManual(time.Date(2022, 11, 3, 0, 0, 0, 0, cfg.Loc))
			p, err := New(cfg, Options{Store: st, Clock: clk, Channels: func(*config.Config) []Channel { return []Channel{hook} }})
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range []time.Time{clk.Now(), clk.Now().AddDate(0, 0, 14)} {
				clk.Set(at)
				if err := p.Cycle(ctx); err != nil {
					t.Fatal(err)
				}
				vs, err := st.ReportVersions(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(vs) != 1 {
					t.Fatalf("%s: versions %+v, want October's version 1 only", at.Format(time.DateOnly), vs)
				}
				// Found unchanged, it is given its canonical digest, which
				// the next cycle compares.
				if !strings.HasPrefix(vs[0].Canon, canonForm) {
					t.Errorf("%s: version 1's canonical digest is %q", at.Format(time.DateOnly), vs[0].Canon)
				}
			}
			if ds, err := st.Deliveries(ctx, ""); err != nil || len(ds) != 0 {
				t.Errorf("deliveries %+v (%v), want none", ds, err)
			}
			if after := files(t, archive); !reflect.DeepEqual(after, before) {
				var diff []string
				for k := range after {
					if after[k] != before[k] {
						diff = append(diff, k)
					}
				}
				t.Errorf("the archive changed: %v", diff)
			}
		})
	}
}

// TestRevisionsAfterTheUpgrade: what is a change still makes a version,
// whether version 1 was made by stop 38 (its digest of the report's JSON)
// or by this slaprobe (the canonical form): results that came late, and
// the config's accounting (objective, down_after, a flow's own down_after,
// policy.unknown and degraded, maintenance, credit tiers, a declared
// incident, confirm runs, a session's ttl), a flow added that has runs. Each version 2
// says what changed, and names neither the policy when only its wording
// is new nor a part whose only change is a key added since stop 38.
func TestRevisionsAfterTheUpgrade(t *testing.T) {
	oct := func(day, hour int) time.Time {
		return time.Date(2022, 10, day, hour, 0, 0, 0, time.FixedZone("KST", 9*3600))
	}
	// A change of what only the canonical form states: stop 38's and stop
	// 39's reports did not (their policy named no session), so their
	// version is unchanged.
	canonOnly := map[string]bool{"a session's ttl": true}
	for _, c := range []struct {
		name   string
		change func(t *testing.T, st Store, cfg *config.Config)
		want   string // in version 2's changes; "" no version 2
		not    []string
	}{
		{"nothing", func(*testing.T, Store, *config.Config) {}, "", nil},
		{"late results", func(t *testing.T, st Store, cfg *config.Config) { lateRuns(t, st, cfg) },
			"details changed: messaging: latencies; messaging: run counts", []string{"policy", "windows"}},
		{"objective", func(_ *testing.T, _ Store, cfg *config.Config) { cfg.Services[0].Objective = 0.9995 }, "objective 99.9% -> 99.95%", nil},
		{"default down_after", func(_ *testing.T, _ Store, cfg *config.Config) { cfg.Defaults.DownAfter = 3 },
			"details changed: policy", []string{"run counts", "windows"}},
		{"a flow's own down_after", func(_ *testing.T, _ Store, cfg *config.Config) { cfg.Services[0].Flows[0].DownAfter = 3 },
			"details changed: policy", []string{"run counts", "windows"}},
		{"policy.unknown down", func(_ *testing.T, _ Store, cfg *config.Config) { cfg.Policy.Unknown = "down" }, "messaging: availability", []string{"policy"}},
		{"policy.degraded down", func(_ *testing.T, _ Store, cfg *config.Config) { cfg.Policy.Degraded = "down" },
			"details changed: policy", []string{"run counts", "windows"}},
		{"maintenance", func(_ *testing.T, _ Store, cfg *config.Config) {
			cfg.Maintenance = append(cfg.Maintenance, config.Maintenance{Service: "messaging", Start: oct(28, 1), End: oct(28, 2), Reason: "network"})
		}, "maintenance 2h0m0s -> 3h0m0s", nil},
		{"credit tiers", func(_ *testing.T, _ Store, cfg *config.Config) {
			cfg.Services[0].Credits = []config.Credit{{Below: 0.999, CreditPercent: 10}}
		}, "SLA credit 0% -> 10%", nil},
		{"declared incident", func(_ *testing.T, _ Store, cfg *config.Config) {
			cfg.Services[0].Timelines = []string{"provider.yaml"}
			cfg.Timelines = []*config.Timeline{{File: "provider.yaml", Name: "provider", Incidents: []config.Incident{{
				ID: "INC-1", Title: "messages delayed", Service: "messaging", Functions: []string{"receive"}, Start: oct(15, 1), End: oct(15, 3), Mode: "down", Rate: 1}}}}
		}, "details changed: messaging: reconciliation with declared incidents", []string{"policy", "run counts", "windows"}},
		{"confirm runs", func(_ *testing.T, _ Store, cfg *config.Config) { cfg.Services[0].Flows[0].ConfirmEvery = time.Minute },
			"details changed: policy", []string{"run counts", "windows"}},
		{"a session's ttl", func(_ *testing.T, _ Store, cfg *config.Config) {
			cfg.Services[0].Flows[0].Session = &config.Session{TTL: 30 * time.Minute}
		}, "details changed: policy", []string{"run counts", "windows"}},
		{"a flow added with runs", func(t *testing.T, st Store, cfg *config.Config) {
			f := cfg.Services[0].Flows[0]
			f.Name = "inbox"
			cfg.Services[0].Flows = append(cfg.Services[0].Flows, f)
			fillFlow(t, st, "inbox", oct(10, 0), oct(11, 0))
		}, "details changed: messaging: latencies; messaging: run counts", []string{"policy"}},
	} {
		for _, origin := range []string{"stop 38", "stop 39", "this build"} {
			for _, sc := range fleetStores(t) {
				t.Run(c.name+"/"+origin+"/"+sc.name, func(t *testing.T) {
					st := sc.open(t)
					archive := filepath.Join(t.TempDir(), "reports")
					cfg := testConfig(archive)
					if origin == "stop 39" {
						// As testdata/stop39 was made: chat has a session.
						cfg.Services[0].Flows[0].Session = &config.Session{TTL: time.Hour}
					}
					upgradeMonth(t, st, cfg)
					made := time.Date(2022, 11, 3, 0, 0, 0, 0, cfg.Loc)
					switch origin {
					case "stop 38":
						stop38Version(t, st, archive)
					case "stop 39":
						stop39Version(t, st)
					default:
						if _, err := cycleAt(t, cfg, st, made, ""); err != nil {
							t.Fatal(err)
						}
					}
					c.change(t, st, cfg)
					vs, err := cycleAt(t, cfg, st, made.AddDate(0, 0, 1), "2022-10")
					if err != nil {
						t.Fatal(err)
					}
					if c.want == "" || canonOnly[c.name] && origin != "this build" {
						if len(vs) != 1 {
							t.Fatalf("versions %+v, want version 1 only", vs)
						}
						return
					}
					if len(vs) != 2 {
						t.Fatalf("%d versions, want 2: %+v", len(vs), vs)
					}
					got := vs[1].Changes
					if !strings.Contains(got, c.want) {
						t.Errorf("changes %q, want %q in them", got, c.want)
					}
					for _, n := range c.not {
						if strings.Contains(got, n) {
							t.Errorf("changes %q name %q", got, n)
						}
					}
					if !strings.HasPrefix(vs[1].Canon, canonForm) {
						t.Errorf("version 2's canonical digest is %q", vs[1].Canon)
					}
				})
			}
		}
	}
}

// TestCanonicalIgnoresWordingAndNewKeys: the canonical figures of a report
// are the same when its policy is worded otherwise and when its JSON has
// keys a later slaprobe added (at the top, in a service, a flow, a window);
// and differ when a figure, a window's bound or a policy value does.
func TestCanonicalIgnoresWordingAndNewKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	st := openStore(t, dir)
	upgradeMonth(t, st, cfg)
	from, to, _ := report.MonthRange("2022-10", cfg.Loc)
	rep, err := report.Build(ctx, report.Input{Config: cfg, Store: st, From: from, To: to, Now: to.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	base, err := canonical(cfg, rep)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(inNameOrder(measured(cfg, rep)))
	if err != nil {
		t.Fatal(err)
	}
	withKeys := func(add func(m map[string]any)) []byte {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		add(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out, err := project(b, map[string]any{"accounting": accountingOf(cfg, inNameOrder(measured(cfg, rep)))})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	svc := func(m map[string]any) map[string]any { return m["services"].([]any)[0].(map[string]any) }
	same := map[string]func(m map[string]any){
		"as it is":           func(map[string]any) {},
		"a key at the top":   func(m map[string]any) { m["sla_tier"] = "gold" },
		"a key in a service": func(m map[string]any) { svc(m)["p999"] = 1.5 },
		"a key in a flow": func(m map[string]any) {
			svc(m)["flows"].([]any)[0].(map[string]any)["retries"] = 7
		},
		"a key in a window": func(m map[string]any) {
			svc(m)["windows"].([]any)[0].(map[string]any)["ticket"] = "OPS-1"
			m["windows"].([]any)[0].(map[string]any)["ticket"] = "OPS-1"
		},
		// The title says the period in words (report.Build's title):
		// from and to are what count of it.
		"the title reworded": func(m map[string]any) { m["title"] = "SLA report, October 2022" },
		"the policy reworded": func(m map[string]any) {
			p := m["policy"].(map[string]any)
			p["text"] = append(p["text"].([]any), "A sentence a later release adds.")
		},
	}
	for name, add := range same {
		if got := withKeys(add); !bytes.Equal(got, base) {
			t.Errorf("%s: canonical figures differ:\n%s\nwant\n%s", name, got, base)
		}
	}
	differ := map[string]func(m map[string]any){
		"downtime": func(m map[string]any) { svc(m)["downtime_seconds"] = 1 },
		"a window's end": func(m map[string]any) {
			svc(m)["windows"].([]any)[0].(map[string]any)["end"] = "2022-10-15T04:00:00+09:00"
		},
		"policy.unknown": func(m map[string]any) { m["policy"].(map[string]any)["unknown"] = "down" },
		"function runs":  func(m map[string]any) { svc(m)["flows"].([]any)[0].(map[string]any)["function_runs"] = []any{} },
		"a flow's runs":  func(m map[string]any) { svc(m)["flows"].([]any)[0].(map[string]any)["runs"] = 1 },
		"a credit tier": func(m map[string]any) {
			svc(m)["credit_tiers"] = []any{map[string]any{"below": 0.99, "credit_percent": 5}}
		},
		"the maintenance": func(m map[string]any) { svc(m)["maintenance"] = []any{} },
	}
	for name, add := range differ {
		if got := withKeys(add); bytes.Equal(got, base) {
			t.Errorf("%s: canonical figures unchanged", name)
		}
	}
}

// canonNotCounted are the keys of report.json that the canonical form
// leaves out, by path: see canonKeys.
var canonNotCounted = map[string]bool{"generated": true, "title": true, "policy.text[]": true, "services[].flows[].retired": true}

// TestCanonKeysClassified: every key report.json has is counted in the
// canonical form (canonKeys) or named as not counted, and every key
// canonKeys names is one report.json has (or accounting's). A key added to
// the report fails here until it is classified: in canonKeys only with a
// new form (canonForm c2, c1 kept for the versions made in it), as adding
// it to c1 would make every month's digest a change.
func TestCanonKeysClassified(t *testing.T) {
	var paths []string
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, p string) {
		for ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		switch ty.Kind() {
		case reflect.Slice, reflect.Array:
			walk(ty.Elem(), p+"[]")
			return
		case reflect.Struct:
			if ty == reflect.TypeOf(time.Time{}) {
				break
			}
			if _, ok := reflect.New(ty).Interface().(json.Marshaler); ok {
				break
			}
			for i := range ty.NumField() {
				f := ty.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if !f.IsExported() || name == "-" {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if p != "" {
					name = p + "." + name
				}
				walk(f.Type, name)
			}
			return
		}
		paths = append(paths, p)
	}
	walk(reflect.TypeOf(report.Report{}), "")
	has := map[string]bool{}
	for _, p := range paths {
		has[p] = true
		if !canonKeys[p] && !canonNotCounted[p] {
			t.Errorf("report.json's %s is neither in canonKeys nor in canonNotCounted", p)
		}
	}
	for k := range canonKeys {
		if !has[k] && !strings.HasPrefix(k, "accounting.") {
			t.Errorf("canonKeys names %s, which report.json does not have", k)
		}
	}
}

// TestLegacyDigestsLeaveOutLaterSentences: the stop-38 version is found
// unchanged by a report whose policy has the sentences printed since
// (on the run success ratio; on sessions, 0547b0b, for a flow with one),
// and not by one with any other sentence added.
func TestLegacyDigestsLeaveOutLaterSentences(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	st := openStore(t, dir)
	upgradeMonth(t, st, cfg)
	b, err := os.ReadFile(filepath.Join("testdata", "stop38", "versions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []store.ReportVersion
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	from, to, _ := report.MonthRange("2022-10", cfg.Loc)
	for _, c := range []struct {
		name  string
		add   string
		found bool
	}{
		{"as printed here", "", true},
		{"the session sentence", sessionSaid + ". A flow with a session logs in only when its session is missing, expired or refused (chat (ttl 1h)): ...", true},
		{"another sentence", "A sentence stop 38 did not print.", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := report.Build(ctx, report.Input{Config: cfg, Store: st, From: from, To: to, Now: time.Date(2022, 11, 2, 0, 0, 0, 0, cfg.Loc)})
			if err != nil {
				t.Fatal(err)
			}
			if c.add != "" {
				rep.Policy.Text = append(rep.Policy.Text[:3:3], append([]string{c.add}, rep.Policy.Text[3:]...)...)
			}
			legacy, err := legacyDigests(cfg, rep)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(legacy, vs[0].Digest); got != c.found {
				t.Errorf("stop 38's digest found: %v, want %v", got, c.found)
			}
		})
	}
}

// TestCanonicalHoldsReasonsNotTheirWords: the canonical figures hold an
// unknown stretch's reason and a withheld credit's as a code, not as the
// sentence report.json gives (report.ReasonNoRun, ReasonPruned,
// CreditBelowCoverage), so that a release that words them otherwise (the
// config key they name renamed) makes the same digest of the same month.
// Before, the sentences were in the digest, and rewording one would have
// made a new version of every month with an unknown stretch.
func TestCanonicalHoldsReasonsNotTheirWords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports"))
	cfg.Policy.MinCoverage = 0.999 // 2 h unknown of 744 h: 99.73%, withheld
	st := openStore(t, dir)
	upgradeMonth(t, st, cfg)
	from, to, _ := report.MonthRange("2022-10", cfg.Loc)
	rep, err := report.Build(ctx, report.Input{Config: cfg, Store: st, From: from, To: to, Now: to.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Services[0]
	if s.CreditWithheld != report.CreditBelowCoverage || len(s.Unknown) == 0 || s.Unknown[0].Reason != report.ReasonNoRun {
		t.Fatalf("the month: credit withheld %q, unknown %+v", s.CreditWithheld, s.Unknown)
	}
	b, err := canonical(cfg, rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{report.ReasonNoRun, report.ReasonPruned, report.CreditBelowCoverage} {
		if bytes.Contains(b, []byte(`"`+w+`"`)) {
			t.Errorf("the canonical figures hold %q", w)
		}
	}
	for _, w := range []string{`"reason":"no_run"`, `"credit_withheld":"coverage"`} {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("the canonical figures lack %s", w)
		}
	}
}
