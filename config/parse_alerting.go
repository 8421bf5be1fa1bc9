package config

import (
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes the alerting: section.

var (
	alertingKeys = []string{"alertmanager", "runbook_url", "severity"}
	amKeys       = []string{"urls", "resend"}
	severityKeys = []string{"down", "degraded"}
)

func (p *parser) alerting(n *yaml.Node, key string) {
	a := &p.cfg.Alerting
	p.object(n, key, alertingKeys, func(e entry, key string) {
		switch e.name {
		case "alertmanager":
			p.object(e.v, key, amKeys, func(e entry, key string) {
				switch e.name {
				case "urls":
					for i, un := range p.seq(e.v, key) {
						s, ok := p.str(un, index(key, i))
						if !ok {
							continue
						}
						u, err := url.Parse(s)
						switch {
						case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
							p.errf(un, index(key, i), "invalid URL %q: want http:// or https:// and a host", s)
							continue
						case u.RawQuery != "" || u.Fragment != "":
							// The notifier posts to URL/api/v2/alerts: it refuses
							// them at start, so check does too.
							p.errf(un, index(key, i), "%q: no query or fragment (want http(s)://host[:port][/prefix])", s)
							continue
						case slices.Contains(a.AlertmanagerURLs, s):
							p.errf(un, index(key, i), "%q is listed twice", s)
							continue
						}
						a.AlertmanagerURLs = append(a.AlertmanagerURLs, s)
					}
				case "resend":
					if v, ok := p.atLeast(e.v, key, MinResend); ok {
						a.Resend = v
					}
				}
			})
		case "runbook_url":
			if s, ok := p.str(e.v, key); ok {
				u, err := url.Parse(strings.ReplaceAll(s, "{service}", "x"))
				if err != nil || u.Scheme == "" {
					p.errf(e.v, key, "invalid URL %q", s)
				} else {
					a.RunbookURL = s
				}
			}
		case "severity":
			p.object(e.v, key, severityKeys, func(e entry, key string) {
				s, ok := p.str(e.v, key)
				if !ok {
					return
				}
				if s == "" {
					p.errf(e.v, key, "must not be empty")
					return
				}
				if e.name == "down" {
					a.SeverityDown = s
				} else {
					a.SeverityDegraded = s
				}
			})
		}
	})
}
