package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// amAlert is one alert as Alertmanager's v2 API lists it.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// amAlerts lists the alerts Alertmanager holds with the given alertname and
// flow (resolved ones are not listed).
func amAlerts(t *testing.T, amAddr, alertname, flow string) []amAlert {
	t.Helper()
	q := url.Values{"filter": {`alertname="` + alertname + `"`, `flow="` + flow + `"`}}
	var out []amAlert
	body := get(t, "http://"+amAddr+"/api/v2/alerts?"+q.Encode())
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("alertmanager alerts: %v: %s", err, body)
	}
	return out
}

// postFault adds a live fault to the platform and returns its id.
func postFault(t *testing.T, plat, body string) string {
	t.Helper()
	resp, err := http.Post("http://"+plat+"/_admin/faults", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("add fault %s: %v %s", body, err, resp.Status)
	}
	return r.ID
}

// #13.2: the notifier and the HTTP server shared the signal's context with
// the daemon, so on SIGTERM they stopped at once while the runs in flight
// went on: a run that closed a window during the drain was stored but its
// resolve was neither sent nor saved (after a restart the alert came back
// firing), and /healthz was gone during the drain. Now the daemon drains,
// then the notifier sends and saves, then HTTP stops.
func TestSIGTERMWhileAWindowClosesResolvesIt(t *testing.T) {
	amBin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		amBin = requireTool(t, "alertmanager")
	}
	dir := t.TempDir()
	amAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	amCfg := writeFile(t, dir, "alertmanager.yml", "route: {receiver: none}\nreceivers: [{name: none}]\n")
	start(t, "alertmanager", amBin, "--config.file="+amCfg, "--storage.path="+dir+"/am",
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	waitHTTP(t, "http://"+amAddr+"/-/ready", 200, 30*time.Second)

	env := newDaemonEnv(t)
	const flow = "messaging-login"
	cfg := writeFile(t, env.dir, "slaprobe.yaml", `location: it-a
timezone: Asia/Seoul
listen: `+env.listen+`
storage: {driver: sqlite, dsn: `+env.db+`}
defaults: {interval: 8s, timeout: 8s, down_after: 1, up_after: 1}
alerting:
  alertmanager: {urls: ["http://`+amAddr+`"], resend: 1m}
services:
  - name: messaging
    flows:
      - name: `+flow+`
        steps:
          - name: login
            function: login
            request: {method: POST, url: "http://`+env.plat+`/messaging/login", json: {user: probe, password: pw}}
            expect: {status: [200]}
`)
	d := env.start(t, "daemon", cfg)

	failing := postFault(t, env.plat, `{"service":"messaging","functions":["login"],"mode":"error","rate":1.0,"duration":"10m"}`)
	eventually(t, 30*time.Second, 200*time.Millisecond, "the flow's alert firing in Alertmanager", func() (bool, string) {
		as := amAlerts(t, amAddr, "SlaprobeFlowDown", flow)
		return len(as) == 1 && as[0].Status.State == "active", fmt.Sprintf("%+v", as)
	})

	// The next run passes but takes 5 s: it closes the window while the
	// daemon drains. (A run counts in slaprobe_schedule_lag_seconds when it
	// starts.)
	postFault(t, env.plat, `{"service":"messaging","functions":["login"],"mode":"slow","latency":"5s","duration":"10m"}`)
	req, _ := http.NewRequest(http.MethodDelete, "http://"+env.plat+"/_admin/faults/"+failing, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("remove fault: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	started, _ := metricSum(env.metrics(t), "slaprobe_schedule_lag_seconds_count")
	eventually(t, 20*time.Second, 20*time.Millisecond, "a run started after the fault changed", func() (bool, string) {
		n, _ := metricSum(env.metrics(t), "slaprobe_schedule_lag_seconds_count")
		return n > started, fmt.Sprintf("runs started: %v", n)
	})
	if as := amAlerts(t, amAddr, "SlaprobeFlowDown", flow); len(as) != 1 {
		t.Fatalf("the alert resolved before SIGTERM, so this tests nothing: %+v", as)
	}

	signalled := time.Now()
	d.signal(syscall.SIGTERM)
	// /healthz keeps answering during the drain, with 503 "shutting down".
	sawDraining := false
	for !sawDraining && time.Since(signalled) < 4*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+env.listen+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(r); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sawDraining = resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "shutting down")
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	if !sawDraining {
		t.Errorf("/healthz did not answer 503 \"shutting down\" during the drain")
	}
	select {
	case <-d.done:
	case <-time.After(40 * time.Second):
		t.Fatal("daemon did not exit within 40 s of SIGTERM")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("daemon exit = %d", code)
	}
	t.Logf("SIGTERM -> exit: %s", time.Since(signalled).Round(time.Millisecond))

	// The resolve reached Alertmanager...
	eventually(t, 5*time.Second, 100*time.Millisecond, "the alert resolved in Alertmanager", func() (bool, string) {
		as := amAlerts(t, amAddr, "SlaprobeFlowDown", flow)
		return len(as) == 0, fmt.Sprintf("still listed: %+v", as)
	})
	// ... and the state file holds it resolved and delivered, so a restart
	// does not bring it back as firing.
	data, err := os.ReadFile(filepath.Join(filepath.Dir(env.db), "."+filepath.Base(env.db)+".slaprobe-alerts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sf struct {
		Alerts []struct {
			Labels  map[string]string `json:"labels"`
			EndsAt  time.Time         `json:"endsAt"`
			Pending []string          `json:"pending"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(data, &sf); err != nil {
		t.Fatalf("state file: %v\n%s", err, data)
	}
	found := false
	for _, a := range sf.Alerts {
		if a.Labels["alertname"] != "SlaprobeFlowDown" || a.Labels["flow"] != flow {
			continue
		}
		found = true
		if a.EndsAt.IsZero() || len(a.Pending) > 0 {
			t.Errorf("state file keeps the flow's alert firing or undelivered (endsAt %v, pending %v):\n%s", a.EndsAt, a.Pending, data)
		}
	}
	if !found {
		t.Errorf("state file has no SlaprobeFlowDown for %s:\n%s", flow, data)
	}
}
