package probe

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

const hookSecret = "whsec-test"

// payTarget is a payments API that calls the merchant back: POST /pay
// {callback} answers 201 {id} and, unless told otherwise, POSTs
// {"type":"transfer.settled","id"} to the callback, signed with hookSecret.
type payTarget struct {
	badSig   atomic.Bool
	noCall   atomic.Bool
	method   string
	calls    atomic.Int64
	lastHook atomic.Value // string: the last callback URL
}

func (p *payTarget) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /pay", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Callback string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		id := fmt.Sprintf("tr-%d", p.calls.Add(1))
		p.lastHook.Store(in.Callback)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q}`, id)
		if p.noCall.Load() {
			return
		}
		body := fmt.Sprintf(`{"type":"transfer.settled","id":%q}`, id)
		go p.call(in.Callback, body) // asynchronously, as a real provider
	})
	return mux
}

func (p *payTarget) call(url, body string) {
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write([]byte(body))
	sig := hex.EncodeToString(m.Sum(nil))
	if p.badSig.Load() {
		sig = strings.Repeat("0", 64)
	}
	method := p.method
	if method == "" {
		method = http.MethodPost
	}
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature", "sha256="+sig)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

func payFlow(base string) config.Flow {
	pay := config.Step{Name: "pay", Function: "send", Request: config.Request{Method: "POST", URL: base + "/pay",
		JSON: map[string]any{"callback": "${webhook.url}"}}, Extract: []config.Extract{{Var: "id", JSONPath: "$.id"}}}
	settled := config.Step{Name: "settled", Function: "receive", Timeout: 2 * time.Second,
		Await: &config.Await{Webhook: &config.WebhookWait{Method: "POST",
			HMAC: &config.HMACVerify{Secret: "${env:HOOK}", Header: "X-Signature", Prefix: "sha256=", Encoding: "hex"}}},
		Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.id", Matcher: eq("${id}")}},
			Headers: []config.HeaderMatch{{Name: "Content-Type", Matcher: config.Matcher{Contains: sp("json")}}}}}
	return config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{pay, settled}}
}

// webhookRunner builds a runner for flow with a webhook listener.
func webhookRunner(t *testing.T, f config.Flow) (*Runner, *Webhooks, *httptest.Server, *config.Flow) {
	t.Helper()
	cfg := testConfig(f)
	cfg.Secrets["env:HOOK"] = hookSecret
	mux := http.NewServeMux()
	lis := httptest.NewServer(mux)
	t.Cleanup(lis.Close)
	hooks, err := NewWebhooks(WebhookOptions{PublicURL: lis.URL + "/webhooks/"})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/webhooks/", hooks.Handler())
	r, err := NewRunner(cfg, Options{Webhooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	return r, hooks, lis, &cfg.Services[0].Flows[0]
}

func TestWebhookAwait(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*payTarget)
		status  Status
		errText string
	}{
		{name: "signed callback", status: StatusOK},
		{name: "bad signature", setup: func(p *payTarget) { p.badSig.Store(true) }, status: StatusFailed,
			errText: "settled: timeout after 2s: the only callback did not match: X-Signature signature does not match the body (got \"{\\\"type\\\":\\\"transfer.settled\\\",\\\"id\\\":\\\"tr-1\\\"}\")"},
		{name: "wrong method", setup: func(p *payTarget) { p.method = "PUT" }, status: StatusFailed,
			errText: "settled: timeout after 2s: the only callback did not match: method PUT, want POST (got \"{\\\"type\\\":\\\"transfer.settled\\\",\\\"id\\\":\\\"tr-1\\\"}\")"},
		{name: "never called", setup: func(p *payTarget) { p.noCall.Store(true) }, status: StatusFailed,
			errText: "settled: timeout after 2s: no callback"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt := &payTarget{}
			if tc.setup != nil {
				tc.setup(pt)
			}
			target := httptest.NewServer(pt.handler())
			t.Cleanup(target.Close)
			r, hooks, _, f := webhookRunner(t, payFlow(target.URL))
			run := r.Run(context.Background(), f)
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], tc.status, tc.errText)
			if st := hooks.Stats(); tc.status == StatusOK && st.Accepted != 1 {
				t.Errorf("stats %+v, want 1 accepted", st)
			}
			hook, _ := pt.lastHook.Load().(string)
			if !strings.HasPrefix(hook, "http://") || !strings.Contains(hook, "/webhooks/") {
				t.Errorf("${webhook.url} = %q", hook)
			}
		})
	}
}

func TestWebhookURLPerRunAndLateCallbacks(t *testing.T) {
	pt := &payTarget{}
	pt.noCall.Store(true)
	target := httptest.NewServer(pt.handler())
	t.Cleanup(target.Close)
	f := payFlow(target.URL)
	f.Steps = f.Steps[:1] // pay only: nothing awaits
	r, hooks, lis, flow := webhookRunner(t, f)
	ids := []string{"run-a", "run-b"}
	r.newID = func() string { id := ids[0]; ids = ids[1:]; return id }
	r.Run(context.Background(), flow)
	first, _ := pt.lastHook.Load().(string)
	r.Run(context.Background(), flow)
	second, _ := pt.lastHook.Load().(string)
	if first == second || first == "" {
		t.Fatalf("webhook URLs of two runs: %q and %q, want distinct", first, second)
	}
	post := func(url string, body []byte) int {
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(first, []byte(`{}`)); code != http.StatusNotFound {
		t.Errorf("late callback answered %d, want 404", code)
	}
	if code := post(lis.URL+"/webhooks/0123456789abcdef", []byte(`{}`)); code != http.StatusNotFound {
		t.Errorf("unknown callback answered %d, want 404", code)
	}
	if st := hooks.Stats(); st.Late != 1 || st.Unmatched != 1 || st.Accepted != 0 {
		t.Errorf("stats %+v, want 1 late, 1 unmatched", st)
	}
}

func TestWebhookLimits(t *testing.T) {
	hooks, err := NewWebhooks(WebhookOptions{PublicURL: "http://probe.test/webhooks", MaxBodyBytes: 16})
	if err != nil {
		t.Fatal(err)
	}
	url, box, release := hooks.register("run-1", clock.Real{})
	tok := url[strings.LastIndexByte(url, '/'):]
	h := hooks.Handler()
	send := func(body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/webhooks"+tok, strings.NewReader(body)))
		return rec.Code
	}
	if code := send(strings.Repeat("x", 17)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized callback answered %d, want 413", code)
	}
	for i := range maxRunCallbacks {
		if code := send("{}"); code != http.StatusOK {
			t.Fatalf("callback %d answered %d", i, code)
		}
	}
	if code := send("{}"); code != http.StatusTooManyRequests {
		t.Errorf("callback over the run's limit answered %d, want 429", code)
	}
	if n := box.pending(); n != maxRunCallbacks {
		t.Errorf("%d callbacks kept, want %d", n, maxRunCallbacks)
	}
	release()
	st := hooks.Stats()
	if st.Rejected != 2 || st.Accepted != maxRunCallbacks || st.Unmatched != maxRunCallbacks {
		t.Errorf("stats %+v: want 2 rejected, %d accepted and left unread (unmatched)", st, maxRunCallbacks)
	}
	hooks.mu.Lock()
	n := len(hooks.runs)
	hooks.mu.Unlock()
	if n != 0 {
		t.Errorf("%d runs still registered after release", n)
	}
}

// An await on callbacks that none of matches says why the one that came
// closest did not, whatever order they came in: a callback with the wrong
// method got least far, then one with a bad signature, then a signed one
// for another transfer; the last of them was any, and the window's cause
// with it.
func TestWebhookAwaitClosest(t *testing.T) {
	const want = `settled: timeout after 2s: none of 2-9 callbacks matched; closest: $.id does not equal "tr-1" (got "other")`
	for _, order := range [][]string{{"method", "sig", "other"}, {"other", "sig", "method"}, {"sig", "other", "method"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /pay", func(w http.ResponseWriter, r *http.Request) {
				var in struct{ Callback string }
				_ = json.NewDecoder(r.Body).Decode(&in)
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, `{"id":"tr-1"}`)
				go func() { // in order, one after the other
					for _, c := range order {
						p := &payTarget{}
						body := `{"type":"transfer.settled","id":"tr-1"}`
						switch c {
						case "method":
							p.method = http.MethodPut
						case "sig":
							p.badSig.Store(true)
						case "other":
							body = `{"type":"transfer.settled","id":"other"}`
						}
						p.call(in.Callback, body)
					}
				}()
			})
			target := httptest.NewServer(mux)
			t.Cleanup(target.Close)
			r, _, _, f := webhookRunner(t, payFlow(target.URL))
			run := r.Run(context.Background(), f)
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusFailed, want)
		})
	}
}
