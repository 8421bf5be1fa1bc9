package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestFrozenServersPhases runs `slaprobe once` on the shipped examples
// against a frozen (SIGSTOP) Dendrite and Centrifugo: the kernel still
// accepts the connection and nothing answers, so the first step (the
// Matrix login, the hub's WebSocket handshake) fails at the flow's timeout,
// and its phases must say where the time went: connected, then waiting for
// the answer (processing). Before, a phase still open at the timeout was
// dropped: connect 0.0002 s, processing 0, for a step that waited 0.9 s.
func TestFrozenServersPhases(t *testing.T) {
	d := startDendrite(t)
	user, _, room := d.probeRoom()
	c := startCentrifugo(t)
	dir := t.TempDir()
	cases := []struct {
		name, example, step string
		srv                 *server
		vars                map[string]string
		env                 []string
	}{
		{"dendrite", "matrix.yaml", "login", d.server, map[string]string{"hs": d.url, "user": user, "room": room}, []string{"MATRIX_PASSWORD=unused-while-frozen"}},
		{"centrifugo", "centrifugo.yaml", "websocket", c.server, map[string]string{"hub": c.url}, []string{"CENTRIFUGO_HMAC_SECRET=" + c.hmacSecret, "CENTRIFUGO_API_KEY=" + c.apiKey}},
	}
	// One after the other in this goroutine: the servers' helpers fail
	// the test that started them.
	for _, tc := range cases {
		func() {
			cfg := exampleConfig(t, tc.example, dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/"+tc.name+".db", tc.vars)
			tc.srv.freeze()
			defer tc.srv.thaw()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "once", "--config", cfg, "--format", "json")
			cmd.Env = append(cmd.Environ(), tc.env...)
			out, err := cmd.Output()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("once against a frozen %s: %v (want exit 1: a failed run)\n%s", tc.name, err, out)
			}
			var runs []struct {
				Steps []struct {
					Step     string  `json:"step"`
					Status   string  `json:"status"`
					Duration float64 `json:"duration_seconds"`
					Error    string  `json:"error"`
					Phases   struct {
						Connect    float64 `json:"connect"`
						Processing float64 `json:"processing"`
					} `json:"phases"`
				} `json:"steps"`
			}
			if err := json.Unmarshal(out, &runs); err != nil || len(runs) != 1 || len(runs[0].Steps) == 0 {
				t.Fatalf("once --format json: %v\n%s", err, out)
			}
			s := runs[0].Steps[0]
			if s.Step != tc.step || s.Status != "failed" || !strings.Contains(s.Error, "timeout after") {
				t.Fatalf("first step %+v, want %s failed at a timeout", s, tc.step)
			}
			if s.Phases.Processing < s.Duration/2 {
				t.Errorf("%s hung %.3fs waiting for a frozen %s's answer, but its phases say connect %.6fs, processing %.6fs: the wait must be in processing",
					s.Step, s.Duration, tc.name, s.Phases.Connect, s.Phases.Processing)
			}
		}()
	}
}
