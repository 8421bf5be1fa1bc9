package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes the storage: section.

var (
	storageKeys = []string{"driver", "dsn", "retention", "minute_retention", "hour_retention"}
)

func (p *parser) storage(n *yaml.Node, key string) {
	s := &p.cfg.Storage
	var dsnNode *yaml.Node
	p.object(n, key, storageKeys, func(e entry, key string) {
		switch e.name {
		case "driver":
			if v, ok := p.enum(e.v, key, "driver", "sqlite", "postgres"); ok {
				s.Driver = v
			}
		case "dsn":
			dsnNode = e.v
			if v, ok := p.str(e.v, key); ok {
				s.DSN = v
				p.template(e.v, key, v, nil)
			}
		case "retention":
			if v, ok := p.atLeast(e.v, key, MinRetention); ok {
				s.Retention = v
			}
		case "minute_retention":
			if v, ok := p.atLeast(e.v, key, MinRetention); ok {
				s.MinuteRetention = v
			}
		case "hour_retention":
			if v, ok := p.atLeast(e.v, key, MinRetention); ok {
				s.HourRetention = v
			}
		}
	})
	if s.Driver == "postgres" && s.DSN == "" {
		p.errf(orNode(dsnNode, p.resolve(n)), key+".dsn", "is required with driver postgres")
	}
	if s.Driver == "postgres" && s.DSN != "" && !strings.Contains(s.DSN, "${") &&
		!strings.HasPrefix(s.DSN, "postgres://") && !strings.HasPrefix(s.DSN, "postgresql://") && !strings.Contains(s.DSN, "=") {
		p.errf(dsnNode, key+".dsn", "%q: want a postgres:// URL (or keyword=value pairs: host=... dbname=...)", s.DSN)
	}
	if s.Driver == "postgres" && dsnNode != nil && strings.Contains(s.DSN, "${") && dsnCutsSecret(s.DSN, p.cfg.Secrets) {
		if strings.HasPrefix(s.DSN, "postgres://") || strings.HasPrefix(s.DSN, "postgresql://") {
			p.errf(dsnNode, key+".dsn", "not a valid URL once its secrets are filled in, or one of them is cut by the URL's syntax "+
				"(its '@', '/', ':', '?', '#' or '%%'; in a query value also '&' or '='): percent-encode the secret where it is kept, or use keyword=value pairs (password=${env:NAME})")
		} else {
			p.errf(dsnNode, key+".dsn", "not valid keyword=value pairs once its secrets are filled in, or one of them ends its value early "+
				"(white space, ' or \\): single-quote it (password='${env:NAME}') and write a ' in it as \\'")
		}
	}
	if s.Driver == "postgres" && dsnNode != nil && s.DSN != "" {
		if problem := postgresDSNProblem(s.DSN, p.cfg.Secrets); problem != "" {
			p.errf(dsnNode, key+".dsn", "%s", problem)
		}
	}
	if s.Driver != "postgres" && dsnNode != nil {
		if problem := sqliteDSNProblem(s.DSN); problem != "" {
			p.errf(dsnNode, key+".dsn", "%q: %s", s.DSN, problem)
		}
	}
}

// sqliteDSNProblem says why a SQLite dsn would be refused when the store
// opens it ("" when it would not): it is a plain file path, not a URI with
// parameters (the store sets its own), nor a PostgreSQL URL under the
// sqlite driver. A dsn with a reference is checked when it is resolved.
func sqliteDSNProblem(dsn string) string {
	switch {
	case dsn == "" || strings.Contains(dsn, "${"):
		return ""
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		return "is a PostgreSQL URL: set driver: postgres"
	case dsn == ":memory:" || strings.HasPrefix(dsn, "file:") || strings.Contains(dsn, "?"):
		return `a SQLite dsn is a plain file path (no "?", ":memory:" or file: URI; slaprobe sets the connection's parameters)`
	}
	return ""
}

