package daemon

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

// probe_ssl_earliest_cert_expiry follows the last run of each step that
// spoke TLS (blackbox_exporter's meaning: Unix seconds); teardown steps get
// probe_success too, while not counting in slaprobe_runs_total.
func TestCertExpiryAndTeardownMetrics(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := testConfig(time.Minute, "msg")
	f := &cfg.Services[0].Flows[0]
	f.Teardown = []config.Step{{Name: "logout", Function: "logout", Request: config.Request{URL: "http://127.0.0.1/logout"}}}
	d, w := newTestDaemon(t, cfg, nil, Deps{})
	startPipeline(d, w)
	expiry := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	run := mkRun("msg", t0, "")
	run.Steps[0].CertExpiry = expiry
	run.Teardown = []probe.StepResult{{Step: "logout", Function: "logout", Status: probe.StatusFailed, Error: "logout: status 500"}}
	d.process(&run)

	if got, ok := sample(t, d.Gatherer(), "probe_ssl_earliest_cert_expiry", "flow", "msg", "step", "login", "service", "svc", "location", "seoul-a"); !ok || got != float64(expiry.Unix()) {
		t.Errorf("probe_ssl_earliest_cert_expiry{login} = %v (present %v), want %d", got, ok, expiry.Unix())
	}
	if _, ok := sample(t, d.Gatherer(), "probe_ssl_earliest_cert_expiry", "flow", "msg", "step", "send", "service", "svc", "location", "seoul-a"); ok {
		t.Error("a step without TLS has a certificate expiry sample")
	}
	if got, ok := sample(t, d.Gatherer(), "probe_success", "flow", "msg", "step", "logout", "service", "svc", "location", "seoul-a"); !ok || got != 0 {
		t.Errorf("probe_success{logout} = %v (present %v), want 0", got, ok)
	}
	if got, _ := sample(t, d.Gatherer(), "slaprobe_runs_total", "flow", "msg", "service", "svc", "location", "seoul-a", "result", "ok"); got != 1 {
		t.Errorf("runs ok = %v: a failed teardown step must not fail the run", got)
	}
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `probe_ssl_earliest_cert_expiry{flow="msg",location="seoul-a",service="svc",step="login"} ` + formatFloat(float64(expiry.Unix()))
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func TestWebhookMetrics(t *testing.T) {
	hooks, err := probe.NewWebhooks(probe.WebhookOptions{PublicURL: "http://127.0.0.1:9116/webhooks"})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := newTestDaemon(t, testConfig(time.Minute, "msg"), nil, Deps{Webhooks: hooks})
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/webhooks/0123", strings.NewReader("{}")))
	if rec.Code != 404 {
		t.Errorf("a callback to no run: %d, want 404", rec.Code)
	}
	if got, ok := sample(t, d.Gatherer(), "slaprobe_webhook_callbacks_total", "result", "unmatched"); !ok || got != 1 {
		t.Errorf("slaprobe_webhook_callbacks_total{result=unmatched} = %v (present %v), want 1", got, ok)
	}
}
