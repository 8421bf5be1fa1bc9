package integration

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/slaprobe/slaprobe/store"
)

// daemonConfig is a config with two flows at a 1 s interval against the
// platform at platformAddr.
func daemonConfig(platformAddr, listen, db string, extraFlow bool) string {
	maps := ""
	if extraFlow {
		maps = `
  - name: maps
    objective: 0.99
    flows:
      - name: maps-route
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://` + platformAddr + `/maps/login", json: {user: probe, password: pw}}
            expect: {status: [200]}
            extract: {token: {jsonpath: "$.token"}}
          - name: search
            function: search
            request: {url: "http://` + platformAddr + `/maps/search?q=pangyo", headers: {Authorization: "Bearer ${token}"}}
            expect: {status: [200]}
`
	}
	return `location: it-a
timezone: Asia/Seoul
listen: ` + listen + `
storage: {driver: sqlite, dsn: ` + db + `}
defaults: {interval: 1s, timeout: 1s, down_after: 2, up_after: 1}
services:
  - name: messaging
    objective: 0.999
    flows:
      - name: messaging-roundtrip
        vars: {user: "probe-${location}", password: secret}
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://` + platformAddr + `/messaging/login", json: {user: "${user}", password: "${password}"}}
            expect: {status: [200]}
            extract: {token: {jsonpath: "$.token"}}
          - name: send
            function: send
            request:
              method: POST
              url: "http://` + platformAddr + `/messaging/messages"
              headers: {Authorization: "Bearer ${token}"}
              json: {to: "${user}", text: "probe ${run.id}"}
            expect: {status: [201]}
            extract: {message_id: {jsonpath: "$.id"}}
          - name: receive
            function: receive
            request:
              url: "http://` + platformAddr + `/messaging/inbox?after=${message_id}"
              headers: {Authorization: "Bearer ${token}"}
            poll: {every: 100ms, within: 500ms}
            expect:
              status: [200]
              jsonpath: {"$.messages[*].id": {contains: "${message_id}"}}
` + maps
}

// startPlatform runs `slaprobe platform` on a free port.
func startPlatform(t *testing.T) string {
	t.Helper()
	_, addr := startPlatformProc(t)
	return addr
}

// startPlatformProc runs `slaprobe platform` on a free port and returns the
// process and its address.
func startPlatformProc(t *testing.T) (*proc, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := start(t, "platform", binary, "platform", "--listen", addr)
	waitHTTP(t, "http://"+addr+"/", 200, 10*time.Second)
	return p, addr
}

// daemonEnv is a demo platform and the paths and address of a daemon
// probing it: what every daemon test starts from.
type daemonEnv struct {
	dir, plat, listen, db string
}

func newDaemonEnv(t *testing.T) *daemonEnv {
	t.Helper()
	dir := t.TempDir()
	return &daemonEnv{dir: dir, plat: startPlatform(t), listen: fmt.Sprintf("127.0.0.1:%d", freePort(t)), db: dir + "/results.db"}
}

// config (re)writes the daemon's config file (daemonConfig plus extra) and
// returns its path.
func (e *daemonEnv) config(t *testing.T, extraFlow bool, extra string) string {
	t.Helper()
	return writeFile(t, e.dir, "slaprobe.yaml", daemonConfig(e.plat, e.listen, e.db, extraFlow)+extra)
}

// start runs `slaprobe run` on cfg and waits until /healthz answers 200.
func (e *daemonEnv) start(t *testing.T, name, cfg string) *proc {
	t.Helper()
	d := start(t, name, binary, "run", "--config", cfg)
	waitHTTP(t, "http://"+e.listen+"/healthz", 200, 15*time.Second)
	return d
}

// metrics scrapes the daemon.
func (e *daemonEnv) metrics(t *testing.T) string { return get(t, "http://"+e.listen+"/metrics") }

