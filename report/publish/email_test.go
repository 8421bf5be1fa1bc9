package publish

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/slaprobe/slaprobe/config"
)

// rcptSink is an SMTP server that refuses the recipients in refuse with
// their code and keeps the recipients of each message it accepts.
type rcptSink struct {
	refuse map[string]int
	mu     sync.Mutex
	got    [][]string
}

type rcptSession struct {
	s    *rcptSink
	rcpt []string
}

func (s *rcptSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &rcptSession{s: s}, nil }
func (x *rcptSession) Mail(string, *smtp.MailOptions) error     { return nil }
func (x *rcptSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if code, ok := x.s.refuse[to]; ok {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 1, 1}, Message: "refused " + to}
	}
	x.rcpt = append(x.rcpt, to)
	return nil
}
func (x *rcptSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.got = append(x.s.got, x.rcpt)
	return nil
}
func (x *rcptSession) Reset()        { x.rcpt = nil }
func (x *rcptSession) Logout() error { return nil }

// TestEmailRefusedRecipient: a recipient the server refuses for good (a
// stale address in email.to) does not keep the report from the others: it
// goes to those accepted and the send says which were refused (*Refused,
// recorded as delivered); a temporary refusal, or every recipient refused,
// fails the attempt so that it is retried.
func TestEmailRefusedRecipient(t *testing.T) {
	to := []string{"ops@example.org", "gone@example.org", "team@example.org"}
	for _, tc := range []struct {
		name    string
		refuse  map[string]int
		got     []string // recipients of the message delivered; nil: none
		refused bool     // a *Refused naming gone@
		fails   bool     // an error that is not *Refused
	}{
		{"all accepted", nil, to, false, false},
		{"one refused for good", map[string]int{"gone@example.org": 550}, []string{"ops@example.org", "team@example.org"}, true, false},
		{"one refused for now", map[string]int{"gone@example.org": 450}, nil, false, true},
		{"all refused", map[string]int{"ops@example.org": 550, "gone@example.org": 550, "team@example.org": 550}, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &rcptSink{refuse: tc.refuse}
			srv := smtp.NewServer(sink)
			srv.Domain, srv.AllowInsecureAuth = "localhost", true
			srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln) //nolint:errcheck // ends with Close
			defer srv.Close()
			dir := t.TempDir()
			pdf := filepath.Join(dir, "report.pdf")
			if err := os.WriteFile(pdf, []byte("%PDF-1.4\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(dir)
			m := newEmail(cfg, &config.Email{Server: ln.Addr().String(), From: "sla@example.org", To: to, TLS: "none"}, 10*time.Second)
			err = m.Send(context.Background(), &Message{Month: "2022-10", Version: 1, Key: "k", Summary: Summary{Title: "SLA report 2022-10"},
				Files: []File{{Name: "report.pdf", Path: pdf}}})
			var refused *Refused
			switch {
			case tc.refused && (!errors.As(err, &refused) || !strings.Contains(err.Error(), "gone@example.org")):
				t.Errorf("send: %v, want the refusal of gone@example.org", err)
			case tc.fails && (err == nil || errors.As(err, &refused)):
				t.Errorf("send: %v, want a failed attempt", err)
			case !tc.refused && !tc.fails && err != nil:
				t.Errorf("send: %v", err)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			switch {
			case tc.got == nil && len(sink.got) != 0:
				t.Errorf("delivered to %v, want nothing delivered", sink.got)
			case tc.got != nil && (len(sink.got) != 1 || !slices.Equal(sink.got[0], tc.got)):
				t.Errorf("delivered to %v, want %v", sink.got, tc.got)
			}
		})
	}
}

// TestEmailSendEndsWithItsContext: an attempt to a server that stops
// answering (a tarpit that never greets, or one that stalls after the
// greeting) ends when its context ends, not at the attempt's own bound
// (2 minutes): a SIGTERM during such an attempt kept the daemon up for as
// long (85 s in a test, past systemd's 90 s when it came at the attempt's
// start).
func TestEmailSendEndsWithItsContext(t *testing.T) {
	for _, tc := range []struct {
		name  string
		greet string // written on accept, then nothing more
	}{
		{"never greets", ""},
		{"stalls after the greeting", "220 localhost ESMTP\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte(tc.greet)) //nolint:errcheck // the client's problem
				accepted <- c
			}()
			dir := t.TempDir()
			m := newEmail(testConfig(dir), &config.Email{Server: ln.Addr().String(), From: "sla@example.org", To: []string{"ops@example.org"}, TLS: "none"}, time.Hour)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- m.Send(ctx, &Message{Month: "2022-10", Version: 1, Key: "k", Summary: Summary{Title: "SLA report 2022-10"}})
			}()
			c := <-accepted
			defer c.Close()
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Send = %v, want context.Canceled", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("Send still waits on a server that does not answer, a minute after its context ended")
			}
		})
	}
}
