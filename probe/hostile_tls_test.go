package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// Review of #9's TLS and JWT pieces: probe_ssl_earliest_cert_expiry over
// certificate chains and redirects (blackbox_exporter's meaning: every
// certificate the server of the final request presented), client
// certificates that are missing or unreadable, JWT keys of the wrong kind.

// intermediate makes a CA signed by the PKI's root, valid until notAfter.
func (p *testPKI) intermediate(t *testing.T, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

// chainServer serves over TLS a leaf (valid until leafAfter) signed by an
// intermediate (valid until interAfter), presenting both; h handles.
func chainServer(t *testing.T, p *testPKI, leafAfter, interAfter time.Time, h http.Handler) *httptest.Server {
	t.Helper()
	inter, ikey := p.intermediate(t, interAfter)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: leafAfter, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter, &key.PublicKey, ikey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, inter.Raw}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestCertExpiryChainsAndRedirects(t *testing.T) {
	pki := newPKI(t)
	day := 24 * time.Hour
	now := time.Now().Truncate(time.Second)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") })
	// B: a long-lived leaf under an intermediate that expires in 3 days.
	b := chainServer(t, pki, now.Add(300*day), now.Add(3*day), ok)
	// A: its own chain, everything valid for 200 days, redirects to B.
	a := chainServer(t, pki, now.Add(200*day), now.Add(200*day), http.RedirectHandler(b.URL+"/final", http.StatusFound))
	// P: plain HTTP, redirects to B.
	plain := httptest.NewServer(http.RedirectHandler(b.URL+"/final", http.StatusFound))
	t.Cleanup(plain.Close)
	plainOK := httptest.NewServer(ok)
	t.Cleanup(plainOK.Close)
	// A2: TLS (expiring in 2 days), redirects to plain HTTP.
	toPlainOK := chainServer(t, pki, now.Add(2*day), now.Add(2*day), http.RedirectHandler(plainOK.URL, http.StatusFound))
	ca := filepath.Join(pki.dir, "ca.pem")
	tests := []struct {
		name string
		url  string
		want time.Time // zero: no TLS on the final request
	}{
		{"the chain's earliest: the intermediate's", b.URL, now.Add(3 * day)},
		{"redirect to another host: the final request's server", a.URL, now.Add(3 * day)},
		{"http redirected to https", plain.URL, now.Add(3 * day)},
		{"https redirected to http: no TLS on the final request", toPlainOK.URL, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := get("get", tc.url)
			step.Expect.TLS = &config.TLSExpect{MinDaysLeft: 7}
			run := runOne(t, context.Background(), config.Flow{TLS: config.TLS{CAFile: ca}, Steps: []config.Step{step}}, Options{})
			got := run.Steps[0]
			if !got.CertExpiry.Equal(tc.want) {
				t.Errorf("CertExpiry %v, want %v", got.CertExpiry, tc.want)
			}
			want := StatusDegraded // under min_days_left 7
			if tc.want.IsZero() {
				want = StatusOK
			}
			if got.Status != want {
				t.Errorf("%s %q, want %s", got.Status, got.Error, want)
			}
		})
	}
}

func TestClientCertificateFiles(t *testing.T) {
	// Client certificate files that are missing, unreadable, not a
	// certificate, or a FIFO: NewRunner (and so check, start and reload)
	// refuses them at once, naming the flow and the file, never the key's
	// content; nothing blocks.
	pki := newPKI(t)
	_, cert, key := pki.issue(t, "client", time.Now().Add(90*24*time.Hour), x509.ExtKeyUsageClientAuth)
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable.pem")
	if err := os.WriteFile(unreadable, keyPEM, 0o000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cert, key string
		want      string
	}{
		{"missing certificate", missing, key, "missing.pem"},
		{"missing key", cert, missing, "missing.pem"},
		{"not a certificate", garbage, key, "garbage.pem"},
		{"a FIFO", fifo, key, "fifo.pem"},
	}
	if os.Geteuid() != 0 { // root reads a 0000 file
		tests = append(tests, struct {
			name      string
			cert, key string
			want      string
		}{"unreadable key", cert, unreadable, "unreadable.pem"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := NewRunner(testConfig(config.Flow{TLS: config.TLS{CertFile: tc.cert, KeyFile: tc.key},
					Steps: []config.Step{get("get", "https://127.0.0.1:1/")}}), Options{})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("NewRunner accepted it")
				}
				if !strings.Contains(err.Error(), "flow") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q: want the flow and %s named", err, tc.want)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(keyPEM[40:60])) {
					t.Errorf("error %q quotes the key", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("NewRunner blocked on the file")
			}
		})
	}
}

func TestJWTWrongKeys(t *testing.T) {
	// A JWT var whose key is of the wrong kind fails the run's first step
	// with a message that never quotes the key; the run goes no further.
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	edPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}))
	rsa8DER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	rsa8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsa8DER}))
	_, srv := newTarget(t)
	tests := []struct {
		name, alg, key string
		ok             bool
	}{
		{"RS256 with an EC key", "RS256", ecPEM, false},
		{"RS256 with a public key", "RS256", pubPEM, false},
		{"RS256 with an Ed25519 key", "RS256", edPEM, false},
		{"RS256 with a password", "RS256", "hub-password-not-pem", false},
		{"RS256 with a PKCS#8 RSA key", "RS256", rsa8PEM, true},
		{"HS256 with an empty key", "HS256", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(config.Flow{Vars: []config.Var{{Name: "tok", JWT: &config.JWT{Alg: tc.alg, Key: "${env:HUB}", ExpiresIn: time.Minute}}},
				Steps: []config.Step{get("connect", srv.URL+"/doc"), get("after", srv.URL+"/doc")}})
			cfg.Secrets["env:HUB"] = tc.key
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
			if tc.ok {
				wantStep(t, run.Steps[0], StatusOK, "")
				return
			}
			if run.Steps[0].Status != StatusFailed || !strings.HasPrefix(run.Steps[0].Error, "connect: var tok: ") || run.Steps[1].Status != StatusNotRun {
				t.Errorf("steps %+v: want connect failed on var tok, after not run", run.Steps)
			}
			for _, leak := range []string{"PRIVATE KEY", "PUBLIC KEY", "hub-password"} {
				if strings.Contains(run.Steps[0].Error, leak) {
					t.Errorf("error %q quotes the key", run.Steps[0].Error)
				}
			}
		})
	}
}
