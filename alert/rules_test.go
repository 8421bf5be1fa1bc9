package alert

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/promqltest"
)

// promtool runs promtool with args and returns its output; a missing
// promtool fails the test with how to install it.
func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed for this test and is not on PATH: install it with " +
			"`apt-get install prometheus` (Debian/Ubuntu) or " +
			"`go install github.com/prometheus/prometheus/cmd/promtool@latest`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rulesTestConfig is the config behind testdata/rules.yaml, the file the
// promtool unit tests in testdata/rules_test.yaml load: one service with a
// 99% objective (a 1% budget, so that burn thresholds are easy to reach with
// whole numbers of runs) and one flow.
func rulesTestConfig() *config.Config {
	return &config.Config{
		Location: "seoul-a",
		Policy:   config.Policy{Quorum: config.Quorum{Mode: "majority"}},
		Services: []config.Service{{
			Name: "messaging", Objective: 0.99,
			Flows: []config.Flow{{Name: "messaging-roundtrip", Service: "messaging"}},
		}},
		Alerting: config.Alerting{RunbookURL: "https://runbooks.example/slaprobe/{service}", SeverityDown: "page", SeverityDegraded: "ticket"},
	}
}

// degradedDownConfig is rulesTestConfig with policy.degraded: down, behind
// testdata/rules_degraded.yaml (its promtool tests: rules_degraded_test.yaml).
func degradedDownConfig() *config.Config {
	cfg := rulesTestConfig()
	cfg.Policy.Degraded = "down"
	return cfg
}

// examplesConfig looks like the shipped examples: several services,
// objectives and flows.
func examplesConfig(q config.Quorum) *config.Config {
	flows := func(svc string, names ...string) []config.Flow {
		var out []config.Flow
		for _, n := range names {
			out = append(out, config.Flow{Name: n, Service: svc})
		}
		return out
	}
	return &config.Config{
		Location: "seoul-a",
		Policy:   config.Policy{Quorum: q},
		Services: []config.Service{
			{Name: "messaging", Objective: 0.999, Flows: flows("messaging", "messaging-roundtrip", "messaging-media")},
			{Name: "payments", Objective: 0.9995, Flows: flows("payments", "payments-transfer")},
			{Name: "maps", Objective: 0.995, Flows: flows("maps", "maps-search", "maps-route")},
			{Name: "mail", Objective: 0.99},
		},
		Alerting: config.Alerting{RunbookURL: "https://runbooks.example/slaprobe/{service}"},
	}
}

func TestRulesGoldenAndPromtoolCheck(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *config.Config
		golden string
	}{
		{"promtool unit-test config", rulesTestConfig(), "rules.yaml"},
		{"promtool unit-test config, degraded counts as down", degradedDownConfig(), "rules_degraded.yaml"},
		{"examples majority", examplesConfig(config.Quorum{Mode: "majority"}), "rules_examples.yaml"},
		{"quorum all", examplesConfig(config.Quorum{Mode: "all"}), "rules_quorum_all.yaml"},
		{"quorum count", examplesConfig(config.Quorum{Mode: "count", N: 2}), "rules_quorum_count.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Rules(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)

			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			// --lint-fatal: promtool's default lint (duplicate rules: the
			// same name and labels twice) prints FAILED but exits 0.
			msg, err := promtool(t, dir, "check", "rules", "--lint=all", "--lint-fatal", "rules.yaml")
			if err != nil || strings.Contains(msg, "FAILED") {
				t.Fatalf("promtool check rules: %v\n%s", err, msg)
			}

			var rf RuleFile
			if err := yaml.Unmarshal(out, &rf); err != nil {
				t.Fatal(err)
			}
			checkRuleFile(t, tc.cfg, &rf)
		})
	}
}

