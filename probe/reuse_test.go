package probe

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// reuseConfig is the config TestReuseCompiledFlows reloads, with knobs for
// each kind of change.
type reuseConfig struct {
	above   string // lines above everything (moves every flow down)
	timeout string // defaults.timeout
	pw      string // the value of the secret ${env:PW}
	latency string // flow a2's latency objective
	a2In    string // the service flow a2 is in: "a" or "b"
	a3      bool   // a flow a3 is added
}

func (rc reuseConfig) parse(t *testing.T, base string) *config.Config {
	t.Helper()
	flow := map[string]string{
		"a1": `      - name: a1
        vars: {auth: "Bearer ${env:PW}"}
        steps:
          - name: doc
            function: read
            request: {url: "` + base + `/doc", headers: {Authorization: "${auth}"}}
            expect: {status: [200], jsonpath: {"$.status": settled}}
            extract: {token: {jsonpath: $.token}}
          - {name: text, function: read, request: {url: "` + base + `/text?t=${token}"}, expect: {body: {contains: hello}}}
`,
		"a2": `      - name: a2
        steps:
          - {name: doc, function: read, request: {url: "` + base + `/doc"}, expect: {status: [200], latency: ` + rc.latency + `}}
`,
		"a3": `      - name: a3
        steps:
          - {name: doc, function: read, request: {url: "` + base + `/doc"}}
`,
		"b1": `      - name: b1
        interval: 2m
        steps:
          - {name: text, function: read, request: {url: "` + base + `/text"}, expect: {body: {matches: "^hello"}}}
`,
	}
	var b strings.Builder
	b.WriteString(rc.above)
	fmt.Fprintf(&b, "location: seoul-a\ntimezone: UTC\ndefaults: {interval: 1m, timeout: %s}\nservices:\n", rc.timeout)
	b.WriteString("  - name: a\n    flows:\n" + flow["a1"])
	if rc.a2In == "a" {
		b.WriteString(flow["a2"])
	}
	if rc.a3 {
		b.WriteString(flow["a3"])
	}
	b.WriteString("  - name: b\n    flows:\n" + flow["b1"])
	if rc.a2In == "b" {
		b.WriteString(flow["a2"])
	}
	cfg, err := config.Parse("reuse.yaml", []byte(b.String()), config.Options{LookupEnv: func(string) (string, bool) { return rc.pw, true }})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	return cfg
}

// flowByName returns the config's flow called name, or nil.
func flowByName(cfg *config.Config, name string) *config.Flow {
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			if f := &cfg.Services[i].Flows[j]; f.Name == name {
				return f
			}
		}
	}
	return nil
}

