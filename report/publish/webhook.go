package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// webhook POSTs a report as multipart/form-data: a "metadata" JSON part
// (month, version, changes, summary) and one file part per format, named
// by the format (pdf, html, ...), with the configured headers, whose
// secrets are expanded at send time.
type webhook struct {
	cfg    *config.Config
	hook   config.Webhook
	client *http.Client
}

func newWebhook(cfg *config.Config, w config.Webhook) *webhook {
	return &webhook{cfg: cfg, hook: w, client: &http.Client{Timeout: attemptTimeout,
		// A redirect is a failed attempt: following it would send the
		// report, and every configured header but Authorization (which Go
		// drops only for another host), wherever the receiver points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (w *webhook) Kind() string   { return "webhook" }
func (w *webhook) Target() string { return w.hook.Target() }

// urlSecrets are the parts of the webhook's URL that are credentials as
// far as messages go: a password and the query values, and when the URL is
// built from secrets, its path and each path segment too.
func urlSecrets(tmpl string, u *url.URL) []string {
	var out []string
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	if strings.Contains(tmpl, "${") {
		out = append(out, u.String(), u.RawQuery, u.EscapedPath(), u.Path)
		for _, seg := range strings.Split(u.Path, "/") {
			out = append(out, seg)
		}
	}
	return out
}

// Metadata is the webhook's "metadata" part.
type Metadata struct {
	Month   string   `json:"month"`
	Version int      `json:"version"`
	Changes string   `json:"changes,omitempty"`
	Files   []string `json:"files"`
	Summary Summary  `json:"summary"`
}

func (w *webhook) Send(ctx context.Context, m *Message) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	meta := Metadata{Month: m.Month, Version: m.Version, Changes: m.Changes, Summary: m.Summary, Files: []string{}}
	for _, f := range m.Files {
		meta.Files = append(meta.Files, f.Name)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"`)
	h.Set("Content-Type", "application/json")
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(part).Encode(meta); err != nil {
		return err
	}
	for _, f := range m.Files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Name, err)
		}
		h := textproto.MIMEHeader{}
		field := strings.TrimPrefix(strings.TrimPrefix(f.Name, "report"), ".")
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, f.Name))
		h.Set("Content-Type", f.ContentType())
		part, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := part.Write(data); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	full, err := w.cfg.ExpandSecrets(w.hook.URL)
	if err != nil {
		return fmt.Errorf("url: %w", err)
	}
	u, err := url.Parse(full)
	if err != nil {
		return errors.New("url: does not parse") // it did when the config was loaded
	}
	// What this channel sends is secret in its messages even when the
	// config wrote it literally: the URL's credentials and the header
	// values (a literal "Bearer abc123" is not a configured secret).
	secrets := urlSecrets(w.hook.URL, u)
	headers := map[string]string{}
	for k, v := range w.hook.Headers {
		val, err := w.cfg.ExpandSecrets(v)
		if err != nil {
			return fmt.Errorf("header %s: %w", k, err)
		}
		headers[k] = val
		secrets = append(secrets, val, strings.TrimSpace(val))
		if _, cred, ok := strings.Cut(strings.TrimSpace(val), " "); ok {
			secrets = append(secrets, cred) // "Bearer TOKEN": the token alone
		}
	}
	scrub := w.cfg.RedactorWith(secrets...) // one redactor: the config's secrets and these may overlap
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, full, &body)
	if err != nil {
		return errors.New("url: " + scrub.Redact(err.Error()))
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", "slaprobe-reports")
	req.Header.Set("Idempotency-Key", m.Key)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		// The client's error quotes the URL: the record names the target
		// already, so only what went wrong is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return errors.New(scrub.Redact(err.Error()))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		return fmt.Errorf("HTTP %d after %s: redirects are not followed (set the URL the receiver redirects to)", resp.StatusCode, time.Since(t0).Round(time.Millisecond))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// The start of the answer, redacted before it is cut (a secret the
		// receiver echoes across the cut would leave its first part).
		// Read MaxLen past 4 KiB, so that a secret that begins in them is
		// seen whole.
		read := 4<<10 + scrub.MaxLen()
		head, _ := io.ReadAll(io.LimitReader(resp.Body, int64(read)+1))
		text := ""
		if len(head) > read {
			// The read's last MaxLen-1 bytes may begin a secret the
			// redactor could not see whole, and the secrets redacted
			// before them shrank to "***" (a token echoed five times
			// left 89 bytes of its fifth copy in 101): they go, what
			// stays reaches past the first 4 KiB.
			text = strings.TrimSpace(redact.TrimUnseen(scrub.Redact(string(head[:read])), scrub.MaxLen())) + "…"
		} else {
			text = strings.TrimSpace(scrub.Redact(string(head)))
		}
		if n := utf8.RuneCountInString(text); n > 200 {
			cut := 0
			for range 200 {
				_, size := utf8.DecodeRuneInString(text[cut:])
				cut += size
			}
			text = text[:redact.Cut(text, cut)] + "…" // never a piece of a "***"
		}
		err := fmt.Errorf("HTTP %d after %s: %s", resp.StatusCode, time.Since(t0).Round(time.Millisecond), text)
		if refusedForGood(resp.StatusCode) {
			return &Permanent{Err: err}
		}
		return err
	}
	return nil
}

// refusedForGood says whether a webhook's answer refuses the report for
// good: a 4xx (400 bad request, 404/410 no such receiver, 413 too large,
// 422 not taken, ...) but those that say "later": 408 Request Timeout, 409
// Conflict (a receiver still handling an attempt with the same
// Idempotency-Key answers it, as the IETF idempotency-key draft has it),
// 425 Too Early and 429 Too Many Requests, and those fixed without the
// report changing: 401, 403 and 407, a credential being rotated (the
// operator updates the secret's file or environment, and the next attempt
// takes it; given up, the version would never be delivered again). A 5xx,
// or no answer, is a failure of the moment.
func refusedForGood(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		return false
	}
	return code >= 400 && code <= 499
}
