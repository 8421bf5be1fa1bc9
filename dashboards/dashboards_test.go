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
	UID         string  `json:"uid"`
	Title       string  `json:"title"`
	Panels      []panel `json:"panels"`
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
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

// annotation is a Prometheus query annotation: Grafana draws each series'
// stretches of samples as regions on the dashboard's time series and state
// timeline panels.
type annotation struct {
	Name       string `json:"name"`
	Enable     bool   `json:"enable"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Expr        string `json:"expr"`
	TitleFormat string `json:"titleFormat"`
	TextFormat  string `json:"textFormat"`
	TagKeys     string `json:"tagKeys"`
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
// annotations, keyed by where they are.
func (d *dashboard) exprs() map[string]string {
	out := map[string]string{}
	for i, a := range d.Annotations.List {
		out[fmt.Sprintf("annotation %q (%d)", a.Name, i)] = a.Expr
	}
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
		"slaprobe_schedule_lag_seconds_bucket", "slaprobe_store_queue_depth", "slaprobe_store_dropped_results_total",
		"slaprobe_maintenance"} {
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
	// An annotation's title, text and tags name the labels of its series.
	for _, a := range d.Annotations.List {
		var have []string
		for _, m := range promql.MetricNames(a.Expr) {
			if ls, ok := promqltest.Labels(m); ok {
				have = append(have, ls...)
			}
		}
		used := promql.LabelNames(a.Expr)
		for _, f := range []string{a.TitleFormat, a.TextFormat} {
			for _, m := range legend.FindAllStringSubmatch(f, -1) {
				used = append(used, m[1])
			}
		}
		for _, k := range strings.Split(a.TagKeys, ",") {
			if k = strings.TrimSpace(k); k != "" {
				used = append(used, k)
			}
		}
		for _, l := range used {
			if !slices.Contains(have, l) {
				t.Errorf("annotation %q: label %q is on none of the series of %q", a.Name, l, a.Expr)
			}
		}
	}
}

// TestMaintenanceShown: planned maintenance (slaprobe_maintenance) is on
// the dashboard, as the status page and the rules know it: an annotation,
// on by default and on ${datasource}, that marks each service's maintenance
// as a region on the availability, burn-rate and flow panels (where a flow
// down through a planned upgrade otherwise reads as an outage, and the
// burn rate's gap as missing data), and a state timeline of it per
// service, both honouring $service.
func TestMaintenanceShown(t *testing.T) {
	d := load(t)
	promql := promqltest.NewParser()
	var ann *annotation
	for i := range d.Annotations.List {
		if slices.Contains(promql.MetricNames(d.Annotations.List[i].Expr), "slaprobe_maintenance") {
			ann = &d.Annotations.List[i]
		}
	}
	switch {
	case ann == nil:
		t.Error("no annotation shows slaprobe_maintenance")
	case !ann.Enable || ann.Datasource == nil || ann.Datasource.UID != "${datasource}":
		t.Errorf("the maintenance annotation is off, or not on ${datasource}: %+v", *ann)
	case !strings.Contains(ann.Expr, `service=~"$service"`) || !strings.Contains(ann.TitleFormat+ann.TextFormat+ann.TagKeys, "service"):
		t.Errorf("the maintenance annotation ignores $service or does not name the service: %+v", *ann)
	}
	found := false
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				if slices.Contains(promql.MetricNames(tg.Expr), "slaprobe_maintenance") {
					found = true
					if p.Type != "state-timeline" || !strings.Contains(tg.Expr, `service=~"$service"`) || !strings.Contains(tg.LegendFormat, "{{service}}") {
						t.Errorf("panel %q (%s) shows %q as %q; want a state timeline per service honouring $service", p.Title, p.Type, tg.Expr, tg.LegendFormat)
					}
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if !found {
		t.Error("no panel shows slaprobe_maintenance")
	}
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
