package config

import (
	"strings"
	"testing"
)

// TestSessionWebhookURL: a flow whose steps await a callback to
// ${webhook.url} that only its session's steps hand out (a Matrix pusher
// registered once per login) is refused, at the await: the URL is the
// run's own and later runs keep the session without running its steps, so
// from the second run on the target calls a run long ended and the await
// fails every time (seen against Dendrite: the first run passed, every
// later one failed "push: timeout after 2s: no callback"). Handing the URL
// out in the flow's steps, or awaiting it within the session, is fine.
func TestSessionWebhookURL(t *testing.T) {
	const pusher = `{name: pusher, function: receive, request: {method: POST, url: "http://hs/pushers/set", json: {data: {url: "${hook}"}}}}`
	for _, tc := range []struct {
		name, vars, session, steps, want string
	}{
		{"only the session hands it out", `{hook: "${webhook.url}"}`, pusher,
			`{name: send, function: send, request: {url: "http://hs/send"}}
          - {name: push, function: receive, await: webhook}`,
			`w.yaml:12: services[0].flows[0].steps[1].await: waits for a callback to ${webhook.url}, which only session step "pusher" hands out`},
		{"directly, in a header", `{hook: "x"}`, `{name: pusher, function: receive, request: {url: "http://hs/p", headers: {X-Callback: "${webhook.url}"}}}`,
			`{name: push, function: receive, await: {webhook: {method: POST}}}`,
			`w.yaml:11: services[0].flows[0].steps[0].await: waits for a callback to ${webhook.url}, which only session step "pusher" hands out`},
		{"the flow's steps hand it out again", `{hook: "${webhook.url}"}`, pusher,
			`{name: again, function: receive, request: {method: POST, url: "http://hs/pushers/set", json: {data: {url: "${hook}"}}}}
          - {name: push, function: receive, await: webhook}`, ""},
		{"awaited in the session", `{hook: "${webhook.url}"}`, pusher + `
            - {name: link, function: login, await: webhook}`,
			`{name: send, function: send, request: {url: "http://hs/send"}}`, ""},
		{"through a var of a var", `{base: "${webhook.url}", hook: "${base}/m"}`, pusher,
			`{name: push, function: receive, await: webhook}`, `only session step "pusher" hands out`},
		{"again through a URL the session extracted (its run's, long ended)", `{hook: "${webhook.url}"}`,
			`{name: pusher, function: receive, request: {method: POST, url: "http://hs/p", json: {url: "${hook}"}}, extract: {echoed: {jsonpath: "$.url"}}}`,
			`{name: again, function: receive, request: {method: POST, url: "http://hs/p", json: {url: "${echoed}"}}}
          - {name: push, function: receive, await: webhook}`, `only session step "pusher" hands out`},
		{"the session does not hand it out", `{hook: "${webhook.url}"}`, `{name: login, function: login, request: {url: "http://hs/login"}}`,
			`{name: pusher, function: receive, request: {url: "http://hs/p?cb=${urlquery(hook)}"}}
          - {name: push, function: receive, await: webhook}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `
services:
  - name: s
    flows:
      - name: f
        vars: ` + tc.vars + `
        session:
          steps:
            - ` + tc.session + `
        steps:
          - ` + tc.steps + `
`
			_, err := Parse("w.yaml", []byte(src), Options{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v\n%s", err, src)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q\n%s", err, tc.want, src)
			}
		})
	}
}
