package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A step refused on its status says what the real server said (probe's
// status excerpt): Dendrite's errcode and error for a wrong password,
// Centrifugo's answer to a publish with a wrong API key. Before, both
// read the status alone ("login: status 403, want 200").
func TestRealServersSayWhyTheStatusFailed(t *testing.T) {
	d := startDendrite(t)
	c := startCentrifugo(t)
	user, password, _ := d.probeRoom()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "refused.yaml", fmt.Sprintf(`
location: test
listen: 127.0.0.1:%d
storage: {dsn: %s/results.db}
services:
  - name: matrix
    flows:
      - name: login
        timeout: 5s
        steps:
          - name: login
            function: login
            request:
              method: POST
              url: %s/_matrix/client/v3/login
              json: {type: m.login.password, identifier: {type: m.id.user, user: %s}, password: "${env:WRONG_PASSWORD}"}
            expect: {status: [200]}
  - name: hub
    flows:
      - name: publish
        timeout: 5s
        steps:
          - name: publish
            function: send
            request:
              method: POST
              url: %s/api/publish
              headers: {X-API-Key: "${env:WRONG_KEY}"}
              json: {channel: probe, data: {text: hello}}
            expect: {status: [200]}
`, freePort(t), dir, d.url, user, c.url))
	env := []string{"WRONG_PASSWORD=" + password + "-not", "WRONG_KEY=not-" + c.apiKey}
	steps := map[string]string{}
	for _, run := range []string{"login", "publish"} {
		out, _ := runCmd(t, append(append([]string{"env"}, env...), binary, "once", "--config", cfg, "--flow", run, "--format", "json")...)
		var runs []struct {
			Steps []onceStep `json:"steps"`
		}
		if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 1 || len(runs[0].Steps) != 1 {
			t.Fatalf("once --flow %s: %v\n%s", run, err, out)
		}
		steps[run] = runs[0].Steps[0].Error
		if strings.Contains(out, password) || strings.Contains(out, c.apiKey) {
			t.Errorf("a secret in\n%s", out)
		}
	}
	for run, want := range map[string]string{
		"login": `login: status 403, want 200: M_FORBIDDEN "The username or password was incorrect or the account does not exist."`,
		// Centrifugo answers a wrong API key 401 with an empty body
		// (Content-Length: 0): nothing to say.
		"publish": `publish: status 401, want 200`,
	} {
		if steps[run] != want {
			t.Errorf("%s: %q, want %q", run, steps[run], want)
		}
	}
}