// checkRuleFile checks what the rules must hold beyond promtool's syntax
// check: the recordings and alerts per service, burn thresholds scaled to the
// objective, runbooks, and only known metric names.
func checkRuleFile(t *testing.T, cfg *config.Config, rf *RuleFile) {
	t.Helper()
	recorded := map[string]bool{}
	promql := promqltest.NewParser()
	alerts := map[string]int{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			} else {
				alerts[r.Alert]++
				if !strings.HasPrefix(r.Annotations["runbook_url"], "https://runbooks.example/slaprobe/") {
					t.Errorf("%s: runbook_url %q", r.Alert, r.Annotations["runbook_url"])
				}
				if r.Labels["severity"] == "" {
					t.Errorf("%s: no severity", r.Alert)
				}
			}
			for _, m := range promql.MetricNames(r.Expr) {
				// ALERTS is Prometheus's own series of the alerting rules'
				// states (SlaprobeFlowNotUp reads its own through maintenance).
				if !promqltest.Known(m) && !recorded[m] && m != "ALERTS" {
					t.Errorf("rule %s%s uses unknown metric %q", r.Record, r.Alert, m)
				}
			}
		}
	}
	for _, w := range sliWindows() {
		if !recorded["slaprobe:sli_error:ratio_rate"+w] {
			t.Errorf("no recording for window %s", w)
		}
	}
	nflows := 0
	for _, s := range cfg.Services {
		nflows += len(s.Flows)
	}
	want := map[string]int{
		RuleErrorBudgetBurn: 4 * len(cfg.Services),
		RuleFlowNotUp:       nflows,
		RuleProberDown:      2,
		RuleResultsDropped:  1,
		RuleQuarantined:     1,
		RuleReloadFailed:    1,
		RuleNotStored:       1,
		RuleStateNotSaved:   1,
		RuleVerdictLapsed:   1,
		RuleClockStepped:    1,
	}
	for name, n := range want {
		if alerts[name] != n {
			t.Errorf("%d %s rules, want %d", alerts[name], name, n)
		}
	}
}

func TestBurnThresholdsScaleWithObjective(t *testing.T) {
	tests := []struct {
		objective float64
		want      []string // thresholds as written, page then ticket
	}{
		{0.999, []string{"(14.4 * 0.001)", "(6 * 0.001)", "(3 * 0.001)", "(1 * 0.001)"}},
		{0.9995, []string{"(14.4 * 0.0005)", "(6 * 0.0005)", "(3 * 0.0005)", "(1 * 0.0005)"}},
		{0.99, []string{"(14.4 * 0.01)", "(6 * 0.01)", "(3 * 0.01)", "(1 * 0.01)"}},
	}
	for _, tc := range tests {
		t.Run(num(tc.objective), func(t *testing.T) {
			cfg := rulesTestConfig()
			cfg.Services[0].Objective = tc.objective
			rf, err := BuildRules(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var sev []string
			for _, g := range rf.Groups {
				for _, r := range g.Rules {
					if r.Alert == RuleErrorBudgetBurn {
						got = append(got, r.Expr)
						sev = append(sev, r.Labels["severity"]+" "+r.Labels["long_window"]+"/"+r.Labels["short_window"])
					}
				}
			}
			if len(got) != 4 {
				t.Fatalf("%d burn alerts, want 4", len(got))
			}
			for i, thr := range tc.want {
				if strings.Count(got[i], thr) != 2 {
					t.Errorf("burn alert %d: %q lacks threshold %s on both windows", i, got[i], thr)
				}
			}
			if want := []string{"page 1h/5m", "page 6h/30m", "ticket 1d/2h", "ticket 3d/6h"}; !slices.Equal(sev, want) {
				t.Errorf("severities/windows = %v, want %v", sev, want)
			}
		})
	}
}

func TestRulesErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"objective 1", func(c *config.Config) { c.Services[0].Objective = 1 }, "not in (0,1)"},
		{"objective 0", func(c *config.Config) { c.Services[0].Objective = 0 }, "not in (0,1)"},
		{"duplicate service", func(c *config.Config) { c.Services = append(c.Services, c.Services[0]) }, "twice"},
		{"no name", func(c *config.Config) { c.Services[0].Name = "" }, "without a name"},
		{"bad quorum", func(c *config.Config) { c.Policy.Quorum.Mode = "most" }, "unknown quorum"},
		{"quorum count 0", func(c *config.Config) { c.Policy.Quorum = config.Quorum{Mode: "count"} }, "below 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := rulesTestConfig()
			tc.edit(cfg)
			_, err := Rules(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Rules(nil); err == nil {
		t.Error("Rules(nil): want an error")
	}
}

func TestRulesQuoteHostileNames(t *testing.T) {
	cfg := rulesTestConfig()
	cfg.Services[0].Name = `mess"aging\` + "\n"
	cfg.Services[0].Flows[0].Name = `flow"}) or vector(1) #`
	out, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := promtool(t, dir, "check", "rules", "rules.yaml"); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, msg, out)
	}
}

