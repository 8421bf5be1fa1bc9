package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/slaprobe/slaprobe/store"
)

// The shipped examples (examples/matrix.yaml, examples/centrifugo.yaml)
// run as a daemon against the real servers for about two minutes at a 1 s
// interval, while the server is frozen (SIGSTOP/SIGCONT) and later killed
// and restarted; the down windows the daemon stores must match those fault
// times within one interval, and nothing else may be down.

const (
	faultInterval = time.Second
	faultTimeout  = 900 * time.Millisecond // a run ends before the next is due
	faultLength   = 8 * time.Second        // each fault lasts this long
)

// exampleConfig reads a shipped example and adapts it for a test: the
// daemon's listen address and store, a short interval and timeout on every
// flow (and the polls and awaits that must fit in it), and the flow vars in
// vars. Everything else is the file as shipped.
func exampleConfig(t *testing.T, example, dir, listen, db string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/" + example)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", example, err)
	}
	root := doc.Content[0]
	setKey(root, "listen", listen)
	setKey(setKey(root, "storage", nil), "dsn", db)
	for _, svc := range seqOf(t, mapGet(t, root, "services")) {
		for _, flow := range seqOf(t, mapGet(t, svc, "flows")) {
			setKey(flow, "interval", faultInterval.String())
			setKey(flow, "timeout", faultTimeout.String())
			fv := mapGet(t, flow, "vars")
			for k, v := range vars {
				if mapGet(t, fv, k) == nil {
					t.Fatalf("%s: flow %s has no var %s", example, mapGet(t, flow, "name").Value, k)
				}
				setKey(fv, k, v)
			}
			for _, list := range []*yaml.Node{mapGet(t, flow, "steps"), mapGet(t, flow, "teardown"), mapGet(t, mapGet(t, flow, "session"), "steps")} {
				for _, step := range seqOf(t, list) {
					if poll := mapGet(t, step, "poll"); poll != nil {
						setKey(poll, "every", "50ms")
						setKey(poll, "within", "700ms")
					}
				}
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, example, string(out))
}

// mapGet returns the value of key in mapping n (nil when absent or n nil).
func mapGet(t *testing.T, n *yaml.Node, key string) *yaml.Node {
	t.Helper()
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		t.Fatalf("line %d: not a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func seqOf(t *testing.T, n *yaml.Node) []*yaml.Node {
	t.Helper()
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		t.Fatalf("line %d: not a list", n.Line)
	}
	return n.Content
}

// setKey sets key in mapping n to the scalar v (to an empty mapping when v
// is nil and the key is absent) and returns the value node.
func setKey(n *yaml.Node, key string, v any) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			if v != nil {
				n.Content[i+1] = scalar(v)
			}
			return n.Content[i+1]
		}
	}
	val := scalar(v)
	if v == nil {
		val = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
	return val
}

func scalar(v any) *yaml.Node {
	var n yaml.Node
	_ = n.Encode(v)
	return &n
}

// injected is one outage the test caused: the server stopped answering at from and
// answered again at to.
type injected struct {
	what     string
	from, to time.Time
}

