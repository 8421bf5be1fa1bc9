package publish

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// A delivery to a server that answers at once is not a timeout: an
// attempt that ran to AttemptTimeout (10 s here) is a hang, caught below.

// echoes are the ways a hostile receiver sends a credential back: raw,
// quoted, JSON-escaped, URL-encoded, base64 (alone and as user:password),
// and just across the cut where the message is shortened.
func echoes(secret string) []string {
	j, _ := json.Marshal(secret)
	return []string{
		secret,
		strconv.Quote(secret),
		string(j),
		url.QueryEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte("probe:" + secret)),
		strings.Repeat("x", 190) + secret, // straddles the 200-byte cut
		strings.Repeat("y", 505) + secret, // straddles the record's 512-byte cut
	}
}

// smtpEcho is an SMTP session that refuses every AUTH, quoting the
// credentials it was given.
type smtpEcho struct{}

func (smtpEcho) AuthMechanisms() []string { return []string{sasl.Plain} }
func (smtpEcho) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		q := strconv.Quote(pass)
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
			Message: "no: " + user + " " + q[1:len(q)-1] + " " + base64.StdEncoding.EncodeToString([]byte(pass))}
	}), nil
}
func (smtpEcho) Mail(string, *smtp.MailOptions) error { return smtp.ErrAuthRequired }
func (smtpEcho) Rcpt(string, *smtp.RcptOptions) error { return smtp.ErrAuthRequired }
func (smtpEcho) Data(io.Reader) error                 { return smtp.ErrAuthRequired }
func (smtpEcho) Reset()                               {}
func (smtpEcho) Logout() error                        { return nil }

// FuzzDeliverySecretsNeverLeak delivers a report to a webhook receiver that
// answers 4xx/5xx echoing the credential header in every form, to one whose
// URL carries the secret, and to an SMTP server that refuses AUTH quoting
// the password; the secret is configured (${env:...}) or, for mode&1,
// written literally in the config. No form of it may reach the delivery
// records or the log.
func FuzzDeliverySecretsNeverLeak(f *testing.F) {
	for _, s := range []string{"hunter22", `p"w\x-1`, "tok-Zx9Zx9Zx9Zx9Zx9Zx9Zx9", "a b\tc", "ünï©ødé", "line1\r\nline2", "%41%42", "===="} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad key %s; path %s; ", strings.Join(echoes(r.Header.Get("X-Api-Key")), " | "), r.URL.String())
	}))
	defer hook.Close()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return smtpEcho{}, nil }))
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	defer srv.Close()

	f.Fuzz(func(t *testing.T, raw string, mode uint8) {
		secret := "Zq7Xw9" + raw // a marker no escaping changes; long enough to redact
		if strings.ContainsAny(raw, "\r\n\x00") || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			t.Skip("not a value an HTTP header or an SMTP command can carry")
		}
		lit := mode&1 == 1
		ref := func(s string) string {
			if lit {
				return strings.ReplaceAll(s, "${", "$${")
			}
			return "${env:SECRET}"
		}
		s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
			if !lit {
				cfg.Secrets["env:SECRET"] = secret
			}
			cfg.Reports.Retry = config.Retry{Attempts: 2, Backoff: time.Minute, MaxBackoff: time.Minute}
			cfg.Reports.Webhooks = []config.Webhook{
				{URL: hook.URL + "/h", Headers: map[string]string{"X-Api-Key": ref(secret)}},
				{URL: hook.URL + "/q?token=" + ref(url.QueryEscape(secret))},
			}
			cfg.Reports.Email = &config.Email{Server: ln.Addr().String(), From: "probe@example.com", To: []string{"ops@example.com"},
				Username: "probe", Password: ref(secret), TLS: "none"}
		})
		p := s.publisher(t, Options{AttemptTimeout: 10 * time.Second})
		ctx := context.Background()
		if err := p.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := p.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(t0); took > 9*time.Second {
			t.Fatalf("three deliveries to servers that answer at once took %s:\n%s", took, s.everything(t))
		}
		all := s.everything(t)
		ds, _ := s.st.Deliveries(ctx, "")
		if len(ds) != 3 {
			t.Fatalf("%d deliveries, want 3", len(ds))
		}
		for _, d := range ds {
			if d.Attempts != 1 || d.Result == "" {
				t.Fatalf("delivery %+v: want one failed attempt", d)
			}
		}
		for _, form := range append(redact.Forms(secret), secret, url.QueryEscape(secret)) {
			if strings.Contains(all, form) {
				t.Fatalf("secret %q reached the records or the log as %q:\n%s", secret, form, all)
			}
		}
		if strings.Contains(all, "Zq7Xw9") {
			t.Fatalf("the secret's marker reached the records or the log:\n%s", all)
		}
	})
}
