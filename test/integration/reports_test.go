package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// selfSigned makes a certificate for 127.0.0.1 and returns it and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slaprobe test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}

// mailbox is a real SMTP server on loopback (github.com/emersion/go-smtp):
// STARTTLS offered, AUTH PLAIN required and refused before TLS, messages
// kept.
type mailbox struct {
	user, pass string
	mu         sync.Mutex
	msgs       []delivered
	authFails  int
}

type delivered struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type mailSession struct {
	mb   *mailbox
	conn *smtp.Conn
	user string
	cur  delivered
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.mb.user || pass != s.mb.pass {
			s.mb.mu.Lock()
			s.mb.authFails++
			s.mb.mu.Unlock()
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = delivered{from: from, tls: isTLS, user: s.user}
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, s.cur)
	s.mb.mu.Unlock()
	return nil
}
func (s *mailSession) Reset()        { s.cur = delivered{} }
func (s *mailSession) Logout() error { return nil }

func (mb *mailbox) messages() []delivered {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]delivered(nil), mb.msgs...)
}

// startSMTP serves mb on a loopback port and returns its address and the
// PEM of its certificate.
func startSMTP(t *testing.T, mb *mailbox) (string, []byte) {
	t.Helper()
	cert, certPEM := selfSigned(t)
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 32 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), certPEM
}

// hookReceiver fails its first two requests with 503 and keeps the rest.
type hookReceiver struct {
	mu       sync.Mutex
	requests int
	got      []*http.Request
	parts    []map[string][]byte
	auth     []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	if h.requests <= 2 {
		http.Error(w, "busy, try later", http.StatusServiceUnavailable)
		return
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	parts := map[string][]byte{}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := io.ReadAll(p)
		parts[p.FormName()] = b
	}
	h.got = append(h.got, r)
	h.parts = append(h.parts, parts)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) counts() (int, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests, len(h.got)
}

