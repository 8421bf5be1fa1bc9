package publish

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// fixable is an SMTP server that refuses the login (535) until fixed.
type fixable struct {
	fixed *atomic.Bool
}

type fixableSession struct{ f *fixable }

func (f *fixable) NewSession(*smtp.Conn) (smtp.Session, error) { return &fixableSession{f: f}, nil }
func (x *fixableSession) AuthMechanisms() []string             { return []string{sasl.Plain} }
func (x *fixableSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, _, _ string) error {
		if x.f.fixed.Load() {
			return nil
		}
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
	}), nil
}
func (x *fixableSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *fixableSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *fixableSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (x *fixableSession) Reset()                               {}
func (x *fixableSession) Logout() error                        { return nil }

// TestCredentialRefusalRetriedUntilFixed: a refusal that is fixed without
// the report changing (a webhook's 401, 403 or 407: a token being rotated;
// an SMTP login refused, 535) is retried with the backoff, and the month's
// report is delivered once it is fixed. Since 2c2014f they gave the
// delivery up at its first attempt, and nothing delivered that version
// again: the month's report reached nobody unless its figures changed.
func TestCredentialRefusalRetriedUntilFixed(t *testing.T) {
	type tc struct {
		name  string
		edit  func(cfg *config.Config)
		fixed *atomic.Bool
	}
	var cases []tc
	for _, code := range []int{401, 403, 407} {
		fixed := &atomic.Bool{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) //nolint:errcheck
			if !fixed.Load() {
				http.Error(w, "token expired", code)
			}
		}))
		t.Cleanup(srv.Close)
		cases = append(cases, tc{name: "webhook " + http.StatusText(code), fixed: fixed,
			edit: func(cfg *config.Config) { cfg.Reports.Webhooks = []config.Webhook{{URL: srv.URL + "/hook"}} }})
	}
	// go-mail logs in over TLS only: STARTTLS with httptest's certificate.
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	cert := hs.TLS.Certificates[0]
	hs.Close()
	for _, f := range []*fixable{{}} {
		f.fixed = &atomic.Bool{}
		srv := smtp.NewServer(f)
		srv.Domain, srv.TLSConfig = "localhost", &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln) //nolint:errcheck // ends with Close
		t.Cleanup(func() { srv.Close() })
		addr := ln.Addr().String()
		cases = append(cases, tc{name: "email 535 login", fixed: f.fixed, edit: func(cfg *config.Config) {
			cfg.Reports.Email = &config.Email{Server: addr, From: "sla@example.org", To: []string{"ops@example.org"}, TLS: "starttls", InsecureSkipVerify: true}
			cfg.Reports.Email.Username, cfg.Reports.Email.Password = "sla", "old-password"
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
				cfg.Reports.Retry = config.Retry{Attempts: 3, Backoff: time.Second, MaxBackoff: time.Second}
				c.edit(cfg)
			})
			p := s.publisher(t, Options{})
			makeAndDeliver(t, p)
			c.fixed.Store(true) // the operator fixes the token, the password, the server
			s.clk.Advance(2 * time.Second)
			if err := p.DeliverDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			ds, err := s.st.Deliveries(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 || ds[0].State != store.DeliveryDelivered || ds[0].Attempts != 2 {
				t.Fatalf("deliveries %+v; want the one delivered at its second attempt", ds)
			}
		})
	}
}
