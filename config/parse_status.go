package config

import (
	"go.yaml.in/yaml/v3"
)

// This file decodes the status: section.

var statusKeys = []string{"listen", "title", "refresh"}

func (p *parser) status(n *yaml.Node, key string) {
	st := &p.cfg.Status
	p.object(n, key, statusKeys, func(e entry, key string) {
		switch e.name {
		case "listen":
			if s, ok := p.str(e.v, key); ok {
				if !validHostPort(s) {
					p.errf(e.v, key, "invalid address %q: use HOST:PORT, e.g. 0.0.0.0:8080", s)
				} else {
					st.Listen = s
					p.noteListen(key, s, e.v)
				}
			}
		case "title":
			if s, ok := p.str(e.v, key); ok {
				st.Title = s
			}
		case "refresh":
			if v, ok := p.positive(e.v, key); ok {
				if v < MinStatusRefresh {
					p.errf(e.v, key, "%s is too short: at least %s", v, MinStatusRefresh)
				} else {
					st.Refresh = v
				}
			}
		}
	})
}
