package config

import (
	"slices"
	"testing"
	"time"
)

func TestStatusAndReports(t *testing.T) {
	base := `location: seoul-a
timezone: Asia/Seoul
services:
  - name: a
    flows:
      - name: f
        steps:
          - {name: s, function: x, request: {url: "http://127.0.0.1:1/"}}
`
	cases := []struct {
		name  string
		extra string
		check func(t *testing.T, c *Config)
	}{
		{"none", "", func(t *testing.T, c *Config) {
			if c.Reports.Enabled || c.Status.Listen != "" || c.Status.Refresh != DefaultStatusRefresh {
				t.Errorf("defaults: %+v %+v", c.Reports, c.Status)
			}
		}},
		{"defaults", "reports: {}\n", func(t *testing.T, c *Config) {
			r := c.Reports
			if !r.Enabled || r.Schedule != DefaultReportSchedule || !slices.Equal(r.Formats, []string{"pdf"}) ||
				r.Archive != "" || r.Backfill != 1 || r.Revise != 1 ||
				r.Retry != (Retry{Attempts: 8, Backoff: 30 * time.Second, MaxBackoff: time.Hour}) || r.Email != nil || len(r.Webhooks) != 0 {
				t.Errorf("reports defaults: %+v", r)
			}
		}},
		{"full", `status: {listen: "0.0.0.0:8080", title: Example, refresh: 5s}
reports:
  schedule: "@monthly"
  formats: [pdf, json, pdf]
  archive: /var/lib/slaprobe/reports
  backfill: 3
  revise: 0
  retry: {attempts: 3, backoff: 1s, max_backoff: 4s}
  webhooks:
    - url: https://hooks.example/in
      headers: {Authorization: "Bearer ${env:SECRET_TOKEN}"}
  email:
    server: 127.0.0.1:2525
    from: "slaprobe <probe@example.com>"
    to: [ops@example.com, sre@example.com]
    username: probe
    password: ${env:SECRET_TOKEN}
`, func(t *testing.T, c *Config) {
			if c.Status != (Status{Listen: "0.0.0.0:8080", Title: "Example", Refresh: 5 * time.Second}) {
				t.Errorf("status %+v", c.Status)
			}
			r := c.Reports
			if r.Schedule != "@monthly" || !slices.Equal(r.Formats, []string{"pdf", "json"}) || r.Archive != "/var/lib/slaprobe/reports" ||
				r.Backfill != 3 || r.Revise != 0 || r.Retry.Attempts != 3 {
				t.Errorf("reports %+v", r)
			}
			if len(r.Webhooks) != 1 || r.Webhooks[0].Headers["Authorization"] != "Bearer ${env:SECRET_TOKEN}" {
				t.Errorf("webhooks %+v", r.Webhooks)
			}
			if v, err := c.ExpandSecrets(r.Webhooks[0].Headers["Authorization"]); err != nil || v != "Bearer s3cr3t-value" {
				t.Errorf("header expands to %q, %v", v, err)
			}
			if e := r.Email; e == nil || e.TLS != "starttls" || len(e.To) != 2 || e.Password != "${env:SECRET_TOKEN}" {
				t.Errorf("email %+v", e)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("/etc/slaprobe/slaprobe.yaml", []byte(base+tc.extra), testOptions())
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
