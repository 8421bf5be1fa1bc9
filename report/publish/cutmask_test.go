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