// dsnCutsSecret reports whether a postgres:// dsn template, its secrets
// filled in raw, does not parse as a URL or cuts a secret across its parts
// (a password holding '@' or '/' puts a piece of it in the host or the
// database name). pgx then quotes the pieces in its errors, where no
// redactor of the whole value can hide them: its own redaction of a URL it
// cannot parse masks up to the first '@' only. A secret that begins the
// template (the whole dsn in one variable) is left to pgx, as is a dsn of
// keyword=value pairs whose value holds it whole; a secret not resolved (windows, report) is not
// checked.
func dsnCutsSecret(tmpl string, secrets map[string]string) bool {
	refs, err := parseRefs(tmpl)
	if err != nil {
		return false // reported by template
	}
	var held []string
	for _, ref := range refs {
		v, ok := secrets[ref]
		if !ok {
			return false
		}
		if !strings.HasPrefix(tmpl, "${"+ref+"}") {
			held = append(held, v)
		}
	}
	dsn, err := Expand(tmpl, func(ref string) (string, bool) { v, ok := secrets[ref]; return v, ok })
	if err != nil || len(held) == 0 {
		return false
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		values, ok := keywordValues(dsn)
		return !ok || slices.ContainsFunc(held, func(v string) bool {
			return !slices.ContainsFunc(values, func(p string) bool { return strings.Contains(p, v) })
		})
	}
	u := splitPgURL(dsn)
	if u.problem != "" {
		return true
	}
	// Each part as written and as pgx reads it (decoded): a secret kept
	// percent-encoded ("p%40ss") is whole in the decoded password. Split
	// by libpq's rules, as pgx splits it (see splitPgURL). The query counts
	// by its keys and values, not whole: a secret holding '&' or '=' in
	// ?password= is cut into another parameter (pgw&sslmode=disable turned
	// TLS off, and pgx may quote a piece it does not know).
	parts := []string{u.userinfo, u.netloc}
	for _, raw := range append([]string{u.user, u.password, u.dbname}, u.params...) {
		d, ok := pgURIDecode(raw)
		if !ok {
			return true // pgx refuses it, and may quote it
		}
		parts = append(parts, raw, d)
	}
	for _, v := range held {
		forms := []string{v}
		if d, err := url.PathUnescape(v); err == nil {
			forms = append(forms, d)
		}
		if !slices.ContainsFunc(parts, func(p string) bool {
			return slices.ContainsFunc(forms, func(f string) bool { return strings.Contains(p, f) })
		}) {
			return true
		}
	}
	return false
}

// sslModes are the sslmode values pgx takes.
var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// postgresDSNProblem says why pgx would refuse a PostgreSQL dsn template,
// its secrets filled in, that check can tell without reading a file or the
// environment: a postgres:// URL whose structure pgx does not parse, an
// sslmode pgx does not know ("" when neither, or when a secret is not
// resolved: windows, report). It quotes no part of the dsn but the sslmode:
// pgx's own error quotes the whole URL, masking the password only where it
// can find it. Before, check passed such a dsn and `run` refused it at start.
func postgresDSNProblem(tmpl string, secrets map[string]string) string {
	dsn, err := Expand(tmpl, func(ref string) (string, bool) { v, ok := secrets[ref]; return v, ok })
	if err != nil {
		return "" // not resolved here (windows, report), or reported by template
	}
	var mode string
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		var problem string
		if mode, problem = postgresURL(dsn); problem != "" {
			return "not a valid URL: " + problem
		}
	} else {
		pairs, ok := keywordPairs(dsn)
		if !ok {
			return "" // reported with the secrets (dsnCutsSecret) or by pgx
		}
		for _, kv := range pairs {
			if kv[0] == "sslmode" {
				mode = kv[1] // the last wins, as in pgx
			}
		}
	}
	if mode != "" && !slices.Contains(sslModes, mode) { // empty: pgx's default
		return fmt.Sprintf("sslmode %q: want one of %s", mode, strings.Join(sslModes, ", "))
	}
	return ""
}

// postgresURL reads a postgres:// URL as pgx does (splitPgURL): it returns
// the sslmode pgx would use (the last given; ssl=true after it is require)
// and what in the URL's structure pgx refuses (splitPgURL's problem). What
// it cannot decode (a bad %-escape, a space) it leaves to pgx.
func postgresURL(dsn string) (mode, problem string) {
	u := splitPgURL(dsn)
	if u.problem != "" {
		return "", u.problem
	}
	var ssl string
	sslLast := false
	for i := 0; i+1 < len(u.params); i += 2 {
		key, ok1 := pgURIDecode(u.params[i])
		value, ok2 := pgURIDecode(u.params[i+1])
		if !ok1 || !ok2 {
			return "", "" // pgx's to say
		}
		switch key {
		case "sslmode":
			mode, sslLast = value, false
		case "ssl":
			ssl, sslLast = value, true
		}
	}
	if ssl == "true" && sslLast {
		mode = "require" // pgx's alias
	}
	return mode, ""
}

// pgURL is a postgres:// URL split as pgx splits it, each part as written.
type pgURL struct {
	userinfo, user, password string   // before the '@' (only a '/' ends the search for it), and its halves at the first ':'
	netloc                   string   // the hosts and ports
	dbname                   string   // the path
	query                    string   // after the '?'
	params                   []string // the query's keys and values, in turn
	problem                  string   // what pgx refuses in the structure, in words quoting none of it
}