// TestPromtoolUnitTests runs testdata/rules_test.yaml, the promtool unit
// tests for every generated alert firing and not firing, against
// testdata/rules.yaml (kept equal to Rules(rulesTestConfig()) by
// TestRulesGoldenAndPromtoolCheck).
func TestPromtoolUnitTests(t *testing.T) {
	t.Run("every alert fires and stays quiet", func(t *testing.T) {
		var rf RuleFile
		b, err := os.ReadFile(filepath.Join("testdata", "rules.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &rf); err != nil {
			t.Fatal(err)
		}
		var tests struct {
			Tests []struct {
				Alerts []struct {
					Name   string `yaml:"alertname"`
					Alerts []any  `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		if b, err = os.ReadFile(filepath.Join("testdata", "rules_test.yaml")); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &tests); err != nil {
			t.Fatal(err)
		}
		fires, quiet := map[string]bool{}, map[string]bool{}
		for _, tc := range tests.Tests {
			for _, a := range tc.Alerts {
				if len(a.Alerts) > 0 {
					fires[a.Name] = true
				} else {
					quiet[a.Name] = true
				}
			}
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				if !fires[r.Alert] {
					t.Errorf("rules_test.yaml has no case where %s fires", r.Alert)
				}
				if !quiet[r.Alert] {
					t.Errorf("rules_test.yaml has no case where %s does not fire", r.Alert)
				}
			}
		}
	})
	for _, f := range []string{"rules_test.yaml", "rules_degraded_test.yaml"} {
		t.Run(f, func(t *testing.T) {
			msg, err := promtool(t, "testdata", "test", "rules", f)
			if err != nil {
				t.Fatalf("promtool test rules: %v\n%s", err, msg)
			}
			if !strings.Contains(msg, "SUCCESS") {
				t.Fatalf("promtool test rules did not report SUCCESS:\n%s", msg)
			}
		})
	}
}

// TestRulesUseConfiguredSeverities: with alerting.severity set, every
// generated alert carries one of its two labels, the burn-rate alerts too
// (page pairs the down severity, ticket pairs the degraded one, as the
// prober's own alerts do), so an Alertmanager routing on them misses none.
func TestRulesUseConfiguredSeverities(t *testing.T) {
	tests := []struct {
		name           string
		down, degraded string
		wantBurn       []string // severities of the four burn alerts
	}{
		{"defaults", "", "", []string{"page", "page", "ticket", "ticket"}},
		{"configured", "critical", "warning", []string{"critical", "critical", "warning", "warning"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := rulesTestConfig()
			cfg.Alerting.SeverityDown, cfg.Alerting.SeverityDegraded = tc.down, tc.degraded
			rf, err := BuildRules(cfg)
			if err != nil {
				t.Fatal(err)
			}
			allowed := []string{tc.wantBurn[0], tc.wantBurn[3]}
			var burn []string
			for _, g := range rf.Groups {
				for _, r := range g.Rules {
					if r.Alert == "" {
						continue
					}
					if sev := r.Labels["severity"]; !slices.Contains(allowed, sev) {
						t.Errorf("%s: severity %q, want one of %v", r.Alert, sev, allowed)
					}
					if r.Alert == RuleErrorBudgetBurn {
						burn = append(burn, r.Labels["severity"])
					}
				}
			}
			if !slices.Equal(burn, tc.wantBurn) {
				t.Errorf("burn alert severities %v, want %v", burn, tc.wantBurn)
			}
		})
	}
}
