package config

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes await steps: `await: STREAM`, `await: webhook`, or the
// long form with stream or webhook, and since.

var (
	awaitKeys       = []string{"stream", "webhook", "since"}
	webhookWaitKeys = []string{"method", "hmac_sha256"}
	hmacKeys        = []string{"secret", "header", "prefix", "encoding"}
)

func (p *parser) await(n *yaml.Node, key string, sc *stepScope) *Await {
	a := &Await{}
	rn := p.resolve(n)
	if rn == nil {
		return a
	}
	var sinceNode, streamNode *yaml.Node
	if rn.Kind == yaml.ScalarNode && !isNull(rn) {
		if rn.Value == "webhook" {
			a.Webhook = &WebhookWait{}
		} else {
			a.Stream, streamNode = p.intern(rn.Value), rn
		}
	} else {
		var set []string
		p.object(rn, key, awaitKeys, func(e entry, key string) {
			switch e.name {
			case "stream":
				set = append(set, e.name)
				streamNode = e.v
				a.Stream, _ = p.str(e.v, key)
			case "webhook":
				set = append(set, e.name)
				a.Webhook = p.webhookWait(e.v, key, sc.defined)
			case "since":
				sinceNode = e.v
				a.Since, _ = p.str(e.v, key)
			}
		})
		switch len(set) {
		case 0:
			p.errf(rn, key, "an await takes stream: STEP or webhook: {...} (or the short forms await: STEP, await: webhook)")
		case 2:
			p.errf(rn, key, "an await takes one of stream and webhook, not both")
		}
	}
	if streamNode != nil {
		switch {
		case sc.section == sectionSession:
			p.errf(streamNode, key, "a session cannot await a stream (streams open in the flow's steps)")
		case a.Stream == "":
			p.errf(streamNode, key, "name the stream step to await")
		case !sc.streams[a.Stream]:
			p.errf(streamNode, key, "%q is not an earlier websocket or sse step of this flow", a.Stream)
		}
	}
	if sinceNode != nil && a.Since != "" && !sc.earlier[a.Since] {
		p.errf(sinceNode, key+".since", "%q is not an earlier step of the flow's %s", a.Since, sc.section)
	}
	if a.Since == "" {
		a.Since = sc.prev
	}
	return a
}

func (p *parser) webhookWait(n *yaml.Node, key string, defined map[string]bool) *WebhookWait {
	w := &WebhookWait{}
	p.object(n, key, webhookWaitKeys, func(e entry, key string) {
		switch e.name {
		case "method":
			if m, ok := p.method(e.v, key); ok {
				w.Method = m
			}
		case "hmac_sha256":
			w.HMAC = p.hmac(e.v, key, defined)
		}
	})
	return w
}

func (p *parser) hmac(n *yaml.Node, key string, defined map[string]bool) *HMACVerify {
	h := &HMACVerify{Encoding: "hex"}
	var secretNode, headerNode *yaml.Node
	p.object(n, key, hmacKeys, func(e entry, key string) {
		v, ok := p.str(e.v, key)
		if !ok {
			return
		}
		switch e.name {
		case "secret":
			secretNode = e.v
			if p.template(e.v, key, v, defined) {
				h.Secret = v
				if v == "" {
					p.errf(e.v, key, "must not be empty")
				} else if !strings.Contains(v, "${") {
					p.errf(e.v, key, "write the secret as a reference (${env:NAME} or ${file:PATH}), not in the config")
				}
			}
		case "header":
			headerNode = e.v
			if !isToken(v) {
				p.errf(e.v, key, "invalid header name %q", v)
			} else {
				h.Header = v
			}
		case "prefix":
			h.Prefix = v
		case "encoding":
			if !slices.Contains([]string{"hex", "base64"}, v) {
				p.errf(e.v, key, "unknown encoding %q (expected hex or base64)", v)
			} else {
				h.Encoding = v
			}
		}
	})
	rn := p.resolve(n)
	if secretNode == nil {
		p.errf(rn, key+".secret", "is required")
	}
	if headerNode == nil {
		p.errf(rn, key+".header", "is required: the header that carries the signature")
	}
	return h
}
