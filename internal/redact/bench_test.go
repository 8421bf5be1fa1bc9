package redact

import (
	"strings"
	"testing"
)

// benchSecrets are five typical secrets: a password, a bearer token, an
// API key, a session cookie and a webhook secret. Their forms overlap
// already (a form ending with the byte another begins with, a base64
// core's "c" after "...6c"), as nearly any five secrets' do, so New puts
// them on the scan path. benchOverlap replaces the last by one that
// overlaps itself ("pw" ... "pw"); benchOne is a secret alone, whose forms
// do not overlap (the replacer path).
var (
	benchSecrets = []string{"s3cret-P4ssw0rd!", "tok-Zx9Zx9Zx9Zx9Zx9Zx9Zx9", "AKIAIOSFODNN7EXAMPLE", "s%3Asid.v2.9f8e7d6c", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLc"}
	benchOverlap = []string{"s3cret-P4ssw0rd!", "tok-Zx9Zx9Zx9Zx9Zx9Zx9Zx9", "AKIAIOSFODNN7EXAMPLE", "s%3Asid.v2.9f8e7d6c", "pw-ab12cd34-pw"}
	benchOne     = []string{"s3cret-P4ssw0rd!"}
)

// benchError is a typical 1 KiB step error: a JSON body echoed back,
// quoting the password once.
func benchError() string {
	s := `login: $.error does not equal "ok" (got {"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.","request":{"grant_type":"password","username":"probe@example.com","password":"s3cret-P4ssw0rd!","client_id":"slaprobe"},"trace":"`
	for len(s) < 1024 {
		s += "frame/handler.go:123 "
	}
	return (s + `"})`)[:1024]
}

func BenchmarkRedact(b *testing.B) {
	msg := benchError()
	for _, bc := range []struct {
		name    string
		secrets []string
	}{{"five", benchSecrets}, {"five-selfoverlap", benchOverlap}, {"one", benchOne}} {
		b.Run(bc.name, func(b *testing.B) {
			r := New(bc.secrets...)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if strings.Contains(r.Redact(msg), "P4ss") {
					b.Fatal("not redacted")
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, bc := range []struct {
		name    string
		secrets []string
	}{{"five", benchSecrets}, {"five-selfoverlap", benchOverlap}, {"one", benchOne}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				New(bc.secrets...)
			}
		})
	}
}

// BenchmarkRedactEcho: a target that echoes a value repeating a secret's
// start (64 KiB of `ab"`, the secret `ab"ab"ab` and its escapes all
// starting "ab"), the scan path's worst case: every byte tries every form
// that starts with it.
func BenchmarkRedactEcho(b *testing.B) {
	msg := strings.Repeat(`ab"`, 64<<10/3)
	r := New(append([]string{`ab"ab"ab`}, benchSecrets[:4]...)...)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r.Redact(msg)
	}
}
