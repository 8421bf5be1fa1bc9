package probe

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

func TestExtraction(t *testing.T) {
	_, srv := newTarget(t)
	// Each case extracts v in step "a" and sends it to /echo in step "b",
	// which asserts the server saw it.
	tests := []struct {
		name    string
		url     string
		extract config.Extract
		want    string // the value extracted; "" when step a should fail
		errText string
	}{
		{"jsonpath string", "/doc", config.Extract{JSONPath: "$.token"}, "tok-1", ""},
		{"jsonpath number", "/doc", config.Extract{JSONPath: "$.count"}, "3", ""},
		{"jsonpath first of several", "/doc", config.Extract{JSONPath: "$.messages[*].id"}, "m-1", ""},
		{"jsonpath object", "/doc", config.Extract{JSONPath: "$.obj"}, `{"k":"v"}`, ""},
		{"jsonpath nothing", "/doc", config.Extract{JSONPath: "$.nope"}, "", "a: extract v: $.nope selected nothing"},
		// A target's error page in place of JSON: the message names what
		// wanted JSON and shows what came.
		{"jsonpath on a text body", "/text", config.Extract{JSONPath: "$.id"}, "", `a: extract v: body is not JSON (got "hello world, order=ord-991 done")`},
		{"jsonpath on an empty body", "/status/204", config.Extract{JSONPath: "$.id"}, "", "a: extract v: body is empty, want JSON"},
		{"regex group", "/text", config.Extract{Regex: `order=(ord-\d+)`}, "ord-991", ""},
		{"regex whole match", "/text", config.Extract{Regex: `ord-\d+`}, "ord-991", ""},
		{"regex no match", "/text", config.Extract{Regex: `id=(\d+)`}, "", "a: extract v: no match for `id=(\\d+)`"},
		{"header", "/doc", config.Extract{Header: "x-request-id"}, "req-42", ""},
		{"header missing", "/doc", config.Extract{Header: "X-Nope"}, "", "a: extract v: no header X-Nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := get("a", srv.URL+tc.url)
			x := tc.extract
			x.Var = "v"
			a.Extract = []config.Extract{x}
			b := get("b", srv.URL+"/echo")
			b.Request.Method = "POST"
			b.Request.Body = "${v}"
			b.Expect.JSONPath = []config.PathMatch{{Path: "$.body", Matcher: eq(tc.want)}}
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{a, b}}, Options{})
			if tc.errText != "" {
				wantStep(t, run.Steps[0], StatusFailed, tc.errText)
				wantStep(t, run.Steps[1], StatusNotRun, "not run: step a failed")
				return
			}
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusOK, "")
		})
	}
}

