package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestCentrifugoSaysTokenExpired pins what Centrifugo v6.9.1 says, on each
// of its transports, to a connection token whose exp has passed: the words
// slaprobe's default session_expired knows (probe/expiry.go). The
// bidirectional WebSocket answers the connect command with error 109; the
// unidirectional WebSocket sends a disconnect push with 3005 and closes
// with 3005; uni_sse sends the same push as an event, uni_http_stream as a
// line, and both end the stream.
func TestCentrifugoSaysTokenExpired(t *testing.T) {
	c := startCentrifugo(t)
	token := c.connToken(t, "probe", []string{"probe"}, time.Second)
	time.Sleep(2100 * time.Millisecond) // past its exp (whole seconds)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cf := url.QueryEscape(`{"token":"` + token + `"}`)
	const disconnect = `{"disconnect":{"code":3005,"reason":"connection expired"}}`

	ws, _, err := websocket.Dial(ctx, c.url+"/connection/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte(`{"id":1,"connect":{"token":"`+token+`"}}`))
	if _, b, err := ws.Read(ctx); err != nil || string(b) != `{"id":1,"error":{"code":109,"message":"token expired"}}` {
		t.Errorf("bidirectional connect: %s %v", b, err)
	}

	uni, _, err := websocket.Dial(ctx, c.url+"/connection/uni_websocket?cf_connect="+cf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer uni.CloseNow()
	if _, b, err := uni.Read(ctx); err != nil || string(b) != disconnect {
		t.Errorf("uni_websocket: %s %v", b, err)
	}
	if _, _, err := uni.Read(ctx); websocket.CloseStatus(err) != 3005 {
		t.Errorf("uni_websocket: %v, want a close with 3005", err)
	}

	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/connection/uni_sse?cf_connect=" + cf, "", "\r\ndata: " + disconnect + "\n\n"},
		{"POST", "/connection/uni_http_stream", `{"token":"` + token + `"}`, disconnect + "\n"},
	} {
		req, _ := http.NewRequestWithContext(ctx, tc.method, c.url+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		_, err = bufio.NewReader(resp.Body).WriteTo(&sb)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || sb.String() != tc.want {
			t.Errorf("%s: %d %q %v, want 200 %q and its end", tc.path, resp.StatusCode, sb.String(), err, tc.want)
		}
	}
}

// TestCentrifugoTokenExpiredInSession: a flow whose session holds a
// Centrifugo connection token (an app backend's login hands it out, signed
// to expire in 2 s) logs in again, once, when the hub says in its protocol
// that the token expired, and passes, on each transport; before, only an
// HTTP 401/403 did, and receive read as down until the session's ttl (an
// hour here). A backend that hands out tokens already expired is down: the
// run that logs in fails, and the next one does not log in again.
func TestCentrifugoTokenExpiredInSession(t *testing.T) {
	c := startCentrifugo(t)
	var logins atomic.Int64
	var stale atomic.Bool // the backend signs tokens that expired a minute ago
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logins.Add(1)
		exp := time.Now().Add(2 * time.Second)
		if stale.Load() {
			exp = time.Now().Add(-time.Minute)
		}
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "probe", "exp": exp.Unix(), "channels": []string{r.URL.Query().Get("channel")},
		}).SignedString([]byte(c.hmacSecret))
		fmt.Fprintf(w, `{"token":%q}`, tok)
	}))
	t.Cleanup(backend.Close)

	stream := map[string]string{
		"websocket":       `websocket: {url: "${hub}/connection/websocket", send: ['{"id":1,"connect":{"token":"${token}"}}']}`,
		"uni_websocket":   `websocket: {url: "${hub}/connection/uni_websocket?cf_connect=%7B%22token%22%3A%22${token}%22%7D"}`,
		"uni_sse":         `sse: {url: "${hub}/connection/uni_sse?cf_connect=%7B%22token%22%3A%22${token}%22%7D"}`,
		"uni_http_stream": `sse: {url: "${hub}/connection/uni_http_stream", method: POST, body: '{"token":"${token}"}', format: lines}`,
	}
	kinds := []string{"websocket", "uni_websocket", "uni_sse", "uni_http_stream"}
	var flows strings.Builder
	for _, k := range kinds {
		pub := "$.pub.data.run"
		if k == "websocket" {
			pub = "$.push.pub.data.run"
		}
		fmt.Fprintf(&flows, `
      - name: %[1]s
        vars: {hub: %[2]q, channel: probe-%[1]s}
        session:
          ttl: 1h
          steps:
            - name: login
              function: login
              request: {method: POST, url: "%[3]s/login?channel=${channel}"}
              extract: {token: {jsonpath: "$.token", secret: true}}
        steps:
          - {name: subscribe, function: receive, %[4]s}
          - name: connected
            function: receive
            timeout: 5s
            await: subscribe
            expect: {jsonpath: {"$.connect.client": {exists: true}}}
          - name: publish
            function: send
            request:
              method: POST
              url: ${hub}/api/publish
              headers: {X-API-Key: %[5]q}
              json: {channel: "${channel}", data: {run: "${run.id}"}}
          - name: receive
            function: receive
            timeout: 5s
            await: {stream: subscribe, since: publish}
            expect: {jsonpath: {%[6]q: "${run.id}"}}
`, k, c.url, backend.URL, stream[k], c.apiKey, pub)
	}
	cfg, err := config.Parse("expiry.yaml", []byte("location: it\ndefaults: {interval: 60s, timeout: 15s}\nservices:\n  - name: hub\n    flows:"+flows.String()), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := probe.NewRunner(cfg, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	t.Cleanup(func() { r.EndSessions(context.Background()) })

	steps := func(run probe.Run) string {
		var out []string
		for _, s := range run.Steps {
			out = append(out, s.Step+"="+string(s.Status))
		}
		return strings.Join(out, " ")
	}
	const all = "subscribe=ok connected=ok publish=ok receive=ok"
	for _, phase := range []struct {
		name   string
		before func()
		want   string
		logins int64 // per flow, so far
	}{
		{"first run logs in", nil, "login=ok " + all, 1},
		{"the session's token expired: one new login, and it passes", func() { time.Sleep(2100 * time.Millisecond) }, "login=ok " + all, 2},
		{"every new token is expired too: the run that logs in fails", func() { stale.Store(true); time.Sleep(2100 * time.Millisecond) }, "login=ok subscribe=ok connected=failed publish=not_run receive=not_run", 3},
		{"and the next one does not log in again", nil, "subscribe=ok connected=failed publish=not_run receive=not_run", 3},
	} {
		if phase.before != nil {
			phase.before()
		}
		before := logins.Load()
		for i, k := range kinds {
			run := r.Run(context.Background(), &cfg.Services[0].Flows[i])
			if got := steps(run); got != phase.want {
				t.Errorf("%s: %s: %s, want %s", phase.name, k, got, phase.want)
				for _, s := range run.Steps {
					if s.Error != "" {
						t.Logf("  %s: %s", s.Step, s.Error)
					}
				}
			}
		}
		if want := int64(len(kinds)) * phase.logins; logins.Load() != want {
			t.Errorf("%s: %d logins so far (%d in this phase), want %d", phase.name, logins.Load(), logins.Load()-before, want)
		}
	}
}
