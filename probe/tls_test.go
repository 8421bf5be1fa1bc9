package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// testPKI is a CA, and certificates it signed, generated in the test.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	dir   string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{ca: ca, caKey: key, dir: t.TempDir()}
	p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue makes a leaf certificate valid until notAfter, written as
// name.pem and name-key.pem.
func (p *testPKI) issue(t *testing.T, name string, notAfter time.Time, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := p.write(t, name+".pem", "CERTIFICATE", der)
	keyPath := p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(cert, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	return pair, cert, keyPath
}

// serveTLS serves "ok" with cert, asking for client certificates signed by
// the PKI's CA when mtls.
func (p *testPKI) serveTLS(t *testing.T, cert tls.Certificate, mtls bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if mtls {
		pool := x509.NewCertPool()
		pool.AddCert(p.ca)
		srv.TLS.ClientCAs, srv.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestCertExpiryAndMinDaysLeft(t *testing.T) {
	pki := newPKI(t)
	notAfter := time.Now().Add(5 * 24 * time.Hour).Truncate(time.Second)
	cert, _, _ := pki.issue(t, "server", notAfter, x509.ExtKeyUsageServerAuth)
	srv := pki.serveTLS(t, cert, false)
	tests := []struct {
		minDays int
		latency time.Duration // expect.latency; a nanosecond: always over
		status  Status
		slow    bool // Run.Slow: degraded by latency, not the certificate alone
	}{
		{0, 0, StatusOK, false},
		{3, 0, StatusOK, false},
		{7, 0, StatusDegraded, false},
		{7, time.Nanosecond, StatusDegraded, true},
		{0, time.Nanosecond, StatusDegraded, true},
	}
	for _, tc := range tests {
		step := get("get", srv.URL)
		if tc.minDays > 0 {
			step.Expect.TLS = &config.TLSExpect{MinDaysLeft: tc.minDays}
		}
		step.Expect.Latency = tc.latency
		f := config.Flow{TLS: config.TLS{CAFile: filepath.Join(pki.dir, "ca.pem")}, Steps: []config.Step{step}}
		run := runOne(t, context.Background(), f, Options{})
		got := run.Steps[0]
		if got.Status != tc.status {
			t.Errorf("min_days_left %d: %s %q, want %s", tc.minDays, got.Status, got.Error, tc.status)
		}
		if tc.status == StatusDegraded && tc.latency == 0 && got.Error != "get: certificate expires in 5.0 days, under min_days_left 7" {
			t.Errorf("degraded error %q", got.Error)
		}
		if run.Slow() != tc.slow {
			t.Errorf("min_days_left %d, latency %v: %q: Slow() = %v, want %v", tc.minDays, tc.latency, got.Error, run.Slow(), tc.slow)
		}
		// The earliest of the chain's certificates: the leaf's, not the CA's.
		if !got.CertExpiry.Equal(notAfter) {
			t.Errorf("CertExpiry %v, want the leaf's %v", got.CertExpiry, notAfter)
		}
	}
}

func TestClientCertificate(t *testing.T) {
	pki := newPKI(t)
	srvCert, _, _ := pki.issue(t, "server", time.Now().Add(90*24*time.Hour), x509.ExtKeyUsageServerAuth)
	_, clientCert, clientKey := pki.issue(t, "client", time.Now().Add(90*24*time.Hour), x509.ExtKeyUsageClientAuth)
	srv := pki.serveTLS(t, srvCert, true)
	ca := filepath.Join(pki.dir, "ca.pem")
	tests := []struct {
		name   string
		tls    config.TLS
		status Status
	}{
		{"with the client certificate", config.TLS{CAFile: ca, CertFile: clientCert, KeyFile: clientKey}, StatusOK},
		{"without one the server refuses", config.TLS{CAFile: ca}, StatusFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{TLS: tc.tls, Steps: []config.Step{get("get", srv.URL)}}, Options{})
			if got := run.Steps[0]; got.Status != tc.status {
				t.Errorf("%s %q, want %s", got.Status, got.Error, tc.status)
			}
		})
	}
	if _, err := NewRunner(testConfig(config.Flow{TLS: config.TLS{CertFile: clientCert, KeyFile: ca},
		Steps: []config.Step{get("get", srv.URL)}}), Options{}); err == nil {
		t.Error("NewRunner accepted a certificate with a key that is not its own")
	}
}

// TestExpiredCertificateSaysExpired: a step that passes on an expired
// certificate (insecure_skip_verify) says it expired, not that it "expires
// in -1.0 days".
func TestExpiredCertificateSaysExpired(t *testing.T) {
	pki := newPKI(t)
	for _, tc := range []struct {
		notAfter time.Duration
		want     string
	}{
		{-36 * time.Hour, "get: certificate expired 1.5 days ago, under min_days_left 7"},
		{-40*24*time.Hour - time.Hour, "get: certificate expired 40.0 days ago, under min_days_left 7"},
		{36 * time.Hour, "get: certificate expires in 1.5 days, under min_days_left 7"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			cert, _, _ := pki.issue(t, "server", time.Now().Add(tc.notAfter).Truncate(time.Minute), x509.ExtKeyUsageServerAuth)
			srv := pki.serveTLS(t, cert, false)
			step := get("get", srv.URL)
			step.Expect.TLS = &config.TLSExpect{MinDaysLeft: 7}
			f := config.Flow{TLS: config.TLS{InsecureSkipVerify: true}, Steps: []config.Step{step}}
			got := runOne(t, context.Background(), f, Options{}).Steps[0]
			if got.Status != StatusDegraded || got.Error != tc.want {
				t.Errorf("%s %q, want degraded %q", got.Status, got.Error, tc.want)
			}
		})
	}
}

