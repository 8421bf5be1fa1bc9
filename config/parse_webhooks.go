package config

import (
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes the webhooks: section, the callback listener.

var webhooksKeys = []string{"listen", "public_url", "max_body_bytes"}

// DefaultWebhookListen is where the callback listener listens unless the
// config says otherwise: loopback, beside the default listen address.
const DefaultWebhookListen = "127.0.0.1:9116"

// DefaultWebhookBodyBytes bounds one callback's body.
const DefaultWebhookBodyBytes = 1 << 20

func defaultWebhooks() Webhooks {
	return Webhooks{Listen: DefaultWebhookListen, PublicURL: "http://" + DefaultWebhookListen + "/webhooks", MaxBodyBytes: DefaultWebhookBodyBytes}
}

func (p *parser) webhooks(n *yaml.Node, key string) {
	w := &p.cfg.Webhooks
	if rn := p.resolve(n); rn != nil {
		w.Line = rn.Line
	}
	publicSet := false
	p.object(n, key, webhooksKeys, func(e entry, key string) {
		switch e.name {
		case "listen":
			if s, ok := p.str(e.v, key); ok {
				if !validHostPort(s) {
					p.errf(e.v, key, "invalid address %q: use HOST:PORT, e.g. %s", s, DefaultWebhookListen)
				} else {
					w.Listen = s
					p.noteListen(key, s, e.v)
				}
			}
		case "public_url":
			if s, ok := p.str(e.v, key); ok {
				u, err := url.Parse(s)
				switch {
				case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
					p.errf(e.v, key, "invalid URL %q: want http:// or https:// and a host", s)
				case u.RawQuery != "" || u.Fragment != "":
					p.errf(e.v, key, "%q: no query or fragment (the run's token is appended as a path segment)", s)
				default:
					w.PublicURL, publicSet = strings.TrimRight(s, "/"), true
				}
			}
		case "max_body_bytes":
			if v, ok := p.size(e.v, key); ok {
				w.MaxBodyBytes = v
			}
		}
	})
	if !publicSet {
		w.PublicURL = "http://" + w.Listen + "/webhooks"
	}
}
