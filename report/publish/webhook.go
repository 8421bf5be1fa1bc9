package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
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
	return &webhook{cfg: cfg, hook: w, client: &http.Client{Timeout: attemptTimeout}}
}

func (w *webhook) Kind() string   { return "webhook" }
func (w *webhook) Target() string { return w.hook.URL }

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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.hook.URL, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("User-Agent", "slaprobe-reports")
	req.Header.Set("Idempotency-Key", m.Key)
	for k, v := range w.hook.Headers {
		val, err := w.cfg.ExpandSecrets(v)
		if err != nil {
			return fmt.Errorf("header %s: %w", k, err)
		}
		req.Header.Set(k, val)
	}
	t0 := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d after %s: %s", resp.StatusCode, time.Since(t0).Round(time.Millisecond), strings.TrimSpace(string(snippet)))
	}
	return nil
}
