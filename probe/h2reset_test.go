package probe

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A stream an HTTP/2 server resets says the same every run: its error named
// the stream's number, which grows with each request on the connection
// ("stream error: stream ID 3; ...", then 7, then 11), and a window's cause,
// keyed on the error's text, changed with every run.
func TestH2StreamResetSaysTheSameEachRun(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			return
		}
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // an HTTP/2 server resets the stream (INTERNAL_ERROR)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(config.Flow{TLS: config.TLS{CAFile: ca}, Timeout: 3 * time.Second,
		Steps: []config.Step{get("a", srv.URL+"/ok"), get("b", srv.URL+"/cut")}})
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	for range 3 { // one connection: streams 1 and 3, then 5 and 7, ...
		run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
		wantStep(t, run.Steps[1], StatusFailed, "b: read body: stream error: INTERNAL_ERROR; received from peer")
	}
}

// A GOAWAY's text names the last stream too (net/http's own words; its
// type is not exported).
func TestH2GoAwayWithoutItsStreamNumber(t *testing.T) {
	err := errors.New(`http2: server sent GOAWAY and closed the connection; LastStreamID=7, ErrCode=NO_ERROR, debug=""`)
	want := `http2: server sent GOAWAY and closed the connection; ErrCode=NO_ERROR, debug=""`
	if got := transportError(err); got != want {
		t.Errorf("transportError = %q, want %q", got, want)
	}
}
