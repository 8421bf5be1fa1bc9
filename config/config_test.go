package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/slaprobe/slaprobe/examples"
)

// minimal is the smallest valid config.
const minimal = `
services:
  - name: messaging
    flows:
      - name: roundtrip
        steps:
          - name: login
            function: login
            request: {url: "http://127.0.0.1:18080/messaging/login"}
`

func mustParse(t *testing.T, src string, opts Options) *Config {
	t.Helper()
	cfg, err := Parse("test.yaml", []byte(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := mustParse(t, minimal, Options{})
	want := &Config{
		File: "test.yaml", Location: "default", Timezone: "UTC", Loc: time.UTC, Listen: "127.0.0.1:9115",
		Storage: Storage{Driver: "sqlite", DSN: "slaprobe.db", Retention: 400 * 24 * time.Hour,
			MinuteRetention: 400 * 24 * time.Hour, HourRetention: 403 * 24 * time.Hour},
		Defaults: Defaults{Interval: 60 * time.Second, Timeout: 10 * time.Second, DownAfter: 2, UpAfter: 1,
			MaxBodyBytes: 1 << 20, MaxRedirects: 5},
		Policy:   Policy{Unknown: "exclude", Degraded: "up", Quorum: Quorum{Mode: "majority"}, FlapGap: 5 * time.Minute},
		Alerting: Alerting{Resend: time.Minute, SeverityDown: "page", SeverityDegraded: "ticket"},
		Status:   Status{Refresh: 30 * time.Second},
		Webhooks: Webhooks{Listen: "127.0.0.1:9116", PublicURL: "http://127.0.0.1:9116/webhooks", MaxBodyBytes: 1 << 20},
		Services: []Service{{
			Name: "messaging", Objective: 0.999, Line: 3,
			Flows: []Flow{{
				Name: "roundtrip", Service: "messaging", Interval: 60 * time.Second, Timeout: 10 * time.Second,
				DownAfter: 2, UpAfter: 1, ConfirmEvery: 10 * time.Second, MaxBodyBytes: 1 << 20, MaxRedirects: 5, Line: 5,
				Steps: []Step{{Name: "login", Function: "login", Line: 7,
					Request: Request{Method: "GET", URL: "http://127.0.0.1:18080/messaging/login"}}},
			}},
		}},
		Secrets: map[string]string{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
}

func TestOverrides(t *testing.T) {
	src := `
location: seoul-a
timezone: Asia/Seoul
listen: "[::1]:9999"
storage: {driver: postgres, dsn: "postgres://u@db/slaprobe", retention: 1d12h, minute_retention: 2d, hour_retention: 375d}
defaults:
  interval: 2m
  timeout: 20s
  down_after: 3
  up_after: 2
  max_body_bytes: 2MiB
  max_redirects: 0
  tls: {server_name: probe.example, insecure_skip_verify: true}
policy: {unknown: down, degraded: down, quorum: 2, flap_gap: 0s}
alerting:
  alertmanager: {urls: [http://a:9093, "https://b:9093"], resend: 30s}
  runbook_url: https://runbooks.example/{service}
  severity: {down: critical, degraded: warning}
report: {font: fonts/nanum.ttf}
services:
  - name: messaging
    objective: 0.99
    credits:
      - {below: 0.95, credit_percent: 100}
      - {below: 0.99, credit_percent: 25.5}
    flows:
      - name: inherits
        steps: [{name: a, function: login, request: {url: "http://h/a"}}]
      - name: overrides
        interval: 30s
        timeout: 15s
        down_after: 1
        up_after: 3
        max_body_bytes: 1000
        max_redirects: 2
        tls: {insecure_skip_verify: false}
        steps: [{name: a, function: login, timeout: 5s, request: {url: "http://h/a"}}]
`
	// report.font is read and checked: the bundled font stands for it.
	readFont := func(path string) ([]byte, error) {
		if path == "fonts/nanum.ttf" {
			path = "../report/render/fonts/NanumGothic.ttf"
		}
		return os.ReadFile(path)
	}
	cfg := mustParse(t, src, Options{ReadFile: readFont})
	if cfg.Location != "seoul-a" || cfg.Timezone != "Asia/Seoul" || cfg.Loc.String() != "Asia/Seoul" || cfg.Listen != "[::1]:9999" {
		t.Errorf("top level: %q %q %v %q", cfg.Location, cfg.Timezone, cfg.Loc, cfg.Listen)
	}
	if want := (Storage{Driver: "postgres", DSN: "postgres://u@db/slaprobe", Retention: 36 * time.Hour,
		MinuteRetention: 48 * time.Hour, HourRetention: 9000 * time.Hour}); cfg.Storage != want {
		t.Errorf("storage = %+v, want %+v", cfg.Storage, want)
	}
	if want := (Policy{Unknown: "down", Degraded: "down", Quorum: Quorum{Mode: "count", N: 2}}); cfg.Policy != want {
		t.Errorf("policy = %+v, want %+v", cfg.Policy, want)
	}
	wantAlert := Alerting{AlertmanagerURLs: []string{"http://a:9093", "https://b:9093"}, Resend: 30 * time.Second,
		RunbookURL: "https://runbooks.example/{service}", SeverityDown: "critical", SeverityDegraded: "warning"}
	if !reflect.DeepEqual(cfg.Alerting, wantAlert) {
		t.Errorf("alerting = %+v, want %+v", cfg.Alerting, wantAlert)
	}
	if cfg.Report.Font != "fonts/nanum.ttf" {
		t.Errorf("font = %q", cfg.Report.Font)
	}
	if want := []Credit{{0.95, 100}, {0.99, 25.5}}; !reflect.DeepEqual(cfg.Services[0].Credits, want) {
		t.Errorf("credits = %+v", cfg.Services[0].Credits)
	}
	tlsOn := TLS{ServerName: "probe.example", InsecureSkipVerify: true}
	tests := []struct {
		flow string
		want Flow
	}{
		{"inherits", Flow{Interval: 2 * time.Minute, Timeout: 20 * time.Second, DownAfter: 3, UpAfter: 2,
			MaxBodyBytes: 2 << 20, MaxRedirects: 0, TLS: tlsOn}},
		{"overrides", Flow{Interval: 30 * time.Second, Timeout: 15 * time.Second, DownAfter: 1, UpAfter: 3,
			MaxBodyBytes: 1000, MaxRedirects: 2, TLS: TLS{ServerName: "probe.example"}}},
	}
	for _, tc := range tests {
		t.Run(tc.flow, func(t *testing.T) {
			svc, f := cfg.Flow(tc.flow)
			if f == nil || svc.Name != "messaging" || f.Service != "messaging" {
				t.Fatalf("Flow(%q) = %v, %v", tc.flow, svc, f)
			}
			got := Flow{Interval: f.Interval, Timeout: f.Timeout, DownAfter: f.DownAfter, UpAfter: f.UpAfter,
				MaxBodyBytes: f.MaxBodyBytes, MaxRedirects: f.MaxRedirects, TLS: f.TLS}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestQuorum(t *testing.T) {
	tests := []struct {
		in   string
		want Quorum
	}{
		{"majority", Quorum{Mode: "majority"}},
		{"all", Quorum{Mode: "all"}},
		{"3", Quorum{Mode: "count", N: 3}},
		{`"2"`, Quorum{Mode: "count", N: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			cfg := mustParse(t, "policy: {quorum: "+tc.in+"}\n"+minimal, Options{})
			if cfg.Policy.Quorum != tc.want {
				t.Errorf("quorum %s = %+v, want %+v", tc.in, cfg.Policy.Quorum, tc.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30s", 30 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"1h30m", 90 * time.Minute, false},
		{"400d", 400 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"0d", 0, false},
		{"-5s", -5 * time.Second, false},
		{"60", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"-1d", 0, true},
		{"1d-1h", 0, true},
		{"999999999999d", 0, true},
		{"106000d9000000h", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"1MiB", 1 << 20, false},
		{"512KiB", 512 << 10, false},
		{"2 GiB", 2 << 30, false},
		{"2MB", 2e6, false},
		{"10kB", 1e4, false},
		{"7B", 7, false},
		{"1XB", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5MiB", 0, true},
		{"9999999999999999GiB", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseSize(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestLookupAndExpand(t *testing.T) {
	vals := map[string]string{"user": "probe", "run.id": "r1", "env:X": "sec"}
	resolve := func(r string) (string, bool) { v, ok := vals[r]; return v, ok }
	tests := []struct {
		tmpl    string
		refs    []string
		out     string
		wantErr string
	}{
		{"plain", nil, "plain", ""},
		{"Bearer ${user}", []string{"user"}, "Bearer probe", ""},
		{"${user}-${run.id}-${env:X}", []string{"user", "run.id", "env:X"}, "probe-r1-sec", ""},
		{"cost $5 and $${user} literal", nil, "cost $5 and ${user} literal", ""},
		{"$$${user}", nil, "$${user}", ""}, // "$${" wins, scanning left to right
		{"${user}${nope}", []string{"user", "nope"}, "", "undefined reference ${nope}"},
		{"a ${user", nil, "", "unterminated ${"},
		{"${}", nil, "", "empty ${}"},
		{"$", nil, "$", ""},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			if got := Lookup(tc.tmpl); !reflect.DeepEqual(got, tc.refs) {
				t.Errorf("Lookup = %q, want %q", got, tc.refs)
			}
			out, err := Expand(tc.tmpl, resolve)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("Expand error = %v, want %q", err, tc.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "sec") {
					t.Errorf("Expand error holds a value: %v", err)
				}
				return
			}
			if err != nil || out != tc.out {
				t.Errorf("Expand = %q, %v; want %q", out, err, tc.out)
			}
			if CheckTemplate(tc.tmpl) != nil {
				t.Errorf("CheckTemplate: %v", CheckTemplate(tc.tmpl))
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("file-secret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
storage: {driver: postgres, dsn: "postgres://probe:${env:PGPW}@db/x"}
services:
  - name: messaging
    flows:
      - name: roundtrip
        vars:
          token: ${env:TOKEN}
          pw: ${file:pw.txt}
          again: ${env:TOKEN}-${file:pw.txt}
        steps:
          - name: login
            function: login
            request:
              url: http://h/login
              headers: {Authorization: "Bearer ${token}"}
              form: {password: "${pw}"}
`
	env := map[string]string{"TOKEN": "tok-123", "PGPW": "pg-secret"}
	cfg, err := Parse(filepath.Join(dir, "c.yaml"), []byte(src), Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"env:TOKEN": "tok-123", "env:PGPW": "pg-secret", "file:pw.txt": "file-secret"}
	if !reflect.DeepEqual(cfg.Secrets, want) {
		t.Errorf("Secrets = %v, want %v", cfg.Secrets, want)
	}
	_, f := cfg.Flow("roundtrip")
	if f.Vars[0].Value != "${env:TOKEN}" || f.Vars[1].Value != "${file:pw.txt}" {
		t.Errorf("templates must keep the references: %+v", f.Vars)
	}
	dsn, err := cfg.ExpandSecrets(cfg.Storage.DSN)
	if err != nil || dsn != "postgres://probe:pg-secret@db/x" {
		t.Errorf("ExpandSecrets = %q, %v", dsn, err)
	}
	if _, err := cfg.ExpandSecrets("${token}"); err == nil {
		t.Error("ExpandSecrets accepted a non-secret reference")
	}
	tests := []struct{ in, want string }{
		{"Authorization: Bearer tok-123", "Authorization: Bearer ***"},
		{"dial postgres://probe:pg-secret@db: refused", "dial postgres://probe:***@db: refused"},
		{"file-secret and tok-123", "*** and ***"},
		{"nothing here", "nothing here"},
	}
	for _, tc := range tests {
		if got := cfg.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSecretNeverInErrors puts secret values where they cause errors and
// checks the error text.
func TestSecretNeverInErrors(t *testing.T) {
	env := map[string]string{"TOKEN": "tok-123456"}
	opts := Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	tests := []struct{ name, src string }{
		{"value pasted as a duration", "defaults: {interval: tok-123456}\n" + strings.Replace(minimal, `login"}`, `login", headers: {X: "${env:TOKEN}"}}`, 1)},
		{"reference in a non-template", "listen: ${env:TOKEN}\n" + minimal},
		{"reference used as a url", strings.Replace(minimal, `"http://127.0.0.1:18080/messaging/login"`, `"${env:TOKEN}"`, 1) + "        vars: {v: \"${env:TOKEN}\", w: \"${nope}\"}\n"},
		{"value in an unknown key", "tok-123456: x\n" + strings.Replace(minimal, `login"}`, `login", body: "${env:TOKEN}"}`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.src), opts)
			if err == nil {
				t.Fatal("want an error")
			}
			if strings.Contains(err.Error(), "tok-123456") {
				t.Errorf("secret in error:\n%v", err)
			}
		})
	}
}

func TestOrderedListsAndBodies(t *testing.T) {
	src := `
services:
  - name: s
    flows:
      - name: f
        vars: {zeta: "1", alpha: "${zeta}", mid: "${alpha}"}
        steps:
          - name: a
            function: login
            request:
              method: post
              url: http://h/a
              json: {s: "${mid}", n: 1, f: 1.5, b: true, z: null, l: [1, "x"], m: {k: v}}
            expect:
              status: 201
              jsonpath:
                "$.z": {exists: true}
                "$.a": ok
                "$.m": {gt: 1}
                "$.b": {le: 2.5}
              headers:
                X-Z: {matches: "^a+$"}
                Content-Type: {contains: json}
              body: {equals: "${mid}"}
            extract:
              zz: {header: X-Token}
              aa: {regex: "id=(\\d+)"}
              mm: {jsonpath: "$.id"}
          - name: b
            function: send
            request: {url: "http://h/b?x=${zz}${aa}${mm}", body: "raw ${aa}"}
            poll: {every: 1s, within: 5s}
`
	cfg := mustParse(t, src, Options{})
	f := cfg.Services[0].Flows[0]
	var names []string
	for _, v := range f.Vars {
		names = append(names, v.Name)
	}
	if want := []string{"zeta", "alpha", "mid"}; !reflect.DeepEqual(names, want) {
		t.Errorf("vars order = %v", names)
	}
	a := f.Steps[0]
	if a.Request.Method != "POST" {
		t.Errorf("method = %q", a.Request.Method)
	}
	wantJSON := map[string]any{"s": "${mid}", "n": int64(1), "f": 1.5, "b": true, "z": nil, "l": []any{int64(1), "x"}, "m": map[string]any{"k": "v"}}
	if !reflect.DeepEqual(a.Request.JSON, wantJSON) {
		t.Errorf("json = %#v", a.Request.JSON)
	}
	if !reflect.DeepEqual(a.Expect.Status, []int{201}) {
		t.Errorf("status = %v", a.Expect.Status)
	}
	var paths []string
	for _, p := range a.Expect.JSONPath {
		paths = append(paths, p.Path)
	}
	if want := []string{"$.z", "$.a", "$.m", "$.b"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("jsonpath order = %v", paths)
	}
	if m := a.Expect.JSONPath[1].Matcher; m.Equals == nil || *m.Equals != "ok" {
		t.Errorf("scalar shorthand is equals: %+v", m)
	}
	if m := a.Expect.JSONPath[0].Matcher; m.Exists == nil || !*m.Exists {
		t.Errorf("exists: %+v", m)
	}
	if m := a.Expect.JSONPath[3].Matcher; m.LE == nil || *m.LE != 2.5 {
		t.Errorf("le: %+v", m)
	}
	if h := a.Expect.Headers; len(h) != 2 || h[0].Name != "X-Z" || h[0].Matcher.Matches != "^a+$" || *h[1].Matcher.Contains != "json" {
		t.Errorf("headers = %+v", h)
	}
	if b := a.Expect.Body; b == nil || *b.Equals != "${mid}" {
		t.Errorf("body = %+v", b)
	}
	want := []Extract{{Var: "zz", Header: "X-Token"}, {Var: "aa", Regex: `id=(\d+)`}, {Var: "mm", JSONPath: "$.id"}}
	if !reflect.DeepEqual(a.Extract, want) {
		t.Errorf("extract = %+v", a.Extract)
	}
	b := f.Steps[1]
	if b.Request.Body != "raw ${aa}" || b.Poll == nil || *b.Poll != (Poll{Every: time.Second, Within: 5 * time.Second, Since: "a"}) {
		t.Errorf("step b = %+v", b)
	}
	if got := f.Functions(); !reflect.DeepEqual(got, []string{"login", "send"}) {
		t.Errorf("Functions = %v", got)
	}
}

func TestMergeKeys(t *testing.T) {
	src := `
services:
  - name: s
    flows:
      - name: f
        steps:
          - &login
            name: login
            function: login
            request: {url: "http://h/login"}
          - <<: *login
            name: login2
`
	cfg := mustParse(t, src, Options{})
	steps := cfg.Services[0].Flows[0].Steps
	if len(steps) != 2 || steps[1].Name != "login2" || steps[1].Request.URL != "http://h/login" {
		t.Errorf("merge: %+v", steps)
	}
}

// A top-level x- key holds anchors for the rest of the file, as in a
// Compose file; it is not read otherwise, and other unknown keys still are
// errors.
func TestExtensionKeys(t *testing.T) {
	src := `
x-login: &login
  name: login
  function: login
  request: {url: "http://h/login", headers: {Accept: application/json}}
x-notes: [anything, {goes: here}]
services:
  - name: s
    flows:
      - name: f
        steps:
          - *login
      - name: g
        steps:
          - <<: *login
            request: {url: "http://h/other"}
`
	cfg := mustParse(t, src, Options{})
	fl := cfg.Services[0].Flows
	if got := fl[0].Steps[0].Request; got.URL != "http://h/login" || len(got.Headers) != 1 {
		t.Errorf("alias of an x- key: %+v", got)
	}
	if got := fl[1].Steps[0]; got.Name != "login" || got.Request.URL != "http://h/other" {
		t.Errorf("merge of an x- key: %+v", got)
	}
	for _, bad := range []string{"x:", "X-common:", "xcommon:", "common:"} {
		_, err := Parse("test.yaml", []byte(bad+" 1\n"+minimal), Options{})
		if err == nil || !strings.Contains(err.Error(), "test.yaml:1: "+strings.TrimSuffix(bad, ":")+": unknown key") {
			t.Errorf("%q: want an unknown key error at line 1, got %v", bad, err)
		}
	}
}

func TestLookupMethods(t *testing.T) {
	cfg := mustParse(t, minimal, Options{})
	if s := cfg.Service("messaging"); s == nil || s.Name != "messaging" {
		t.Errorf("Service = %v", s)
	}
	if s := cfg.Service("nope"); s != nil {
		t.Errorf("Service(nope) = %v", s)
	}
	if s, f := cfg.Flow("nope"); s != nil || f != nil {
		t.Errorf("Flow(nope) = %v %v", s, f)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"c.yaml", 3, "services[0].name", "is required"}, "c.yaml:3: services[0].name: is required"},
		{Error{"c.yaml", 0, "", "cannot read"}, "c.yaml: cannot read"},
		{Error{"c.yaml", 7, "", "invalid YAML: x"}, "c.yaml:7: invalid YAML: x"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.e.Error(); got != tc.want {
				t.Errorf("got %q", got)
			}
		})
	}
	es := Errors{&tests[0].e, &tests[1].e}
	if got := es.Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("Errors.Error = %q", got)
	}
	var one *Error
	if !errors.As(error(es), &one) || one != &tests[0].e {
		t.Error("errors.As does not reach an *Error")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"two documents", minimal + "---\nlocation: x\n", "c.yaml:10: more than one YAML document"},
		{"too large", strings.Repeat("#", MaxFileBytes+1), "c.yaml: file is larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.src), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err := Load("testdata/no-such.yaml", Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "testdata/no-such.yaml: cannot read the config") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestTimelineDefaults(t *testing.T) {
	src := `
incidents:
  - id: a
    service: messaging
    functions: [receive]
    start: 2021-05-05T21:47:00+09:00
  - id: b
    service: maps
    functions: [tile]
    start: 2021-05-05T21:47:00+09:00
    end: 2021-05-05T22:47:00+09:00
    mode: slow
    latency: 20s
    rate: 0.5
`
	tl, err := ParseTimeline("dir/my-timeline.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if tl.Name != "my-timeline" || tl.File != "dir/my-timeline.yaml" || len(tl.Incidents) != 2 {
		t.Fatalf("timeline = %+v", tl)
	}
	a, b := tl.Incidents[0], tl.Incidents[1]
	if a.Mode != ModeDown || a.Rate != 1 || !a.Ongoing() || a.Line != 3 {
		t.Errorf("defaults: %+v", a)
	}
	if b.Mode != ModeSlow || b.Rate != 0.5 || b.Latency != 20*time.Second || b.Ongoing() || b.End.Sub(b.Start) != time.Hour {
		t.Errorf("b: %+v", b)
	}
}

// TestConfigTimelines loads timelines named by a config: paths relative to
// the config, each file once, in order.
func TestConfigTimelines(t *testing.T) {
	tl := func(id, svc string) string {
		return "incidents:\n  - {id: " + id + ", service: " + svc + ", functions: [login], start: 2022-10-15T15:30:00+09:00}\n"
	}
	fsys := fstest.MapFS{
		"etc/slaprobe/c.yaml":       {Data: []byte("services:\n  - {name: a, timelines: [t/one.yaml, t/two.yaml]}\n  - {name: b, timelines: [t/one.yaml]}\n")},
		"etc/slaprobe/t/one.yaml":   {Data: []byte(tl("x", "a"))},
		"etc/slaprobe/t/two.yaml":   {Data: []byte(tl("y", "b"))},
		"etc/slaprobe/bad/c.yaml":   {Data: []byte("services:\n  - {name: a, timelines: [one.yaml, two.yaml]}\n")},
		"etc/slaprobe/bad/one.yaml": {Data: []byte(tl("x", "a"))},
		"etc/slaprobe/bad/two.yaml": {Data: []byte(tl("x", "a"))},
	}
	opts := Options{ReadFile: func(p string) ([]byte, error) { return fs.ReadFile(fsys, p) }}
	cfg, err := Load("etc/slaprobe/c.yaml", opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Timelines) != 2 || cfg.Timelines[0].File != "etc/slaprobe/t/one.yaml" || cfg.Timelines[1].Incidents[0].ID != "y" {
		t.Errorf("timelines = %+v", cfg.Timelines)
	}
	if got := cfg.Services[0].Timelines; !reflect.DeepEqual(got, []string{"t/one.yaml", "t/two.yaml"}) {
		t.Errorf("Service.Timelines keeps what was written: %v", got)
	}
	_, err = Load("etc/slaprobe/bad/c.yaml", opts)
	if want := `etc/slaprobe/bad/two.yaml:2: incidents[0].id: incident id "x" is also used in etc/slaprobe/bad/one.yaml`; err == nil || err.Error() != want {
		t.Errorf("duplicate id across files: %v", err)
	}
}

// TestSharedIncidents loads the reference timelines in ../shared (next to
// the repository in the project's workspace).
func TestSharedIncidents(t *testing.T) {
	files, _ := filepath.Glob("../../shared/incidents/*.yaml")
	if len(files) == 0 {
		t.Skip("../../shared/incidents is not next to this checkout; TestExamples covers the bundled copies")
	}
	if len(files) != 3 {
		t.Errorf("want 3 shared timelines, found %v", files)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			tl, err := LoadTimeline(file, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(tl.Incidents) == 0 || tl.Timezone != "Asia/Seoul" {
				t.Errorf("timeline %s: %d incidents, tz %q", tl.Name, len(tl.Incidents), tl.Timezone)
			}
			// The bundled example of the same incident must say the same.
			data, err := examples.ReadFile("incidents/" + filepath.Base(file))
			if errors.Is(err, fs.ErrNotExist) {
				return
			}
			ex, err := ParseTimeline(filepath.Base(file), data)
			if err != nil {
				t.Fatal(err)
			}
			ex.File = tl.File
			for i := range ex.Incidents { // the copy has a header comment
				ex.Incidents[i].Line, tl.Incidents[i].Line = 0, 0
				ex.Incidents[i].ServiceLine, tl.Incidents[i].ServiceLine = 0, 0
				ex.Incidents[i].FunctionsLine, tl.Incidents[i].FunctionsLine = 0, 0
			}
			if !reflect.DeepEqual(ex, tl) {
				t.Errorf("examples/incidents/%s differs from the shared timeline", filepath.Base(file))
			}
		})
	}
}

// demoFunctions is DESIGN's "Demo platform" table.
var demoFunctions = map[string][]string{
	"account":   {"login"},
	"messaging": {"login", "send", "receive", "media"},
	"payments":  {"login", "send", "receive", "receipt"},
	"maps":      {"login", "search", "route", "tile"},
	"mobility":  {"login", "send", "receive"},
	"mail":      {"login", "send", "receive", "attachments"},
}

func TestExamples(t *testing.T) {
	cfg, err := Parse(examples.DemoPath, examples.DemoConfig(), Options{ReadFile: examples.ReadFile})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Location != "seoul-a" || cfg.Timezone != "Asia/Seoul" || cfg.Defaults.Interval != time.Minute {
		t.Errorf("demo: location %q timezone %q interval %v", cfg.Location, cfg.Timezone, cfg.Defaults.Interval)
	}
	if len(cfg.Services) != len(demoFunctions) {
		t.Errorf("demo has %d services, want %d", len(cfg.Services), len(demoFunctions))
	}
	for _, svc := range cfg.Services {
		t.Run(svc.Name, func(t *testing.T) {
			if len(svc.Flows) != 1 {
				t.Fatalf("%d flows", len(svc.Flows))
			}
			// The same set; the order is the flow's (messaging opens its
			// receive stream before it sends).
			got, want := slices.Sorted(slices.Values(svc.Flows[0].Functions())), slices.Sorted(slices.Values(demoFunctions[svc.Name]))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("functions = %v, want %v", svc.Flows[0].Functions(), demoFunctions[svc.Name])
			}
			if svc.Objective != 0.999 || len(svc.Credits) != 3 || len(svc.Timelines) == 0 {
				t.Errorf("objective %v credits %v timelines %v", svc.Objective, svc.Credits, svc.Timelines)
			}
			for _, st := range svc.Flows[0].Steps {
				if st.Poll != nil && st.Poll.Within > svc.Flows[0].Timeout {
					t.Errorf("step %s polls longer than the flow timeout", st.Name)
				}
			}
		})
	}
	if len(cfg.Timelines) != 2 {
		t.Errorf("demo loads %d timelines, want 2", len(cfg.Timelines))
	}
	files, err := fs.Glob(examples.Files(), "incidents/*.yaml")
	if err != nil || len(files) != 6 {
		t.Fatalf("bundled incidents: %v %v", files, err)
	}
	// Every shipped timeline names its zone and source and replays on the
	// demo platform: each service and function is one of DESIGN's table
	// (the platform injects nothing for another), and no time contradicts
	// the zone (offsetWarning).
	for _, f := range files {
		data, _ := examples.ReadFile(f)
		tl, err := ParseTimeline(f, data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if tl.Timezone == "" || tl.Source == "" || len(tl.Incidents) == 0 || len(tl.warnings) != 0 {
			t.Errorf("%s: timezone %q, source %q, %d incidents, warnings %v", f, tl.Timezone, tl.Source, len(tl.Incidents), tl.warnings)
		}
		for _, inc := range tl.Incidents {
			for _, fn := range inc.Functions {
				if !slices.Contains(demoFunctions[inc.Service], fn) {
					t.Errorf("%s: incident %s: %s %s is not on the demo platform", f, inc.ID, inc.Service, fn)
				}
			}
		}
	}
	// A secret password through the environment works the same way.
	src := strings.Replace(string(examples.DemoConfig()), "password: demo ", "password: ${env:DEMO_PW}", 1)
	cfg, err = Parse(examples.DemoPath, []byte(src), Options{ReadFile: examples.ReadFile,
		LookupEnv: func(string) (string, bool) { return "pw-from-env", true }})
	if err != nil || cfg.Secrets["env:DEMO_PW"] != "pw-from-env" {
		t.Errorf("demo with env password: %v %v", err, cfg)
	}
}

// TestDesignExample loads the config example of DESIGN.md, verbatim.
func TestDesignExample(t *testing.T) {
	cfg, err := Load("testdata/design/config.yaml", Options{
		LookupEnv: func(k string) (string, bool) { return "pw", k == "SLAPROBE_PASSWORD" },
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, f := cfg.Flow("messaging-roundtrip")
	if svc == nil || f.Interval != 30*time.Second || f.Timeout != 15*time.Second || len(f.Steps) != 3 {
		t.Fatalf("flow = %+v", f)
	}
	recv := f.Steps[2]
	if recv.Poll == nil || recv.Poll.Every != 500*time.Millisecond || len(recv.Expect.JSONPath) != 1 ||
		*recv.Expect.JSONPath[0].Matcher.Contains != "${message_id}" {
		t.Errorf("receive step = %+v", recv)
	}
	if len(cfg.Maintenance) != 1 || cfg.Maintenance[0].End.Sub(cfg.Maintenance[0].Start) != 2*time.Hour {
		t.Errorf("maintenance = %+v", cfg.Maintenance)
	}
	if len(cfg.Timelines) != 1 || len(cfg.Timelines[0].Incidents) != 2 || cfg.Secrets["env:SLAPROBE_PASSWORD"] != "pw" {
		t.Errorf("timelines %+v secrets %d", cfg.Timelines, len(cfg.Secrets))
	}
}

func BenchmarkParseDemo(b *testing.B) {
	data := examples.DemoConfig()
	opts := Options{ReadFile: examples.ReadFile}
	for b.Loop() {
		if _, err := Parse(examples.DemoPath, data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadTimelines: each file once, in the order first named, however its
// path is spelt; an error names the file.
func TestLoadTimelines(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", "incidents:\n  - {id: x, service: maps, functions: [route], start: 2026-05-01T10:00:00Z}\n")
	b := write("b.yaml", "incidents:\n  - {id: y, service: maps, functions: [search], start: 2026-05-01T10:00:00Z}\n")
	bad := write("bad.yaml", "incidents:\n  - {id: z, service: maps, functions: [search], start: 2026-05-01T10:00:00Z, mode: sideways}\n")
	again := write("again.yaml", "incidents:\n  - {id: y, service: maps, functions: [tile], start: 2026-05-02T10:00:00Z}\n  - {id: x, service: maps, functions: [tile], start: 2026-05-03T10:00:00Z}\n")
	tests := []struct {
		name  string
		paths []string
		want  []string // timeline names
		err   string
	}{
		{"one each", []string{a, b}, []string{"a", "b"}, ""},
		{"named twice", []string{a, b, a}, []string{"a", "b"}, ""},
		{"spelt another way", []string{b, filepath.Join(dir, ".", "a.yaml"), filepath.Join(dir, "..", filepath.Base(dir), "b.yaml"), a}, []string{"b", "a"}, ""},
		{"an error names the file", []string{a, bad}, nil, "bad.yaml:2: incidents[0].mode"},
		// Ids are unique across the timelines loaded together, as
		// across those a config loads.
		{"an id used in another file", []string{a, b, again}, nil,
			"again.yaml:2: incidents[0].id: incident id \"y\" is also used in " + b + "\n" + again + ":3: incidents[1].id: incident id \"x\" is also used in " + a},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tls, err := LoadTimelines(tc.paths, Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tl := range tls {
				got = append(got, tl.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("timelines %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCommonTimezone(t *testing.T) {
	tz := func(zones ...string) []*Timeline {
		var out []*Timeline
		for _, z := range zones {
			out = append(out, &Timeline{Timezone: z})
		}
		return out
	}
	cases := []struct {
		name string
		tls  []*Timeline
		want string
		ok   bool
	}{
		{"none", nil, "", false},
		{"one", tz("Europe/Berlin"), "Europe/Berlin", true},
		{"two that agree", tz("Asia/Kolkata", "Asia/Kolkata"), "Asia/Kolkata", true},
		{"two that differ", tz("Asia/Kolkata", "UTC"), "", false},
		{"one names none", tz("UTC", ""), "", false},
	}
	for _, tc := range cases {
		if got, ok := CommonTimezone(tc.tls); got != tc.want || ok != tc.ok {
			t.Errorf("%s: CommonTimezone = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
	var c Config
	if err := c.SetTimezone("Europe/Berlin"); err != nil || c.Timezone != "Europe/Berlin" || c.Loc == nil || c.Loc.String() != "Europe/Berlin" {
		t.Errorf("SetTimezone(Europe/Berlin): %v, %q, %v", err, c.Timezone, c.Loc)
	}
	if err := c.SetTimezone("Mars/Olympus"); err == nil || c.Timezone != "Europe/Berlin" {
		t.Errorf("SetTimezone(Mars/Olympus): %v, zone now %q; want an error and the zone kept", err, c.Timezone)
	}
}

func TestMaxInterval(t *testing.T) {
	c := &Config{Services: []Service{
		{Flows: []Flow{{Interval: time.Minute}, {Interval: 5 * time.Minute}}},
		{Flows: []Flow{{Interval: 30 * time.Second}}},
	}}
	if got := c.MaxInterval(); got != 5*time.Minute {
		t.Errorf("MaxInterval = %s, want 5m", got)
	}
	if got := (&Config{}).MaxInterval(); got != 0 {
		t.Errorf("MaxInterval of no flows = %s, want 0", got)
	}
}

// TestWarnings: maintenance windows for every service ("" or "*") and for
// a service of the config match; one naming a service the config lacks is
// a warning, with its line and key.
func TestWarnings(t *testing.T) {
	src := "services:\n  - name: maps\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: search, request: {url: \"http://127.0.0.1:1/\"}}\n" +
		"maintenance:\n" +
		"  - {service: maps, start: 2026-11-01T02:00:00Z, end: 2026-11-01T03:00:00Z}\n" +
		"  - {start: 2026-11-02T02:00:00Z, end: 2026-11-02T03:00:00Z}\n" +
		"  - {service: \"*\", start: 2026-11-03T02:00:00Z, end: 2026-11-03T03:00:00Z}\n" +
		"  - {service: mpas, start: 2026-11-04T02:00:00Z, end: 2026-11-04T03:00:00Z}\n" +
		"  - {service: Maps, start: 2026-11-05T02:00:00Z, end: 2026-11-05T03:00:00Z}\n"
	got := warningLines(t, src)
	want := []string{
		`11: maintenance[3].service: "mpas" is not a service of this config (maps), so the window excludes nothing`,
		`12: maintenance[4].service: "Maps" is not a service of this config (maps), so the window excludes nothing`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The default location is a warning only on a store probers share.
	for _, tc := range []struct {
		driver, location string
		warn             bool
	}{
		{"postgres", "", true},
		{"postgres", "seoul-a", false},
		{"sqlite", "", false},
		{"", "", false},
	} {
		src := "services:\n  - name: maps\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: search, request: {url: \"http://127.0.0.1:1/\"}}\n"
		if tc.location != "" {
			src = "location: " + tc.location + "\n" + src
		}
		cfg, err := Parse("c.yaml", []byte(src), Options{})
		if err != nil {
			t.Fatal(err)
		}
		ws := cfg.Warnings(tc.driver)
		if got := len(ws) == 1 && ws[0].Key == "location" && strings.Contains(ws[0].Msg, "needs a location of its own"); got != tc.warn || len(ws) > 1 {
			t.Errorf("driver %q, location %q: warnings %+v, want a location warning: %v", tc.driver, tc.location, ws, tc.warn)
		}
	}
}

// TestWarningsUnprobedFunctions: a declared incident whose functions no
// flow of its service probes can never be detected (the report would call it
// "not detected"): a warning at its line in the timeline file.
func TestWarningsUnprobedFunctions(t *testing.T) {
	files := map[string]string{
		"c.yaml": "services:\n  - name: maps\n    timelines: [t.yaml]\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: search, request: {url: \"http://127.0.0.1:1/\"}}\n" +
			"          - {name: b, function: route, request: {url: \"http://127.0.0.1:1/\"}}\n",
		"t.yaml": "incidents:\n" +
			"  - {id: probed, service: maps, functions: [search], start: 2026-11-01T02:00:00Z}\n" +
			"  - {id: partly, service: maps, functions: [route, tile], start: 2026-11-01T02:00:00Z, end: 2026-11-01T03:00:00Z}\n" +
			"  - {id: never, service: maps, functions: [tile, traffic], start: 2026-11-01T03:00:00Z}\n", // after partly: overlapping on tile is a warning of its own
	}
	read := func(name string) ([]byte, error) { return []byte(files[name]), nil }
	cfg, err := Parse("c.yaml", []byte(files["c.yaml"]), Options{ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%s:%d: %s: %s", w.File, w.Line, w.Key, w.Msg))
	}
	want := []string{
		`t.yaml:3: incidents[1].functions: "tile" is probed by no flow of service maps (search, route): the report cannot measure it there`,
		`t.yaml:4: incidents[2].functions: "tile", "traffic" are probed by no flow of service maps (search, route): the report cannot detect this incident`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWarningsEmptySecrets: a secret reference that resolves to nothing (an
// environment variable set to "", a secret file with only a newline) is
// almost always a deployment mistake: the login then fails as if the
// target refused it. A warning at its first use, once per reference.
func TestWarningsEmptySecrets(t *testing.T) {
	src := "services:\n  - name: s\n    flows:\n      - name: f\n" +
		"        vars: {pw: \"${env:EMPTY_PW}\", key: \"${file:k}\", user: \"${env:USER_SET}\", again: \"${env:EMPTY_PW}\"}\n" +
		"        steps:\n          - {name: a, function: f, request: {url: \"http://127.0.0.1:1/?p=${pw}&k=${key}&u=${user}\"}}\n"
	env := func(name string) (string, bool) {
		if name == "USER_SET" {
			return "probe", true
		}
		return "", name == "EMPTY_PW"
	}
	read := func(string) ([]byte, error) { return []byte("\r\n"), nil }
	cfg, err := Parse("c.yaml", []byte(src), Options{LookupEnv: env, ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%s:%d: %s: %s", w.File, w.Line, w.Key, w.Msg))
	}
	want := []string{
		`:5: services[0].flows[0].vars.pw: ${env:EMPTY_PW} is empty: what uses it sends nothing in its place`,
		`:5: services[0].flows[0].vars.key: ${file:k} is empty: what uses it sends nothing in its place`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSecretsOptional: a command that only reads results loads a config
// whose flows' secrets are not set; their values are left out of Secrets,
// and expanding one fails.
func TestSecretsOptional(t *testing.T) {
	src := "location: seoul-a\nservices:\n  - name: s\n    flows:\n      - name: f\n        vars: {pw: \"${env:NOT_SET_PW}\", key: \"${file:/nonexistent/key}\"}\n        steps:\n          - {name: a, function: f, request: {url: \"http://127.0.0.1:1/?p=${pw}&k=${key}\"}}\n"
	none := func(string) (string, bool) { return "", false }
	if _, err := Parse("c.yaml", []byte(src), Options{LookupEnv: none}); err == nil || !strings.Contains(err.Error(), "NOT_SET_PW is not set") {
		t.Fatalf("without SecretsOptional: %v, want the unset variable named", err)
	}
	cfg, err := Parse("c.yaml", []byte(src), Options{LookupEnv: none, SecretsOptional: true})
	if err != nil {
		t.Fatalf("with SecretsOptional: %v", err)
	}
	if len(cfg.Secrets) != 0 {
		t.Errorf("Secrets = %v, want none", cfg.Secrets)
	}
	if _, err := cfg.ExpandSecrets("${env:NOT_SET_PW}"); err == nil {
		t.Error("expanding an unset secret: no error")
	}
}

// A command that only reads results (report, windows) loads a config whose
// delivery secrets are not set in its shell either: the report webhooks'
// URLs and headers and the SMTP credentials hold ${env:}/${file:} as
// `run` needs them, and only `run` (and check) must have them.
func TestSecretsOptionalDelivery(t *testing.T) {
	src := "location: seoul-a\nservices:\n  - name: s\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: f, request: {url: \"http://127.0.0.1:1/\"}}\n" +
		"reports:\n  webhooks:\n" +
		"    - {url: \"https://hooks.example/${env:HOOK_TOKEN}\", headers: {Authorization: \"Bearer ${file:/nonexistent/hook}\"}}\n" +
		"    - {url: \"${env:HOOK_URL}\"}\n" +
		"  email: {server: \"smtp.example:587\", from: \"a@example.com\", to: [\"b@example.com\"], username: \"${env:SMTP_USER}\", password: \"${env:SMTP_PW}\"}\n"
	none := func(string) (string, bool) { return "", false }
	_, err := Parse("c.yaml", []byte(src), Options{LookupEnv: none})
	if err == nil || !strings.Contains(err.Error(), "HOOK_TOKEN is not set") {
		t.Errorf("without SecretsOptional: %v, want the unset variable named", err)
	}
	cfg, err := Parse("c.yaml", []byte(src), Options{LookupEnv: none, SecretsOptional: true})
	if err != nil {
		t.Fatalf("with SecretsOptional: %v", err)
	}
	if ws := cfg.Reports.Webhooks; len(ws) != 2 || ws[0].URL != "https://hooks.example/${env:HOOK_TOKEN}" || ws[1].URL != "${env:HOOK_URL}" {
		t.Errorf("webhooks = %+v, want both, as written", ws)
	}
	// Set, a URL that is not one is refused as ever.
	env := func(name string) (string, bool) { return "ftp://nowhere", true }
	if _, err := Parse("c.yaml", []byte(src), Options{LookupEnv: env, SecretsOptional: true, ReadFile: func(string) ([]byte, error) { return []byte("t"), nil }}); err == nil ||
		!strings.Contains(err.Error(), `reports.webhooks[1].url: invalid URL "${env:HOOK_URL}"`) {
		t.Errorf("a set secret that is no URL: %v", err)
	}
}

// A service's functions are its flows' in config order, each once; a
// teardown step that does not count adds none.
func TestServiceFunctions(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  Service
		want []string
	}{
		{"no flows", Service{}, nil},
		{"one flow", Service{Flows: []Flow{{Steps: []Step{{Function: "login"}, {Function: "send"}}}}}, []string{"login", "send"}},
		{"shared and new functions", Service{Flows: []Flow{
			{Steps: []Step{{Function: "login"}, {Function: "send"}}},
			{Steps: []Step{{Function: "login"}, {Function: "pay"}, {Function: "send"}}},
			{Session: &Session{Steps: []Step{{Function: "auth"}}}, Steps: []Step{{Function: "route"}},
				Teardown: []Step{{Function: "cleanup"}, {Function: "audit", Counts: true}}},
		}}, []string{"login", "send", "pay", "auth", "route", "audit"}},
	} {
		if got := tc.svc.Functions(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Functions = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A report webhook without a url says so; one whose url is invalid says
// that alone, not that the url is missing too.
func TestReportWebhookURLErrors(t *testing.T) {
	const flows = "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: f, request: {url: \"http://127.0.0.1:1/\"}}\n"
	for _, tc := range []struct{ hook, want string }{
		{`{headers: {X-A: b}}`, `c.yaml:9: reports.webhooks[0]: url is required`},
		{`{url: "ftp://hooks.example/"}`, `c.yaml:9: reports.webhooks[0].url: invalid URL "ftp://hooks.example/": want http:// or https:// and a host`},
		{`{url: "https://hooks.example/${nope}"}`, `c.yaml:9: reports.webhooks[0].url: ${nope}: only ${env:NAME} and ${file:PATH} can be used here`},
	} {
		_, err := Parse("c.yaml", []byte(flows+"reports:\n  webhooks:\n    - "+tc.hook+"\n"), Options{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: err =\n%v\nwant exactly\n%s", tc.hook, err, tc.want)
		}
	}
}

// TestWarningsTimelineOffsets: a time in a timeline whose UTC offset is not
// the one its own timezone had at that instant is almost always standard
// and daylight time confused (press reports gave Roblox's October 28, 2021
// start as "4 pm PST", when Los Angeles was on PDT, -07:00): written as
// -08:00, the declared incident moves an hour and its reconciliation with
// it. A warning at the time's line; UTC (Z, +00:00) is how providers'
// postmortems often give times and is not one.
func TestWarningsTimelineOffsets(t *testing.T) {
	files := map[string]string{
		"c.yaml": "services:\n  - name: account\n    timelines: [t.yaml]\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: login, request: {url: \"http://127.0.0.1:1/\"}}\n" +
			"          - {name: b, function: f1, request: {url: \"http://127.0.0.1:1/\"}}\n          - {name: c, function: f2, request: {url: \"http://127.0.0.1:1/\"}}\n          - {name: d, function: f3, request: {url: \"http://127.0.0.1:1/\"}}\n", // a function each: incidents that overlap on one are a warning of their own
		"t.yaml": "timezone: America/Los_Angeles\n" +
			"incidents:\n" +
			"  - {id: pdt, service: account, functions: [login], start: 2021-10-28T16:00:00-07:00, end: 2021-10-31T16:45:00-07:00}\n" +
			"  - id: pst-in-october\n" +
			"    service: account\n" +
			"    functions: [f1]\n" +
			"    start: 2021-10-28T16:00:00-08:00\n" +
			"    end: 2021-11-08T10:00:00-08:00\n" +
			"    notices:\n" +
			"      - {at: 2021-10-28T17:00:00-07:00, text: right}\n" +
			"      - {at: 2021-10-28T18:00:00-08:00, text: wrong}\n" +
			"  - {id: utc, service: account, functions: [f2], start: 2021-10-28T23:00:00Z, end: 2021-10-29T00:00:00+00:00}\n" +
			"  - {id: seoul, service: account, functions: [f3], start: 2021-10-28T16:00:00+09:00}\n",
	}
	read := func(name string) ([]byte, error) { return []byte(files[name]), nil }
	cfg, err := Parse("c.yaml", []byte(files["c.yaml"]), Options{ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%s:%d: %s: %s", w.File, w.Line, w.Key, w.Msg))
	}
	want := []string{
		`t.yaml:7: incidents[1].start: 2021-10-28T16:00:00-08:00 has the offset -08:00, but America/Los_Angeles (the timeline's timezone) was at -07:00 (PDT) then: if the provider gave the time in America/Los_Angeles, write 2021-10-28T16:00:00-07:00 (an hour apart)`,
		`t.yaml:11: incidents[1].notices[1].at: 2021-10-28T18:00:00-08:00 has the offset -08:00, but America/Los_Angeles (the timeline's timezone) was at -07:00 (PDT) then: if the provider gave the time in America/Los_Angeles, write 2021-10-28T18:00:00-07:00 (an hour apart)`,
		`t.yaml:13: incidents[3].start: 2021-10-28T16:00:00+09:00 has the offset +09:00, but America/Los_Angeles (the timeline's timezone) was at -07:00 (PDT) then: if the provider gave the time in America/Los_Angeles, write 2021-10-28T16:00:00-07:00 (16 hours apart)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A timeline without a timezone has nothing to compare with.
	files["t.yaml"] = strings.Replace(files["t.yaml"], "timezone: America/Los_Angeles\n", "", 1)
	if cfg, err = Parse("c.yaml", []byte(files["c.yaml"]), Options{ReadFile: read}); err != nil {
		t.Fatal(err)
	}
	if ws := cfg.Warnings("sqlite"); len(ws) != 0 {
		t.Errorf("without a timezone: warnings %+v, want none", ws)
	}
}