func TestTemplating(t *testing.T) {
	_, srv := newTarget(t)
	vars := []config.Var{
		{Name: "user", Value: "probe-${location}"},
		{Name: "greeting", Value: "hi ${user}"}, // uses the one before
		{Name: "password", Value: "${env:PW}"},
	}
	echo := func(req config.Request, checks ...config.PathMatch) config.Step {
		req.URL = srv.URL + req.URL
		return config.Step{Name: "echo", Function: "f", Request: req, Expect: config.Expect{JSONPath: checks}}
	}
	pm := func(p, want string) config.PathMatch { return config.PathMatch{Path: p, Matcher: eq(want)} }
	tests := []struct {
		name string
		step config.Step
	}{
		{"url path and query", echo(config.Request{URL: "/echo?u=${user}&r=${run.id}"},
			pm("$.query", "u=probe-seoul-a&r=run-1"))},
		{"header", echo(config.Request{URL: "/echo", Headers: map[string]string{"X-Who": "${greeting}", "authorization": "Bearer ${password}"}},
			pm("$.headers['X-Who'][0]", "hi probe-seoul-a"), pm("$.headers['Authorization'][0]", "Bearer "+testSecret))},
		{"host header", echo(config.Request{URL: "/echo", Headers: map[string]string{"Host": "${user}.example"}},
			pm("$.host", "probe-seoul-a.example"))},
		{"default user agent", echo(config.Request{URL: "/echo"}, pm("$.headers['User-Agent'][0]", "slaprobe"))},
		{"json body", echo(config.Request{Method: "post", URL: "/echo", JSON: map[string]any{
			"user": "${user}", "n": 3, "ok": true, "nil": nil,
			"nested": []any{"${run.id}", map[string]any{"${user}": "$${literal}"}, 1.5},
			"quote":  "say \"${greeting}\"\n",
		}},
			pm("$.method", "POST"),
			pm("$.body", `{"n":3,"nested":["run-1",{"probe-seoul-a":"$${literal}"},1.5],"nil":null,"ok":true,"quote":"say \"hi probe-seoul-a\"\n","user":"probe-seoul-a"}`),
			pm("$.headers['Content-Type'][0]", "application/json"))},
		{"json body static", echo(config.Request{Method: "POST", URL: "/echo", JSON: []any{1, "a"}}, pm("$.body", `[1,"a"]`))},
		{"json body typed map", echo(config.Request{Method: "POST", URL: "/echo", JSON: map[string]string{"u": "${user}"}}, pm("$.body", `{"u":"probe-seoul-a"}`))},
		{"content type kept", echo(config.Request{Method: "POST", URL: "/echo", JSON: "x", Headers: map[string]string{"Content-Type": "application/vnd+json"}},
			pm("$.headers['Content-Type'][0]", "application/vnd+json"))},
		{"form body", echo(config.Request{Method: "POST", URL: "/echo", Form: map[string]string{"user": "${user}", "pw": "${password}"}},
			pm("$.body", "pw="+testSecret+"&user=probe-seoul-a"),
			pm("$.headers['Content-Type'][0]", "application/x-www-form-urlencoded"))},
		{"raw body with file secret", echo(config.Request{Method: "PUT", URL: "/echo", Body: "key=${file:/run/key} $${not} $5"},
			pm("$.body", "key=k3y-file-value $${not} $5"))},
		{"now builtin", echo(config.Request{URL: "/echo?t=${now}"}, pm("$.query", "t=2026-05-05T12:47:00Z"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := clock.NewManual(time.Date(2026, 5, 5, 21, 47, 0, 0, time.FixedZone("KST", 9*3600)))
			ctx := clock.NewContext(context.Background(), m)
			run := runOne(t, ctx, config.Flow{Vars: vars, Steps: []config.Step{tc.step}},
				Options{NewID: func() string { return "run-1" }})
			if run.ID != "run-1" {
				t.Errorf("run id %q", run.ID)
			}
			// The secret may appear in a legitimate comparison, but never in the error.
			if strings.Contains(run.Steps[0].Error, testSecret) {
				t.Errorf("secret in error: %q", run.Steps[0].Error)
			}
			wantStep(t, run.Steps[0], StatusOK, "")
		})
	}
}

func TestNewRunnerErrors(t *testing.T) {
	tests := []struct {
		name string
		flow config.Flow
		want string
	}{
		{"undefined var", config.Flow{Steps: []config.Step{get("s", "http://x/${nope}")}}, "step s: url: undefined variable ${nope}"},
		{"var used before defined", config.Flow{Vars: []config.Var{{Name: "a", Value: "${b}"}, {Name: "b", Value: "1"}},
			Steps: []config.Step{get("s", "http://x/")}}, "var a: undefined variable ${b}"},
		{"extract used in same step", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{URL: "http://x/${t}"},
			Extract: []config.Extract{{Var: "t", JSONPath: "$.t"}}}}}, "undefined variable ${t}"},
		{"unterminated", config.Flow{Steps: []config.Step{get("s", "http://x/${a")}}, "unterminated ${"},
		{"missing secret", config.Flow{Vars: []config.Var{{Name: "p", Value: "${env:NOPE}"}}, Steps: []config.Step{get("s", "http://x/")}},
			"secret ${env:NOPE} is not loaded"},
		{"bad jsonpath", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{URL: "http://x/"},
			Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.[", Matcher: eq("x")}}}}}}, `jsonpath "$.["`},
		{"bad regex", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{URL: "http://x/"},
			Extract: []config.Extract{{Var: "v", Regex: "("}}}}}, "extract v: regex"},
		{"empty matcher", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{URL: "http://x/"},
			Expect: config.Expect{Body: &config.Matcher{}}}}}, "matcher needs exactly one condition"},
		{"two bodies", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{URL: "http://x/", Body: "a", Form: map[string]string{}}}}},
			"more than one of json, form, body"},
		{"no steps", config.Flow{}, "no steps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRunner(testConfig(tc.flow), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestBadFlowAtRun(t *testing.T) {
	// A flow not in the config is compiled on first use; if it is bad, its
	// first step fails with the reason and the rest are not run.
	r, err := NewRunner(testConfig(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &config.Flow{Name: "adhoc", Steps: []config.Step{get("a", "http://x/${nope}"), get("b", "http://x/")}}
	run := r.Run(context.Background(), f)
	wantStep(t, run.Steps[0], StatusFailed, "a: flow adhoc: step a: url: undefined variable ${nope}")
	wantStep(t, run.Steps[1], StatusNotRun, "not run: step a failed")
	if run := r.Run(context.Background(), nil); len(run.Steps) != 0 {
		t.Errorf("nil flow: %+v", run)
	}
}

func TestPoll(t *testing.T) {
	tests := []struct {
		name      string
		deliverAt int64
		every     time.Duration
		within    time.Duration
		manual    bool
		status    Status
		errText   string
		attempts  int
	}{
		{"delivered on third try", 3, 500 * time.Millisecond, 10 * time.Second, true, StatusOK, "", 3},
		{"never delivered", 0, 500 * time.Millisecond, 10 * time.Second, true, StatusFailed,
			`receive: expectation not met within 10s: $.messages[*].id does not contain "m-17"`, 21},
		{"real clock delivered", 2, 10 * time.Millisecond, 2 * time.Second, false, StatusOK, "", 2},
		{"real clock deadline", 0, 10 * time.Millisecond, 50 * time.Millisecond, false, StatusFailed,
			`receive: expectation not met within 50ms: $.messages[*].id does not contain "m-17"`, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, srv := newTarget(t)
			tg.deliverAt = tc.deliverAt
			st := get("receive", srv.URL+"/inbox?after=m-1")
			st.Poll = &config.Poll{Every: tc.every, Within: tc.within}
			st.Expect.JSONPath = []config.PathMatch{{Path: "$.messages[*].id", Matcher: config.Matcher{Contains: sp("m-17")}}}
			ctx := context.Background()
			var m *clock.Manual
			if tc.manual {
				m = clock.NewManual(time.Date(2021, 5, 5, 21, 47, 0, 0, time.UTC))
				ctx = clock.NewContext(ctx, m)
			}
			begin := time.Now()
			run := runOne(t, ctx, config.Flow{Timeout: time.Minute, Steps: []config.Step{st}}, Options{})
			s := run.Steps[0]
			if !tc.manual && tc.status == StatusFailed {
				// On the real clock an attempt may be under way at the
				// deadline, which the message then says; both are right
				// (a clean-clone CI met the second under -race).
				if s.Status == tc.status && s.Error == tc.errText+StillWaitingNote {
					s.Error = tc.errText
				}
			}
			wantStep(t, s, tc.status, tc.errText)
			if tc.attempts > 0 && s.Attempts != tc.attempts {
				t.Errorf("attempts = %d, want %d", s.Attempts, tc.attempts)
			}
			if tc.manual {
				if real := time.Since(begin); real > 2*time.Second {
					t.Errorf("virtual poll took %s of real time", real)
				}
				want := time.Duration(s.Attempts-1) * tc.every
				if s.Duration != want || m.Now().Sub(run.Start) != want {
					t.Errorf("virtual duration %s, clock moved %s, want %s", s.Duration, m.Now().Sub(run.Start), want)
				}
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	_, srv := newTarget(t)
	tests := []struct {
		name        string
		flowTimeout time.Duration
		stepTimeout time.Duration
		poll        *config.Poll
		errText     string
		between     bool // the deadline may fall between attempts
	}{
		{"step timeout", 5 * time.Second, 100 * time.Millisecond, nil, "slow: timeout after 100ms", false},
		{"flow timeout", 150 * time.Millisecond, 0, nil, "slow: flow timeout after 150ms", false},
		{"flow timeout while polling", 150 * time.Millisecond, 0, &config.Poll{Every: 20 * time.Millisecond, Within: 10 * time.Second},
			"slow: flow timeout after 150ms", true},
		// A poll lasts at most within, also when an attempt hangs (it ran
		// until the flow's timeout).
		{"an attempt hangs past within", 5 * time.Second, 0, &config.Poll{Every: 20 * time.Millisecond, Within: 150 * time.Millisecond},
			"slow: expectation not met within 150ms: timeout", false},
		{"an attempt hangs past within, step timeout later", 5 * time.Second, 3 * time.Second, &config.Poll{Every: 20 * time.Millisecond, Within: 150 * time.Millisecond},
			"slow: expectation not met within 150ms: timeout", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := get("slow", srv.URL+"/slow?d=5s")
			if tc.poll != nil && tc.poll.Within > tc.flowTimeout {
				st.Request.URL = srv.URL + "/status/503"
			}
			st.Poll = tc.poll
			st.Timeout = tc.stepTimeout
			begin := time.Now()
			run := runOne(t, context.Background(), config.Flow{Timeout: tc.flowTimeout,
				Steps: []config.Step{st, get("after", srv.URL+"/doc")}}, Options{})
			took := time.Since(begin)
			// Cut waiting for the answer, it says so; a poll of quick 503s
			// (every 20 ms) is cut between its attempts, waiting for none,
			// or in whatever phase an attempt was in at the deadline (under
			// load, reading a 503's headers or body as well as waiting).
			host := strings.TrimPrefix(srv.URL, "http://")
			waiting := tc.errText + " waiting for response headers from " + host
			got := run.Steps[0].Error
			ok := got == waiting
			if tc.between {
				ok = ok || got == tc.errText
				for _, phase := range []string{"connecting to ", "sending the request to ", "reading the response headers from ", "reading the body from "} {
					ok = ok || strings.HasPrefix(got, tc.errText+" "+phase+host)
				}
			}
			if !ok {
				t.Errorf("step slow: got %q, want %q", got, waiting)
			}
			wantStep(t, run.Steps[1], StatusNotRun, "not run: step slow failed")
			limit := tc.flowTimeout
			if tc.stepTimeout > 0 {
				limit = tc.stepTimeout
			}
			if tc.poll != nil {
				limit = min(limit, tc.poll.Within)
			}
			if took > limit+500*time.Millisecond {
				t.Errorf("run took %s, limit %s", took, limit)
			}
		})
	}
}

// TestPollLongPollCutAtWithin: a receive that long-polls (a Matrix /sync
// with timeout=10000, an inbox with ?wait=) is nearly always waiting on an
// attempt when within runs out. The step fails with what the answer before
// that attempt said (the message was not there, HTTP 200), not "timeout"
// with no HTTP status, which read as a hung endpoint in every window of a
// message that was accepted and never delivered.
func TestPollLongPollCutAtWithin(t *testing.T) {
	tests := []struct {
		name     string
		answered int64 // attempts answered at once before the rest hang
		status   int   // the answered attempts' status
		errText  string
		http     int
	}{
		{"answered without the message, then cut", 1, 200,
			`inbox: expectation not met within 200ms: $.messages[*].id does not contain "m-17" (the attempt after it was still waiting at the deadline)`, 200},
		{"answered 503 twice, then cut", 2, 503,
			`inbox: expectation not met within 200ms: status 503, want 200 (the attempt after it was still waiting at the deadline)`, 503},
		{"no attempt answered", 0, 200, "inbox: expectation not met within 200ms: timeout", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) > tc.answered {
					<-r.Context().Done() // a long poll with nothing new
					return
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, `{"messages":[{"id":"m-1"}]}`)
			}))
			t.Cleanup(srv.Close)
			st := get("inbox", srv.URL+"/inbox")
			st.Poll = &config.Poll{Every: 10 * time.Millisecond, Within: 200 * time.Millisecond}
			st.Expect = config.Expect{Status: []int{200}, JSONPath: []config.PathMatch{{Path: "$.messages[*].id", Matcher: config.Matcher{Contains: sp("m-17")}}}}
			run := runOne(t, context.Background(), config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{st}}, Options{})
			s := run.Steps[0]
			want := tc.errText
			if tc.answered == 0 { // cut waiting for the answer: it says so
				want += " waiting for response headers from " + strings.TrimPrefix(srv.URL, "http://")
			}
			wantStep(t, s, StatusFailed, want)
			if s.HTTPStatus != tc.http || s.Attempts != int(tc.answered)+1 {
				t.Errorf("http_status %d after %d attempts, want %d after %d", s.HTTPStatus, s.Attempts, tc.http, tc.answered+1)
			}
		})
	}
}

