package publish

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// TestCanonPartsCoverEveryKey: every key of the canonical figures is one
// the headline compares, one of a service's parts (canonParts) or of the
// report's (canonReportParts, the period, the policy), so that "what
// changed" can name whatever made a version. Before, a change of a
// service's credit tiers alone, its daily figures or its MTTD read
// "details changed (latencies, window causes or run counts)", none of
// which had.
func TestCanonPartsCoverEveryKey(t *testing.T) {
	svc := map[string]bool{}
	for _, k := range canonHeadline {
		svc[k] = true
	}
	for _, p := range canonParts {
		for _, k := range p.keys {
			svc[k] = true
		}
	}
	top := map[string]bool{"from": true, "to": true, "policy": true, "accounting": true,
		"windows": true} // the report's windows are its services' (each service's "windows" part)
	for _, p := range canonReportParts {
		top[p.key] = true
	}
	for k := range canonKeys {
		head, rest, _ := strings.Cut(k, ".")
		head = strings.TrimSuffix(head, "[]")
		if head != "services" {
			if !top[head] {
				t.Errorf("canonical key %s is in no part of the report", k)
			}
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		if name = strings.TrimSuffix(name, "[]"); !svc[name] {
			t.Errorf("canonical key %s is neither a headline figure nor in a service's part", k)
		}
	}
}

// TestChangesNameThePart: a version made because a part below the headline
// changed names it, where it said "details changed (latencies, window
// causes or run counts)": a credit tier added that does not apply, the
// time zone renamed at the same offset. A part the figures kept of version
// 1 do not itemise (kept by a slaprobe before it was a part) is not named
// as changed: late results name what they moved that version 1 itemised.
func TestChangesNameThePart(t *testing.T) {
	for _, c := range []struct {
		name   string
		oldV1  bool // version 1's figures itemise only the parts of 996eba4
		change func(t *testing.T, st Store, cfg *config.Config)
		want   string
	}{
		{"credit tier that does not apply", false, func(_ *testing.T, _ Store, cfg *config.Config) {
			cfg.Services[0].Credits = []config.Credit{{Below: 0.10, CreditPercent: 50}}
		}, "version 2: figures as in version 1; details changed: messaging: SLA credit tiers and coverage"},
		{"time zone at the same offset", false, func(t *testing.T, _ Store, cfg *config.Config) {
			loc, err := time.LoadLocation("Asia/Tokyo")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Timezone, cfg.Loc = "Asia/Tokyo", loc
		}, "version 2: figures as in version 1; details changed: time zone"},
		{"late results, version 1 by this build", false, func(t *testing.T, st Store, cfg *config.Config) { lateRuns(t, st, cfg) },
			"version 2: figures as in version 1; details changed: messaging: latencies; messaging: run counts"},
		{"late results, version 1 by the slaprobe before the parts", true, func(t *testing.T, st Store, cfg *config.Config) { lateRuns(t, st, cfg) },
			"version 2: figures as in version 1; details changed: messaging: latencies; messaging: run counts"},
		{"time zone, version 1 by the slaprobe before the parts", true, func(t *testing.T, _ Store, cfg *config.Config) {
			loc, err := time.LoadLocation("Asia/Tokyo")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Timezone, cfg.Loc = "Asia/Tokyo", loc
		}, "version 2: figures as in version 1; details changed (the figures kept of version 1 do not itemise the part)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := testConfig(filepath.Join(dir, "reports"))
			st := openStore(t, dir)
			upgradeMonth(t, st, cfg)
			clk := clock.NewManual(time.Date(2022, 11, 3, 0, 0, 0, 0, cfg.Loc))
			cycle := func() {
				p, err := New(cfg, Options{Store: st, Clock: clk, Channels: func(*config.Config) []Channel { return nil }})
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Cycle(ctx); err != nil {
					t.Fatal(err)
				}
			}
			cycle()
			if c.oldV1 {
				itemisedBefore(t, filepath.Join(cfg.Reports.Archive, "2022-10", "v1", figuresFile))
			}
			c.change(t, st, cfg)
			clk.Set(clk.Now().AddDate(0, 0, 1))
			cycle()
			vs, err := st.ReportVersions(ctx, "2022-10")
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 2 {
				t.Fatalf("%d versions, want 2: %+v", len(vs), vs)
			}
			if got := vs[1].Changes; got != c.want {
				t.Errorf("changes %q, want %q", got, c.want)
			}
		})
	}
}

// itemisedBefore rewrites the figures file at path as the slaprobe before
// the parts of 7 Dec 2026 kept it: its details name only a service's
// windows, reconciliation, unknown stretches, maintenance, run counts and
// latencies, and the policy.
func itemisedBefore(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	details, _ := m["details"].(map[string]any)
	if len(details) == 0 {
		t.Fatalf("%s has no details", path)
	}
	before := []string{"windows", "reconciliation with declared incidents", "unknown stretches", "maintenance", "run counts", "latencies"}
	for k := range details {
		_, part, ok := strings.Cut(k, ": ")
		if k != "policy" && (!ok || !slices.Contains(before, part)) {
			delete(details, k)
		}
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
