package probe

import (
	"crypto/tls"
	"strconv"
	"time"
)

// noteTLS records the earliest expiry of the certificates the server of
// the current step presented (blackbox_exporter's
// probe_ssl_earliest_cert_expiry: every certificate of the chain counts).
func (rs *runState) noteTLS(cs *tls.ConnectionState) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return
	}
	earliest := EarliestExpiry(cs)
	res := &rs.steps[rs.cur]
	if res.CertExpiry.IsZero() || earliest.Before(res.CertExpiry) {
		res.CertExpiry = earliest
	}
}

// EarliestExpiry returns the earliest NotAfter of a connection's peer
// certificates (zero without TLS).
func EarliestExpiry(cs *tls.ConnectionState) time.Time {
	var t time.Time
	if cs == nil {
		return t
	}
	for _, c := range cs.PeerCertificates {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// daysLeft says a duration in days, one decimal under 10 days.
func daysLeft(d time.Duration) string {
	days := d.Hours() / 24
	if days < 10 {
		return strconv.FormatFloat(days, 'f', 1, 64) + " days"
	}
	return strconv.Itoa(int(days)) + " days"
}