// splitPgURL splits a postgres:// URL by libpq's URI rules, as pgx does, not
// net/url's (which refuse a Unix socket's directory percent-encoded in the
// host, a password holding '#' or '?', a list of IPv6 hosts, all of which
// pgx takes). Its problem quotes none of the URL: a password holding '/'
// ends the user part, and pgx takes the rest of it for a port.
func splitPgURL(dsn string) (u pgURL) {
	p, ok := strings.CutPrefix(dsn, "postgresql://")
	if !ok {
		p, _ = strings.CutPrefix(dsn, "postgres://")
	}
	if i := strings.IndexAny(p, "@/"); i >= 0 && p[i] == '@' {
		u.userinfo = p[:i]
		u.user, u.password, _ = strings.Cut(u.userinfo, ":")
		p = p[i+1:]
	}
	rest := p
	for {
		if strings.HasPrefix(p, "[") {
			end := strings.IndexByte(p, ']')
			switch {
			case end < 0:
				u.problem = "missing ']' in host"
				return u
			case end == 1:
				u.problem = "an empty IPv6 host []"
				return u
			}
			p = p[end+1:]
			if p != "" && !strings.ContainsRune(":/?,", rune(p[0])) {
				u.problem = "an IPv6 host's ']' followed by neither ':', '/', '?' nor ','"
				return u
			}
		} else {
			p = p[indexOrLen(p, ":/?,"):]
		}
		if after, ok := strings.CutPrefix(p, ":"); ok {
			i := indexOrLen(after, "/?,")
			if port, ok := pgURIDecode(after[:i]); ok && port != "" {
				if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
					u.problem = "a port that is not a number from 1 to 65535 (a password holding '/' must be percent-encoded: %2F)"
					return u
				}
			}
			p = after[i:]
		}
		after, ok := strings.CutPrefix(p, ",")
		if !ok {
			break
		}
		p = after
	}
	u.netloc = rest[:len(rest)-len(p)]
	if after, ok := strings.CutPrefix(p, "/"); ok {
		u.dbname, p = after, ""
		if i := strings.IndexByte(after, '?'); i >= 0 {
			u.dbname, p = after[:i], after[i:]
		}
	}
	u.query, _ = strings.CutPrefix(p, "?")
	if u.query != "" {
		for pair := range strings.SplitSeq(u.query, "&") {
			key, value, _ := strings.Cut(pair, "=")
			u.params = append(u.params, key, value)
		}
	}
	return u
}

// indexOrLen is the index of the first of chars in s, or len(s).
func indexOrLen(s, chars string) int {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return i
	}
	return len(s)
}

// pgURIDecode decodes a part of a postgres:// URL as pgx does (spaces around
// it dropped, %XX decoded); false when pgx would refuse it.
func pgURIDecode(raw string) (string, bool) {
	raw = strings.Trim(raw, " ")
	if strings.Contains(raw, " ") || strings.Contains(raw, "%00") {
		return "", false
	}
	s, err := url.PathUnescape(raw)
	return s, err == nil
}

// keywordValues returns the values of a keyword=value dsn, each as written
// (quotes removed, escapes kept), read as pgx reads them (libpq's rules:
// a value ends at white space unless single-quoted, a backslash escapes the
// next byte); ok is false for a dsn pgx cannot parse, whose error it
// quotes with a redaction that masks only up to the first space of a
// password.
func keywordValues(s string) (values []string, ok bool) {
	pairs, ok := keywordPairs(s)
	for _, kv := range pairs {
		values = append(values, kv[1])
	}
	return values, ok
}

// keywordPairs returns the keyword=value pairs of a dsn as keywordValues
// reads them.
func keywordPairs(s string) (pairs [][2]string, ok bool) {
	const space = " \t\n\r\v\f"
	s = strings.TrimLeft(s, space)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, false
		}
		key := strings.Trim(s[:eq], space)
		if strings.ContainsAny(key, space) || key == "" {
			return nil, false
		}
		s = strings.TrimLeft(s[eq+1:], space)
		quoted := s != "" && s[0] == '\''
		if quoted {
			s = s[1:]
		}
		end := 0
		for ; end < len(s); end++ {
			if quoted && s[end] == '\'' || !quoted && strings.IndexByte(space, s[end]) >= 0 {
				break
			}
			if s[end] == '\\' {
				end++
				if end == len(s) {
					if quoted {
						return nil, false
					}
					break
				}
			}
		}
		if quoted && end >= len(s) {
			return nil, false
		}
		pairs = append(pairs, [2]string{key, s[:min(end, len(s))]})
		if quoted {
			end++
		}
		s = strings.TrimLeft(s[min(end, len(s)):], space)
	}
	return pairs, true
}