func TestVirtualTimeout(t *testing.T) {
	tg := &target{}
	tests := []struct {
		name        string
		url         string
		stepTimeout time.Duration
		flowTimeout time.Duration
		latency     time.Duration
		status      Status
		errText     string
	}{
		{"step over its timeout", "/advance?d=5s", 2 * time.Second, 10 * time.Second, 0, StatusFailed, "slow: timeout after 2s"},
		{"flow over its timeout", "/advance?d=12s", 0, 10 * time.Second, 0, StatusFailed, "slow: flow timeout after 10s"},
		{"within timeout but degraded", "/advance?d=3s", 5 * time.Second, 10 * time.Second, 2 * time.Second, StatusDegraded,
			"slow: latency 3s over objective 2s"},
		{"within timeout", "/advance?d=1s", 2 * time.Second, 10 * time.Second, 2 * time.Second, StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := clock.NewManual(time.Date(2022, 10, 15, 15, 19, 0, 0, time.UTC))
			ctx := clock.NewContext(context.Background(), m)
			st := get("slow", "http://platform.test"+tc.url)
			st.Timeout = tc.stepTimeout
			st.Expect.Latency = tc.latency
			run := runOne(t, ctx, config.Flow{Timeout: tc.flowTimeout, Steps: []config.Step{st, get("next", "http://platform.test/doc")}},
				Options{Transport: inProcess{tg.handler()}})
			wantStep(t, run.Steps[0], tc.status, tc.errText)
			if run.Start != time.Date(2022, 10, 15, 15, 19, 0, 0, time.UTC) {
				t.Errorf("start %s, want the virtual time", run.Start)
			}
			if tc.status == StatusFailed {
				wantStep(t, run.Steps[1], StatusNotRun, "not run: step slow failed")
				return
			}
			if p := run.Steps[0].Phases.Processing; p != run.Steps[0].Duration {
				t.Errorf("processing %s, want the virtual %s", p, run.Steps[0].Duration)
			}
		})
	}
}

