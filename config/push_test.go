package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// pushConfig uses every key of the push receive, webhook, session,
// teardown, JWT and TLS additions.
const pushConfig = `
webhooks: {listen: "127.0.0.1:9200", public_url: "https://probe.example/hooks/", max_body_bytes: 64KiB}
services:
  - name: messaging
    flows:
      - name: push
        timeout: 30s
        max_body_bytes: 256KiB
        vars:
          user: probe
          conn:
            jwt:
              alg: hs256
              key: ${env:HUB_SECRET}
              expires_in: 5m
              claims: {sub: "${user}", channels: [probe, "room-${location}"]}
        session:
          ttl: 30m
          steps:
            - name: login
              function: login
              request: {method: POST, url: "http://127.0.0.1/login"}
              extract: {token: {jsonpath: "$.token"}}
        steps:
          - name: subscribe
            function: receive
            websocket:
              url: "ws://127.0.0.1/ws?room=${urlquery(user)}"
              headers: {Authorization: "Bearer ${token}"}
              subprotocols: [centrifuge-json]
              send: ['{"connect":{"token":"${conn}"},"id":1}']
              reply: [{to: " {} ", send: "{}"}]
              max_messages: 50
            expect: {status: 101, tls: {min_days_left: 14}}
            extract: {proto: {header: Sec-WebSocket-Protocol}}
          - name: events
            function: receive
            sse: {url: "http://127.0.0.1/events/${urlpath(user)}", event: message, max_buffered_bytes: 1MiB}
          - name: send
            function: send
            request:
              method: POST
              url: "http://127.0.0.1/send"
              json: {callback: "${webhook.url}", at: "${now.unix_ms}", id: "${random.id}", sig: '${hmac_sha256(env:HUB_SECRET, "x")}'}
            extract: {id: {jsonpath: "$.id"}}
          - name: receive
            function: receive
            timeout: 10s
            await: subscribe
            expect: {jsonpath: {"$.id": "${id}"}, latency: 2s}
            extract: {text: {jsonpath: "$.text"}}
          - name: receive-sse
            function: receive
            await: {stream: events, since: send}
            expect: {body: {contains: "${id}"}}
          - name: settled
            function: receive
            await:
              webhook:
                method: post
                hmac_sha256: {secret: "${env:HUB_SECRET}", header: X-Signature, prefix: "sha256="}
            expect: {jsonpath: {"$.status": settled}, headers: {Content-Type: {contains: json}}}
        teardown:
          - name: logout
            function: logout
            request: {method: POST, url: "http://127.0.0.1/logout"}
          - name: delete
            function: delete
            counts: true
            request: {method: DELETE, url: "http://127.0.0.1/messages/${id}"}
`

