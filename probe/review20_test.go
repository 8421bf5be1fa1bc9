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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestEscapedErrorIsBounded: a step's error is at most 1 KiB once its
// control characters are escaped, and is cut between two escapes, never
// inside one. A certificate whose DNS names are 800 bytes of ESC (under
// the 1 KiB cut, so never cut) made an error of 3,232 bytes once each ESC
// was written \x1b: the bound was checked before the escaping; over the
// cut, the escaped text was cut at 1 KiB wherever that fell ("\x1").
func TestEscapedErrorIsBounded(t *testing.T) {
	for _, n := range []int{20, 30} { // 800 bytes of names, under the cut; 1,200, over it
		t.Run(strconv.Itoa(n), func(t *testing.T) { escapedErrorIsBounded(t, n) })
	}
}

func escapedErrorIsBounded(t *testing.T, n int) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for range n {
		names = append(names, strings.Repeat("\x1b", 39)+"x")
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hostile"}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake fails: the point
	srv.StartTLS()
	t.Cleanup(srv.Close)

	step := get("s", "https://localhost:"+srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]+"/")
	run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{step}}, Options{})
	e := run.Steps[0].Error
	if run.Steps[0].Status != StatusFailed || !strings.Contains(e, `certificate is valid for \x1b`) {
		t.Fatalf("status %s, error %.120q", run.Steps[0].Status, e)
	}
	if len(e) > 1024+32 {
		t.Errorf("error of %d bytes, want at most 1 KiB and the length note", len(e))
	}
	i := strings.Index(e, "…(")
	if i < 0 {
		t.Fatalf("the cut error does not say how long it was: ...%s", e[max(0, len(e)-40):])
	}
	if body := e[:i]; !strings.HasSuffix(body, `\x1b`) && !strings.HasSuffix(body, "x") && !strings.HasSuffix(body, ", ") {
		t.Errorf("the error is cut inside an escape: ...%s", e[max(0, i-12):])
	}
}

// TestJWTClaimNull: a claim whose value is null is "null", as docs/config.md
// says of anything but a string ("as compact JSON"): decoding null into a
// Go string succeeds and leaves it empty, so {"sub": null} gave "" and a
// URL /users/${jwtclaim(token, "sub")}/inbox became /users//inbox, a
// request to another resource, without a word.
func TestJWTClaimNull(t *testing.T) {
	got, err := applyFunc("jwtclaim", []string{jwtOf(`{"sub":null,"name":""}`), "sub"}, false)
	if err != nil || got != "null" {
		t.Errorf(`jwtclaim of {"sub": null} = %q, %v; want "null"`, got, err)
	}
	if got, err := applyFunc("jwtclaim", []string{jwtOf(`{"sub":null,"name":""}`), "name"}, false); err != nil || got != "" {
		t.Errorf(`jwtclaim of {"name": ""} = %q, %v; want ""`, got, err)
	}
}