// A reload's runner takes over the compiled form of each flow that is the
// same as before (Options.Previous) and compiles the others: every flow when
// the defaults or the secrets changed, only the changed, moved or added
// ones otherwise. Every flow of the new runner then runs as it should (the
// new runner's secrets).
func TestReuseCompiledFlows(t *testing.T) {
	tg := &target{}
	srv := httptest.NewServer(tg.handler())
	defer srv.Close()
	base := reuseConfig{timeout: "5s", pw: testSecret, latency: "500ms", a2In: "a"}
	tests := []struct {
		name   string
		edit   func(rc *reuseConfig)
		reused []string // the flows that keep their compiled form
	}{
		{"identical", func(*reuseConfig) {}, []string{"a1", "a2", "b1"}},
		{"only source lines moved", func(rc *reuseConfig) { rc.above = "# a comment\n\n" }, []string{"a1", "a2", "b1"}},
		{"defaults.timeout changed", func(rc *reuseConfig) { rc.timeout = "6s" }, nil},
		{"a secret's value changed", func(rc *reuseConfig) { rc.pw = "an0ther-pw" }, nil},
		{"one flow changed", func(rc *reuseConfig) { rc.latency = "750ms" }, []string{"a1", "b1"}},
		{"a flow added", func(rc *reuseConfig) { rc.a3 = true }, []string{"a1", "a2", "b1"}},
		{"a flow moved to another service", func(rc *reuseConfig) { rc.a2In = "b" }, []string{"a1", "b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldCfg := base.parse(t, srv.URL)
			old, err := NewRunner(oldCfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rc := base
			tt.edit(&rc)
			cfg := rc.parse(t, srv.URL)
			r, err := NewRunner(cfg, Options{Previous: old})
			if err != nil {
				t.Fatal(err)
			}
			var reused []string
			for f, cf := range r.flows {
				of := flowByName(oldCfg, f.Name)
				if of != nil && old.flows[of] == cf {
					reused = append(reused, f.Name)
				}
				if of != nil && rc.above != "" && of.Line == f.Line {
					t.Fatalf("flow %s: line %d in both configs; the test must move it", f.Name, f.Line)
				}
			}
			slices.Sort(reused)
			if !slices.Equal(reused, tt.reused) || r.Reused() != len(tt.reused) {
				t.Errorf("flows that kept their compiled form: %v (Reused %d); want %v", reused, r.Reused(), tt.reused)
			}
			for f := range r.flows {
				run := r.Run(context.Background(), f)
				if !run.OK() {
					t.Errorf("flow %s on the new runner: %+v", f.Name, run.Steps)
				}
			}
		})
	}
}

// SameFlow ignores source lines, at every level, and nothing else.
func TestSameFlow(t *testing.T) {
	mk := func() *config.Flow {
		return &config.Flow{Name: "f", Service: "s", Interval: 60e9, Line: 3,
			Vars:     []config.Var{{Name: "v", Value: "x"}},
			Session:  &config.Session{TTL: 3600e9, Steps: []config.Step{{Name: "login", Line: 5, Request: config.Request{URL: "http://h/login", JSON: map[string]any{"u": "a"}}}}},
			Steps:    []config.Step{{Name: "get", Line: 7, Request: config.Request{URL: "http://h/", Headers: map[string]string{"A": "b"}}}},
			Teardown: []config.Step{{Name: "logout", Line: 9, When: config.WhenSessionEnd, Request: config.Request{URL: "http://h/logout"}}},
		}
	}
	tests := []struct {
		name string
		edit func(f *config.Flow)
		same bool
	}{
		{"copy", func(*config.Flow) {}, true},
		{"flow line", func(f *config.Flow) { f.Line = 30 }, true},
		{"step lines", func(f *config.Flow) { f.Steps[0].Line, f.Teardown[0].Line, f.Session.Steps[0].Line = 1, 2, 3 }, true},
		{"interval", func(f *config.Flow) { f.Interval = 120e9 }, false},
		{"service", func(f *config.Flow) { f.Service = "t" }, false},
		{"var", func(f *config.Flow) { f.Vars[0].Value = "y" }, false},
		{"session ttl", func(f *config.Flow) { f.Session.TTL = 60e9 }, false},
		{"no session", func(f *config.Flow) { f.Session = nil }, false},
		{"session step json", func(f *config.Flow) { f.Session.Steps[0].Request.JSON = map[string]any{"u": "b"} }, false},
		{"step header", func(f *config.Flow) { f.Steps[0].Request.Headers["A"] = "c" }, false},
		{"step added", func(f *config.Flow) { f.Steps = append(f.Steps, config.Step{Name: "more"}) }, false},
		{"teardown when", func(f *config.Flow) { f.Teardown[0].When = "" }, false},
		{"tls", func(f *config.Flow) { f.TLS.ServerName = "x" }, false},
		{"json key", func(f *config.Flow) { f.Session.Steps[0].Request.JSON = map[string]any{"v": "a"} }, false},
		{"json type", func(f *config.Flow) { f.Session.Steps[0].Request.JSON = map[string]any{"u": 1} }, false},
		{"json nested", func(f *config.Flow) { f.Session.Steps[0].Request.JSON = map[string]any{"u": "a", "l": []any{1.5}} }, false},
		{"header added", func(f *config.Flow) { f.Steps[0].Request.Headers["B"] = "c" }, false},
		{"headers empty, not nil", func(f *config.Flow) { f.Teardown[0].Request.Headers = map[string]string{} }, false},
		{"matcher pointer", func(f *config.Flow) { f.Steps[0].Expect.Body = &config.Matcher{Equals: sp("x")} }, false},
		{"jsonpath added", func(f *config.Flow) { f.Steps[0].Expect.JSONPath = []config.PathMatch{{Path: "$.a"}} }, false},
	}
	// One FlowComparer across every row, as a reload compares its flows:
	// what it keeps of the types met must not change an answer.
	same := NewFlowComparer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk()
			tt.edit(b)
			if got := SameFlow(mk(), b); got != tt.same {
				t.Errorf("SameFlow = %v, want %v", got, tt.same)
			}
			if got := SameFlow(b, mk()); got != tt.same {
				t.Errorf("SameFlow, swapped = %v, want %v", got, tt.same)
			}
			if got := same.Same(mk(), b); got != tt.same {
				t.Errorf("FlowComparer.Same = %v, want %v", got, tt.same)
			}
		})
	}
}

