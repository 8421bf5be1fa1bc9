package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slaprobe/slaprobe/alert"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/promqltest"
)

type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

func load(t *testing.T) *dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(Slaprobe(), &d); err != nil {
		t.Fatalf("slaprobe.json: %v", err)
	}
	return &d
}

// exprs returns every PromQL expression of the dashboard: panel targets and
// query variables, keyed by where they are.
func (d *dashboard) exprs() map[string]string {
	out := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// recordedRules are the series the generated recording rules produce.
func recordedRules(t *testing.T) []string {
	var known []string
	rf, err := alert.BuildRules(&config.Config{Services: []config.Service{{Name: "x", Objective: 0.999}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known = append(known, r.Record)
			}
		}
	}
	return known
}

func TestOnlyKnownMetrics(t *testing.T) {
	d := load(t)
	recorded := recordedRules(t)
	promql := promqltest.NewParser()
	exprs := d.exprs()
	if len(exprs) < 15 {
		t.Fatalf("only %d expressions found; is the dashboard parsed?", len(exprs))
	}
	used := map[string]bool{}
	for where, e := range exprs {
		names := promql.MetricNames(e)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, e)
		}
		for _, m := range names {
			used[m] = true
			if !promqltest.Known(m, recorded...) {
				t.Errorf("%s: unknown metric %q in %q", where, m, e)
			}
		}
	}
	// The panels the dashboard promises.
	for _, m := range []string{"slaprobe_availability_ratio", "slaprobe_objective_ratio", "slaprobe:sli_error:ratio_rate1h",
		"probe_success", "probe_duration_seconds_bucket", "probe_http_duration_seconds", "slaprobe_window_open",
		"slaprobe_schedule_lag_seconds_bucket", "slaprobe_store_queue_depth", "slaprobe_store_dropped_results_total"} {
		if !used[m] {
			t.Errorf("no panel uses %s", m)
		}
	}
}

// TestOnlyKnownLabels: every label a dashboard query matches on, groups by or
// puts in its legend is one the series it selects carry (a label they lack
// matches nothing, groups nothing and shows empty), the recorded rules'
// being service and flow.
func TestOnlyKnownLabels(t *testing.T) {
	d := load(t)
	recorded := recordedRules(t)
	promql := promqltest.NewParser()
	legend := regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				var have []string
				for _, m := range promql.MetricNames(tg.Expr) {
					ls, ok := promqltest.Labels(m)
					if !ok && slices.Contains(recorded, m) {
						ls, ok = []string{"service", "flow", "instance", "job"}, true
					}
					if ok {
						have = append(have, ls...)
					}
				}
				used := promql.LabelNames(tg.Expr)
				for _, m := range legend.FindAllStringSubmatch(tg.LegendFormat, -1) {
					used = append(used, m[1])
				}
				for _, l := range used {
					if !slices.Contains(have, l) {
						t.Errorf("panel %q target %d: label %q is on none of the series of %q (legend %q)", p.Title, i, l, tg.Expr, tg.LegendFormat)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
}

func TestTemplatingAndPanels(t *testing.T) {
	d := load(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		vars[v.Name] = s
	}
	for _, name := range []string{"service", "flow", "location"} {
		q, ok := vars[name]
		if !ok {
			t.Errorf("no $%s variable", name)
			continue
		}
		if !strings.HasPrefix(q, "label_values(slaprobe_runs_total") || !strings.HasSuffix(q, ", "+name+")") {
			t.Errorf("$%s: query %q", name, q)
		}
	}
	if _, ok := vars["datasource"]; !ok {
		t.Error("no $datasource variable")
	}
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d twice", p.ID)
			}
			ids[p.ID] = true
			if p.Type != "row" {
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: datasource is not ${datasource}", p.Title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no query", p.Title)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	// Per-flow panels honour all three variables.
	for where, e := range d.exprs() {
		if strings.Contains(e, "probe_duration_seconds_bucket") || strings.Contains(e, "probe_success") {
			for _, v := range []string{"$service", "$flow", "$location"} {
				if !strings.Contains(e, v) {
					t.Errorf("%s: %q ignores %s", where, e, v)
				}
			}
		}
	}
}

// TestPromQLParses hands every expression, with Grafana's variables filled
// in, to `promtool check rules` as a recording rule: promtool parses PromQL.
func TestPromQLParses(t *testing.T) {
	d := load(t)
	repl := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1d", "$__interval", "1m",
		"$service", ".*", "$flow", ".*", "$location", ".*")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	var where []string
	for w, e := range d.exprs() {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:check:%d", len(rules)), Expr: repl.Replace(e)})
		where = append(where, w)
	}
	out, err := yaml.Marshal(map[string]any{"groups": []map[string]any{{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is needed and not on PATH: `apt-get install prometheus` or `go install github.com/prometheus/prometheus/cmd/promtool@latest`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "rules", "rules.yaml")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool rejects a dashboard expression: %v\n%s\n(rule N is %v[N])", err, msg, where)
	}
}
