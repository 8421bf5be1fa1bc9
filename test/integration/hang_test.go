package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// A real server that hangs: `slaprobe platform` frozen with SIGSTOP (the
// kernel still accepts connections; nothing answers) and resumed with
// SIGCONT, probed by `slaprobe run` with timeout equal to and below the
// interval, with adaptive edge probing off and at its default. The stored
// window and `windows --recompute` must agree, start at the first hanging
// run's start and end at the first passing run's start, with no unknown
// stretch; the test logs the edge errors against the freeze and the thaw.
func TestFrozenServerIsOneWindow(t *testing.T) {
	const interval = 2 * time.Second
	tests := []struct {
		timeout time.Duration
		confirm string // "" for the default (interval/6, at least 1s: 1s here)
	}{
		{timeout: 2 * time.Second, confirm: "0s"},
		{timeout: time.Second, confirm: "0s"},
		{timeout: 2 * time.Second},
		{timeout: time.Second},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("timeout %v confirm_every %s", tc.timeout, tc.confirm)
		if tc.confirm == "" {
			name = fmt.Sprintf("timeout %v confirm_every default", tc.timeout)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			plat := &server{t: t, name: "platform", args: []string{binary, "platform", "--listen", addr}, ready: "http://" + addr + "/"}
			plat.start()
			listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			db := dir + "/results.db"
			confirm := ""
			if tc.confirm != "" {
				confirm = ", confirm_every: " + tc.confirm
			}
			cfg := writeFile(t, dir, "slaprobe.yaml", fmt.Sprintf(`location: it-a
timezone: Asia/Seoul
listen: %s
storage: {driver: sqlite, dsn: %s}
defaults: {interval: %s, timeout: %s, down_after: 2, up_after: 1%s}
services:
  - name: account
    flows:
      - name: account-login
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://%s/account/login", json: {user: probe, password: pw}}
            expect: {status: [200]}
`, listen, db, interval, tc.timeout, confirm, addr))
			began := time.Now()
			d := start(t, "daemon", binary, "run", "--config", cfg)
			waitHTTP(t, "http://"+listen+"/healthz", 200, 15*time.Second)

			time.Sleep(3 * interval)
			frozeAt := time.Now()
			plat.freeze()
			time.Sleep(4 * interval)
			thawedAt := time.Now()
			plat.thaw()
			time.Sleep(3 * interval)
			if code := d.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
				t.Fatalf("daemon exit code %d after SIGTERM", code)
			}

			from, to := began.Add(-time.Minute).Truncate(time.Second), time.Now().Add(time.Minute).Truncate(time.Second)
			stored := windowsJSON(t, cfg, db, from, to, false)
			recomputed := windowsJSON(t, cfg, db, from, to, true)
			if !bytes.Equal(stored, recomputed) {
				t.Errorf("stored windows and --recompute differ:\n%s\n---\n%s", stored, recomputed)
			}
			var ws []struct {
				Function *string    `json:"function"`
				Kind     string     `json:"kind"`
				Start    time.Time  `json:"start"`
				End      *time.Time `json:"end"`
				Error    string     `json:"error"`
				StartUnc *float64   `json:"start_uncertainty_seconds"`
				EndUnc   *float64   `json:"end_uncertainty_seconds"`
				StartLat *float64   `json:"start_uncertainty_later_seconds"`
				EndLat   *float64   `json:"end_uncertainty_later_seconds"`
			}
			if err := json.Unmarshal(stored, &ws); err != nil {
				t.Fatalf("%v: %s", err, stored)
			}
			var flow []int
			for i, w := range ws {
				if w.Function == nil {
					flow = append(flow, i)
				}
			}
			if len(flow) != 1 {
				t.Fatalf("%d whole-flow windows, want 1: %s", len(flow), stored)
			}
			w := ws[flow[0]]
			if w.Kind != "down" || w.End == nil {
				t.Fatalf("window %+v: want a closed down window", w)
			}

			runs, unknown := storedHistory(t, db, from, to)
			var firstHang, firstPass *probe.Run
			for i := range runs {
				r := &runs[i]
				if firstHang == nil && r.Start.After(frozeAt.Add(-tc.timeout)) && !r.OK() {
					firstHang = r
				}
				if firstHang != nil && firstPass == nil && r.OK() {
					firstPass = r
				}
			}
			if firstHang == nil || firstPass == nil {
				t.Fatalf("%d runs: no hanging run followed by a passing one", len(runs))
			}
			if !w.Start.Equal(firstHang.Start) || !w.End.Equal(firstPass.Start) {
				t.Errorf("window %v..%v, want the first hanging run's start %v to the first passing run's start %v",
					w.Start, *w.End, firstHang.Start, firstPass.Start)
			}
			if len(unknown) > 0 {
				t.Errorf("unknown stretches: %v", unknown)
			}
			unc := func(f *float64) string {
				if f == nil {
					return "null"
				}
				return fmt.Sprintf("%.2fs", *f)
			}
			startErr, endErr := w.Start.Sub(frozeAt), w.End.Sub(thawedAt)
			if startErr < -tc.timeout || startErr > interval+time.Second {
				t.Errorf("window starts %v after the freeze", startErr)
			}
			if endErr < -tc.timeout || endErr > interval+time.Second {
				t.Errorf("window ends %v after the thaw", endErr)
			}
			// The fault began by the end of the first failing run, and
			// the platform was back by the end of the run that ended the
			// window (it started while frozen and passed when thawed):
			// each edge's later bound reaches the signal, sent just after
			// frozeAt and thawedAt.
			later := func(at time.Time, f *float64) time.Time {
				if f == nil {
					return time.Time{}
				}
				return at.Add(time.Duration(*f * float64(time.Second)))
			}
			if l := later(w.Start, w.StartLat); l.Before(frozeAt) {
				t.Errorf("start %v + start_uncertainty_later_seconds %s = %v, before the freeze %v", w.Start, unc(w.StartLat), l, frozeAt)
			}
			if l := later(*w.End, w.EndLat); l.Before(thawedAt) {
				t.Errorf("end %v + end_uncertainty_later_seconds %s = %v, before the thaw %v", *w.End, unc(w.EndLat), l, thawedAt)
			}
			t.Logf("interval %v timeout %v confirm_every %q: start %+.2fs after the freeze, end %+.2fs after the thaw; uncertainty start -%s +%s end -%s +%s; %d runs; error %q",
				interval, tc.timeout, tc.confirm, startErr.Seconds(), endErr.Seconds(), unc(w.StartUnc), unc(w.StartLat), unc(w.EndUnc), unc(w.EndLat), len(runs), w.Error)
		})
	}
}

// windowsJSON runs `slaprobe windows --format json` (with --recompute when
// asked) and returns its output.
func windowsJSON(t *testing.T, cfg, db string, from, to time.Time, recompute bool) []byte {
	t.Helper()
	args := []string{"windows", "--config", cfg, "--db", db, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--format", "json"}
	if recompute {
		args = append(args, "--recompute")
	}
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		t.Fatalf("slaprobe %v: %v", args, err)
	}
	return out
}

// storedHistory returns the runs and the unknown windows stored in a range.
func storedHistory(t *testing.T, db string, from, to time.Time) ([]probe.Run, []state.Window) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := store.Query{From: from, To: to}
	runs, err := st.Runs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.Windows(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var unknown []state.Window
	for _, w := range ws {
		if w.Kind == state.KindUnknown {
			unknown = append(unknown, w)
		}
	}
	return runs, unknown
}
