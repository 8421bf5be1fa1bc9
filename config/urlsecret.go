package config

import (
	"net/url"
	"slices"
	"strings"
)

// SecretsWholeInURL reports whether each of held, secret values that the
// URL u holds, sits whole in one part of it (user info, host, path, query,
// fragment), as it is or escaped. A '#', '/', '?' or '@' in a secret placed
// raw cuts it across the parts: a piece of it goes somewhere else (a host
// to resolve, a fragment) and errors quote that piece, which no redaction
// recognises. A u that does not parse holds none whole.
func SecretsWholeInURL(u string, held []string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return len(held) == 0
	}
	parts := [...]string{pu.User.String(), pu.Host, pu.Path, pu.EscapedPath(), pu.RawQuery, pu.Fragment}
	for _, v := range held {
		if !slices.ContainsFunc(parts[:], func(p string) bool {
			return strings.Contains(p, v) || strings.Contains(p, url.PathEscape(v)) || strings.Contains(p, url.QueryEscape(v))
		}) {
			return false
		}
	}
	return true
}

// secretURL checks a URL template whose references are all secrets: its
// value is known when the config loads, so a secret that would cut it
// (see SecretsWholeInURL), or a template that fills in to no scheme and
// host of schemes (a base URL percent-encoded by ${urlpath(...)}, a host
// alone in the reference the URL begins with), is a config error here,
// not a failure of every run. It returns the problem, or "", naming the
// references, never their values.
func (p *parser) secretURL(tmpl string, schemes ...string) string {
	refs := Lookup(tmpl)
	if len(refs) == 0 {
		return ""
	}
	var held []string
	for _, ref := range refs {
		if !strings.HasPrefix(ref, EnvPrefix) && !strings.HasPrefix(ref, FilePrefix) {
			return "" // filled in per run: the runner checks it
		}
		v, ok := p.cfg.Secrets[ref]
		if !ok {
			return "" // not resolved (a command that reads only results)
		}
		held = append(held, v)
	}
	u, err := p.cfg.ExpandSecrets(tmpl)
	if err != nil {
		return ""
	}
	pu, perr := url.Parse(u)
	if perr == nil && !SecretsWholeInURL(u, held) {
		for i := range held {
			if !SecretsWholeInURL(u, held[i:i+1]) {
				return cutSecret(refs[i])
			}
		}
	}
	if perr == nil && (pu.Host != "" && slices.Contains(schemes, pu.Scheme) || !strings.HasPrefix(tmpl, "${")) {
		return "" // a template's own scheme and host were checked (checkURL); an empty secret is warned of
	}
	if perr == nil || !strings.Contains(u, "://") {
		// The checks of the template's shape left the scheme and host to
		// the reference it begins with.
		return "has no " + schemeList(schemes) + " scheme and host once its secrets are filled in: " +
			"the reference it begins with must give them as they are (${urlpath(...)} and ${urlquery(...)} percent-encode its '://'), " +
			"so write them in the config and keep the secret to one part (`https://${env:API_HOST}/api`, the host and port alone in API_HOST)"
	}
	return "not a valid URL once its secrets are filled in, or one of them is cut by the URL's syntax (a '/', '@', '?', '#' or '%' in it): place secrets with ${urlquery(...)} or ${urlpath(...)}"
}

// schemeList is "a://, b:// or c://".
func schemeList(schemes []string) string {
	s := make([]string, len(schemes))
	for i, x := range schemes {
		s[i] = x + "://"
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// cutSecret says why a URL's secret reference ref (env:NAME, file:PATH),
// whose value would not sit whole in one part of the URL, is refused, and
// what to write instead, naming the reference, never the value. The usual
// case is a whole base URL kept in an environment variable
// (`${env:API_URL}/api/publish`): every ${env:} is a secret, and one that
// holds a scheme and a host would have an error that quotes the host (a
// refused connection, a name that does not resolve) show that piece of it.
func cutSecret(ref string) string {
	return "`${" + ref + "}` is a secret and would not sit whole in one part of the URL once filled in " +
		"(it holds a scheme and a host, say, or a '/', '@', '?', '#' or '%' in it cuts it), so an error quoting one part would show a piece of it: " +
		"keep the secret to one part and the rest in the config (`https://${env:API_HOST}/api/publish`, the host and port alone in API_HOST), " +
		"or place it with ${urlquery(...)} or ${urlpath(...)}"
}
