package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/platform"
)

// pushConfig probes the demo platform the way a real platform delivers:
// messaging over a WebSocket and an SSE stream, payments by a signed
// webhook, with a session (login once) and a teardown.
const pushConfig = `
location: seoul-a
webhooks: {listen: "127.0.0.1:0"}
services:
  - name: messaging
    flows:
      - name: chat
        timeout: 10s
        vars:
          base: BASE
          user: probe-${location}
        session:
          ttl: 1h
          steps:
            - name: login
              function: login
              request: {method: POST, url: "${base}/messaging/login", json: {user: "${user}", password: demo}}
              extract: {token: {jsonpath: "$.token"}}
        steps:
          - name: subscribe
            function: receive
            websocket: {url: "${base}/messaging/ws", headers: {Authorization: "Bearer ${token}"}}
          - name: events
            function: receive
            sse: {url: "${base}/messaging/events", headers: {Authorization: "Bearer ${token}"}, event: message}
          - name: send
            function: send
            request:
              method: POST
              url: ${base}/messaging/messages
              headers: {Authorization: "Bearer ${token}"}
              json: {to: "${user}", text: "probe ${run.id}"}
            expect: {status: [201]}
            extract: {message_id: {jsonpath: "$.id"}}
          - name: receive
            function: receive
            timeout: 3s
            await: subscribe
            expect: {jsonpath: {"$.id": "${message_id}"}}
          - name: receive-sse
            function: receive
            timeout: 3s
            await: {stream: events, since: send}
            expect: {jsonpath: {"$.id": "${message_id}"}}
        teardown:
          - name: inbox
            function: cleanup
            request: {url: "${base}/messaging/inbox?after=${urlquery(message_id)}", headers: {Authorization: "Bearer ${token}"}}
  - name: payments
    flows:
      - name: pay
        timeout: 10s
        vars:
          base: BASE
          secret: ${env:PAY_HOOK_SECRET}
        steps:
          - name: login
            function: login
            request: {method: POST, url: "${base}/payments/login", json: {user: merchant, password: demo}}
            extract: {token: {jsonpath: "$.token"}}
          - name: transfer
            function: send
            request:
              method: POST
              url: ${base}/payments/transfers
              headers: {Authorization: "Bearer ${token}"}
              json: {to: shop, amount: 1200, callback_url: "${webhook.url}"}
            expect: {status: [201]}
            extract: {transfer_id: {jsonpath: "$.id"}}
          - name: settled
            function: receive
            timeout: 3s
            await:
              webhook: {method: POST, hmac_sha256: {secret: "${secret}", header: X-Signature, prefix: "sha256="}}
            expect: {jsonpath: {"$.id": "${transfer_id}", "$.status": settled}}
`

func TestOncePushAndWebhooks(t *testing.T) {
	plat := platform.New(platform.Options{Clock: clock.Real{}})
	srv := httptest.NewServer(plat)
	t.Cleanup(srv.Close)
	t.Cleanup(plat.CloseStreams)
	dir := t.TempDir()
	path := filepath.Join(dir, "push.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(pushConfig, "BASE", srv.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PAY_HOOK_SECRET", platform.DefaultWebhookSecret)
	once := func() (int, []map[string]any, string) {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), []string{"once", "--config", path, "--format", "json"}, &stdout, &stderr)
		var runs []map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &runs); err != nil {
			t.Fatalf("once output: %v\n%s\nstderr: %s", err, stdout.String(), stderr.String())
		}
		return code, runs, stderr.String()
	}
	status := func(runs []map[string]any) string {
		var out []string
		for _, r := range runs {
			for _, key := range []string{"steps", "teardown"} {
				steps, _ := r[key].([]any)
				for _, s := range steps {
					m := s.(map[string]any)
					out = append(out, m["step"].(string)+"="+m["status"].(string))
				}
			}
		}
		return strings.Join(out, " ")
	}
	code, runs, stderr := once()
	want := "login=ok subscribe=ok events=ok send=ok receive=ok receive-sse=ok inbox=ok login=ok transfer=ok settled=ok"
	if code != exitOK || status(runs) != want {
		t.Fatalf("exit %d, steps %s\nwant %s\nstderr: %s\n%v", code, status(runs), want, stderr, runs)
	}

	// Pushes and callbacks dropped: the sends still succeed, the awaits fail.
	body := `{"service":"messaging","functions":["receive"],"mode":"drop","rate":1,"duration":"1m"}`
	for _, b := range []string{body, strings.Replace(body, "messaging", "payments", 1)} {
		resp, err := http.Post(srv.URL+"/_admin/faults", "application/json", strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("fault: %d", resp.StatusCode)
		}
	}
	code, runs, _ = once()
	got := status(runs)
	for _, want := range []string{"send=ok", "receive=failed", "receive-sse=not_run", "transfer=ok", "settled=failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("with drop faults: steps %s, want %s", got, want)
		}
	}
	if code != exitFailure {
		t.Errorf("exit %d with failing flows, want %d", code, exitFailure)
	}
}

