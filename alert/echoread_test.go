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

// TestSecretAcrossTheReadNoPieceOfAMask: the end a cut read loses (its last
// MaxLen-1 bytes, redacted) never leaves a piece of a "***" behind: an
// answer echoing a 1,000-byte token four times, the last after 88 or 89
// bytes of text, was shown as "denied *** *** *** xxx...x*…" or "...x**…",
// a "*" that reads as the answer's own text, where the 512-byte cut
// (errAnswer) already kept whole masks.
func TestSecretAcrossTheReadNoPieceOfAMask(t *testing.T) {
	secret := "tok-" + strings.Repeat("Zx9Q", 249) // 1,000 bytes
	for f := 80; f <= 96; f++ {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "denied "+strings.Repeat(secret+" ", 3)+strings.Repeat("x", f)+secret+strings.Repeat("y", 3000)) //nolint:errcheck
		}))
		red := redact.New(secret)
		n, err := NewNotifier(Options{URLs: []string{srv.URL}, Clock: clock.NewManual(t0), Logger: slogTo(&bytes.Buffer{}),
			Metrics: prometheus.NewRegistry(), Redact: red.Redact, RedactMaxLen: red.MaxLen()})
		if err != nil {
			t.Fatal(err)
		}
		n.Handle([]state.Event{open(flowWindow(state.KindDown, "", t0))})
		err = n.Tick(context.Background())
		srv.Close()
		if err == nil {
			t.Fatalf("f %d: want a send error", f)
		}
		if got := err.Error(); strings.Contains(strings.ReplaceAll(got, redact.Mask, ""), "*") || strings.Contains(got, "Zx9Q") {
			t.Errorf("f %d: error ends ...%q: a piece of a mask (or of the secret)", f, got[max(0, len(got)-12):])
		}
	}
}
