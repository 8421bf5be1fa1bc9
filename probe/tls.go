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

// daysLeft says a duration in days, with one decimal: a window's cause is
// keyed on the error's text, in which a decimal number is volatile (state's
// errorShape) and a small whole one is not, so "expires in 29 days, under
// min_days_left 30" the first day and "... 28 days ..." the next made a new
// cause of one degraded window every day (whole days were said from 10 on).
func daysLeft(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
}
