package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// hookAlert is one alert in an Alertmanager webhook notification.
type hookAlert struct {
	Status   string            `json:"status"`
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	EndsAt   time.Time         `json:"endsAt"`
}

// receiver is the webhook Alertmanager notifies; it records every alert with
// the time it arrived.
type receiver struct {
	mu     sync.Mutex
	alerts []received
}

type received struct {
	at time.Time
	hookAlert
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var msg struct {
		Alerts []hookAlert `json:"alerts"`
	}
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	for _, a := range msg.Alerts {
		r.alerts = append(r.alerts, received{at: time.Now(), hookAlert: a})
	}
	r.mu.Unlock()
}

// first returns the first alert received that matches.
func (r *receiver) first(match func(received) bool) (received, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.alerts {
		if match(a) {
			return a, true
		}
	}
	return received{}, false
}

func (r *receiver) names() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.alerts {
		out = append(out, a.Labels["alertname"]+"/"+a.Status)
	}
	return strings.Join(out, " ")
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run scripts/deps.sh (apt-get install -y prometheus prometheus-alertmanager)", name)
	}
	return p
}

// TestAlertingEndToEnd runs the demo platform, the daemon, the real
// Prometheus (scraping the daemon, with the generated rules) and the real
// Alertmanager (fed by both), injects a live fault and follows both alert
// paths to a webhook, then removes the fault and follows both resolves.
func TestAlertingEndToEnd(t *testing.T) {
	promBin := requireTool(t, "prometheus")
	amBin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		amBin = requireTool(t, "alertmanager")
	}
	dir := t.TempDir()

	hook := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hookSrv := &http.Server{Handler: hook}
	go hookSrv.Serve(ln)
	t.Cleanup(func() { hookSrv.Close() })

	amAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	amCfg := writeFile(t, dir, "alertmanager.yml", `route:
  receiver: hook
  group_by: [alertname, service, flow, function, location]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://`+ln.Addr().String()+`/hook
        send_resolved: true
`)
	start(t, "alertmanager", amBin, "--config.file="+amCfg, "--storage.path="+dir+"/am",
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	waitHTTP(t, "http://"+amAddr+"/-/ready", 200, 30*time.Second)

	env := newDaemonEnv(t)
	plat, listen := env.plat, env.listen
	cfg := env.config(t, false, `
alerting:
  alertmanager: {urls: ["http://`+amAddr+`"], resend: 5s}
  runbook_url: https://runbooks.example/slaprobe/{service}
`)
	rules, code := runCmd(t, binary, "rules", "--config", cfg)
	if code != 0 {
		t.Fatalf("slaprobe rules exit %d", code)
	}
	rulesFile := writeFile(t, dir, "rules.yml", rules)
	// The rule path is followed through the generated alert on the state
	// machine's verdict (slaprobe_flow_up): burn-rate alerts fire too, but
	// their 5m windows take minutes to resolve.
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(rules), &file); err != nil {
		t.Fatalf("generated rules: %v", err)
	}
	ruleAlert := ""
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && strings.Contains(r.Expr, "slaprobe_flow_up") {
				ruleAlert = r.Alert
			}
		}
	}
	if ruleAlert == "" {
		t.Fatalf("generated rules have no alert on slaprobe_flow_up:\n%s", rules)
	}

	promAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	promCfg := writeFile(t, dir, "prometheus.yml", `global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [`+rulesFile+`]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["`+amAddr+`"]}]
scrape_configs:
  - job_name: slaprobe
    static_configs: [{targets: ["`+listen+`"]}]
`)
	d := env.start(t, "daemon", cfg)
	start(t, "prometheus", promBin, "--config.file="+promCfg, "--storage.tsdb.path="+dir+"/prom",
		"--web.listen-address="+promAddr, "--rules.alert.resend-delay=1s")
	waitHTTP(t, "http://"+promAddr+"/-/ready", 200, 30*time.Second)

	// Healthy for a few runs, scraped by Prometheus, before the fault.
	eventually(t, 30*time.Second, 500*time.Millisecond, "Prometheus scraping slaprobe", func() (bool, string) {
		body := get(t, "http://"+promAddr+"/api/v1/query?query=slaprobe_runs_total")
		return strings.Contains(body, `"messaging-roundtrip"`), body
	})
	time.Sleep(3 * time.Second)

	injected := time.Now()
	resp, err := http.Post("http://"+plat+"/_admin/faults", "application/json",
		bytes.NewBufferString(`{"service":"messaging","functions":["receive"],"mode":"drop","rate":1.0,"duration":"30m"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("inject fault: %v %v", err, resp)
	}
	resp.Body.Close()

	isPushed := func(a received) bool {
		return a.Labels["alertname"] == "SlaprobeFunctionDown" && a.Labels["function"] == "receive"
	}
	isRule := func(a received) bool { return a.Labels["alertname"] == ruleAlert && a.Labels["service"] == "messaging" }

	var pushed, ruled received
	eventually(t, 3*time.Minute, 250*time.Millisecond, "both alert paths firing", func() (bool, string) {
		var ok1, ok2 bool
		pushed, ok1 = hook.first(func(a received) bool { return isPushed(a) && a.Status == "firing" })
		ruled, ok2 = hook.first(func(a received) bool { return isRule(a) && a.Status == "firing" })
		return ok1 && ok2, "received: " + hook.names()
	})
	for k, want := range map[string]string{"service": "messaging", "flow": "messaging-roundtrip", "function": "receive", "location": "it-a", "severity": "page"} {
		if pushed.Labels[k] != want {
			t.Errorf("pushed alert label %s = %q, want %q (%v)", k, pushed.Labels[k], want, pushed.Labels)
		}
	}
	// Backdated: startsAt is the start of the first failed run, after the
	// fault went in and before the down_after-th run confirmed it.
	if pushed.StartsAt.Before(injected.Add(-time.Second)) || !pushed.StartsAt.Before(pushed.at.Add(-500*time.Millisecond)) {
		t.Errorf("pushed startsAt %s not backdated between the injection %s and its arrival %s",
			pushed.StartsAt.Format(time.RFC3339Nano), injected.Format(time.RFC3339Nano), pushed.at.Format(time.RFC3339Nano))
	}
	t.Logf("fault -> webhook: pushed %s (%s), rule %s (%s)",
		pushed.at.Sub(injected).Round(time.Millisecond), pushed.Labels["alertname"],
		ruled.at.Sub(injected).Round(time.Millisecond), ruled.Labels["alertname"])

	req, _ := http.NewRequest(http.MethodDelete, "http://"+plat+"/_admin/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	removed := time.Now()
	var pushedRes, ruledRes received
	eventually(t, 4*time.Minute, 250*time.Millisecond, "both alert paths resolved", func() (bool, string) {
		var ok1, ok2 bool
		pushedRes, ok1 = hook.first(func(a received) bool { return isPushed(a) && a.Status == "resolved" })
		ruledRes, ok2 = hook.first(func(a received) bool {
			return isRule(a) && a.Status == "resolved"
		})
		return ok1 && ok2, "received: " + hook.names()
	})
	t.Logf("fault removed -> resolved: pushed %s, rule %s",
		pushedRes.at.Sub(removed).Round(time.Millisecond), ruledRes.at.Sub(removed).Round(time.Millisecond))
	if code := d.stop(t, syscall.SIGTERM, 40*time.Second); code != 0 {
		t.Fatalf("daemon exit = %d", code)
	}
}
