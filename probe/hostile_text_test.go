package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/coder/websocket"

	"github.com/slaprobe/slaprobe/config"
)

// Review of target-controlled text as a step's error: the error goes to the
// store and from there to every output (terminal tables, the status pages,
// the HTML, Markdown, CSV and PDF reports, Alertmanager annotations, log
// lines), so it must not carry characters that change how the text around
// it reads.

// TestBidiControlsInErrorsEscaped: a Unicode bidirectional control (U+202E
// RIGHT-TO-LEFT OVERRIDE, U+2066 LEFT-TO-RIGHT ISOLATE, ...) quoted from a
// target's body reaches the error escaped as \u202e, so an unterminated
// override cannot reverse what an output prints after the error (the
// status page's "· flow NAME · at LOCATION", the CSV's and the Markdown
// table's following cells), nor make the quoted value read as another.
func TestBidiControlsInErrorsEscaped(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"v":"`+r.URL.Query().Get("v")+`"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bidi := []rune{'\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'}
	for _, tc := range []struct {
		name   string
		path   string
		expect config.Expect
		want   string // in the error
	}{
		{"an unterminated override in a JSON value", "/json?v=" + "%E2%80%AEdetaroced", config.Expect{JSONPath: []config.PathMatch{{Path: "$.v", Matcher: eq("x")}}},
			`(got "\u202edetaroced")`},
		{"every bidi control", "/json?v=" + urlRunes(bidi), config.Expect{JSONPath: []config.PathMatch{{Path: "$.v", Matcher: eq("x")}}},
			`\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step := get("s", srv.URL+tc.path)
			step.Expect = tc.expect
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{})
			got := run.Steps[0]
			if got.Status != StatusFailed {
				t.Fatalf("status %s, want failed (error %q)", got.Status, got.Error)
			}
			if i := strings.IndexFunc(got.Error, func(r rune) bool { return strings.ContainsRune(string(bidi), r) }); i >= 0 {
				t.Errorf("error %q holds a bidi control at byte %d", got.Error, i)
			}
			if !strings.Contains(got.Error, tc.want) {
				t.Errorf("error %q, want it to hold %q", got.Error, tc.want)
			}
		})
	}
}

func urlRunes(rs []rune) string {
	var b strings.Builder
	for _, r := range rs {
		for _, c := range []byte(string(r)) {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}

// TestControlCharactersInErrorsEscaped: the texts Go puts into errors
// whole, without quoting them, reach a step's error with their control
// characters escaped as Go writes them (\x1b, \a, \n): a certificate's
// DNS names (x509: "certificate is valid for NAMES, not HOST", an IA5
// string, so ESC and BEL pass Go's parser) and a WebSocket close frame's
// reason. Raw, they reached the outputs that do not blank them:
// `windows --format csv` and `report --format csv --out -` on a terminal
// (ESC [2J cleared it), report.json and the Alertmanager annotations read
// with jq -r or amtool, the store.
func TestControlCharactersInErrorsEscaped(t *testing.T) {
	const hostile = "\x1b[2J\x1b[31mevil\a"
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostile"}, DNSNames: []string{hostile},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake fails: the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	wsSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.Close(websocket.StatusInternalError, hostile+"\nlevel=ERROR")
	}))
	t.Cleanup(wsSrv.Close)

	for _, tc := range []struct {
		name string
		flow config.Flow
		want string
	}{
		{"a certificate's DNS name", config.Flow{Steps: []config.Step{get("s", "https://localhost:"+tlsSrv.URL[strings.LastIndexByte(tlsSrv.URL, ':')+1:]+"/")}},
			`certificate is valid for \x1b[2J\x1b[31mevil\a, not localhost`},
		{"a WebSocket close reason", config.Flow{Timeout: 5 * time.Second, Steps: []config.Step{wsStream(wsURL(wsSrv)),
			{Name: "receive", Function: "receive", Timeout: 2 * time.Second, Await: &config.Await{Stream: "subscribe"}}}},
			`(1011 StatusInternalError: \x1b[2J\x1b[31mevil\a\nlevel=ERROR)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), tc.flow, Options{})
			var failed *StepResult
			for i := range run.Steps {
				if run.Steps[i].Status == StatusFailed {
					failed = &run.Steps[i]
					break
				}
			}
			if failed == nil {
				t.Fatalf("no step failed: %+v", run.Steps)
			}
			if i := strings.IndexFunc(failed.Error, unicode.IsControl); i >= 0 {
				t.Errorf("error %q holds a control character at byte %d", failed.Error, i)
			}
			if !strings.Contains(failed.Error, tc.want) {
				t.Errorf("error %q, want it to hold %q", failed.Error, tc.want)
			}
		})
	}
}