// metricSum adds up every sample of a metric family in a scrape.
func metricSum(scrape, name string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? (\S+)$`)
	sum, found := 0.0, false
	for _, m := range re.FindAllStringSubmatch(scrape, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err == nil && !math.IsNaN(v) {
			sum += v
			found = true
		}
	}
	return sum, found
}

// storedRuns counts the runs in a SQLite store.
func storedRuns(t *testing.T, db string) int {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(ctx, store.Query{From: time.Unix(0, 0), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

func TestDaemonMetricsAndSIGTERM(t *testing.T) {
	env := newDaemonEnv(t)
	d := env.start(t, "daemon", env.config(t, true, ""))

	var scrape string
	eventually(t, 20*time.Second, 200*time.Millisecond, "4 runs per flow", func() (bool, string) {
		scrape = env.metrics(t)
		ok, _ := metricSum(scrape, `slaprobe_runs_total`)
		return ok >= 8, fmt.Sprintf("runs_total=%v", ok)
	})

	for _, series := range []string{
		`probe_success{flow="messaging-roundtrip",location="it-a",service="messaging",step="receive"} 1`,
		`slaprobe_flow_up{flow="maps-route",location="it-a",service="maps"} 1`,
		`slaprobe_objective_ratio{service="messaging"} 0.999`,
		`slaprobe_store_dropped_results_total 0`,
		`slaprobe_store_quarantined_total 0`,
		`probe_duration_seconds_bucket{flow="messaging-roundtrip"`,
		`probe_http_duration_seconds{flow="messaging-roundtrip"`,
		`slaprobe_runs_total{flow="messaging-roundtrip",location="it-a",result="ok",service="messaging"}`,
		`slaprobe_schedule_lag_seconds_bucket`,
		`slaprobe_store_queue_depth`,
		`slaprobe_build_info`,
	} {
		if !strings.Contains(scrape, series) {
			t.Errorf("scrape lacks %s", series)
		}
	}

	// promtool check metrics reads the exposition from stdin and lints it.
	lint := exec.Command("promtool", "check", "metrics")
	lint.Stdin = strings.NewReader(scrape)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	status := get(t, "http://"+env.listen+"/api/v1/status")
	var st any
	if err := json.Unmarshal([]byte(status), &st); err != nil || !strings.Contains(status, "messaging-roundtrip") {
		t.Errorf("/api/v1/status: %v: %s", err, status)
	}

	before, _ := metricSum(env.metrics(t), "slaprobe_runs_total")
	if code := d.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0", code)
	}
	if n := storedRuns(t, env.db); float64(n) < before {
		t.Fatalf("store holds %d runs after SIGTERM, but %v were counted before it", n, before)
	}
}

func TestDaemonKill9KeepsAcknowledgedResults(t *testing.T) {
	env := newDaemonEnv(t)
	cfg := env.config(t, true, "")
	d := env.start(t, "daemon", cfg)
	var acked float64
	eventually(t, 20*time.Second, 100*time.Millisecond, "acknowledged runs", func() (bool, string) {
		scrape := env.metrics(t)
		acked, _ = metricSum(scrape, "slaprobe_store_committed_runs_total")
		runs, _ := metricSum(scrape, "slaprobe_runs_total")
		return acked >= 6, fmt.Sprintf("committed=%v runs=%v", acked, runs)
	})
	d.stop(t, syscall.SIGKILL, 10*time.Second)

	if n := storedRuns(t, env.db); float64(n) < acked {
		t.Fatalf("after kill -9 the store holds %d runs; %v were acknowledged", n, acked)
	}
	sdb, err := sql.Open("sqlite", env.db)
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := sdb.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	sdb.Close()

	// It starts again on the same database and keeps probing.
	d2 := env.start(t, "daemon-restarted", cfg)
	if code := d2.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
		t.Fatalf("restarted daemon exit = %d", code)
	}
}

func TestDaemonReload(t *testing.T) {
	env := newDaemonEnv(t)
	d := env.start(t, "daemon", env.config(t, false, ""))
	if strings.Contains(env.metrics(t), `flow="maps-route"`) {
		t.Fatal("maps-route present before it was configured")
	}

	env.config(t, true, "")
	d.signal(syscall.SIGHUP)
	eventually(t, 15*time.Second, 200*time.Millisecond, "maps-route after reload", func() (bool, string) {
		return strings.Contains(env.metrics(t), `slaprobe_runs_total{flow="maps-route"`), "not yet"
	})
	if m := env.metrics(t); !strings.Contains(m, "slaprobe_config_last_reload_successful 1\n") {
		t.Errorf("after a reload that took, /metrics lacks slaprobe_config_last_reload_successful 1")
	}

	// An invalid config is rejected with its line, and the running one
	// stays; the metric says so (systemctl reload succeeds either way).
	env.config(t, true, "bogus_key: 1\n")
	d.signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, 100*time.Millisecond, "reload rejected in the log", func() (bool, string) {
		return strings.Contains(d.output(), "bogus_key"), "no mention of bogus_key"
	})
	waitHTTP(t, "http://"+env.listen+"/healthz", 200, 5*time.Second)
	if m := env.metrics(t); !strings.Contains(m, "slaprobe_config_last_reload_successful 0\n") {
		t.Errorf("after a rejected reload, /metrics lacks slaprobe_config_last_reload_successful 0")
	}

	// Removing a flow removes its series.
	env.config(t, false, "")
	d.signal(syscall.SIGHUP)
	eventually(t, 15*time.Second, 200*time.Millisecond, "maps-route series gone", func() (bool, string) {
		return !strings.Contains(env.metrics(t), `flow="maps-route"`), "still there"
	})
	if code := d.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
		t.Fatalf("exit code = %d", code)
	}
}

// TestOnceAgainstPlatform: every example flow passes against the live demo
// platform; with messaging receive dropped, only messaging fails, at receive.
func TestOnceAgainstPlatform(t *testing.T) {
	dir := t.TempDir()
	plat := startPlatform(t)
	example, err := os.ReadFile("../../examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Timelines and the webhook secret are relative to the config file;
	// copy them beside it. The callback listener gets a free port.
	hooks := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	writeFile(t, dir, "demo.yaml", strings.NewReplacer("127.0.0.1:18080", plat, "127.0.0.1:9116", hooks).Replace(string(example)))
	if err := os.CopyFS(dir+"/incidents", os.DirFS("../../examples/incidents")); err != nil {
		t.Fatal(err)
	}
	secret, err := os.ReadFile("../../examples/webhook-secret")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "webhook-secret", string(secret))
	cfg := dir + "/demo.yaml"

	out, code := runCmd(t, binary, "once", "--config", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("once exit = %d, want 0\n%s", code, out)
	}
	runs := decodeRuns(t, out)
	for _, r := range runs {
		if !r.OK {
			t.Errorf("flow %s failed: %+v", r.Flow, r.Steps)
		}
	}

	body := `{"service":"messaging","functions":["receive"],"mode":"drop","rate":1.0,"duration":"10m"}`
	resp, err := http.Post("http://"+plat+"/_admin/faults", "application/json", bytes.NewBufferString(body))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("inject fault: %v %v", err, resp)
	}
	resp.Body.Close()

	out, code = runCmd(t, binary, "once", "--config", cfg, "--format", "json")
	if code != 1 {
		t.Fatalf("once exit with receive dropped = %d, want 1\n%s", code, out)
	}
	for _, r := range decodeRuns(t, out) {
		if r.Service != "messaging" {
			if !r.OK {
				t.Errorf("flow %s of %s failed, only messaging should", r.Flow, r.Service)
			}
			continue
		}
		if r.OK {
			t.Errorf("messaging flow %s passed with receive dropped", r.Flow)
		}
		for _, s := range r.Steps {
			want := "ok"
			switch {
			case s.Step == "receive": // the stream opened ("websocket", also receive); the push never came
				want = "failed"
			case s.Function == "media" || s.Function == "attachments":
				want = "not_run"
			}
			if s.Status != want && !(want == "ok" && s.Status == "degraded") {
				t.Errorf("%s/%s status %s, want %s (%s)", r.Flow, s.Step, s.Status, want, s.Error)
			}
		}
	}
}

type onceRun struct {
	Flow    string `json:"flow"`
	Service string `json:"service"`
	OK      bool   `json:"ok"`
	Steps   []struct {
		Step     string `json:"step"`
		Function string `json:"function"`
		Status   string `json:"status"`
		Error    string `json:"error"`
	} `json:"steps"`
}

func decodeRuns(t *testing.T, out string) []onceRun {
	t.Helper()
	var runs []onceRun
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("once --format json: %v\n%s", err, out)
	}
	if len(runs) == 0 {
		t.Fatal("once printed no runs")
	}
	return runs
}

// runCmd runs a command to completion and returns stdout and the exit code.
func runCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%v: %v", args, err)
	}
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", args[1], stderr.String())
	}
	return stdout.String(), cmd.ProcessState.ExitCode()
}