func TestPushKinds(t *testing.T) {
	env := map[string]string{"HUB_SECRET": "hub-secret"}
	cfg := mustParse(t, pushConfig, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if want := (Webhooks{Listen: "127.0.0.1:9200", PublicURL: "https://probe.example/hooks", MaxBodyBytes: 64 << 10, Line: 2}); cfg.Webhooks != want {
		t.Errorf("webhooks = %+v, want %+v", cfg.Webhooks, want)
	}
	f := &cfg.Services[0].Flows[0]
	if f.Session == nil || f.Session.TTL != 30*time.Minute || len(f.Session.Steps) != 1 || f.Session.Steps[0].Name != "login" {
		t.Fatalf("session = %+v", f.Session)
	}
	jwt := f.Vars[1].JWT
	wantJWT := &JWT{Alg: "HS256", Key: "${env:HUB_SECRET}", ExpiresIn: 5 * time.Minute,
		Claims: map[string]any{"sub": "${user}", "channels": []any{"probe", "room-${location}"}}}
	if !reflect.DeepEqual(jwt, wantJWT) {
		t.Errorf("jwt = %+v, want %+v", jwt, wantJWT)
	}
	kinds := map[string]StepKind{}
	for _, s := range f.Steps {
		kinds[s.Name] = s.Kind()
	}
	wantKinds := map[string]StepKind{"subscribe": KindWebSocket, "events": KindSSE, "send": KindRequest,
		"receive": KindAwait, "receive-sse": KindAwait, "settled": KindAwait}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("kinds = %v, want %v", kinds, wantKinds)
	}
	ws := f.Steps[0].WebSocket
	wantWS := &Stream{URL: "ws://127.0.0.1/ws?room=${urlquery(user)}", Headers: map[string]string{"Authorization": "Bearer ${token}"},
		Subprotocols: []string{"centrifuge-json"}, Send: []string{`{"connect":{"token":"${conn}"},"id":1}`},
		Reply:           []Reply{{To: "{}", Send: "{}"}},
		MaxMessageBytes: 256 << 10, MaxMessages: 50, MaxBufferedBytes: DefaultMaxBufferedBytes}
	if !reflect.DeepEqual(ws, wantWS) {
		t.Errorf("websocket = %+v, want %+v", ws, wantWS)
	}
	if e := f.Steps[0].Expect; !reflect.DeepEqual(e.Status, []int{101}) || e.TLS == nil || e.TLS.MinDaysLeft != 14 {
		t.Errorf("websocket expect = %+v", e)
	}
	sse := f.Steps[1].SSE
	if sse.Method != "GET" || sse.Event != "message" || sse.MaxBufferedBytes != 1<<20 || sse.MaxMessages != DefaultMaxMessages {
		t.Errorf("sse = %+v", sse)
	}
	awaits := []struct {
		step  int
		await Await
	}{
		{3, Await{Stream: "subscribe", Since: "send"}}, // since defaults to the step before
		{4, Await{Stream: "events", Since: "send"}},
		{5, Await{Webhook: &WebhookWait{Method: "POST", HMAC: &HMACVerify{Secret: "${env:HUB_SECRET}", Header: "X-Signature", Prefix: "sha256=", Encoding: "hex"}}, Since: "receive-sse"}},
	}
	for _, a := range awaits {
		if got := f.Steps[a.step].Await; !reflect.DeepEqual(got, &a.await) {
			t.Errorf("step %s await = %+v, want %+v", f.Steps[a.step].Name, got, &a.await)
		}
	}
	if len(f.Teardown) != 2 || f.Teardown[0].Counts || !f.Teardown[1].Counts {
		t.Errorf("teardown = %+v", f.Teardown)
	}
	var counted []string
	for _, s := range f.CountedSteps() {
		counted = append(counted, s.Name)
	}
	if want := []string{"login", "subscribe", "events", "send", "receive", "receive-sse", "settled", "delete"}; !reflect.DeepEqual(counted, want) {
		t.Errorf("CountedSteps = %v, want %v", counted, want)
	}
	if got, want := f.Functions(), []string{"login", "receive", "send", "delete"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Functions = %v, want %v", got, want)
	}
}

