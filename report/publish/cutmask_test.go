package publish

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// A recorded result cut at 512 bytes never ends in a piece of a "***":
// with a configured secret just past the cut, "x"x510 then the secret was
// recorded as "x"x510 + "**…", a "**" that reads as the receiver's text.
func TestResultTextCutInsideMask(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Secrets = map[string]string{"env:HOOK": "hook-s3cret"}
	for pad := maxResult - 6; pad <= maxResult+1; pad++ {
		got := resultText(cfg, errors.New(strings.Repeat("x", pad)+"hook-s3cret"+strings.Repeat("y", 100)))
		if strings.Contains(strings.ReplaceAll(got, redact.Mask, ""), "*") {
			t.Errorf("pad %d: recorded ...%q: a piece of a mark", pad, got[max(0, len(got)-12):])
		}
		if len(got) > maxResult+len("…") {
			t.Errorf("pad %d: %d bytes recorded", pad, len(got))
		}
	}
}

// The start of a receiver's answer quoted in a failed attempt is cut at 200
// characters without a piece of a "***" at its end either.
func TestWebhookAnswerCutInsideMask(t *testing.T) {
	for _, pad := range []int{197, 198, 199, 200} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, strings.Repeat("é", pad)+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+" and more") //nolint:errcheck
		}))
		cfg := testConfig(t.TempDir())
		wh := newWebhook(cfg, config.Webhook{URL: srv.URL + "/in", Headers: map[string]string{"Authorization": "Bearer tok-s3cret-value"}})
		err := wh.Send(context.Background(), &Message{Month: "2022-10", Version: 1, Key: "k"})
		srv.Close()
		if err == nil {
			t.Fatalf("pad %d: no error", pad)
		}
		got := err.Error()
		if strings.Contains(got, "s3cret") || strings.Contains(strings.ReplaceAll(got, redact.Mask, ""), "*") {
			t.Errorf("pad %d: error ends ...%q: a piece of a mark (or the secret)", pad, got[max(0, len(got)-16):])
		}
	}
}

// TestWebhookSecretAcrossTheReadRedacted: a receiver's answer that repeats
// a long credential (a 1,000-byte token, five times) past the 4 KiB read
// shows no piece of it: the read held four whole copies, redacted to
// "***" each, and 89 bytes of the fifth, which the redactor, seeing no
// whole secret, kept, and the quote (200 characters) showed them. Now the
// last MaxLen-1 bytes of a cut read go.
func TestWebhookSecretAcrossTheReadRedacted(t *testing.T) {
	secret := "tok-" + strings.Repeat("Zx9Q", 249)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "denied "+strings.Repeat(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), 5)) //nolint:errcheck
	}))
	defer srv.Close()
	cfg := testConfig(t.TempDir())
	wh := newWebhook(cfg, config.Webhook{URL: srv.URL + "/in", Headers: map[string]string{"Authorization": "Bearer " + secret}})
	err := wh.Send(context.Background(), &Message{Month: "2022-10", Version: 1, Key: "k"})
	if err == nil {
		t.Fatal("no error")
	}
	if got := err.Error(); strings.Contains(got, "tok-Zx9Q") || strings.Contains(got, "Zx9QZx9Q") || !strings.Contains(got, "denied ***") {
		t.Errorf("error %q: want the answer's start and no piece of the secret", got)
	}
}

// TestWebhookReadEndNoPieceOfAMask: the end a cut read loses (its last
// MaxLen-1 bytes, redacted) never leaves a piece of a "***" behind: a
// receiver echoing a 1,000-byte token four times, the last after 88 or 89
// bytes of text, was quoted as "denied *** *** *** xxx...x*…" or "...x**…",
// a "*" that reads as the receiver's own text.
func TestWebhookReadEndNoPieceOfAMask(t *testing.T) {
	secret := "tok-" + strings.Repeat("Zx9Q", 249)
	for f := 80; f <= 96; f++ {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "denied "+strings.Repeat(tok+" ", 3)+strings.Repeat("x", f)+tok+strings.Repeat("y", 3000)) //nolint:errcheck
		}))
		cfg := testConfig(t.TempDir())
		wh := newWebhook(cfg, config.Webhook{URL: srv.URL + "/in", Headers: map[string]string{"Authorization": "Bearer " + secret}})
		err := wh.Send(context.Background(), &Message{Month: "2022-10", Version: 1, Key: "k"})
		srv.Close()
		if err == nil {
			t.Fatalf("f %d: no error", f)
		}
		if got := err.Error(); strings.Contains(strings.ReplaceAll(got, redact.Mask, ""), "*") || strings.Contains(got, "Zx9Q") {
			t.Errorf("f %d: error ends ...%q: a piece of a mask (or of the secret)", f, got[max(0, len(got)-12):])
		}
	}
}
