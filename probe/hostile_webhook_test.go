package probe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/slaprobe/slaprobe/clock"
)

// Review of #9's webhook receive against hostile callers: floods, huge
// bodies, forged signatures, callbacks for runs that ended. The listener
// stays bounded and the run's await sees only what is its own.

// endlessReader yields n bytes of 'x' without holding them.
type endlessReader struct{ n int64 }

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return int(k), nil
}

func sign(body string) string {
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestHostileWebhookCallers(t *testing.T) {
	noLeaks(t)
	// The target answers the payment and calls back only when the test
	// says, so that hostile callers can go first.
	var hookURL, gate atomic.Value // gate: closed to send the run's genuine callback
	started := make(chan struct{}, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Callback string }
		b, _ := io.ReadAll(r.Body)
		fmt.Sscanf(strings.TrimPrefix(string(b), `{"callback":`), "%q", &body.Callback)
		hookURL.Store(body.Callback)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"tr-1"}`)
		ch := gate.Load().(chan struct{})
		started <- struct{}{}
		go func() {
			<-ch
			msg := `{"type":"transfer.settled","id":"tr-1"}`
			req, _ := http.NewRequest("POST", body.Callback, strings.NewReader(msg))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Signature", sign(msg))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}))
	t.Cleanup(target.Close)
	f := payFlow(target.URL)
	r, hooks, lis, flow := webhookRunner(t, f)
	post := func(url string, body io.Reader, sig string) int {
		req, _ := http.NewRequest("POST", url, body)
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("forged signatures and a huge body, then the genuine callback", func(t *testing.T) {
		genuine := make(chan struct{})
		gate.Store(genuine)
		done := make(chan Run, 1)
		go func() { done <- r.Run(context.Background(), flow) }()
		<-started
		url := hookURL.Load().(string)
		forged := `{"type":"transfer.settled","id":"tr-1"}`
		if code := post(url, strings.NewReader(forged), "sha256="+strings.Repeat("ab", 32)); code != http.StatusOK {
			t.Errorf("forged callback answered %d, want 200 (filed, then refused by the await)", code)
		}
		if code := post(url, strings.NewReader(forged), "sha256=not-hex"); code != http.StatusOK {
			t.Errorf("malformed signature answered %d", code)
		}
		var code int
		grew := heapGrowth(func() { code = post(url, &endlessReader{n: 256 << 20}, "") })
		if code != http.StatusRequestEntityTooLarge && code != 0 {
			t.Errorf("a 256 MiB callback answered %d, want 413", code)
		}
		if grew > 32<<20 {
			t.Errorf("a 256 MiB callback grew the heap by %d MiB", grew>>20)
		}
		close(genuine)
		run := <-done
		wantStep(t, run.Steps[1], StatusOK, "")
		// After the run: the same URL is late, and a replay of the
		// genuine callback does nothing.
		if code := post(url, strings.NewReader(forged), sign(forged)); code != http.StatusNotFound {
			t.Errorf("a callback after the run answered %d, want 404", code)
		}
		st := hooks.Stats()
		if st.Accepted != 3 || st.Rejected != 1 || st.Late != 1 || st.Unmatched != 0 {
			t.Errorf("stats %+v: want 3 accepted (two forged, the genuine), 1 rejected, 1 late", st)
		}
	})

	t.Run("a flood of callbacks", func(t *testing.T) {
		before := hooks.Stats()
		genuine := make(chan struct{})
		gate.Store(genuine)
		done := make(chan Run, 1)
		go func() { done <- r.Run(context.Background(), flow) }()
		<-started
		url := hookURL.Load().(string)
		var wg sync.WaitGroup
		var ok, refused, late atomic.Int64
		for range 16 {
			wg.Go(func() {
				for range 32 {
					switch post(url, strings.NewReader(`{"type":"noise"}`), "") {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusTooManyRequests:
						refused.Add(1)
					case http.StatusNotFound:
						late.Add(1)
					}
				}
			})
		}
		// And to tokens no run holds.
		for i := range 200 {
			if code := post(fmt.Sprintf("%s/webhooks/%032x", lis.URL, i), strings.NewReader("{}"), ""); code != http.StatusNotFound {
				t.Fatalf("a callback to no run answered %d", code)
			}
		}
		wg.Wait()
		// The run keeps 64, refuses the next (429) and then fails, ending
		// the run: the rest are late (404).
		if ok.Load() != maxRunCallbacks || refused.Load() < 1 || refused.Load()+late.Load() != 16*32-maxRunCallbacks {
			t.Errorf("%d accepted, %d refused, %d late; want %d accepted, the rest 429 then 404", ok.Load(), refused.Load(), late.Load(), maxRunCallbacks)
		}
		close(genuine) // too late: refused (the inbox is full) or late (the run ended)
		run := <-done
		// The run's inbox is full of noise: the await fails, saying so.
		if run.Steps[1].Status != StatusFailed || !strings.Contains(run.Steps[1].Error, "more than 64 messages") {
			t.Errorf("await after a flood: %s %q", run.Steps[1].Status, run.Steps[1].Error)
		}
		st := hooks.Stats()
		if d := st.Unmatched - before.Unmatched; d != 200 {
			t.Errorf("unmatched grew by %d, want 200 (no run; the await took and dropped the noise)", d)
		}
		hooks.mu.Lock()
		n := len(hooks.runs)
		hooks.mu.Unlock()
		if n != 0 {
			t.Errorf("%d runs still registered", n)
		}
	})
}

func TestWebhookRegistryBounded(t *testing.T) {
	// Ten thousand runs come and go: the registry remembers at most
	// maxEndedTokens of them, and holds none.
	hooks, err := NewWebhooks(WebhookOptions{PublicURL: "http://probe.test/webhooks"})
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 10_000 {
		url, _, release := hooks.register(fmt.Sprintf("run-%d", i), clock.Real{})
		if i == 0 {
			first = url
		}
		release()
	}
	hooks.mu.Lock()
	runs, ended, q := len(hooks.runs), len(hooks.ended), len(hooks.endedQ)
	hooks.mu.Unlock()
	if runs != 0 || ended != maxEndedTokens || q != maxEndedTokens {
		t.Errorf("runs %d, ended %d, queue %d; want 0, %d, %d", runs, ended, q, maxEndedTokens, maxEndedTokens)
	}
	// The oldest is forgotten: its callback is unmatched, no longer late.
	rec := httptest.NewRecorder()
	hooks.Handler().ServeHTTP(rec, httptest.NewRequest("POST", first[len("http://probe.test"):], strings.NewReader("{}")))
	if st := hooks.Stats(); rec.Code != http.StatusNotFound || st.Unmatched != 1 || st.Late != 0 {
		t.Errorf("a long-gone run's callback: %d, %+v", rec.Code, st)
	}
}

// TestUnknownTokenFloodCostsNothing pins what a flood of callbacks to
// tokens no run holds costs the webhooks listener (reachable from the
// internet through webhooks.public_url): no log line (a line per bad
// request would let anyone fill the prober's disk), nothing remembered
// (the registry's maps stay as they were), and the body left unread (a
// 64 MB body to a guessed token is answered 404 at once). Only the
// unmatched counter grows. Held already.
func TestUnknownTokenFloodCostsNothing(t *testing.T) {
	var logged strings.Builder
	var mu sync.Mutex
	hooks, err := NewWebhooks(WebhookOptions{PublicURL: "http://probe.test/webhooks",
		Logger: slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logged.Write(p)
		}), &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	_, _, release := hooks.register("run-1", clock.Real{})
	defer release()
	h := hooks.Handler()
	for i := range 5000 {
		path := fmt.Sprintf("/webhooks/%032x", i)
		if i%10 == 0 {
			path = "/webhooks/" + strings.Repeat("a", 8000) // a long URL
		}
		method := []string{"POST", "PUT", "GET", "DELETE", "PROPFIND"}[i%5]
		body := &endlessReader{n: 0}
		if i%100 == 0 {
			body.n = 64 << 20
		}
		size := body.n
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, body))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("%s %s: %d, want 404", method, path[:30], rec.Code)
		}
		if body.n != size {
			t.Fatalf("the body to an unknown token was read (%d of %d bytes)", size-body.n, size)
		}
	}
	hooks.mu.Lock()
	runs, ended := len(hooks.runs), len(hooks.ended)
	hooks.mu.Unlock()
	if runs != 1 || ended != 0 {
		t.Errorf("the registry holds %d runs and %d ended tokens after the flood, want 1 and 0", runs, ended)
	}
	if st := hooks.Stats(); st.Unmatched != 5000 || st.Accepted != 0 || st.Rejected != 0 {
		t.Errorf("stats %+v, want 5000 unmatched", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if logged.Len() != 0 {
		t.Errorf("the flood was logged:\n%.500s", logged.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
