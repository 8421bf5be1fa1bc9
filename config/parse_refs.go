package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes template references and the secrets they resolve.

// template checks a template and its references: each must be a built-in,
// in defined, or a secret that resolves. defined == nil allows secrets
// only. It reports whether the template is fine.
func (p *parser) template(n *yaml.Node, key, tmpl string, defined map[string]bool) bool {
	refs, err := parseRefs(tmpl)
	if err != nil {
		p.errf(n, key, "%v in template (write $${ for a literal ${)", err)
		return false
	}
	ok := true
	for _, ref := range refs {
		e, err := ParseExpr(ref)
		if err != nil {
			p.errf(n, key, "${%s}: %v", ref, err)
			ok = false
			continue
		}
		e.Walk(func(name string) {
			ok = p.ref(n, key, name, defined) && ok
		})
	}
	return ok
}

// ref checks one name a template refers to.
func (p *parser) ref(n *yaml.Node, key, ref string, defined map[string]bool) bool {
	switch {
	case strings.HasPrefix(ref, EnvPrefix):
		return p.secretEnv(n, key, strings.TrimPrefix(ref, EnvPrefix))
	case strings.HasPrefix(ref, FilePrefix):
		return p.secretFile(n, key, strings.TrimPrefix(ref, FilePrefix))
	case defined == nil:
		p.errf(n, key, "${%s}: only ${env:NAME} and ${file:PATH} can be used here", ref)
	case defined[ref]:
		return true
	case p.flowOnly[ref]:
		p.errf(n, key, "${%s} is extracted by a flow step, which a session_end step does not see: it runs when the session ends, with the vars and the session's extracts only", ref)
	case isIdent(ref):
		p.errf(n, key, "${%s} is not defined by an earlier var or an earlier step's extract", ref)
	default:
		p.errf(n, key, "unknown reference ${%s} (built-ins: ${run.id}, ${location}, ${now}, ${now.unix}, ${now.unix_ms}, ${random.id}, ${webhook.url}, ${env:NAME}, ${file:PATH}; functions: %s)", ref, funcList)
	}
	return false
}

func (p *parser) secretEnv(n *yaml.Node, key, name string) bool {
	ref := EnvPrefix + name
	if _, ok := p.cfg.Secrets[ref]; ok {
		return true
	}
	if !isIdent(name) {
		p.errf(n, key, "invalid environment variable name in ${%s}", ref)
		return false
	}
	v, ok := p.opts.LookupEnv(name)
	if !ok && p.opts.SecretsOptional {
		return true
	}
	if !ok {
		p.errf(n, key, "environment variable %s is not set (${%s})", name, ref)
		return false
	}
	p.setSecret(n, key, ref, v)
	return true
}

// setSecret keeps a secret's value, and a warning when it is empty: an
// environment variable set to "" or a file with only a line break is
// almost always a deployment mistake (an unfilled credential), which would
// otherwise show only as a login the target refuses.
func (p *parser) setSecret(n *yaml.Node, key, ref, v string) {
	p.cfg.Secrets[ref] = v
	if v == "" {
		p.cfg.emptySecrets = append(p.cfg.emptySecrets, Warning{Line: n.Line, Key: key,
			Msg: fmt.Sprintf("${%s} is empty: what uses it sends nothing in its place", ref)})
	}
}

func (p *parser) secretFile(n *yaml.Node, key, path string) bool {
	ref := FilePrefix + path
	if _, ok := p.cfg.Secrets[ref]; ok {
		return true
	}
	if path == "" {
		p.errf(n, key, "empty path in ${file:}")
		return false
	}
	if why, failed := p.secretErr[ref]; failed {
		p.errf(n, key, "%s", why)
		return false
	}
	data, err := p.opts.ReadFile(p.path(path))
	if err == nil && len(data) > MaxSecretBytes {
		err = fmt.Errorf("larger than %d bytes", MaxSecretBytes)
	}
	if err != nil && p.opts.SecretsOptional {
		return true
	}
	if err != nil {
		why := fmt.Sprintf("cannot read the secret file of ${%s}: %v", ref, err)
		if p.secretErr == nil {
			p.secretErr = map[string]string{}
		}
		p.secretErr[ref] = why
		p.errf(n, key, "%s", why)
		return false
	}
	p.setSecret(n, key, ref, strings.TrimRight(string(data), "\r\n"))
	return true
}
