package config

import (
	"strings"
	"testing"
)

// TestAlertmanagerURLsAsRunTakesThem: check refuses the Alertmanager URLs
// that run refuses at start (a query or fragment, the same URL twice),
// naming the entry's line; a URL may hold secrets (${env:NAME},
// ${file:PATH}: an Alertmanager behind basic authentication), and is
// checked with them filled in.
func TestAlertmanagerURLsAsRunTakesThem(t *testing.T) {
	const svc = "services: [{name: s}]\n"
	env := map[string]string{"AM_PW": "s3cret-pw", "AM_URL": "http://127.0.0.1:9093?tenant=a", "AM_SAME": "http://127.0.0.1:9093"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	tests := []struct {
		urls string
		want string // "" for accepted
	}{
		// Credentials from the environment or a file, as everywhere else.
		{`["https://probe:${env:AM_PW}@am.example/prefix"]`, ""},
		{`["https://am.example/${env:NOT_SET}"]`, `c.yaml:4: alerting.alertmanager.urls[0]: environment variable NOT_SET is not set`},
		{`["https://am.example/${token}"]`, `alerting.alertmanager.urls[0]: ${token}: only ${env:NAME} and ${file:PATH} can be used here`},
		// Checked with its secrets filled in, quoted as written.
		{`["${env:AM_URL}"]`, `alerting.alertmanager.urls[0]: "${env:AM_URL}": no query or fragment`},
		{`["http://127.0.0.1:9093", "${env:AM_SAME}"]`, `alerting.alertmanager.urls[1]: "${env:AM_SAME}" is listed twice`},
		{`["http://127.0.0.1:9093", "https://am.example/prefix"]`, ""},
		{`["http://127.0.0.1:9093?tenant=a"]`, `c.yaml:4: alerting.alertmanager.urls[0]: "http://127.0.0.1:9093?tenant=a": no query or fragment`},
		{`["http://127.0.0.1:9093#x"]`, `alerting.alertmanager.urls[0]: "http://127.0.0.1:9093#x": no query or fragment`},
		{"\n      - http://127.0.0.1:9093\n      - http://127.0.0.1:9093", `c.yaml:6: alerting.alertmanager.urls[1]: "http://127.0.0.1:9093" is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.urls, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(svc+"alerting:\n  alertmanager:\n    urls: "+tc.urls+"\n"), Options{LookupEnv: lookup})
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error quotes a secret: %v", err)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A command that only reads results loads a config whose Alertmanager
// credentials are not set in its shell, as with every other secret.
func TestAlertmanagerURLSecretsOptional(t *testing.T) {
	src := "services: [{name: s}]\nalerting:\n  alertmanager:\n    urls: [\"https://probe:${env:AM_PW}@am.example\"]\n"
	none := func(string) (string, bool) { return "", false }
	cfg, err := Parse("c.yaml", []byte(src), Options{LookupEnv: none, SecretsOptional: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Alerting.AlertmanagerURLs; len(got) != 1 || got[0] != "https://probe:${env:AM_PW}@am.example" {
		t.Errorf("urls = %q, want the one as written", got)
	}
}
