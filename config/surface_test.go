package config

import (
	"strings"
	"testing"
)

// TestReportWebhookURLSecrets: a reports webhook URL may hold secrets or be
// one (${env:NAME}), is checked expanded and quoted as written; its Target
// (what delivery records and logs name) hides a password and the query
// values; two webhooks that differ only there are refused (their records
// would be one).
func TestReportWebhookURLSecrets(t *testing.T) {
	base := `location: seoul-a
timezone: UTC
services:
  - name: a
    flows:
      - name: f
        steps:
          - {name: s, function: x, request: {url: "http://127.0.0.1:1/"}}
reports:
  webhooks:
`
	env := map[string]string{
		"HOOK_URL":   "https://hooks.example/services/T0/B0/SECRETPATH",
		"HOOK_TOKEN": "tok-SECRET-123",
		"NOT_A_URL":  "ftp://SECRETFTP/x",
	}
	opts := Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	for _, tc := range []struct {
		name, hooks string
		targets     []string
		err         string
	}{
		{"whole URL a secret", "    - url: ${env:HOOK_URL}\n", []string{"${env:HOOK_URL}"}, ""},
		{"token in the query", "    - url: https://hooks.example/in?token=${env:HOOK_TOKEN}&team=ops\n",
			[]string{"https://hooks.example/in?team=xxxxx&token=xxxxx"}, ""},
		{"literal password and query", "    - url: https://user:SECRETPW@hooks.example/in?sig=SECRETSIG\n",
			[]string{"https://user:xxxxx@hooks.example/in?sig=xxxxx"}, ""},
		{"not a URL once expanded", "    - url: ${env:NOT_A_URL}\n", nil, `invalid URL "${env:NOT_A_URL}"`},
		{"unset", "    - url: ${env:NO_SUCH_VAR}\n", nil, "NO_SUCH_VAR"},
		{"same target", "    - url: https://hooks.example/in?token=SECRETA\n    - url: https://hooks.example/in?token=SECRETB\n", nil,
			"the same target as webhooks[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("/etc/slaprobe/slaprobe.yaml", []byte(base+tc.hooks), opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Errorf("the error quotes a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range c.Reports.Webhooks {
				got = append(got, w.Target())
			}
			if strings.Join(got, " ") != strings.Join(tc.targets, " ") {
				t.Errorf("targets %q, want %q", got, tc.targets)
			}
		})
	}
}