// faultScenario runs the daemon on cfg against srv: healthy, frozen for
// faultLength, healthy, killed and restarted after faultLength, healthy
// until the daemon has done at least minRuns runs, then SIGTERM. hook, when
// not nil, is called with "first run" after the first successful run and
// with "last run" just before the SIGTERM (the Matrix test counts devices
// there). It returns the faults and the daemon's window of operation.
func faultScenario(t *testing.T, srv *server, e *daemonEnv, cfg string, env []string, minRuns int, hook func(phase string, runs float64)) (faults []injected, from, to time.Time) {
	t.Helper()
	from = time.Now()
	d := startEnv(t, "daemon", env, binary, "run", "--config", cfg)
	waitHTTP(t, "http://"+e.listen+"/healthz", 200, 30*time.Second)
	runs := func() float64 {
		v, _ := metricSum(e.metrics(t), `slaprobe_runs_total`)
		return v
	}
	// Healthy first: the flow must pass against the real server as shipped.
	eventually(t, 30*time.Second, 200*time.Millisecond, "a first successful run", func() (bool, string) {
		s := e.metrics(t)
		ok := strings.Contains(s, `result="ok"`)
		return ok, firstLines(s, "slaprobe_runs_total")
	})
	if hook != nil {
		hook("first run", runs())
	}
	time.Sleep(8 * faultInterval)

	// Each fault starts and ends a little before a run is due, so that
	// the measured edges do not depend on where in the interval the fault
	// fell (up to an interval later, plus any scheduling lag of a loaded
	// machine): the window must then be within one interval of the fault.
	beforeDue(t, e)
	f := injected{what: "frozen (SIGSTOP)", from: time.Now()}
	srv.freeze()
	time.Sleep(faultLength)
	beforeDue(t, e)
	srv.thaw()
	f.to = time.Now()
	faults = append(faults, f)
	time.Sleep(12 * faultInterval)

	beforeDue(t, e)
	f = injected{what: "killed and restarted", from: time.Now()}
	srv.kill()
	time.Sleep(faultLength)
	srv.restart() // returns once the server answers its readiness URL
	f.to = srv.started[len(srv.started)-1]
	faults = append(faults, f)

	eventually(t, 3*time.Minute, time.Second, fmt.Sprintf("%d runs", minRuns), func() (bool, string) {
		n := runs()
		return n >= float64(minRuns), fmt.Sprintf("%v runs", n)
	})
	time.Sleep(8 * faultInterval) // healthy again for a while
	if hook != nil {
		hook("last run", runs())
	}
	if code := d.stop(t, syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("daemon exited %d after SIGTERM", code)
	}
	return faults, from, time.Now()
}

