package probe

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"sync"
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
	// maxHeaderBytes bounds a response's headers (Go's default is 10 MB:
	// ten times the default max_body_bytes, in every concurrent step).
	maxHeaderBytes = 1 << 20
)

// NewTransport returns an HTTP transport for probes with keep-alive tuned for
// many concurrent runs against few hosts, and the TLS settings of TLSConfig.
// Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), as
// with Go's default.
func NewTransport(t config.TLS) (*http.Transport, error) {
	files, err := readTLSFiles(t)
	if err != nil {
		return nil, err
	}
	return newTransport(t, files)
}

// tlsFiles are the contents of the files a TLS setting names.
type tlsFiles struct{ ca, cert, key []byte }

func readTLSFiles(t config.TLS) (tlsFiles, error) {
	var f tlsFiles
	var err error
	if t.CAFile != "" {
		if f.ca, err = config.ReadFile(t.CAFile, config.MaxFileBytes); err != nil {
			return f, fmt.Errorf("tls: read CA file: %w", err)
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if f.cert, err = config.ReadFile(t.CertFile, config.MaxFileBytes); err != nil {
			return f, fmt.Errorf("tls: read client certificate: %w", err)
		}
		if f.key, err = config.ReadFile(t.KeyFile, config.MaxFileBytes); err != nil {
			return f, fmt.Errorf("tls: read client key: %w", err)
		}
	}
	return f, nil
}

// digest identifies the files' contents.
func (f tlsFiles) digest() [sha256.Size]byte {
	h := sha256.New()
	for _, b := range [][]byte{f.ca, f.cert, f.key} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// TLSConfig returns the client TLS configuration of a flow's connections,
// requests and streams alike: CAFile replaces the system roots, ServerName
// overrides the name verified, CertFile and KeyFile are the client
// certificate (mTLS), and InsecureSkipVerify is honoured only when set.
func TLSConfig(t config.TLS) (*tls.Config, error) {
	files, err := readTLSFiles(t)
	if err != nil {
		return nil, err
	}
	return tlsConfig(t, files)
}

func tlsConfig(t config.TLS, f tlsFiles) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // only when the config asks for it
	}
	if t.CAFile != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(f.ca) {
			return nil, fmt.Errorf("tls: no PEM certificates in CA file %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.X509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate %s: %v", t.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// newTransport is NewTransport with the files already read.
func newTransport(t config.TLS, files tlsFiles) (*http.Transport, error) {
	tc, err := tlsConfig(t, files)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            d.DialContext,
		TLSClientConfig:        tc,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}, nil
}

// Transports is a set of probe transports, one per TLS setting (and content
// of the CA file it names), that runners share: the daemon keeps one across
// config reloads, so a reload that leaves a flow's TLS setting alone keeps
// its warm keep-alive connections (no cold TCP and TLS handshakes measured as
// latency, no second set of idle connections). Safe for concurrent use.
type Transports struct {
	mu sync.Mutex
	m  map[transportKey]*http.Transport
}

// transportKey tells transports apart: a CA file, client certificate or key
// whose content changed gets a new transport.
type transportKey struct {
	tls   config.TLS
	files [sha256.Size]byte
}

// NewTransports returns an empty set.
func NewTransports() *Transports {
	return &Transports{m: map[transportKey]*http.Transport{}}
}

// get returns the transport for t, building it the first time (it reads the
// CA, certificate and key files every time, to notice new ones).
func (p *Transports) get(t config.TLS) (*http.Transport, error) {
	files, err := readTLSFiles(t)
	if err != nil {
		return nil, err
	}
	k := transportKey{tls: t, files: files.digest()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr, ok := p.m[k]; ok {
		return tr, nil
	}
	tr, err := newTransport(t, files)
	if err != nil {
		return nil, err
	}
	p.m[k] = tr
	return tr, nil
}

// Keep forgets every transport that none of the runners uses and closes its
// idle connections (requests still in flight on it finish normally).
func (p *Transports) Keep(rs ...*Runner) {
	used := map[*http.Transport]bool{}
	for _, r := range rs {
		r.mu.Lock()
		for _, tr := range r.transports {
			used[tr] = true
		}
		r.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, tr := range p.m {
		if !used[tr] {
			tr.CloseIdleConnections()
			delete(p.m, k)
		}
	}
}

// Len is how many transports the set holds.
func (p *Transports) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
