package publish

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// TestPermanentRefusalNotRetried: a receiver that refuses a report for
// good (a webhook's 400, 404, 410, 413 or 422; an SMTP server's
// 550 for every recipient, 554 for the message, 553 for the sender) has the
// delivery given up at its first attempt: recorded failed with the refusal
// as its result, counted failed, logged as an error. A failure of the
// moment (a 5xx, 408, 409, 429, a webhook's 401 or 403, an SMTP 4xx, a refused connection) is still
// retried with backoff. Before, every refusal got every attempt of
// reports.retry (8 by default, an hour of backoff) with the same answer.
func TestPermanentRefusalNotRetried(t *testing.T) {
	type tc struct {
		name      string
		edit      func(cfg *config.Config)
		permanent bool
		says      string // in the recorded result
		hits      *atomic.Int32
	}
	var cases []tc
	for _, code := range []int{400, 401, 403, 404, 410, 413, 422, 500, 502, 503, 408, 409, 429} {
		hits := &atomic.Int32{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			io.Copy(io.Discard, r.Body) //nolint:errcheck
			http.Error(w, "answer "+http.StatusText(code), code)
		}))
		t.Cleanup(srv.Close)
		cases = append(cases, tc{name: fmt.Sprintf("webhook %d", code), hits: hits,
			edit:      func(cfg *config.Config) { cfg.Reports.Webhooks = []config.Webhook{{URL: srv.URL + "/hook"}} },
			permanent: code < 500 && code != 408 && code != 409 && code != 429 && code != 401 && code != 403, says: fmt.Sprintf("HTTP %d", code)})
	}
	// A port nothing listens on: a connection error is of the moment.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	cases = append(cases, tc{name: "webhook connection refused", edit: func(cfg *config.Config) { cfg.Reports.Webhooks = []config.Webhook{{URL: closed}} },
		says: "refused"})
	for _, sm := range []struct {
		name             string
		rcpt, data, mail int
		permanent        bool
		says             string
	}{
		{name: "email 550 every recipient", rcpt: 550, permanent: true, says: "550"},
		{name: "email 554 for the message", data: 554, permanent: true, says: "554"},
		{name: "email 553 for the sender", mail: 553, permanent: true, says: "553"},
		{name: "email 450 every recipient", rcpt: 450, says: "450"},
		{name: "email 451 for the message", data: 451, says: "451"},
	} {
		sink := &replySink{rcpt: sm.rcpt, data: sm.data, mail: sm.mail, hits: &atomic.Int32{}}
		addr := smtpServer(t, sink)
		cases = append(cases, tc{name: sm.name, hits: sink.hits, permanent: sm.permanent, says: sm.says, edit: func(cfg *config.Config) {
			cfg.Reports.Email = &config.Email{Server: addr, From: "sla@example.org", To: []string{"ops@example.org", "team@example.org"}, TLS: "none"}
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
				cfg.Reports.Retry = config.Retry{Attempts: 3, Backoff: time.Second, MaxBackoff: time.Second}
				c.edit(cfg)
			})
			reg := prometheus.NewRegistry()
			p := s.publisher(t, Options{Registry: reg})
			makeAndDeliver(t, p)
			for range 4 {
				s.clk.Advance(2 * time.Second)
				if err := p.DeliverDue(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			ds, err := s.st.Deliveries(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 1 {
				t.Fatalf("deliveries %+v", ds)
			}
			d := ds[0]
			kind := d.Channel
			wantAttempts, wantRetry := 3, 2.0
			if c.permanent {
				wantAttempts, wantRetry = 1, 0
			}
			if d.State != store.DeliveryFailed || d.Attempts != wantAttempts || !strings.Contains(d.Result, c.says) {
				t.Errorf("delivery %s after %d attempts: %q; want failed after %d, naming %q", d.State, d.Attempts, d.Result, wantAttempts, c.says)
			}
			if c.hits != nil && int(c.hits.Load()) != wantAttempts {
				t.Errorf("the receiver got %d attempts, want %d", c.hits.Load(), wantAttempts)
			}
			if c.permanent && !strings.Contains(d.Result, "refused for good, not retried") {
				t.Errorf("result %q does not say it was given up for good", d.Result)
			}
			if got := testutil.ToFloat64(p.deliveries.WithLabelValues(kind, "retry")); got != wantRetry {
				t.Errorf("retry count %g, want %g", got, wantRetry)
			}
			if got := testutil.ToFloat64(p.deliveries.WithLabelValues(kind, "failed")); got != 1 {
				t.Errorf("failed count %g, want 1", got)
			}
			if log := s.log.String(); c.permanent && (!strings.Contains(log, `"level":"ERROR","msg":"report delivery"`) || !strings.Contains(log, "refused for good")) {
				t.Errorf("log does not give the delivery up as an error saying why:\n%s", log)
			}
		})
	}
}

// replySink is an SMTP server that answers MAIL, every RCPT or DATA with
// the codes given (0: accepts), counting the sessions that got to MAIL.
type replySink struct {
	mail, rcpt, data int
	hits             *atomic.Int32
}

type replySession struct{ s *replySink }

func smtpErr(code int) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: fmt.Sprintf("answer %d", code)}
}

func (s *replySink) NewSession(*smtp.Conn) (smtp.Session, error) { return &replySession{s: s}, nil }
func (x *replySession) Mail(string, *smtp.MailOptions) error {
	x.s.hits.Add(1)
	if x.s.mail != 0 {
		return smtpErr(x.s.mail)
	}
	return nil
}
func (x *replySession) Rcpt(string, *smtp.RcptOptions) error {
	if x.s.rcpt != 0 {
		return smtpErr(x.s.rcpt)
	}
	return nil
}
func (x *replySession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	if x.s.data != 0 {
		return smtpErr(x.s.data)
	}
	return nil
}
func (x *replySession) Reset()        {}
func (x *replySession) Logout() error { return nil }

// smtpServer serves be on loopback until the test ends.
func smtpServer(t *testing.T, be smtp.Backend) string {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