// fillMonth stores what the daemon would have stored for messaging-roundtrip
// over [from, to): a run every 10 minutes, receive failing for 40 minutes
// on the 15th, and the state machine's events.
func fillMonth(t *testing.T, db string, from, to time.Time) {
	t.Helper()
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fns := []string{"login", "send", "receive"}
	m := state.New("messaging", "messaging-roundtrip", "it-a", fns, state.Policy{Interval: 10 * time.Minute, DownAfter: 2, UpAfter: 1})
	outage := from.AddDate(0, 0, 14).Add(21*time.Hour + 40*time.Minute)
	var runs []probe.Run
	var evs []state.Event
	for at := from; at.Before(to); at = at.Add(10 * time.Minute) {
		r := probe.Run{ID: fmt.Sprintf("r%d", at.Unix()), Flow: "messaging-roundtrip", Service: "messaging", Location: "it-a", Start: at, Duration: 300 * time.Millisecond}
		for _, fn := range fns {
			r.Steps = append(r.Steps, probe.StepResult{Step: fn, Function: fn, Status: probe.StatusOK, HTTPStatus: 200, Duration: 100 * time.Millisecond})
		}
		if !at.Before(outage) && at.Before(outage.Add(40*time.Minute)) {
			r.Steps[2].Status, r.Steps[2].Error = probe.StatusFailed, "receive: expectation not met within 500ms"
		}
		runs = append(runs, r)
		evs = append(evs, m.Observe(&runs[len(runs)-1])...)
	}
	if err := s.AppendRuns(ctx, runs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

// TestScheduledReportsDelivered runs the daemon with a reports: block over a
// database that holds last month: at startup it makes the month's report
// (PDF and JSON) into the archive and delivers it by e-mail, through a real
// SMTP server on loopback with STARTTLS and AUTH, and by webhook to a
// receiver that fails the first two times. The test reads the delivered
// mail and its PDF back, checks the delivery records in the store and the
// metrics, and restarts the daemon: nothing is made or delivered again.
func TestScheduledReportsDelivered(t *testing.T) {
	env := newDaemonEnv(t)
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(seoul)
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, seoul).AddDate(0, -1, 0)
	month := monthStart.Format("2006-01")
	fillMonth(t, env.db, monthStart, monthStart.AddDate(0, 1, 0))

	mb := &mailbox{user: "probe", pass: "smtp-pa55"}
	smtpAddr, certPEM := startSMTP(t, mb)
	ca := writeFile(t, env.dir, "smtp-ca.pem", string(certPEM))
	hook := &hookReceiver{}
	hsrv := httptest.NewServer(hook)
	defer hsrv.Close()
	t.Setenv("SLAPROBE_TEST_SMTP_PASSWORD", mb.pass)
	t.Setenv("SLAPROBE_TEST_HOOK_TOKEN", "hook-t0ken")
	archive := filepath.Join(env.dir, "reports")
	cfg := env.config(t, false, fmt.Sprintf(`reports:
  formats: [pdf, json]
  archive: %s
  retry: {attempts: 5, backoff: 500ms, max_backoff: 2s}
  webhooks:
    - url: %s/reports
      headers: {Authorization: "Bearer ${env:SLAPROBE_TEST_HOOK_TOKEN}"}
  email:
    server: %s
    from: "slaprobe <probe@example.com>"
    to: [sla@example.com]
    username: probe
    password: ${env:SLAPROBE_TEST_SMTP_PASSWORD}
    ca_file: %s
`, archive, hsrv.URL, smtpAddr, ca))
	d := env.start(t, "daemon", cfg)

	eventually(t, 60*time.Second, 200*time.Millisecond, "the webhook delivered (third attempt) and one mail", func() (bool, string) {
		req, ok := hook.counts()
		n := len(mb.messages())
		return ok == 1 && n == 1, fmt.Sprintf("webhook %d requests, %d accepted; %d mails", req, ok, n)
	})

	// The archive: DIR/MONTH/report.pdf, and version 1 in DIR/MONTH/v1/.
	for _, f := range []string{"report.pdf", "report.json", "v1/report.pdf", "v1/figures.json"} {
		if _, err := os.Stat(filepath.Join(archive, month, f)); err != nil {
			t.Errorf("archive: %v", err)
		}
	}

	// The mail: over TLS, authenticated, with the summary in the body and
	// the PDF attached.
	msg := mb.messages()[0]
	if !msg.tls || msg.user != "probe" || len(msg.to) != 1 || msg.to[0] != "sla@example.com" {
		t.Errorf("mail: tls %v, user %q, to %v", msg.tls, msg.user, msg.to)
	}
	body, pdf := readMail(t, msg.data)
	if !strings.Contains(body, "messaging: ") || !strings.Contains(body, "SLA report "+month) {
		t.Errorf("mail body lacks the summary:\n%s", body)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the attachment is not a PDF: %.20q", pdf)
	}
	pdfPath := writeFile(t, env.dir, "mailed.pdf", string(pdf))
	if text, err := exec.Command("pdftotext", pdfPath, "-").Output(); err != nil {
		t.Errorf("pdftotext (scripts/deps.sh installs poppler-utils): %v", err)
	} else if !strings.Contains(string(text), "messaging") {
		t.Errorf("the mailed PDF does not mention messaging:\n%.400s", text)
	}

	// The webhook: two 503s, then a multipart POST with the metadata, the
	// PDF and the JSON, and the header from the secret.
	hook.mu.Lock()
	parts, auth := hook.parts[0], append([]string(nil), hook.auth...)
	idem := hook.got[0].Header.Get("Idempotency-Key")
	hook.mu.Unlock()
	var meta struct {
		Month   string   `json:"month"`
		Version int      `json:"version"`
		Files   []string `json:"files"`
	}
	if err := json.Unmarshal(parts["metadata"], &meta); err != nil || meta.Month != month || meta.Version != 1 {
		t.Errorf("webhook metadata %s: %v", parts["metadata"], err)
	}
	if !bytes.HasPrefix(parts["pdf"], []byte("%PDF-")) || !bytes.Contains(parts["json"], []byte(`"availability"`)) {
		t.Errorf("webhook parts: %d bytes of pdf, %.80q json", len(parts["pdf"]), parts["json"])
	}
	for _, a := range auth {
		if a != "Bearer hook-t0ken" {
			t.Errorf("webhook Authorization %q", a)
		}
	}
	if idem == "" {
		t.Error("no Idempotency-Key")
	}

	// The records in the store and the metrics.
	records := deliveries(t, env.db)
	want := map[string][2]any{"webhook": {3, store.DeliveryDelivered}, "email": {1, store.DeliveryDelivered}}
	for _, r := range records {
		t.Logf("delivery record: %s v%d %s -> %s: %s after %d attempt(s), last %q, delivered %s", r.Month, r.Version, r.Channel, r.Target,
			r.State, r.Attempts, r.Result, r.Delivered.Format(time.RFC3339Nano))
		w := want[r.Channel]
		if r.Attempts != w[0] || r.State != w[1] {
			t.Errorf("%s: %s after %d attempts, want %s after %d", r.Channel, r.State, r.Attempts, w[1], w[0])
		}
		if strings.Contains(r.Result, mb.pass) || strings.Contains(r.Result, "hook-t0ken") {
			t.Errorf("a secret reached the store: %q", r.Result)
		}
	}
	if len(records) != 2 {
		t.Errorf("%d delivery records, want 2", len(records))
	}
	scrape := env.metrics(t)
	for _, m := range []struct {
		name string
		want float64
	}{
		{"slaprobe_reports_generated_total", 1},
		{`slaprobe_report_deliveries_total{channel="webhook",result="retry"}`, 2},
		{`slaprobe_report_deliveries_total{channel="webhook",result="delivered"}`, 1},
		{`slaprobe_report_deliveries_total{channel="email",result="delivered"}`, 1},
	} {
		if v, ok := metricSum(scrape, m.name); !ok || v != m.want {
			t.Errorf("%s = %v (found %v), want %v", m.name, v, ok, m.want)
		}
	}
	// The status page links the archive, and serves it.
	page := get(t, "http://"+env.listen+"/")
	if !strings.Contains(page, `href="/reports/`+month+`/report.pdf"`) {
		t.Error("the status page does not link the month's report")
	}
	if b := get(t, "http://"+env.listen+"/reports/"+month+"/report.pdf"); !strings.HasPrefix(b, "%PDF-") {
		t.Error("the archive link does not serve the PDF")
	}

	// A restart neither makes nor delivers anything again.
	if code := d.stop(t, syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("daemon exited %d:\n%s", code, d.output())
	}
	d = env.start(t, "daemon again", cfg)
	defer d.stop(t, syscall.SIGTERM, 30*time.Second)
	time.Sleep(3 * time.Second) // startup cycle and a few delivery polls
	scrape = env.metrics(t)
	if v, _ := metricSum(scrape, "slaprobe_reports_generated_total"); v != 0 {
		t.Errorf("the restarted daemon made %v reports", v)
	}
	if req, _ := hook.counts(); req != 3 || len(mb.messages()) != 1 {
		t.Errorf("after a restart: %d webhook requests (want 3), %d mails (want 1)", req, len(mb.messages()))
	}
	if n := len(deliveries(t, env.db)); n != 2 {
		t.Errorf("%d delivery records after a restart, want 2", n)
	}
}

// readMail returns a message's text body and its PDF attachment.
func readMail(t *testing.T, raw []byte) (string, []byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var body string
	var pdf []byte
	var walk func(r io.Reader, boundary string)
	walk = func(r io.Reader, boundary string) {
		mr := multipart.NewReader(r, boundary)
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ct, ps, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			data, _ := io.ReadAll(p)
			if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
				data = decodeBase64(t, data)
			} else if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
				data = decodeQP(t, data)
			}
			switch {
			case strings.HasPrefix(ct, "multipart/"):
				walk(bytes.NewReader(data), ps["boundary"])
			case ct == "application/pdf":
				pdf = data
			case ct == "text/plain" && body == "":
				body = string(data)
			}
		}
	}
	walk(m.Body, params["boundary"])
	return body, pdf
}

// deliveries reads the delivery records of the daemon's database.
func deliveries(t *testing.T, db string) []store.Delivery {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds, err := s.Deliveries(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func decodeBase64(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeQP(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
