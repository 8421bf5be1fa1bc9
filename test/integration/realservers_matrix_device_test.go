package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// TestMatrixSessionDeviceLoggedOut: Matrix says a session ended on HTTP:
// Dendrite answers a token whose device was logged out with 401
// M_UNKNOWN_TOKEN ({"errcode":"M_UNKNOWN_TOKEN","error":"Unknown token"},
// no soft_logout field), and the next run of the shipped
// example, whose session holds that token, logs in again and passes. Held
// already (a 401 re-logs in); pinned beside the in-protocol expiry of a
// hub's token, with one device of the account deleted, not all of them.
func TestMatrixSessionDeviceLoggedOut(t *testing.T) {
	d := startDendrite(t)
	user, password, room := d.probeRoom()

	// What Dendrite says to a logged-out token.
	tok := d.login(user, password)
	d.logout(tok)
	st, m := d.matrix("GET", "/sync?timeout=0", tok, nil)
	if st != http.StatusUnauthorized || m["errcode"] != "M_UNKNOWN_TOKEN" {
		t.Errorf("sync with a logged-out token: %d %v, want 401 M_UNKNOWN_TOKEN", st, m)
	}
	t.Logf("Dendrite to a logged-out token: %d %v", st, m)

	dir := t.TempDir()
	path := exampleConfig(t, "matrix.yaml", dir, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir+"/results.db",
		map[string]string{"hs": d.url, "user": user, "room": room})
	cfg, err := config.Load(path, config.Options{LookupEnv: func(k string) (string, bool) {
		return password, k == "MATRIX_PASSWORD"
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Services[0].Flows {
		cfg.Services[0].Flows[i].Timeout = 15 * time.Second // in process: no schedule to keep
	}
	r, err := probe.NewRunner(cfg, probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	t.Cleanup(func() { r.EndSessions(context.Background()) })
	flow := &cfg.Services[0].Flows[0]
	steps := func(run probe.Run) string {
		var out []string
		for _, s := range run.Steps {
			out = append(out, s.Step+"="+string(s.Status))
			if s.Error != "" {
				t.Logf("  %s: %s", s.Step, s.Error)
			}
		}
		return strings.Join(out, " ")
	}
	const all = "sync-position=ok send=ok receive=ok"
	before := d.deviceIDs(user, password)
	if got := steps(r.Run(context.Background(), flow)); got != "login=ok "+all {
		t.Fatalf("first run: %s", got)
	}
	var probeDev string
	for _, id := range d.deviceIDs(user, password) {
		if !slices.Contains(before, id) {
			probeDev = id
		}
	}
	if probeDev == "" {
		t.Fatal("the probe's session made no device")
	}
	// Delete the session's device (user-interactive auth with the password).
	own := d.login(user, password)
	defer d.logout(own)
	body := map[string]any{"devices": []string{probeDev}}
	st, m = d.matrix("POST", "/delete_devices", own, body)
	if st == http.StatusUnauthorized {
		body["auth"] = map[string]any{"type": "m.login.password", "session": m["session"],
			"identifier": map[string]string{"type": "m.id.user", "user": user}, "password": password}
		st, m = d.matrix("POST", "/delete_devices", own, body)
	}
	if st != 200 {
		t.Fatalf("delete_devices %s: %d %v", probeDev, st, m)
	}
	if got := steps(r.Run(context.Background(), flow)); got != "login=ok "+all {
		t.Errorf("the run after the session's device was deleted: %s, want login=ok %s (one new login)", got, all)
	}
	if got := steps(r.Run(context.Background(), flow)); got != all {
		t.Errorf("the run after: %s, want %s (the new session kept)", got, all)
	}
}
