package probe

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/slaprobe/slaprobe/config"
)

// call is a compiled template function call: ${urlpath(room_id)}. Its
// arguments are string literals or segments (a variable, a built-in, a
// secret, another call), bound like any template's.
type call struct {
	fn   string
	args []callArg
}

type callArg struct {
	lit  bool
	text string // the literal
	seg  seg
}

// newCall compiles a parsed expression that is a call.
func newCall(e *config.Expr) (*call, error) {
	if e.Func == "" {
		return nil, fmt.Errorf("not a call: %q", e.Name)
	}
	if _, ok := config.FuncArity(e.Func); !ok {
		return nil, fmt.Errorf("unknown function %s", e.Func)
	}
	c := &call{fn: e.Func}
	for _, a := range e.Args {
		switch {
		case a.IsLit:
			c.args = append(c.args, callArg{lit: true, text: *a.Lit})
		case a.Func != "":
			inner, err := newCall(a)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, callArg{seg: seg{kind: segCall, call: inner}})
		default:
			sg, err := parseRef(a.Name)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, callArg{seg: sg})
		}
	}
	return c, nil
}

func (c *call) hasSecret() bool {
	for i := range c.args {
		a := &c.args[i]
		if !a.lit && (a.seg.kind == segSecret || a.seg.kind == segCall && a.seg.call.hasSecret()) {
			return true
		}
	}
	return false
}

func (c *call) uses(kind segKind) bool {
	for i := range c.args {
		a := &c.args[i]
		if !a.lit && (a.seg.kind == kind || a.seg.kind == segCall && a.seg.call.uses(kind)) {
			return true
		}
	}
	return false
}

// eval renders the arguments and applies the function.
func (c *call) eval(sc *scope) (string, error) {
	var buf [2]string
	args := buf[:0]
	for i := range c.args {
		a := &c.args[i]
		if a.lit {
			args = append(args, a.text)
			continue
		}
		v, err := sc.value(&a.seg)
		if err != nil {
			return "", err
		}
		args = append(args, v)
	}
	// A claim's name written in the config is quoted as the config's text
	// (ConfigText): jwtclaim(token, "sub") and (token, "room") failing by
	// turns are two causes; one from a variable stays the run's value.
	return applyFunc(c.fn, args, len(c.args) > 1 && c.args[1].lit)
}

// applyFunc computes a template function; see config.FuncArity. nameLit
// says the second argument is a literal of the config's.
func applyFunc(fn string, args []string, nameLit bool) (string, error) {
	if want, _ := config.FuncArity(fn); len(args) != want {
		return "", fmt.Errorf("%s takes %d argument(s), got %d", fn, want, len(args))
	}
	switch fn {
	case "urlpath":
		return url.PathEscape(args[0]), nil
	case "urlquery":
		return url.QueryEscape(args[0]), nil
	case "urldecode":
		s, err := url.PathUnescape(args[0])
		if err != nil {
			// Never the value: it may be a credential.
			return "", errors.New("urldecode: the value is not percent-encoded (a % not followed by two hex digits)")
		}
		return s, nil
	case "regexquote":
		return regexp.QuoteMeta(args[0]), nil
	case "json":
		return string(appendJSONString(nil, args[0])), nil
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(args[0])), nil
	case "base64url":
		return base64.RawURLEncoding.EncodeToString([]byte(args[0])), nil
	case "sha256":
		sum := sha256.Sum256([]byte(args[0]))
		return hex.EncodeToString(sum[:]), nil
	case "hmac_sha256", "hmac_sha256_base64":
		m := hmac.New(sha256.New, []byte(args[0]))
		m.Write([]byte(args[1]))
		sum := m.Sum(nil)
		if fn == "hmac_sha256" {
			return hex.EncodeToString(sum), nil
		}
		return base64.StdEncoding.EncodeToString(sum), nil
	case "jwtclaim":
		return jwtClaim(args[0], args[1], nameLit)
	}
	return "", fmt.Errorf("unknown function %s", fn)
}

// jwtClaim returns the top-level claim name of the JWT token's payload: a
// string as its text, anything else (a number as the issuer wrote it, null, a
// boolean, an object or array) as compact JSON. The signature is not
// checked: the probe is the token's client, reading what its server put in
// it (a user id in "sub" that a later step's URL needs). Its errors never
// quote the token, which is a credential; they quote name as the config's
// text (ConfigText) when nameLit, as a value otherwise.
func jwtClaim(token, name string, nameLit bool) (string, error) {
	quoted := strconv.Quote
	if nameLit {
		quoted = ConfigText
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("jwtclaim: the value is not a JWT (%d dot-separated parts, want 3)", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", errors.New("jwtclaim: the JWT's payload is not base64url")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", errors.New("jwtclaim: the JWT's payload is not a JSON object")
	}
	raw, ok := claims[name]
	if !ok {
		return "", errors.New(noClaim + quoted(name))
	}
	// Only a JSON string is its text: null decodes into a Go string too
	// (leaving it empty), and must read "null".
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", errors.New(claimNamed + quoted(name) + " is not JSON")
	}
	return b.String(), nil
}

// randomID returns 16 hex digits from the run's generator, seeded from the
// run id: unpredictable live (run ids are random), the same in every replay
// (replay run ids are not).
func (sc *scope) randomID() string {
	if sc.rnd == nil {
		sc.rnd = rand.NewChaCha8(sha256.Sum256([]byte("slaprobe random.id " + sc.runID)))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], sc.rnd.Uint64())
	return hex.EncodeToString(b[:])
}
