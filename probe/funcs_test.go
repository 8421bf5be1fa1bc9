package probe

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

func TestTemplateFunctions(t *testing.T) {
	sc := &scope{vals: []string{"!abc:example.org", "a b&c=d", "A.B+C(1)?[x]"}, runID: "run-1", clock: clock.NewManual(time.Unix(1700000000, 123e6)),
		secrets: map[string]string{"env:K": "key"}}
	sy := newSymbols(sc.secrets)
	for i, n := range []string{"room", "q", "ref"} {
		sy.slotOf(n)
		sy.defined[n] = true
		_ = i
	}
	tests := []struct{ in, want string }{
		{"/rooms/${urlpath(room)}/send", "/rooms/%21abc:example.org/send"},
		{"?q=${urlquery(q)}", "?q=a+b%26c%3Dd"},
		// Laravel's XSRF-TOKEN cookie is percent-encoded; the header that
		// sends it back (axios, Angular) carries it decoded.
		{`${urldecode("eyJpdiI6Ik1+a2%2Fx%3D%3D")}`, "eyJpdiI6Ik1+a2/x=="},
		// An extracted order reference put into a matches operand: as it
		// is, its ".+()?[]" were read as regular expression syntax.
		{`^ref ${regexquote(ref)} placed at \d+$`, `^ref A\.B\+C\(1\)\?\[x\] placed at \d+$`},
		// A value put into a raw body as a JSON string: as it is, its
		// quote ended the string and the target answered 400.
		{`{"name": ${json(q)}, "say": ${json("\"hi\"")}}`, `{"name": "a b&c=d", "say": "\"hi\""}`},
		{`${json(room)}`, `"!abc:example.org"`},
		{"${base64(\"hello?\")}", "aGVsbG8/"},
		{"${base64url(\"hello?\")}", "aGVsbG8_"},
		{"${sha256(\"abc\")}", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"${hmac_sha256(env:K, \"msg\")}", "2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628"},
		{"${hmac_sha256_base64(env:K, \"msg\")}", "LZPLwb4We8sWN6SiPL/wGnh48MUO6DOVTqUiG7G4xig="},
		{"${base64(urlpath(room))}", "JTIxYWJjOmV4YW1wbGUub3Jn"},
		{"${now.unix}/${now.unix_ms}", "1700000000/1700000000123"},
	}
	for _, tc := range tests {
		tm, err := sy.compile(tc.in)
		if err != nil {
			t.Errorf("compile %q: %v", tc.in, err)
			continue
		}
		got, err := tm.render(sc)
		if err != nil || got != tc.want {
			t.Errorf("render %q = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	// ${random.id}: new at each use, the same sequence for the same run id.
	tm, _ := sy.compile("${random.id}")
	a1, _ := tm.render(sc)
	a2, _ := tm.render(sc)
	sc2 := &scope{runID: "run-1"}
	b1, _ := tm.render(sc2)
	if len(a1) != 16 || a1 == a2 || a1 != b1 {
		t.Errorf("random ids %q %q (again for the same run: %q)", a1, a2, b1)
	}
	if _, err := sy.compile("${hmac_sha256(env:MISSING, x)}"); err == nil {
		t.Error("a call with a missing secret compiled")
	}
}

func TestSecretInCallIsRedacted(t *testing.T) {
	// A var built with a function from a secret is tainted like the secret.
	_, srv := newTarget(t)
	f := config.Flow{Vars: []config.Var{{Name: "sig", Value: "${base64(env:PW)}"}},
		Steps: []config.Step{get("a", srv.URL+"/doc")}}
	f.Steps[0].Expect.JSONPath = []config.PathMatch{{Path: "$.x", Matcher: eq("${sig}")}}
	run := runOne(t, context.Background(), f, Options{})
	// The message quotes the operand: "$.x selected nothing, want ..."
	if e := run.Steps[0].Error; strings.Contains(e, "czNjcmV0LXB3") || !strings.Contains(e, `want "***"`) {
		t.Errorf("error %q: want the base64 of the secret redacted to ***", e)
	}
}

func TestJWTVar(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		alg    string
		secret string
		verify any
	}{
		{"HS256", "hub-secret", []byte("hub-secret")},
		{"RS256", rsaPEM, &rsaKey.PublicKey},
	}
	for _, tc := range tests {
		t.Run(tc.alg, func(t *testing.T) {
			j := &config.JWT{Alg: tc.alg, Key: "${env:HUB}", ExpiresIn: 5 * time.Minute,
				Claims: map[string]any{"sub": "probe-${location}", "channels": []any{"probe"}}}
			var sent string
			_, srv := newTarget(t)
			step := get("connect", srv.URL+"/echo")
			step.Request.Method, step.Request.Body = "POST", "${tok}"
			step.Extract = []config.Extract{{Var: "echoed", JSONPath: "$.body"}}
			cfg := testConfig(config.Flow{Vars: []config.Var{{Name: "tok", JWT: j}}, Steps: []config.Step{step}})
			cfg.Secrets["env:HUB"] = tc.secret
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			run := r.Run(clock.NewContext(context.Background(), clock.NewManual(now)), &cfg.Services[0].Flows[0])
			wantStep(t, run.Steps[0], StatusOK, "")
			// Sign again to read the token (the runner does the same per run).
			cf := r.compiled(&cfg.Services[0].Flows[0])
			sent, err = cf.vars[0].jwt.sign(&scope{clock: clock.NewManual(now), location: "seoul-a", secrets: cfg.Secrets})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.Parse(sent, func(*jwt.Token) (any, error) { return tc.verify, nil },
				jwt.WithValidMethods([]string{tc.alg}), jwt.WithTimeFunc(func() time.Time { return now }))
			if err != nil {
				t.Fatalf("token does not verify: %v", err)
			}
			claims := tok.Claims.(jwt.MapClaims)
			if claims["sub"] != "probe-seoul-a" || claims["iat"] != float64(now.Unix()) || claims["exp"] != float64(now.Add(5*time.Minute).Unix()) {
				t.Errorf("claims %v", claims)
			}
			if ch, _ := claims["channels"].([]any); len(ch) != 1 || ch[0] != "probe" {
				t.Errorf("channels %v", claims["channels"])
			}
		})
	}
}

// TestJWTClaimNumbers: a JWT var's claims keep the numbers (and booleans)
// as the config wrote them, as a request's json: does: the claims were
// read back through a float64 before signing, so a user id past 2^53
// went out as 12345678901234567000 and a long decimal rounded.
func TestJWTClaimNumbers(t *testing.T) {
	j := &config.JWT{Alg: "HS256", Key: "${env:HUB}", Claims: map[string]any{
		"uid": json.Number("12345678901234567890"), "amt": json.Number("0.1000000000000000000001"),
		"n": int64(42), "ok": true, "nested": map[string]any{"id": json.Number("9007199254740993")},
	}}
	cfg := testConfig(config.Flow{Vars: []config.Var{{Name: "tok", JWT: j}}, Steps: []config.Step{get("s", "http://127.0.0.1:1/")}})
	cfg.Secrets["env:HUB"] = "hub-secret"
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cf := r.compiled(&cfg.Services[0].Flows[0])
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sent, err := cf.vars[0].jwt.sign(&scope{clock: clock.NewManual(now), location: "seoul-a", secrets: cfg.Secrets})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(sent, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"uid":12345678901234567890`, `"amt":0.1000000000000000000001`, `"n":42`, `"ok":true`,
		`"nested":{"id":9007199254740993}`, fmt.Sprintf(`"iat":%d`, now.Unix())} {
		if !strings.Contains(string(payload), want) {
			t.Errorf("payload %s: want %s", payload, want)
		}
	}
}

// TestURLDecodeInvalid: a value that is not percent-encoded fails the
// template without quoting it (it may be a credential).
func TestURLDecodeInvalid(t *testing.T) {
	sc := &scope{vals: []string{"tok%zzsecret"}}
	sy := newSymbols(nil)
	sy.slotOf("v")
	sy.defined["v"] = true
	tm, err := sy.compile("${urldecode(v)}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.render(sc)
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "urldecode: the value is not percent-encoded") {
		t.Errorf("render: %v", err)
	}
}
