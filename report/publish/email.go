package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// email sends a report by SMTP (github.com/wneessen/go-mail: STARTTLS or
// implicit TLS, AUTH as the server offers it): the summary in the body and
// the files attached.
type email struct {
	cfg     *config.Config
	e       *config.Email
	timeout time.Duration // the connection's deadline
}

func newEmail(cfg *config.Config, e *config.Email, timeout time.Duration) *email {
	return &email{cfg: cfg, e: e, timeout: timeout}
}

func (m *email) Kind() string   { return "email" }
func (m *email) Target() string { return strings.Join(m.e.To, ",") }

// client builds the SMTP client, and a redactor of its credentials (a
// literal password is no configured secret, and a server may echo it).
func (m *email) client() (*mail.Client, *redact.Redactor, error) {
	host, portText, err := net.SplitHostPort(m.e.Server)
	if err != nil {
		return nil, nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, nil, err
	}
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: m.e.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // only when asked for
	if m.e.CAFile != "" {
		pem, err := config.ReadFile(m.e.CAFile, config.MaxFileBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("email.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, errors.New("email.ca_file: no certificate in it")
		}
		tc.RootCAs = pool
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTLSConfig(tc), mail.WithTimeout(m.timeout)}
	switch m.e.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	var scrub *redact.Redactor
	if m.e.Username != "" {
		user, err := m.cfg.ExpandSecrets(m.e.Username)
		if err != nil {
			return nil, nil, fmt.Errorf("email.username: %w", err)
		}
		pass, err := m.cfg.ExpandSecrets(m.e.Password)
		if err != nil {
			return nil, nil, fmt.Errorf("email.password: %w", err)
		}
		scrub = m.cfg.RedactorWith(pass, user+":"+pass, "\x00"+user+"\x00"+pass) // one redactor: these and the config's secrets may overlap
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(user), mail.WithPassword(pass))
	}
	c, err := mail.NewClient(host, opts...)
	return c, scrub, err
}

func (m *email) Send(ctx context.Context, msg *Message) error {
	c, scrub, err := m.client()
	if err != nil {
		return err
	}
	// go-mail reads the server's replies (the greeting, EHLO, STARTTLS,
	// AUTH, each command) with only its own timeout (the attempt's 2
	// minutes), not ctx: the session runs aside and Send returns when ctx
	// ends (a shutdown), leaving it to end at that timeout or the exit.
	sent := make(chan error, 1)
	go func() { sent <- m.send(ctx, c, msg) }()
	select {
	case err = <-sent:
	case <-ctx.Done():
	}
	if ctx.Err() != nil {
		return fmt.Errorf("email: %w", ctx.Err())
	}
	if err != nil {
		var refused *Refused
		if errors.As(err, &refused) {
			return &Refused{Err: errors.New(scrub.Redact(refused.Err.Error()))}
		}
		// A 5xx reply is a permanent refusal (RFC 5321, 4.2.1: the client
		// should not repeat the request): the sender or every recipient
		// refused (550, 553), the message refused (554, 552). But for a
		// login refused or required (530, 534, 535, RFC 4954), fixed
		// without the report changing (a password being rotated; given
		// up, the version would never be delivered again). A 4xx, or no
		// reply, is retried.
		var te *textproto.Error
		if errors.As(err, &te) && te.Code >= 500 && te.Code <= 599 && te.Code != 530 && te.Code != 534 && te.Code != 535 {
			return &Permanent{Err: errors.New(scrub.Redact(err.Error()))}
		}
		return errors.New(scrub.Redact(err.Error()))
	}
	return nil
}

func (m *email) send(ctx context.Context, c *mail.Client, msg *Message) error {
	x := mail.NewMsg()
	if err := x.From(m.e.From); err != nil {
		return err
	}
	if err := x.To(m.e.To...); err != nil {
		return err
	}
	subject := msg.Summary.Title
	if msg.Version > 1 {
		subject += fmt.Sprintf(" (version %d)", msg.Version)
	}
	x.Subject(subject)
	x.SetDate()
	x.SetMessageIDWithValue(msg.Key + "@slaprobe")
	body := msg.Summary.Text()
	if msg.Changes != "" {
		body += "\nWhat changed: " + msg.Changes + "\n"
	}
	body += "\nThe full report is attached.\n"
	x.SetBodyString(mail.TypeTextPlain, body)
	for _, f := range msg.Files {
		fh, err := os.Open(f.Path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
		err = x.AttachReader(f.Name, fh, mail.WithFileContentType(mail.ContentType(f.ContentType())))
		fh.Close()
		if err != nil {
			return err
		}
	}
	return m.deliver(ctx, c, x)
}

// deliver sends x over one SMTP session. A recipient the server refuses
// for good (5xx) does not hold up the others: the message goes to those
// accepted and the refusals come back as *Refused (a stale address in
// email.to must not keep the month's report from everyone else). A
// temporary refusal (4xx) fails the attempt, to be retried whole.
func (m *email) deliver(ctx context.Context, c *mail.Client, x *mail.Msg) error {
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("dial failed: %w", err)
	}
	defer c.CloseWithSMTPClient(sc) //nolint:errcheck // the message is sent or its error returned
	from, err := x.GetSender(false)
	if err != nil {
		return err
	}
	rcpts, err := x.GetRecipients()
	if err != nil {
		return err
	}
	if err := sc.Mail(from); err != nil {
		return fmt.Errorf("sending SMTP MAIL FROM command: %w", err)
	}
	var refused []error
	accepted := 0
	for _, r := range rcpts {
		err := sc.Rcpt(r)
		var te *textproto.Error
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &te) && te.Code >= 500:
			refused = append(refused, fmt.Errorf("%s: %w", r, err))
		default:
			sc.Reset() //nolint:errcheck // the attempt fails with err
			return fmt.Errorf("sending SMTP RCPT TO command: %s: %w", r, err)
		}
	}
	if accepted == 0 {
		sc.Reset() //nolint:errcheck // the attempt fails with the refusals
		return fmt.Errorf("sending SMTP RCPT TO command: every recipient refused: %w", errors.Join(refused...))
	}
	w, err := sc.Data()
	if err != nil {
		return fmt.Errorf("sending SMTP DATA command: %w", err)
	}
	if _, err := x.WriteTo(w); err != nil {
		w.Close()
		return fmt.Errorf("writing the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("closing SMTP DATA writer: %w", err)
	}
	if len(refused) > 0 {
		return &Refused{Err: errors.Join(refused...)}
	}
	return nil
}