func TestNotRunPropagation(t *testing.T) {
	_, srv := newTarget(t)
	steps := []config.Step{get("login", srv.URL+"/doc"), get("send", srv.URL+"/status/503"), get("receive", srv.URL+"/doc"), get("media", srv.URL+"/doc")}
	steps[1].Expect.Status = []int{201}
	run := runOne(t, context.Background(), config.Flow{Steps: steps}, Options{})
	wantStep(t, run.Steps[0], StatusOK, "")
	wantStep(t, run.Steps[1], StatusFailed, "send: status 503, want 201")
	wantStep(t, run.Steps[2], StatusNotRun, "not run: step send failed")
	wantStep(t, run.Steps[3], StatusNotRun, "not run: step send failed")
	if run.OK() || run.FirstFailure().Step != "send" || run.Steps[1].HTTPStatus != 503 || run.Steps[2].Attempts != 0 {
		t.Errorf("run %+v", run)
	}
}

func TestLimits(t *testing.T) {
	_, srv := newTarget(t)
	tests := []struct {
		name    string
		flow    config.Flow
		status  Status
		errText string
	}{
		{"endless body", config.Flow{MaxBodyBytes: 64 << 10, Steps: []config.Step{get("s", srv.URL+"/endless")}},
			StatusFailed, "s: body larger than 65536 bytes"},
		{"body at the limit", config.Flow{MaxBodyBytes: 16, Steps: []config.Step{get("s", srv.URL+"/hops/0")}}, StatusOK, ""},
		{"body one over", config.Flow{MaxBodyBytes: 15, Steps: []config.Step{get("s", srv.URL+"/hops/0")}},
			StatusFailed, "s: body larger than 15 bytes"},
		{"redirect loop", config.Flow{MaxRedirects: 3, Steps: []config.Step{get("s", srv.URL+"/loop")}},
			StatusFailed, "s: stopped after 3 redirects"},
		{"redirects within limit", config.Flow{MaxRedirects: 3, Steps: []config.Step{get("s", srv.URL+"/hops/3")}}, StatusOK, ""},
		{"redirect default limit", config.Flow{Steps: []config.Step{get("s", srv.URL+"/hops/6")}},
			StatusFailed, "s: stopped after 5 redirects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			begin := time.Now()
			run := runOne(t, context.Background(), tc.flow, Options{})
			wantStep(t, run.Steps[0], tc.status, tc.errText)
			if took := time.Since(begin); took > 2*time.Second {
				t.Errorf("took %s", took)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 8<<20 {
				t.Errorf("allocated %d bytes", grew)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	tg := &target{}
	srv := newTLSServer(t, tg.handler())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     config.TLS
		status  Status
		errText string
	}{
		{"unknown authority", config.TLS{}, StatusFailed, "s: tls: certificate signed by unknown authority"},
		{"ca file", config.TLS{CAFile: caFile}, StatusOK, ""},
		{"ca file wrong name", config.TLS{CAFile: caFile, ServerName: "other.test"}, StatusFailed,
			"s: tls: x509: certificate is valid for example.com, *.example.com, not other.test"},
		{"insecure when asked", config.TLS{InsecureSkipVerify: true}, StatusOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{TLS: tc.tls, Steps: []config.Step{get("s", srv.URL+"/doc")}}, Options{})
			wantStep(t, run.Steps[0], tc.status, tc.errText)
			if tc.status == StatusOK && run.Steps[0].Phases.TLS <= 0 {
				t.Errorf("no tls phase: %+v", run.Steps[0].Phases)
			}
		})
	}
	t.Run("bad ca file", func(t *testing.T) {
		_, err := NewRunner(testConfig(config.Flow{TLS: config.TLS{CAFile: filepath.Join(t.TempDir(), "none.pem")}, Steps: []config.Step{get("s", srv.URL)}}), Options{})
		if err == nil || !strings.Contains(err.Error(), "tls: read CA file") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCookieJarPerRun(t *testing.T) {
	_, srv := newTarget(t)
	login := get("login", srv.URL+"/login")
	login.Request.Method = "POST"
	login.Request.JSON = map[string]any{"user": "u1", "password": "${env:PW}"}
	who := get("whoami", srv.URL+"/whoami")
	who.Expect.JSONPath = []config.PathMatch{{Path: "$.session", Matcher: eq("sess-u1")}}
	cfg := testConfig(config.Flow{Name: "with-login", Steps: []config.Step{login, who}}, config.Flow{Name: "no-login", Steps: []config.Step{who}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdle()
	run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
	wantStep(t, run.Steps[1], StatusOK, "")
	// A later run starts with an empty jar.
	run = r.Run(context.Background(), &cfg.Services[0].Flows[1])
	wantStep(t, run.Steps[0], StatusFailed, `whoami: status 403, want 200-399: "no session"`)
}

func TestSecretsRedacted(t *testing.T) {
	_, srv := newTarget(t)
	tests := []struct {
		name string
		flow config.Flow
		want string
	}{
		{"echoed in a failed equals", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{
			Method: "POST", URL: srv.URL + "/echo", Body: "${env:PW}"},
			Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.body", Matcher: eq("x")}}}}}},
			`s: $.body does not equal "x" (got "***")`},
		{"var built from a secret", config.Flow{Vars: []config.Var{{Name: "auth", Value: "Basic ${env:PW}"}},
			Steps: []config.Step{{Name: "s", Request: config.Request{URL: srv.URL + "/echo", Headers: map[string]string{"Authorization": "${auth}"}},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.headers['Authorization']", Matcher: config.Matcher{Contains: sp("x")}}}}}}},
			`s: $.headers['Authorization'] does not contain "x"`},
		{"in a bad url", config.Flow{Steps: []config.Step{get("s", "http://[::1%${env:PW}/")}}, `s: url: not a valid URL once its secrets are filled in`},
		{"in a failed login", config.Flow{Steps: []config.Step{{Name: "s", Request: config.Request{
			Method: "POST", URL: srv.URL + "/login", JSON: map[string]any{"password": "${env:PW}x"}},
			Expect: config.Expect{Status: []int{401}, Body: &config.Matcher{Equals: sp("ok")}}}}},
			`s: body does not equal "ok" (got "{\"error\":\"bad password \"***x\"\"}")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), tc.flow, Options{})
			e := run.Steps[0].Error
			if strings.Contains(e, testSecret) || !strings.HasPrefix(e, tc.want) {
				t.Errorf("error %q, want prefix %q and no secret", e, tc.want)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name, url, want string
	}{
		{"refused", "http://" + addr + "/", "s: connection refused (" + addr + ")"},
		{"no such host", "http://no-such-host.invalid/", "s: dns: no such host no-such-host.invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{get("s", tc.url)}}, Options{})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}

func TestPhases(t *testing.T) {
	_, srv := newTarget(t)
	run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{get("a", srv.URL+"/hops/2"), get("b", srv.URL+"/doc")}}, Options{})
	a, b := run.Steps[0], run.Steps[1]
	if a.Status != StatusOK || b.Status != StatusOK {
		t.Fatalf("steps %+v", run.Steps)
	}
	if a.Phases.Connect <= 0 || a.Phases.Processing <= 0 || a.Phases.Transfer <= 0 {
		t.Errorf("first step phases %+v: want connect, processing and transfer", a.Phases)
	}
	if b.Phases.Connect != 0 {
		t.Errorf("second step reconnected (%+v): keep-alive not used", b.Phases)
	}
	if b.Phases.Processing <= 0 {
		t.Errorf("second step phases %+v", b.Phases)
	}
	sum := a.Phases.Resolve + a.Phases.Connect + a.Phases.TLS + a.Phases.Processing + a.Phases.Transfer
	if sum > a.Duration {
		t.Errorf("phases sum %s > duration %s", sum, a.Duration)
	}
	if run.Duration < a.Duration+b.Duration || run.Location != "seoul-a" || run.Service != "svc" || len(run.ID) != 16 {
		t.Errorf("run %+v", run)
	}
}

func TestTransportTuned(t *testing.T) {
	tr, err := NewTransport(config.TLS{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.MaxIdleConnsPerHost != 64 || tr.IdleConnTimeout != 90*time.Second || tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("transport %+v", tr)
	}
}

func TestRunCanceled(t *testing.T) {
	_, srv := newTarget(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	run := runOne(t, ctx, config.Flow{Steps: []config.Step{get("s", srv.URL+"/doc")}}, Options{})
	wantStep(t, run.Steps[0], StatusFailed, "s: canceled: context canceled")
}

func TestConcurrentRuns(t *testing.T) {
	_, srv := newTarget(t)
	a := get("a", srv.URL+"/doc")
	a.Extract = []config.Extract{{Var: "tok", JSONPath: "$.token"}}
	b := get("b", srv.URL+"/echo?t=${tok}&r=${run.id}")
	b.Expect.JSONPath = []config.PathMatch{{Path: "$.query", Matcher: config.Matcher{Matches: "^t=tok-1&r=[0-9a-f]{16}$"}}}
	cfg := testConfig(config.Flow{Steps: []config.Step{a, b}}, config.Flow{Name: "failing", Steps: []config.Step{get("x", srv.URL+"/status/500"), a, b}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseIdle()
	const n = 16
	results := make(chan Run, n)
	for i := range n {
		go func() { results <- r.Run(context.Background(), &cfg.Services[0].Flows[i%2]) }()
	}
	ids := map[string]bool{}
	for range n {
		run := <-results
		ids[run.ID] = true
		want := run.Flow == "flow"
		if run.OK() != want {
			t.Errorf("run %s of %s: ok=%v, steps %+v", run.ID, run.Flow, run.OK(), run.Steps)
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct run ids, want %d", len(ids), n)
	}
}
