package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// What the shipped examples report about a receive against the real
// servers, beyond up and down.

// onceSteps runs `slaprobe once --format json` on cfg and returns the
// steps of its one run.
func onceSteps(t *testing.T, cfg string, env []string) []onceStep {
	t.Helper()
	out, _ := runCmd(t, append(append([]string{"env"}, env...), binary, "once", "--config", cfg, "--format", "json")...)
	var runs []struct {
		Steps []onceStep `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("once --format json: %v\n%s", err, out)
	}
	return runs[0].Steps
}

type onceStep struct {
	Step       string `json:"step"`
	Status     string `json:"status"`
	HTTPStatus int    `json:"http_status"`
	Attempts   int    `json:"attempts"`
	Error      string `json:"error"`
}

// editStep replaces keys of the step named name (in any flow of cfg) with
// the YAML mapping in with.
func editStep(t *testing.T, cfg, name, with string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc, repl yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(with), &repl); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, svc := range seqOf(t, mapGet(t, doc.Content[0], "services")) {
		for _, flow := range seqOf(t, mapGet(t, svc, "flows")) {
			for _, step := range seqOf(t, mapGet(t, flow, "steps")) {
				if mapGet(t, step, "name").Value != name {
					continue
				}
				found = true
				r := repl.Content[0]
				for i := 0; i+1 < len(r.Content); i += 2 {
					key, val := r.Content[i].Value, r.Content[i+1]
					setKey(step, key, "")
					for j := 0; j+1 < len(step.Content); j += 2 {
						if step.Content[j].Value == key {
							step.Content[j+1] = val
						}
					}
				}
			}
		}
	}
	if !found {
		t.Fatalf("%s: no step %s", cfg, name)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// roomyTimeout gives a once run of cfg (an exampleConfig) 5 s instead of
// 900ms, room for the login and the sends before the receive's 700ms.
func roomyTimeout(t *testing.T, cfg string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.NewReplacer("interval: 1s", "interval: 10s", "timeout: 900ms", "timeout: 5s").Replace(string(b)))
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// insertStep inserts the step in step (YAML) before the step named before
// in every flow of cfg that has it.
func insertStep(t *testing.T, cfg, before, step string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc, n yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(step), &n); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, svc := range seqOf(t, mapGet(t, doc.Content[0], "services")) {
		for _, flow := range seqOf(t, mapGet(t, svc, "flows")) {
			steps := mapGet(t, flow, "steps")
			for i, s := range seqOf(t, steps) {
				if mapGet(t, s, "name").Value == before {
					steps.Content = append(steps.Content[:i], append([]*yaml.Node{n.Content[0]}, steps.Content[i:]...)...)
					found = true
					break
				}
			}
		}
	}
	if !found {
		t.Fatalf("%s: no step %s", cfg, before)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMatrixOthersInTheRoom runs examples/matrix.yaml with another message
// sent into the room after the probe's (the probe of another location
// sharing the room, a person): the receive still finds the probe's event.
// Its /sync filter kept one timeline event, so only the other message
// came back, every time the poll asked, and the receive failed.
func TestMatrixOthersInTheRoom(t *testing.T) {
	d := startDendrite(t)
	user, password, room := d.probeRoom()
	dir := t.TempDir()
	cfg := exampleConfig(t, "matrix.yaml", dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/results.db",
		map[string]string{"hs": d.url, "user": user, "room": room})
	roomyTimeout(t, cfg)
	insertStep(t, cfg, "receive", `
name: someone-else
function: send
request:
  method: PUT
  url: ${hs}/_matrix/client/v3/rooms/${urlpath(room)}/send/m.room.message/${random.id}
  headers: {Authorization: "Bearer ${access_token}"}
  json: {msgtype: m.text, body: someone else in the room}
`)
	for _, s := range onceSteps(t, cfg, []string{"MATRIX_PASSWORD=" + password}) {
		if s.Status != "ok" {
			t.Errorf("step %s %s after %d attempts: %s", s.Step, s.Status, s.Attempts, s.Error)
		}
	}
}

// TestCentrifugoBatchedPublications: a publication that shares a WebSocket
// frame with another (Centrifugo's JSON protocol writes what is queued for
// a client into one frame, one JSON document per line) is received. The
// publish step sends other traffic and the run's publication in one
// /api/batch call, so the hub pushes both at once; the await took the
// frame for one message, "not JSON", and failed every run.
func TestCentrifugoBatchedPublications(t *testing.T) {
	c := startCentrifugo(t)
	dir := t.TempDir()
	cfg := exampleConfig(t, "centrifugo.yaml", dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/results.db", map[string]string{"hub": c.url})
	editStep(t, cfg, "publish", `
request:
  method: POST
  url: ${hub}/api/batch
  headers: {X-API-Key: "${api_key}"}
  json: {commands: [{publish: {channel: "${channel}", data: {text: other traffic}}}, {publish: {channel: "${channel}", data: {text: slaprobe, run: "${run.id}"}}}]}
expect: {status: [200]}
`)
	env := []string{"CENTRIFUGO_HMAC_SECRET=" + c.hmacSecret, "CENTRIFUGO_API_KEY=" + c.apiKey}
	for i := range 3 {
		for _, s := range onceSteps(t, cfg, env) {
			if s.Status != "ok" {
				t.Errorf("once %d: step %s %s: %s", i, s.Step, s.Status, s.Error)
			}
		}
	}
}

// TestMatrixUndeliveredEvent: when the sent event never shows up in /sync
// (a message accepted and not delivered), the receive step says so, with
// the HTTP status of the last /sync answer. The /sync long poll is nearly
// always waiting when the poll's within runs out; the step said "timeout"
// with no HTTP status, as if /sync hung. The filter here keeps the probe's
// own messages out of the room's timeline, as a homeserver that loses them
// would.
func TestMatrixUndeliveredEvent(t *testing.T) {
	d := startDendrite(t)
	user, password, room := d.probeRoom()
	dir := t.TempDir()
	filter := `{"room":{"rooms":["` + room + `"],"timeline":{"types":["m.none"]}},"presence":{"not_types":["*"]},"account_data":{"not_types":["*"]}}`
	cfg := exampleConfig(t, "matrix.yaml", dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/results.db",
		map[string]string{"hs": d.url, "user": user, "room": room, "filter": filter})
	roomyTimeout(t, cfg)
	// A long poll shorter than within (700ms): attempts are answered, and
	// one is still waiting at the deadline.
	editStep(t, cfg, "receive", `
request:
  url: ${hs}/_matrix/client/v3/sync?since=${urlquery(since)}&timeout=200&filter=${urlquery(filter)}
  headers: {Authorization: "Bearer ${access_token}"}
`)
	steps := onceSteps(t, cfg, []string{"MATRIX_PASSWORD=" + password})
	var recv *onceStep
	for i := range steps {
		if steps[i].Step == "receive" {
			recv = &steps[i]
		}
	}
	if recv == nil {
		t.Fatalf("no receive step: %+v", steps)
	}
	if recv.Status != "failed" || recv.HTTPStatus != 200 || !strings.HasPrefix(recv.Error, "receive: expectation not met within 700ms: $.rooms.join") {
		t.Errorf("receive: %s, HTTP %d after %d attempts: %q; want failed, HTTP 200, the event missing from the last answer",
			recv.Status, recv.HTTPStatus, recv.Attempts, recv.Error)
	}
}

// TestMatrixRateLimitHonoured: a homeserver that rate-limits the probe
// (Dendrite answers 429 M_LIMIT_EXCEEDED with the wait in the JSON body,
// retry_after_ms, and no Retry-After header) is given the wait it asked
// for. Here Dendrite lets a device make two rate-limited requests a minute
// (/account/whoami is one), and a poll of it every 20ms whose expectation
// never holds gets two answers and then the 429 asking for 60 s, more than
// its within: it ends at once and says so. The probe read only the header,
// so it asked again every 20ms into the limit (about 100 times in 2 s),
// and a confirm run would not have waited either.
func TestMatrixRateLimitHonoured(t *testing.T) {
	d := startDendrite(t, func(doc *yaml.Node) {
		setYAML(t, doc, 2, "client_api", "rate_limiting", "threshold")
		setYAML(t, doc, 60000, "client_api", "rate_limiting", "cooloff_ms")
	})
	user, password, _ := d.probeRoom()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "matrix-limited.yaml", fmt.Sprintf(`
location: test
listen: 127.0.0.1:%d
storage: {dsn: %s/results.db}
services:
  - name: matrix
    flows:
      - name: whoami
        timeout: 5s
        vars: {hs: "%s/_matrix/client/v3", password: "${env:MATRIX_PASSWORD}"}
        session:
          steps:
            - name: login
              function: login
              request:
                method: POST
                url: ${hs}/login
                json: {type: m.login.password, identifier: {type: m.id.user, user: %s}, password: "${password}"}
              extract: {token: {jsonpath: "$.access_token"}}
        steps:
          - name: whoami
            function: receive
            request:
              url: ${hs}/account/whoami
              headers: {Authorization: "Bearer ${token}"}
            poll: {every: 20ms, within: 2s}
            expect: {status: [200], jsonpath: {"$.user_id": "@someone-else:localhost"}}
`, freePort(t), dir, d.url, user))
	var who *onceStep
	steps := onceSteps(t, cfg, []string{"MATRIX_PASSWORD=" + password})
	for i := range steps {
		if steps[i].Step == "whoami" {
			who = &steps[i]
		}
	}
	if who == nil {
		t.Fatalf("no whoami step: %+v", steps)
	}
	want := `whoami: expectation not met within 2s: status 429, want 200: M_LIMIT_EXCEEDED "You are sending too many requests too quickly!" (the answer asked to retry after 1m0s)`
	if who.Status != "failed" || who.HTTPStatus != 429 || who.Attempts != 3 || who.Error != want {
		t.Errorf("whoami: %s, HTTP %d after %d attempts: %q; want failed, HTTP 429 after 3 attempts: %q",
			who.Status, who.HTTPStatus, who.Attempts, who.Error, want)
	}
}

// TestCentrifugoPingsAnswered runs examples/centrifugo.yaml against a hub
// that pings every 2 s and closes a bidirectional client that has not
// answered within a second (Centrifugo's defaults are 25 s and 8 s), with
// a step of 4 s before the publication: the WebSocket step answers the
// hub's {} pings ({} back, its reply), so the stream is still open when the
// publication comes and every step passes. The probe could not answer, so
// the hub closed the stream (3012 "no pong") and receive-websocket failed:
// every run that held the stream past ping_interval + pong_timeout (33 s
// by default: a flow whose timeout allows a slow delivery) failed of the
// probe's own doing.
func TestCentrifugoPingsAnswered(t *testing.T) {
	c := startCentrifugo(t, func(cfg map[string]any) {
		client, _ := cfg["client"].(map[string]any)
		client["ping_interval"] = "2s"
		client["pong_timeout"] = "1s"
	})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(4 * time.Second)
	}))
	t.Cleanup(slow.Close)
	dir := t.TempDir()
	cfg := exampleConfig(t, "centrifugo.yaml", dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/results.db", map[string]string{"hub": c.url})
	roomyTimeout(t, cfg)
	insertStep(t, cfg, "publish", `
name: something-slow
function: send
request: {url: "`+slow.URL+`"}
`)
	env := []string{"CENTRIFUGO_HMAC_SECRET=" + c.hmacSecret, "CENTRIFUGO_API_KEY=" + c.apiKey}
	for _, s := range onceSteps(t, cfg, env) {
		if s.Status != "ok" {
			t.Errorf("step %s %s: %s", s.Step, s.Status, s.Error)
		}
	}
}

// TestMatrixPushReceived: a webhook receive against a real homeserver. The
// receiving account registers a pusher (POST /pushers/set) whose URL is
// the run's ${webhook.url}, another account sends into their room, and
// Dendrite's push gateway client POSTs the notification to it; the await
// matches the sent event's id. Dendrite takes only https pushers, so the
// callback listener is reached through a TLS proxy (its public_url), as
// behind a load balancer.
func TestMatrixPushReceived(t *testing.T) {
	d := startDendrite(t, func(doc *yaml.Node) {
		setYAML(t, doc, true, "user_api", "push_gateway_disable_tls_validation")
	})
	user, password, room := d.probeRoom()
	d.createAccount("bob", password)
	tok := d.login(user, password)
	if st, m := d.matrix("POST", "/rooms/"+url.PathEscape(room)+"/invite", tok, map[string]any{"user_id": "@bob:localhost"}); st != 200 {
		t.Fatalf("invite: %d %v", st, m)
	}
	d.logout(tok)
	tok = d.login("bob", password)
	if st, m := d.matrix("POST", "/join/"+url.PathEscape(room), tok, map[string]any{}); st != 200 {
		t.Fatalf("join: %d %v", st, m)
	}
	d.logout(tok)

	hookListen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	target, _ := url.Parse("http://" + hookListen)
	proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(proxy.Close)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "matrix-push.yaml", fmt.Sprintf(`
location: test
listen: 127.0.0.1:%d
storage: {dsn: %s/results.db}
webhooks: {listen: "%s", public_url: "%s/webhooks"}
services:
  - name: matrix
    flows:
      - name: push
        timeout: 10s
        vars: {hs: "%s/_matrix/client/v3", room: "%s", password: "${env:MATRIX_PASSWORD}"}
        session:
          steps:
            - name: login-sender
              function: login
              request:
                method: POST
                url: ${hs}/login
                json: {type: m.login.password, identifier: {type: m.id.user, user: %s}, password: "${password}"}
              extract: {sender: {jsonpath: "$.access_token"}}
            - name: login-receiver
              function: login
              request:
                method: POST
                url: ${hs}/login
                json: {type: m.login.password, identifier: {type: m.id.user, user: bob}, password: "${password}"}
              extract: {receiver: {jsonpath: "$.access_token"}}
        steps:
          - name: pusher
            function: receive
            request:
              method: POST
              url: ${hs}/pushers/set
              headers: {Authorization: "Bearer ${receiver}"}
              json: {kind: http, app_id: slaprobe, pushkey: "slaprobe-${location}", app_display_name: slaprobe, device_display_name: slaprobe, lang: en, data: {url: "${webhook.url}"}}
          - name: send
            function: send
            request:
              method: PUT
              url: ${hs}/rooms/${urlpath(room)}/send/m.room.message/${random.id}
              headers: {Authorization: "Bearer ${sender}"}
              json: {msgtype: m.text, body: "slaprobe ${run.id}"}
            extract: {event_id: {jsonpath: "$.event_id"}}
          - name: push
            function: receive
            timeout: 5s
            await: {webhook: {method: POST}, since: send}
            expect: {jsonpath: {"$.notification.event_id": "${event_id}"}}
        teardown:
          - {name: logout-sender, function: logout, when: session_end, request: {method: POST, url: "${hs}/logout", headers: {Authorization: "Bearer ${sender}"}, json: {}}}
          - {name: logout-receiver, function: logout, when: session_end, request: {method: POST, url: "${hs}/logout", headers: {Authorization: "Bearer ${receiver}"}, json: {}}}
`, freePort(t), dir, hookListen, proxy.URL, d.url, room, user))
	runTool(t, "", "env", "MATRIX_PASSWORD="+password, binary, "check", "--config", cfg)
	for i := range 2 {
		for _, s := range onceSteps(t, cfg, []string{"MATRIX_PASSWORD=" + password}) {
			if s.Status != "ok" {
				t.Errorf("once %d: step %s %s: %s", i, s.Step, s.Status, s.Error)
			}
		}
	}
}

// TestCentrifugoConnectErrorShown: when the hub answers the connect
// command with an error (here the connection token expired on the way: it
// lives 1 s and a 2 s step comes first), the await that waits for the
// connect reply fails quoting that answer, so the stored error and
// /api/v1/status say why: it said only "$.connect.client does not exist",
// the hub's {"error":{"code":109,"message":"token expired"}} hidden. Error
// 109 is a session expiry said in the protocol (probe/expiry.go), so the
// await says that; at its timeout, not at once, since a flow without a
// session has nothing to log in again with and a protocol whose messages
// only resemble Centrifugo's may still deliver (probe's
// TestSessionExpiredFalseMatchKeepsWaiting).
func TestCentrifugoConnectErrorShown(t *testing.T) {
	c := startCentrifugo(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	}))
	t.Cleanup(slow.Close)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "hub-expired.yaml", fmt.Sprintf(`
location: test
listen: 127.0.0.1:%d
storage: {dsn: %s/results.db}
services:
  - name: hub
    flows:
      - name: expired
        timeout: 5s
        vars:
          conn_token: {jwt: {alg: HS256, key: "${env:CENTRIFUGO_HMAC_SECRET}", expires_in: 1s, claims: {sub: probe, channels: [probe]}}}
        steps:
          - {name: slow, function: receive, request: {url: "%s"}}
          - name: websocket
            function: receive
            websocket:
              url: %s/connection/websocket
              send: ['{"id":1,"connect":{"token":"${conn_token}"}}']
          - name: connected
            function: receive
            timeout: 1s
            await: websocket
            expect: {jsonpath: {"$.connect.client": {exists: true}}}
`, freePort(t), dir, slow.URL, c.url))
	env := []string{"CENTRIFUGO_HMAC_SECRET=" + c.hmacSecret}
	var got *onceStep
	steps := onceSteps(t, cfg, env)
	for i := range steps {
		if steps[i].Step == "connected" {
			got = &steps[i]
		}
	}
	// The answer says the token expired: the await fails saying so.
	if got == nil || got.Status != "failed" || !strings.Contains(got.Error, "session expired: ") ||
		!strings.Contains(got.Error, `token expired`) {
		t.Errorf("connected: %+v; want failed, saying the session expired and quoting the hub's answer (token expired)", got)
	}
	if strings.Contains(fmt.Sprint(steps), c.hmacSecret) {
		t.Error("a step's error holds the HMAC secret")
	}
}
