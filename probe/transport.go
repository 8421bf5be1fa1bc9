package probe

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// Transport tuning. A prober hits the same few hosts every interval from many
// concurrent runs; Go's default of 2 idle connections per host would make
// most runs pay a fresh TCP and TLS handshake, and measure it as latency.
const (
	maxIdleConns        = 256
	maxIdleConnsPerHost = 64
	idleConnTimeout     = 90 * time.Second
	dialTimeout         = 30 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
)

// NewTransport returns an HTTP transport for probes with keep-alive tuned for
// many concurrent runs against few hosts, and the given TLS settings: CAFile
// replaces the system roots, ServerName overrides the name verified, and
// InsecureSkipVerify is honoured only when set. Proxies come from the
// environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as with Go's default.
func NewTransport(t config.TLS) (*http.Transport, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // only when the config asks for it
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: no PEM certificates in CA file %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSClientConfig:       tc,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ExpectContinueTimeout: time.Second,
	}, nil
}
