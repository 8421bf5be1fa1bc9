package publish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
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
		scrub = redact.New(pass, user+":"+pass, "\x00"+user+"\x00"+pass)
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
	if err := m.send(ctx, c, msg); err != nil {
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
	return c.DialAndSendWithContext(ctx, x)
}
