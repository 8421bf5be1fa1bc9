package integration

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestMatrixOnceLogsOut runs `slaprobe once` on examples/matrix.yaml against
// Dendrite, as the README's recipe does before `run`: the session logs in
// and, when once is done, logs that device out (its session_end teardown),
// so the probe's account has as many devices after any number of `once`
// runs as before. Each `once` used to leave one more device.
func TestMatrixOnceLogsOut(t *testing.T) {
	d := startDendrite(t)
	user, password, room := d.probeRoom()
	dir := t.TempDir()
	cfg := exampleConfig(t, "matrix.yaml", dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/results.db",
		map[string]string{"hs": d.url, "user": user, "room": room})
	env := []string{"env", "MATRIX_PASSWORD=" + password}
	before := d.devices(user, password)
	for i := range 3 {
		out := runTool(t, "", append(env, binary, "once", "--config", cfg, "--format", "json")...)
		var runs []struct {
			OK       bool `json:"ok"`
			Teardown []struct {
				Step   string `json:"step"`
				Status string `json:"status"`
			} `json:"teardown"`
		}
		if err := json.Unmarshal([]byte(out), &runs); err != nil {
			t.Fatalf("once %d: %v\n%s", i, err, out)
		}
		if len(runs) != 1 || !runs[0].OK || len(runs[0].Teardown) != 1 || runs[0].Teardown[0].Step != "logout" || runs[0].Teardown[0].Status != "ok" {
			t.Errorf("once %d: want an ok run whose teardown is the session's logout (ok):\n%s", i, out)
		}
	}
	if after := d.devices(user, password); after != before {
		t.Errorf("devices of @%s: %d before, %d after 3 once runs; want %d (each once logs its device out)", user, before, after, before)
	}
}
