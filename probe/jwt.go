package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/slaprobe/slaprobe/config"
)

// compiledJWT is a var that is a JSON Web Token, signed at the start of
// every run with github.com/golang-jwt/jwt/v5: iat is the run clock's time,
// exp is iat + expiresIn (hubs such as Centrifugo take such a token to
// connect; the key stays a secret reference).
type compiledJWT struct {
	alg       jwt.SigningMethod
	key       tmpl
	claims    *jnode // nil: no claims but iat/exp
	expiresIn time.Duration
}

func compileJWT(j *config.JWT, sy *symbols) (*compiledJWT, error) {
	c := &compiledJWT{expiresIn: j.ExpiresIn}
	switch strings.ToUpper(j.Alg) {
	case "HS256":
		c.alg = jwt.SigningMethodHS256
	case "RS256":
		c.alg = jwt.SigningMethodRS256
	default:
		return nil, fmt.Errorf("unknown alg %q (HS256 or RS256)", j.Alg)
	}
	var err error
	if c.key, err = sy.compile(j.Key); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if j.Claims != nil {
		if c.claims, err = compileJSON(j.Claims, sy, 0); err != nil {
			return nil, fmt.Errorf("claims: %w", err)
		}
	}
	return c, nil
}

// sign renders the claims and the key in sc and signs a token.
func (c *compiledJWT) sign(sc *scope) (string, error) {
	claims := jwt.MapClaims{}
	if c.claims != nil {
		b, err := c.claims.append(nil, sc)
		if err != nil {
			return "", fmt.Errorf("claims: %w", err)
		}
		// Numbers as written (json.Number): through a float64 a user id
		// past 2^53 changed its last digits.
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&claims); err != nil {
			return "", fmt.Errorf("claims: %v", err)
		}
	}
	now := sc.clock.Now()
	claims["iat"] = now.Unix()
	if c.expiresIn > 0 {
		claims["exp"] = now.Add(c.expiresIn).Unix()
	}
	k, err := c.key.render(sc)
	if err != nil {
		return "", fmt.Errorf("key: %w", err)
	}
	var key any = []byte(k)
	if c.alg == jwt.SigningMethodHS256 && k == "" {
		return "", errors.New("key: empty (an HS256 key signs nothing anyone could not forge)")
	}
	if c.alg == jwt.SigningMethodRS256 {
		rk, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(k))
		if err != nil {
			return "", errors.New("key: not a PEM RSA private key") // never the key's text
		}
		key = rk
	}
	return jwt.NewWithClaims(c.alg, claims).SignedString(key)
}