// TestDemoPushDeterministic replays push receive and webhook settlement in
// virtual time: a drop of messaging's and payments' receive for 20 minutes
// gives down windows at the fault's time, the awaits cost virtual time
// (not real time), and a second replay writes the same windows.
func TestDemoPushDeterministic(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "push.yaml")
	cfg := strings.ReplaceAll(pushConfig, "BASE", "http://127.0.0.1:18080")
	cfg = strings.Replace(cfg, "services:", "timezone: UTC\nservices:", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tl := filepath.Join(dir, "drop.yaml")
	if err := os.WriteFile(tl, []byte(`name: drop
incidents:
  - {id: msg-drop, service: messaging, functions: [receive], start: 2026-03-01T10:00:00Z, end: 2026-03-01T10:20:00Z, mode: drop}
  - {id: pay-drop, service: payments, functions: [receive], start: 2026-03-01T10:00:00Z, end: 2026-03-01T10:20:00Z, mode: drop}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PAY_HOOK_SECRET", platform.DefaultWebhookSecret)
	replay := func(out string) []map[string]any {
		var stdout, stderr bytes.Buffer
		args := []string{"demo", "--config", cfgPath, "--timeline", tl, "--from", "2026-03-01T09:00:00Z", "--to", "2026-03-01T11:00:00Z", "--interval", "1m", "--out", out}
		if code := runMain(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Fatalf("demo exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		data, err := os.ReadFile(filepath.Join(out, "windows.json"))
		if err != nil {
			t.Fatal(err)
		}
		var ws []map[string]any
		if err := json.Unmarshal(data, &ws); err != nil {
			t.Fatal(err)
		}
		return ws
	}
	a := replay(filepath.Join(dir, "a"))
	var got []string
	for _, w := range a {
		fn, _ := w["function"].(string)
		got = append(got, w["flow"].(string)+"/"+fn+" "+w["kind"].(string)+" "+w["start"].(string)+" "+w["end"].(string))
	}
	for _, want := range []string{
		"chat/receive down 2026-03-01T10:00:",
		"pay/receive down 2026-03-01T10:00:",
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("windows %q lack %q", got, want)
		}
	}
	for _, g := range got {
		if !strings.Contains(g, " 2026-03-01T10:2") {
			t.Errorf("window %q does not end when the drop ends (10:20, within an interval)", g)
		}
	}
	t.Logf("windows: %q", got)
	wa, _ := os.ReadFile(filepath.Join(dir, "a", "windows.json"))
	replay(filepath.Join(dir, "b"))
	wb, _ := os.ReadFile(filepath.Join(dir, "b", "windows.json"))
	if !bytes.Equal(wa, wb) {
		t.Errorf("two replays wrote different windows:\n%s\n%s", wa, wb)
	}
}

// TestOnceBesideTheDaemon runs `once` while the webhook listener's address
// is taken (the daemon of the same config holds it): a flow that awaits no
// callback runs anyway, and one that does is refused with the address and
// the likely holder named.
func TestOnceBesideTheDaemon(t *testing.T) {
	plat := platform.New(platform.Options{Clock: clock.Real{}})
	srv := httptest.NewServer(plat)
	t.Cleanup(srv.Close)
	t.Cleanup(plat.CloseStreams)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	cfg := strings.ReplaceAll(pushConfig, "BASE", srv.URL)
	cfg = strings.Replace(cfg, `webhooks: {listen: "127.0.0.1:0"}`, `webhooks: {listen: "`+held.Addr().String()+`"}`, 1)
	path := filepath.Join(t.TempDir(), "push.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PAY_HOOK_SECRET", platform.DefaultWebhookSecret)
	cases := []struct {
		flow       string
		code       int
		wantStderr string
	}{
		{flow: "chat", code: exitOK},
		{flow: "pay", code: exitUsage, wantStderr: held.Addr().String()},
	}
	for _, c := range cases {
		t.Run(c.flow, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), []string{"once", "--config", path, "--flow", c.flow}, &stdout, &stderr)
			if code != c.code || !strings.Contains(stderr.String(), c.wantStderr) {
				t.Fatalf("once --flow %s: exit %d (want %d)\nstdout: %s\nstderr: %s (want it to name %q)", c.flow, code, c.code, stdout.String(), stderr.String(), c.wantStderr)
			}
		})
	}
}
