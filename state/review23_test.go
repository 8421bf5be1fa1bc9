package state

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// An operand rendered from a variable is the target's value, not the
// config's words, even without a digit in it: a flow that reads a room's
// state in one step and checks the next step reports the same one, failing
// because the second step answers "stale" each run, is one fault whatever
// the first step said (amber, birch, cedar by turns). The errors are a real
// runner's against an httptest server.
func TestVariableOperandOneCause(t *testing.T) {
	tests := []struct {
		name   string
		expect string // the check step's expect, ${want} the first step's value
		secret bool   // want is extracted as a secret
		want   string // the flow window's causes
	}{
		{"equals a variable", `{jsonpath: {$.state: {equals: "${want}"}}}`, false, "receive@m1-m4"},
		{"contains a variable", `{body: {contains: "${want}"}}`, false, "receive@m1-m4"},
		{"matches a variable", `{headers: {X-State: {matches: "^${want}$"}}}`, false, "receive@m1-m4"},
		{"selected nothing, want a variable", `{jsonpath: {$.gone: {equals: "${want}"}}}`, false, "receive@m1-m4"},
		{"equals a secret", `{jsonpath: {$.state: {equals: "${want}"}}}`, true, "receive@m1-m4"},
	}
	words := []string{"amber", "birch", "cedar"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/read" {
					fmt.Fprintf(w, `{"state": %q}`, words[int(n.Add(1)-1)%len(words)])
					return
				}
				w.Header().Set("X-State", "stale")
				fmt.Fprint(w, `{"state": "stale"}`)
			}))
			defer srv.Close()
			secret := ""
			if tc.secret {
				secret = ", secret: true"
			}
			got, errs := roomsCauses(t, fmt.Sprintf(`
          - name: read
            function: login
            request: {url: %[1]s/read}
            extract: {want: {jsonpath: $.state%[2]s}}
          - name: check
            function: receive
            request: {url: %[1]s/check}
            expect: %[3]s
`, srv.URL, secret, tc.expect), len(words))
			if got != tc.want {
				t.Errorf("causes %s, want %s (%q)", got, tc.want, errs)
			}
		})
	}
}

// A JSONPath's single-quoted names are the config's words wherever they
// stand in it (4ad3d34 kept them only in a word that begins with $): after
// a name with a space ($['queue a']['pending'] beside ['queued']) and in a
// filter written with spaces ($.items[?(@.state == 'pending')] beside
// 'queued'), two assertions failing by turns are two causes, as
// $['pending'] and $['queued'] are. The errors are a real runner's.
func TestJSONPathQuotedNamesWithSpaces(t *testing.T) {
	tests := []struct {
		name, a, b string // two JSONPaths; the server has only b's, then only a's, then b's
		docA, docB string // a body that has a's and not b's, and the other way round
	}{
		{"after a name with a space", `$['queue a']['pending']`, `$['queue a']['queued']`,
			`{"queue a": {"pending": 1}}`, `{"queue a": {"queued": 1}}`},
		{"in a filter with spaces", `$.items[?(@.state == 'pending')]`, `$.items[?(@.state == 'queued')]`,
			`{"items": [{"state": "pending"}]}`, `{"items": [{"state": "queued"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if n.Add(1)%2 == 1 {
					fmt.Fprint(w, tc.docB)
				} else {
					fmt.Fprint(w, tc.docA)
				}
			}))
			defer srv.Close()
			got, errs := roomsCauses(t, fmt.Sprintf(`
          - name: check
            function: receive
            request: {url: %s/check}
            expect: {jsonpath: {"%s": {exists: true}, "%s": {exists: true}}}
`, srv.URL, tc.a, tc.b), 3)
			if want := "receive@m1-m2,receive@m2-m3,receive@m3-m4"; got != want {
				t.Errorf("causes %s, want %s (%q)", got, want, errs)
			}
		})
	}
}

// roomsCauses is runnerCauses of a config whose one flow, rooms/state at
// seoul-a, has steps (YAML, each item indented ten spaces), its last step
// failing as "receive".
func roomsCauses(t *testing.T, steps string, n int) (string, []string) {
	t.Helper()
	src := "location: seoul-a\nservices:\n  - name: rooms\n    flows:\n      - name: state\n        steps:" + steps
	cfg, err := config.Parse("t.yaml", []byte(src), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return runnerCauses(t, cfg, n, "receive")
}

// runnerCauses runs cfg's one flow n times with a real runner, its last
// step failing each run, and observes them, at minutes 1 to n between
// passing runs at 0 and n+1, as runs failing at step (the cause's name):
// the closed flow window's causes (fmtCauses) and the runs' errors.
func runnerCauses(t *testing.T, cfg *config.Config, n int, step string) (string, []string) {
	t.Helper()
	r, err := probe.NewRunner(cfg, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdle()
	flow := &cfg.Services[0].Flows[0]
	last := len(flow.Steps) - 1
	mc := New("messaging", "chat", "seoul-a", []string{"login", "send", "receive"}, Policy{Interval: 60e9, DownAfter: 2, UpAfter: 1})
	runs := []*probe.Run{mkRun(at(0), "ok")}
	var errs []string
	for i := range n {
		got := r.Run(context.Background(), flow)
		if len(got.Steps) != len(flow.Steps) || got.Steps[last].Error == "" {
			t.Fatalf("run %d: want step %s to fail, got %+v", i, flow.Steps[last].Name, got.Steps)
		}
		errs = append(errs, got.Steps[last].Error)
		runs = append(runs, hung(float64(i+1), 0, step, got.Steps[last].Error))
	}
	runs = append(runs, mkRun(at(float64(n+1)), "ok"))
	var closed *Window
	for _, run := range runs {
		for _, e := range mc.Observe(run) {
			if e.Op == OpClose && e.Window.Function == "" {
				closed = &e.Window
			}
		}
	}
	if closed == nil {
		t.Fatal("no flow window closed")
	}
	return fmtCauses(closed.Causes), errs
}