// BenchmarkSameFlow50k is a reload's comparisons of 50,000 unchanged flows
// (one GET step each, as test/scale writes them), the runner's or the
// daemon's: with one FlowComparer, as they make them, and with SameFlow
// alone.
func BenchmarkSameFlow50k(b *testing.B) {
	mk := func(i int) *config.Flow {
		return &config.Flow{Name: fmt.Sprintf("search-%05d", i), Service: "maps", Interval: 60e9, Timeout: 10e9, DownAfter: 2, UpAfter: 1, Line: 8 + 9*i,
			Steps: []config.Step{{Name: "search", Function: "search", Line: 10 + 9*i, Request: config.Request{Method: "GET", URL: "http://127.0.0.1:1/maps/search?q=station"},
				Expect: config.Expect{Status: []int{200}, Latency: 1e9, JSONPath: []config.PathMatch{{Path: "$.query"}}}}}}
	}
	var olds, news []*config.Flow
	for i := range 50_000 {
		olds, news = append(olds, mk(i)), append(news, mk(i))
	}
	for _, one := range []bool{true, false} {
		b.Run(map[bool]string{true: "comparer", false: "SameFlow"}[one], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				same := NewFlowComparer()
				for i := range olds {
					if one && !same.Same(olds[i], news[i]) || !one && !SameFlow(olds[i], news[i]) {
						b.Fatal("not the same")
					}
				}
			}
		})
	}
}

// A config built in Go leaves a flow's timeout, limits and TLS to the
// defaults, which compileFlow reads: a change of the defaults compiles the
// flows again even though they are the same.
func TestReuseFollowsDefaults(t *testing.T) {
	mk := func(timeout time.Duration) *config.Config {
		return &config.Config{Location: "seoul-a", Defaults: config.Defaults{Timeout: timeout},
			Services: []config.Service{{Name: "s", Flows: []config.Flow{{Name: "f", Service: "s",
				Steps: []config.Step{{Name: "get", Function: "get", Request: config.Request{URL: "http://127.0.0.1:1/"}}}}}}}}
	}
	old, err := NewRunner(mk(5*time.Second), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		timeout time.Duration
		reused  int
	}{{5 * time.Second, 1}, {6 * time.Second, 0}} {
		cfg := mk(tt.timeout)
		r, err := NewRunner(cfg, Options{Previous: old})
		if err != nil {
			t.Fatal(err)
		}
		if cf := r.flows[&cfg.Services[0].Flows[0]]; r.Reused() != tt.reused || cf.timeout != tt.timeout {
			t.Errorf("defaults.timeout %v: Reused %d (want %d), compiled timeout %v", tt.timeout, r.Reused(), tt.reused, cf.timeout)
		}
	}
}
