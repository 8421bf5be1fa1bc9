package probe

import (
	"context"
	"sync"
	"testing"
	"unsafe"

	"github.com/slaprobe/slaprobe/config"
)

// The flows NewRunner compiles share the JSONPath expressions the scanner
// follows and the regular expressions written the same, and not the
// others; runs of the flows at once still check what each flow says (the
// race detector watches the shared values).
func TestSharedExpressions(t *testing.T) {
	_, srv := newTarget(t)
	flow := func(name, path string) config.Flow {
		s := get("doc", srv.URL+"/doc")
		s.Expect.JSONPath = []config.PathMatch{{Path: path, Matcher: config.Matcher{Matches: "^sett"}}}
		s.Extract = []config.Extract{{Var: "tok", Regex: "tok-[0-9]+"}}
		return config.Flow{Name: name, Steps: []config.Step{s}}
	}
	cfg := testConfig(flow("a", "$.status"), flow("b", "$.status"), flow("c", "$..status"), flow("d", "$..status"), flow("e", "$.name"))
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdle()
	pay := func(i int) *payload { return &r.flows[&cfg.Services[0].Flows[i]].steps[0].pay }
	same := func(i, j int) bool {
		return unsafe.SliceData(pay(i).paths[0].expr) == unsafe.SliceData(pay(j).paths[0].expr)
	}
	for _, tt := range []struct {
		i, j int
		want bool
	}{{0, 1, true}, {0, 4, false}, {2, 3, false}, {0, 2, false}} {
		if got := same(tt.i, tt.j); got != tt.want {
			t.Errorf("flows %d and %d share their JSONPath: %v, want %v", tt.i, tt.j, got, tt.want)
		}
	}
	if pay(0).paths[0].m.re != pay(3).paths[0].m.re || pay(0).extract[0].re != pay(4).extract[0].re {
		t.Error("the same regular expression compiled twice")
	}

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			f := &cfg.Services[0].Flows[i%5]
			run := r.Run(context.Background(), f)
			want := f.Name != "e" // $.name is "probe seoul-a"
			if run.OK() != want {
				t.Errorf("flow %s: ok=%v, want %v: %+v", f.Name, run.OK(), want, run.Steps)
			}
		})
	}
	wg.Wait()
}

// Flows with the same TLS settings point to one copy of them; a flow with
// none holds no copy.
func TestSharedTLS(t *testing.T) {
	flow := func(name, serverName string) config.Flow {
		return config.Flow{Name: name, TLS: config.TLS{ServerName: serverName}, Steps: []config.Step{get("doc", "https://127.0.0.1:1/doc")}}
	}
	cfg := testConfig(flow("a", "x.example"), flow("b", "x.example"), flow("c", "y.example"), flow("d", ""))
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdle()
	cf := func(i int) *compiledFlow { return r.flows[&cfg.Services[0].Flows[i]] }
	if cf(0).tls == nil || cf(0).tls != cf(1).tls || cf(0).tls == cf(2).tls || cf(3).tls != nil {
		t.Errorf("TLS settings a %p, b %p (want a's), c %p (want another), d %p (want nil)", cf(0).tls, cf(1).tls, cf(2).tls, cf(3).tls)
	}
	if got := cf(2).tlsConfig(); got.ServerName != "y.example" {
		t.Errorf("flow c's TLS settings: %+v", got)
	}
}
