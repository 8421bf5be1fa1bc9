package alert

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/state"
)

// TestSecretAcrossTheReadRedacted: an error answer that repeats a long
// secret (a 1,000-byte bearer token, echoed five times) past the 4 KiB read
// shows no piece of it. The read held four whole copies, each redacted to
// "***", and the first 89 bytes of the fifth, which the redactor, seeing no
// whole secret, kept: the redacted read, 108 bytes, was shown whole, the
// piece included. Now the last MaxLen-1 bytes of a cut read go.
func TestSecretAcrossTheReadRedacted(t *testing.T) {
	secret := "tok-" + strings.Repeat("Zx9Q", 249) // 1,000 bytes
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "denied "+strings.Repeat(secret, 5)) //nolint:errcheck
	}))
	defer srv.Close()
	red := redact.New(secret)
	var logs bytes.Buffer
	n, err := NewNotifier(Options{URLs: []string{srv.URL}, Clock: clock.NewManual(t0), Logger: slogTo(&logs),
		Metrics: prometheus.NewRegistry(), Redact: red.Redact, RedactMaxLen: red.MaxLen()})
	if err != nil {
		t.Fatal(err)
	}
	n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
	err = n.Tick(context.Background())
	if err == nil {
		t.Fatal("want a send error")
	}
	for what, s := range map[string]string{"error": err.Error(), "log": logs.String()} {
		if strings.Contains(s, "tok-Zx9Q") || strings.Contains(s, "Zx9QZx9Q") {
			t.Errorf("%s holds a piece of the secret: %s", what, s)
		}
	}
	if !strings.Contains(err.Error(), "denied ***") {
		t.Errorf("error lost the answer's start: %s", err)
	}
}
