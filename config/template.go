package config

import (
	"errors"
	"fmt"
	"strings"
)

// Built-in template references, always defined.
const (
	RefRunID      = "run.id"      // the run's unique id
	RefLocation   = "location"    // the prober's location
	RefNow        = "now"         // the run clock's time, RFC 3339
	RefNowUnix    = "now.unix"    // the run clock's time, Unix seconds
	RefNowUnixMS  = "now.unix_ms" // the run clock's time, Unix milliseconds
	RefRandomID   = "random.id"   // 16 hex digits, new at each use, from a generator seeded by the run id
	RefWebhookURL = "webhook.url" // the URL that delivers callbacks to this run's await: webhook steps
)

// Prefixes of secret references: ${env:NAME} and ${file:PATH}.
const (
	EnvPrefix  = "env:"
	FilePrefix = "file:"
)

// Lookup lists the ${...} references in a template, in order, without the
// ${ and }: "Bearer ${token}" gives ["token"]. "$${" is a literal "${" and
// not a reference. A malformed template (an unterminated or empty ${})
// yields the references before the fault.
func Lookup(tmpl string) []string {
	refs, _ := parseRefs(tmpl)
	return refs
}

// CheckTemplate reports whether a template is well formed: every ${ is
// closed by } and holds a non-empty reference.
func CheckTemplate(tmpl string) error {
	_, err := parseRefs(tmpl)
	return err
}

// Expand replaces every reference in tmpl by what resolve returns for it;
// "$${" becomes "${". An unknown reference (resolve returns false) is an
// error that names the reference, never a value.
func Expand(tmpl string, resolve func(ref string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		if strings.HasPrefix(tmpl[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(tmpl[i:], "${") {
			end := strings.IndexByte(tmpl[i+2:], '}')
			if end < 0 {
				return "", errors.New("unterminated ${")
			}
			ref := tmpl[i+2 : i+2+end]
			if ref == "" {
				return "", errors.New("empty ${}")
			}
			v, ok := resolve(ref)
			if !ok {
				return "", fmt.Errorf("undefined reference ${%s}", ref)
			}
			b.WriteString(v)
			i += 2 + end + 1
			continue
		}
		b.WriteByte(tmpl[i])
		i++
	}
	return b.String(), nil
}

// ExpandSecrets expands the secret references (${env:NAME}, ${file:PATH}) of
// a template from c.Secrets, for values such as storage.dsn that are used
// outside a flow. Any other reference is an error.
func (c *Config) ExpandSecrets(tmpl string) (string, error) {
	return Expand(tmpl, func(ref string) (string, bool) {
		if !strings.HasPrefix(ref, EnvPrefix) && !strings.HasPrefix(ref, FilePrefix) {
			return "", false
		}
		v, ok := c.Secrets[ref]
		return v, ok
	})
}

// parseRefs returns the references of a template, or an error for a
// malformed one.
func parseRefs(tmpl string) ([]string, error) {
	var refs []string
	_, err := Expand(tmpl, func(ref string) (string, bool) {
		refs = append(refs, ref)
		return "x", true
	})
	return refs, err
}

// placeholder expands every reference to "x", for checks (regular
// expressions) on a template's shape.
func placeholder(tmpl string) string { return fill(tmpl, "x") }

// urlPlaceholder is placeholder for a URL template: a digit fits wherever a
// reference may stand in a URL, the port included
// ("http://${host}:${port}${path}").
func urlPlaceholder(tmpl string) string { return fill(tmpl, "1") }

// fill is tmpl with every reference replaced by v (tmpl itself when it does
// not parse).
func fill(tmpl, v string) string {
	s, err := Expand(tmpl, func(string) (string, bool) { return v, true })
	if err != nil {
		return tmpl
	}
	return s
}

// isIdent reports whether s is a variable name: a letter or underscore, then
// letters, digits or underscores.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

// isName reports whether s is a valid service, flow, step, function or
// location name: a letter or digit, then letters, digits, '_', '.' or '-';
// at most 128 bytes. Names end up in metric labels, file names and URLs.
func isName(s string) bool { return nameProblem(s) == "" }

// nameProblem says what is wrong with a name ("" for nothing): too long, or
// a character outside ASCII letters, digits, '_', '.' and '-' (or one of the
// last three first). The message is the one the config's errors give.
func nameProblem(s string) string {
	if len(s) > 128 {
		return "longer than 128 bytes"
	}
	if s == "" {
		return "empty"
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '_' || r == '.' || r == '-'):
		default:
			return "use ASCII letters (a-z, A-Z), digits, '_', '.' and '-', starting with a letter or digit"
		}
	}
	return ""
}