// beforeDue sleeps until about a quarter interval before the daemon's
// next run is due, from the last run's start in /api/v1/status.
func beforeDue(t *testing.T, e *daemonEnv) {
	t.Helper()
	var st struct {
		Flows []struct {
			LastStart *time.Time `json:"last_start"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+e.listen+"/api/v1/status")), &st); err != nil || len(st.Flows) == 0 || st.Flows[0].LastStart == nil {
		t.Fatalf("/api/v1/status: no last run start (%v)", err)
	}
	next := *st.Flows[0].LastStart
	for !next.After(time.Now().Add(faultInterval / 4)) {
		next = next.Add(faultInterval)
	}
	time.Sleep(time.Until(next.Add(-faultInterval / 4)))
}

func firstLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// storedWindow is the part of `slaprobe windows --format json` checked here.
type storedWindow struct {
	Flow      string     `json:"flow"`
	Function  *string    `json:"function"`
	Kind      string     `json:"kind"`
	Start     time.Time  `json:"start"`
	End       *time.Time `json:"end"`
	CauseStep string     `json:"cause_step"`
	Error     string     `json:"error"`
}

// checkWindows reads the stored windows over [from, to] and checks that the
// flow's down windows are exactly the faults, each edge within one
// interval; it returns what it measured, for the test log.
func checkWindows(t *testing.T, cfg string, env []string, flow string, from, to time.Time, faults []injected) string {
	t.Helper()
	out := runTool(t, "", append(append([]string{"env"}, env...), binary, "windows", "--config", cfg, "--from", from.Add(-time.Minute).Format(time.RFC3339), "--to", to.Add(time.Minute).Format(time.RFC3339), "--format", "json")...)
	var ws []storedWindow
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		t.Fatalf("windows --format json: %v\n%s", err, out)
	}
	var down []storedWindow
	for _, w := range ws {
		if w.Flow == flow && w.Function == nil && w.Kind == "down" {
			down = append(down, w)
		}
	}
	var report bytes.Buffer
	if len(down) != len(faults) {
		t.Errorf("%d down windows of %s, want %d (one per fault):\n%s", len(down), flow, len(faults), out)
	}
	for i := 0; i < min(len(down), len(faults)); i++ {
		w, f := down[i], faults[i]
		if w.End == nil {
			t.Errorf("window %d (%s) still open", i, f.what)
			continue
		}
		ds, de := w.Start.Sub(f.from), w.End.Sub(f.to)
		fmt.Fprintf(&report, "%s: fault %s .. %s (%s); window %s .. %s (%s); start %+.3fs, end %+.3fs; cause %s: %s\n",
			f.what, f.from.UTC().Format("15:04:05.000"), f.to.UTC().Format("15:04:05.000"), f.to.Sub(f.from).Round(time.Millisecond),
			w.Start.UTC().Format("15:04:05.000"), w.End.UTC().Format("15:04:05.000"), w.End.Sub(w.Start).Round(time.Millisecond),
			ds.Seconds(), de.Seconds(), w.CauseStep, w.Error)
		if ds.Abs() > faultInterval || de.Abs() > faultInterval {
			t.Errorf("window %d is %s .. %s, fault %q was %s .. %s: an edge is more than one interval (%s) off (start %+.3fs, end %+.3fs)",
				i, w.Start.Format(time.RFC3339Nano), w.End.Format(time.RFC3339Nano), f.what,
				f.from.Format(time.RFC3339Nano), f.to.Format(time.RFC3339Nano), faultInterval, ds.Seconds(), de.Seconds())
		}
	}
	return report.String()
}

// runsAround lists the runs stored in db from a little before to a little
// after each fault: what the test log shows when a window is off.
func runsAround(t *testing.T, db string, faults []injected) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var b strings.Builder
	for _, f := range faults {
		runs, err := st.Runs(ctx, store.Query{From: f.from.Add(-2 * faultInterval), To: f.to.Add(2 * faultInterval)})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "runs around %s (%s .. %s):\n", f.what, f.from.UTC().Format("15:04:05.000"), f.to.UTC().Format("15:04:05.000"))
		for _, r := range runs {
			cause := ""
			if ff := r.FirstFailure(); ff != nil {
				cause = ff.Error
			}
			fmt.Fprintf(&b, "  %s %6s %-6s %s\n", r.Start.UTC().Format("15:04:05.000"), r.Duration.Round(time.Millisecond), r.Outcome(), cause)
		}
	}
	return b.String()
}

// TestMatrixUnderFaults runs examples/matrix.yaml against Dendrite.
func TestMatrixUnderFaults(t *testing.T) {
	d := startDendrite(t)
	user, password, room := d.probeRoom()
	e := &daemonEnv{dir: t.TempDir(), listen: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	e.db = e.dir + "/results.db"
	cfg := exampleConfig(t, "matrix.yaml", e.dir, e.listen, e.db, map[string]string{"hs": d.url, "user": user, "room": room})
	env := []string{"MATRIX_PASSWORD=" + password}
	runTool(t, "", append(append([]string{"env"}, env...), binary, "check", "--config", cfg)...)

	// Every login makes a device. The session logs in once and logs out
	// when it ends, so the account's device count is the same after 100
	// runs as after the first, and back where it was once slaprobe stops.
	before := d.devices(user, password)
	var first, last int
	var firstRuns, lastRuns float64
	faults, from, to := faultScenario(t, d.server, e, cfg, env, 100, func(phase string, runs float64) {
		switch phase {
		case "first run":
			first, firstRuns = d.devices(user, password), runs
		case "last run":
			last, lastRuns = d.devices(user, password), runs
		}
	})
	after := d.devices(user, password)
	t.Logf("devices of @%s: %d before slaprobe started, %d after run %v, %d after run %v, %d after it stopped",
		user, before, first, firstRuns, last, lastRuns, after)
	if first != before+1 || last != first || after != before {
		t.Errorf("device count %d before, %d after the first run, %d after %v runs, %d after shutdown: want %d, %d, %d, %d",
			before, first, last, lastRuns, after, before, before+1, before+1, before)
	}
	got := checkWindows(t, cfg, env, "matrix-roundtrip", from, to, faults)
	t.Logf("Dendrite v0.13.8, interval %s:\n%s", faultInterval, got)
	if t.Failed() {
		t.Log(runsAround(t, e.db, faults))
	}
}

// TestCentrifugoUnderFaults runs examples/centrifugo.yaml against Centrifugo.
func TestCentrifugoUnderFaults(t *testing.T) {
	c := startCentrifugo(t)
	e := &daemonEnv{dir: t.TempDir(), listen: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	e.db = e.dir + "/results.db"
	cfg := exampleConfig(t, "centrifugo.yaml", e.dir, e.listen, e.db, map[string]string{"hub": c.url})
	env := []string{"CENTRIFUGO_HMAC_SECRET=" + c.hmacSecret, "CENTRIFUGO_API_KEY=" + c.apiKey}
	runTool(t, "", append(append([]string{"env"}, env...), binary, "check", "--config", cfg)...)

	faults, from, to := faultScenario(t, c.server, e, cfg, env, 60, nil)
	got := checkWindows(t, cfg, env, "hub-roundtrip", from, to, faults)
	t.Logf("Centrifugo v6.9.1, interval %s:\n%s", faultInterval, got)
	if t.Failed() {
		t.Log(runsAround(t, e.db, faults))
	}
}

// TestMatrixLoggedOutBetweenRuns runs examples/matrix.yaml under the daemon
// and logs every device of the probe's account out on the homeserver
// between two runs (an admin's "log out all sessions", a password reset):
// the next run gets 401 for the kept token, logs in again and passes, so
// no run fails and no window opens; the account ends with the one device
// of the new session, and none once slaprobe stops (logout/all took the
// one create-account made too). The old session's logout is answered 401
// (M_UNKNOWN_TOKEN: its device is gone already), which the example takes
// as done: it expected only 200, so probe_success{step="logout"} read 0
// from then until the next session ended, an hour later.
func TestMatrixLoggedOutBetweenRuns(t *testing.T) {
	d := startDendrite(t)
	user, password, room := d.probeRoom()
	e := &daemonEnv{dir: t.TempDir(), listen: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	e.db = e.dir + "/results.db"
	cfg := exampleConfig(t, "matrix.yaml", e.dir, e.listen, e.db, map[string]string{"hs": d.url, "user": user, "room": room})
	env := []string{"MATRIX_PASSWORD=" + password}
	daemon := startEnv(t, "daemon", env, binary, "run", "--config", cfg)
	waitHTTP(t, "http://"+e.listen+"/healthz", 200, 30*time.Second)
	runs := func(result string) float64 {
		n := 0.0
		for _, l := range strings.Split(e.metrics(t), "\n") {
			if strings.HasPrefix(l, "slaprobe_runs_total{") && strings.Contains(l, `result="`+result+`"`) {
				v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
				n += v
			}
		}
		return n
	}
	eventually(t, 30*time.Second, 100*time.Millisecond, "three successful runs", func() (bool, string) {
		return runs("ok") >= 3, fmt.Sprint(runs("ok"), " ok runs")
	})
	// Between two runs (a quarter interval before the next is due): every
	// device of the account, the probe's session among them, is logged out.
	beforeDue(t, e)
	before := d.deviceIDs(user, password) // the probe's session's among them
	if len(before) == 0 {
		t.Fatal("no device before logout/all: the probe holds no session")
	}
	tok := d.login(user, password)
	if st, m := d.matrix("POST", "/logout/all", tok, map[string]any{}); st != 200 {
		t.Fatalf("logout/all: %d %v", st, m)
	}
	// Every device of before is gone, the probe's session's too (a new
	// one may be there already: on a loaded machine the next run may have
	// logged in again by now).
	after := d.deviceIDs(user, password)
	for _, id := range before {
		if slices.Contains(after, id) {
			t.Fatalf("devices after logout/all: %v, still holding %s of %v", after, id, before)
		}
	}
	ok := runs("ok")
	eventually(t, 30*time.Second, 100*time.Millisecond, "five more runs", func() (bool, string) {
		return runs("ok")+runs("failed") >= ok+5, fmt.Sprint(runs("ok"), " ok, ", runs("failed"), " failed")
	})
	if n := runs("failed"); n != 0 {
		t.Errorf("%v runs failed after the homeserver logged the session out; want 0 (the next run logs in again)", n)
	}
	if got := d.devices(user, password); got != 1 {
		t.Errorf("devices while the daemon runs after logout/all: %d, want 1 (the new session's)", got)
	}
	// The old session's logout (its session_end teardown) got 401: the
	// homeserver had ended it, its device is gone, which is what the
	// logout is for. It is no failure to page on.
	for _, l := range strings.Split(e.metrics(t), "\n") {
		if strings.HasPrefix(l, "probe_success{") && strings.Contains(l, `step="logout"`) && strings.HasSuffix(l, " 0") {
			t.Errorf("the logout of a session the homeserver had ended counts as failed: %s", l)
		}
	}
	if code := daemon.stop(t, syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("daemon exited %d after SIGTERM", code)
	}
	if got := d.devices(user, password); got != 0 {
		t.Errorf("devices after the daemon stopped: %d, want 0 (its session logged out)", got)
	}
}