func TestParseExpr(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		err   bool
	}{
		{"token", []string{"token"}, false},
		{"urlpath(room_id)", []string{"room_id"}, false},
		{`hmac_sha256(env:KEY, "a,b)")`, []string{"env:KEY"}, false},
		{`base64(hmac_sha256(file:k.pem, body))`, []string{"file:k.pem", "body"}, false},
		{`urlquery( x )`, []string{"x"}, false},
		{`"lit"`, nil, true},
		{`urlpath()`, nil, true},
		{`urlpath(a) extra`, nil, true},
		{`nope(a)`, nil, true},
		{`urlpath(a`, nil, true},
		{`urlpath("a\"b")`, nil, false},
	}
	for _, tc := range tests {
		e, err := ParseExpr(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseExpr(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		var names []string
		e.Walk(func(n string) { names = append(names, n) })
		if !reflect.DeepEqual(names, tc.names) {
			t.Errorf("ParseExpr(%q) names = %v, want %v", tc.in, names, tc.names)
		}
	}
}

func TestJWTKeyChecked(t *testing.T) {
	src := `
services:
  - name: hub
    flows:
      - name: f
        vars:
          tok: {jwt: {alg: RS256, key: "${env:KEY}"}}
        steps:
          - {name: a, function: a, request: {url: "http://127.0.0.1/${tok}"}}
`
	for _, tc := range []struct{ key, want string }{
		{"not a key", "the RS256 key is not PEM"},
		{"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "the RS256 key is not an RSA private key"},
	} {
		_, err := Parse("jwt.yaml", []byte(src), Options{LookupEnv: func(string) (string, bool) { return tc.key, true }})
		if err == nil || !strings.Contains(err.Error(), "jwt.yaml:7: services[0].flows[0].vars.tok.jwt.key: "+tc.want) {
			t.Errorf("key %q: error %v, want %q", tc.key, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "AAAA") {
			t.Errorf("the error quotes the key: %v", err)
		}
	}
}

// TestWebSocketReplyErrors: a websocket's reply list names what it answers
// and with what, once each; an SSE stream has none (it cannot send).
func TestWebSocketReplyErrors(t *testing.T) {
	for _, tc := range []struct{ stream, want string }{
		{`websocket: {url: "ws://127.0.0.1/ws", reply: [{to: "{}"}]}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.reply[0].send: is required`},
		{`websocket: {url: "ws://127.0.0.1/ws", reply: [{send: "{}"}]}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.reply[0].to: is required`},
		{`websocket: {url: "ws://127.0.0.1/ws", reply: [{to: " ", send: "{}"}]}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.reply[0].to: is empty`},
		{`websocket: {url: "ws://127.0.0.1/ws", reply: [{to: "{}", send: "{}"}, {to: "{} ", send: "x"}]}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.reply[1].to: "{}" is answered twice`},
		{`websocket: {url: "ws://127.0.0.1/ws", reply: [{to: "{}", send: "{}", when: x}]}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.reply[0].when: unknown key`},
		{`websocket: {url: "ws://127.0.0.1/ws", reply: {to: "{}", send: "{}"}}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.reply: expected a list`},
		{`sse: {url: "http://127.0.0.1/sse", reply: [{to: "{}", send: "{}"}]}`, `r.yaml:7: services[0].flows[0].steps[0].sse.reply: unknown key`},
	} {
		src := `
services:
  - name: hub
    flows:
      - name: f
        steps:
          - {name: s, function: receive, ` + tc.stream + `}
`
		_, err := Parse("r.yaml", []byte(src), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\nerror %v\nwant %q", tc.stream, err, tc.want)
		}
	}
}

// TestHTTPStreamKeys: an sse step may send a body and read its response as
// one message a line (format: lines), which has no event types.
func TestHTTPStreamKeys(t *testing.T) {
	src := `
services:
  - name: hub
    flows:
      - name: f
        vars: {tok: t}
        steps:
          - name: s
            function: receive
            sse: {url: "http://127.0.0.1/connection/uni_http_stream", method: POST, body: '{"token":"${tok}"}', format: lines}
`
	cfg := mustParse(t, src, Options{})
	got := cfg.Services[0].Flows[0].Steps[0].SSE
	if got.Method != "POST" || got.Body != `{"token":"${tok}"}` || got.Format != FormatLines {
		t.Errorf("sse = %+v", got)
	}
	for _, tc := range []struct{ stream, want string }{
		{`sse: {url: "http://127.0.0.1/s", format: ndjson}`, `r.yaml:7: services[0].flows[0].steps[0].sse.format: unknown format "ndjson" (expected sse or lines)`},
		{`sse: {url: "http://127.0.0.1/s", format: lines, event: message}`, `r.yaml:7: services[0].flows[0].steps[0].sse.event: a stream of format lines has no event types`},
		{`sse: {url: "http://127.0.0.1/s", body: "${nope}"}`, `r.yaml:7: services[0].flows[0].steps[0].sse.body: ${nope} is not defined`},
		{`websocket: {url: "ws://127.0.0.1/s", body: "x"}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.body: unknown key`},
	} {
		src := `
services:
  - name: hub
    flows:
      - name: f
        steps:
          - {name: s, function: receive, ` + tc.stream + `}
`
		_, err := Parse("r.yaml", []byte(src), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\nerror %v\nwant %q", tc.stream, err, tc.want)
		}
	}
}

// TestSessionExpiredKeys: a stream's session_expired names the WebSocket
// close codes and the message (JSONPath matchers, as expect's) that say the
// flow's session expired inside the protocol; an sse stream has no close
// codes, and a code outside 1000..4999 is no close code.
func TestSessionExpiredKeys(t *testing.T) {
	parse := func(stream string) (*Config, error) {
		src := `
services:
  - name: hub
    flows:
      - name: f
        steps:
          - {name: s, function: receive, ` + stream + `}
`
		return Parse("r.yaml", []byte(src), Options{})
	}
	c, err := parse(`websocket: {url: "ws://127.0.0.1/ws", session_expired: {close_codes: [3005, 4001], jsonpath: {"$.error.code": 109, "$.error.message": {contains: expired}}}}`)
	if err != nil {
		t.Fatal(err)
	}
	se := c.Services[0].Flows[0].Steps[0].WebSocket.SessionExpired
	if se == nil || !slices.Equal(se.CloseCodes, []int{3005, 4001}) || len(se.JSONPath) != 2 || se.JSONPath[0].Path != "$.error.code" || *se.JSONPath[0].Matcher.Equals != "109" {
		t.Fatalf("session_expired = %+v", se)
	}
	if c, err = parse(`sse: {url: "http://127.0.0.1/sse", session_expired: {}}`); err != nil {
		t.Fatal(err)
	}
	if se := c.Services[0].Flows[0].Steps[0].SSE.SessionExpired; se == nil || len(se.CloseCodes)+len(se.JSONPath) != 0 {
		t.Fatalf("session_expired: {} = %+v, want set and empty (nothing says it)", se)
	}
	if c, err = parse(`sse: {url: "http://127.0.0.1/sse"}`); err != nil || c.Services[0].Flows[0].Steps[0].SSE.SessionExpired != nil {
		t.Fatalf("without session_expired: %v, %+v; want nil (the defaults)", err, c)
	}
	for _, tc := range []struct{ stream, want string }{
		{`sse: {url: "http://127.0.0.1/sse", session_expired: {close_codes: [3005]}}`, `r.yaml:7: services[0].flows[0].steps[0].sse.session_expired.close_codes: close codes are a WebSocket's`},
		{`websocket: {url: "ws://127.0.0.1/ws", session_expired: {close_codes: [999]}}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.session_expired.close_codes[0]: close code 999 is outside 1000..4999`},
		{`websocket: {url: "ws://127.0.0.1/ws", session_expired: {codes: [3005]}}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.session_expired.codes: unknown key`},
		{`websocket: {url: "ws://127.0.0.1/ws", session_expired: {jsonpath: {"$[": 1}}}`, `r.yaml:7: services[0].flows[0].steps[0].websocket.session_expired.jsonpath["$["]: invalid JSONPath`},
	} {
		if _, err := parse(tc.stream); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\nerror %v\nwant %q", tc.stream, err, tc.want)
		}
	}
}

// TestPollSince: a poll's since names the step whose start its latency is
// measured from: by default the step just before it in its list (its own
// start for the first), an earlier step of its list, or the step itself.
func TestPollSince(t *testing.T) {
	parse := func(since string) (*Config, error) {
		src := `
services:
  - name: s
    flows:
      - name: f
        session:
          steps:
            - {name: login, function: login, request: {url: "http://h/login"}}
        steps:
          - {name: first, function: receive, request: {url: "http://h/a"}, poll: {every: 1s, within: 2s}}
          - {name: send, function: send, request: {url: "http://h/send"}}
          - {name: receive, function: receive, request: {url: "http://h/inbox"}, poll: {every: 1s, within: 2s` + since + `}}
`
		return Parse("p.yaml", []byte(src), Options{})
	}
	for _, tc := range []struct{ since, want, err string }{
		{"", "send", ""},
		{", since: first", "first", ""},
		{", since: receive", "receive", ""},
		{", since: login", "", `p.yaml:12: services[0].flows[0].steps[2].poll.since: "login" is neither an earlier step of the flow's steps nor this step`},
		{", since: later", "", `"later" is neither an earlier step`},
		{`, since: ""`, "", `poll.since: name a step`},
	} {
		c, err := parse(tc.since)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("since%s: error %v, want %q", tc.since, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("since%s: %v", tc.since, err)
		}
		steps := c.Services[0].Flows[0].Steps
		if got := steps[2].Poll.Since; got != tc.want {
			t.Errorf("since%s: Since = %q, want %q", tc.since, got, tc.want)
		}
		if got := steps[0].Poll.Since; got != "first" {
			t.Errorf("the first step's poll: Since = %q, want its own name", got)
		}
	}
}
