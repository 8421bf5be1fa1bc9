package config

import (
	"strings"
	"testing"
)

// TestAlertmanagerURLsAsRunTakesThem: check refuses the Alertmanager URLs
// that run refuses at start (a query or fragment, the same URL twice),
// naming the entry's line.
func TestAlertmanagerURLsAsRunTakesThem(t *testing.T) {
	const svc = "services: [{name: s}]\n"
	tests := []struct {
		urls string
		want string // "" for accepted
	}{
		{`["http://127.0.0.1:9093", "https://am.example/prefix"]`, ""},
		{`["http://127.0.0.1:9093?tenant=a"]`, `c.yaml:4: alerting.alertmanager.urls[0]: "http://127.0.0.1:9093?tenant=a": no query or fragment`},
		{`["http://127.0.0.1:9093#x"]`, `alerting.alertmanager.urls[0]: "http://127.0.0.1:9093#x": no query or fragment`},
		{"\n      - http://127.0.0.1:9093\n      - http://127.0.0.1:9093", `c.yaml:6: alerting.alertmanager.urls[1]: "http://127.0.0.1:9093" is listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.urls, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(svc+"alerting:\n  alertmanager:\n    urls: "+tc.urls+"\n"), Options{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
