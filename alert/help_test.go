package alert

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slaprobe/slaprobe/clock"
)

// TestNotificationsHelpSaysRounds: the HELP of
// slaprobe_alert_notifications_total says what it counts, a round of
// sends to a URL (ccdc439), not requests: a refused batch halved is three
// POSTs or more in one round, counted once, so an operator reading
// "Requests to Alertmanager" in /metrics took rate() of it for the POST
// rate (checked by hand: 6 POSTs, counted 4).
func TestNotificationsHelpSaysRounds(t *testing.T) {
	n := newTestNotifier(t, clock.NewManual(t0), "", "http://127.0.0.1:1")
	ch := make(chan *prometheus.Desc, 1)
	n.sent.Describe(ch)
	d := (<-ch).String()
	for _, want := range []string{"round", "refused"} {
		if !strings.Contains(d, want) {
			t.Errorf("%s: its help does not say %q", d, want)
		}
	}
	if strings.Contains(d, "Requests to") {
		t.Errorf("%s: its help says it counts requests", d)
	}
}