// A certificate 10 days or more from its expiry says the days with one
// decimal, as one closer to it did: a window's cause is keyed on the
// error's text, and a whole number of days ("expires in 29 days", the next
// day "28 days") made a new cause of one degraded window every day, where a
// decimal one is one cause (state's errorShape).
func TestCertDaysLeftKeysOneCause(t *testing.T) {
	pki := newPKI(t)
	for _, tc := range []struct {
		notAfter time.Duration
		want     string
	}{
		{12*24*time.Hour + time.Hour, "get: certificate expires in 12.0 days, under min_days_left 60"},
		{29*24*time.Hour + 13*time.Hour, "get: certificate expires in 29.5 days, under min_days_left 60"},
		{9*24*time.Hour + 13*time.Hour, "get: certificate expires in 9.5 days, under min_days_left 60"},
		{-(12*24*time.Hour + time.Hour), "get: certificate expired 12.0 days ago, under min_days_left 60"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			cert, _, _ := pki.issue(t, "server", time.Now().Add(tc.notAfter).Truncate(time.Minute), x509.ExtKeyUsageServerAuth)
			srv := pki.serveTLS(t, cert, false)
			step := get("get", srv.URL)
			step.Expect.TLS = &config.TLSExpect{MinDaysLeft: 60}
			f := config.Flow{TLS: config.TLS{InsecureSkipVerify: true}, Steps: []config.Step{step}}
			got := runOne(t, context.Background(), f, Options{}).Steps[0]
			if got.Status != StatusDegraded || got.Error != tc.want {
				t.Errorf("%s %q, want degraded %q", got.Status, got.Error, tc.want)
			}
		})
	}
}

// TestCertificateDegradedKeptThroughRedaction: a step degraded by its
// certificate alone is told from a slow one by its error's fixed words
// (Run.Slow), which a secret that happens to be among them must not mask:
// "under" masked made the run slow, confirm-run every confirm_every for as
// long as the certificate stays (until renewed) where its flow keeps its
// interval. Its figures are still redacted.
func TestCertificateDegradedKeptThroughRedaction(t *testing.T) {
	pki := newPKI(t)
	cert, _, _ := pki.issue(t, "server", time.Now().Add(5*24*time.Hour).Truncate(time.Second), x509.ExtKeyUsageServerAuth)
	srv := pki.serveTLS(t, cert, false)
	for _, tc := range []struct{ secret, want string }{
		{"no-such-secret", "get: certificate expires in 5.0 days, under min_days_left 7"},
		{"under", "get: certificate expires in 5.0 days, under min_days_left 7"},
		{"days", "get: certificate expires in 5.0 ***, under min_days_left 7"},
		{"_left", "get: certificate expires in 5.0 days, under min_days_left 7"},
		{"min_days_left", "get: certificate expires in 5.0 days, under min_days_left 7"},
		{", under min", "get: certificate expires in 5.0 days, under min_days_left 7"},
		{"5.0 days", "get: certificate expires in ***, under min_days_left 7"},
	} {
		step := get("get", srv.URL)
		step.Expect.TLS = &config.TLSExpect{MinDaysLeft: 7}
		cfg := testConfig(config.Flow{TLS: config.TLS{CAFile: filepath.Join(pki.dir, "ca.pem")}, Steps: []config.Step{step}})
		cfg.Secrets["env:X"] = tc.secret
		r, err := NewRunner(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
		r.CloseIdle()
		if got := run.Steps[0]; got.Status != StatusDegraded || got.Error != tc.want {
			t.Errorf("secret %q: %s %q, want degraded %q", tc.secret, got.Status, got.Error, tc.want)
		}
		if run.Slow() {
			t.Errorf("secret %q: %q: Slow() = true, want false (the certificate alone)", tc.secret, run.Steps[0].Error)
		}
	}
}
